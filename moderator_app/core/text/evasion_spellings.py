"""Undoing the spellings writers use to slip a word past a filter (`TrainingConfig.normalise_evasion`).

Three rewrites of a text's words, each only where a word's shape says it was disguised, so that ordinary
text is left alone:

- look-alike letters: in a word that mixes Latin letters with letters of another script ("hаtе", its 'а'
  and 'е' Cyrillic), each non-Latin letter that Unicode's confusables table (through the
  `confusable_homoglyphs` package) gives a Latin look-alike for is written as that Latin letter. A word
  wholly in Cyrillic, Greek or any one other script is left as it is;
- spaced-out letters: a run of three or more single letters separated by single spaces ("i d i o t") is
  written as one word ("idiot");
- leetspeak: in a word of ASCII letters that also holds digits or signs from the leetspeak alphabet
  (4 @ → a, 3 → e, 1 → i or l by its neighbours, ! → i, 0 → o, 5 $ → s, 7 → t, 9 → g), those are written as
  the letters ("h4te", "1d10t", "$lut", "sh!t"), when a sign stands inside the word or the word starts
  with $ ("$lut"). Not rewritten: words with fewer than two letters ("b4", "h8"), digit 2, 6 or 8 ("2nd",
  "gr8"), three digits in a row or two at the end ("AB350M", "covid19"; but "immi9r4n75"), numbers with a
  unit or an ordinal ("3pm", "4th", "10k", "90s", "Happy4th"), a sign only at the start or end ("4ever",
  "3days", "page1", "them3", "mp3": so "4ss" and "ar3" stay too), mixed case ("KrdyCxpB4fs": codes), cashtags ("$TWTR"), a '!' between
  two words ("idiot!just") or at the end (punctuation), @mentions, e-mail addresses and URLs. A contraction's
  word is read before its apostrophe ("d0n't"); hashtags are left alone ("#WWG1WGA", "#vote5sos").

What is left of a text after these is what the model reads; the text a user sees is never changed."""

from __future__ import annotations

import re
from functools import lru_cache

DESCRIPTION = ("look-alike letters in words that mix scripts folded to Latin, spaced-out letters joined "
               "('i d i o t'), leetspeak inside words undone ('h4te')")

LETTERS = r"[^\W\d_]"
MIXED_WORD = re.compile(f"{LETTERS}+")
# three or more single letters, each followed by one space but the last, standing alone: after the start, a
# space, a quote or a bracket, and not before a letter, a digit, an apostrophe or an asterisk
SPACED = re.compile(f"(?<![^\\s\"'’(\\[])(?<!\\w['’])(?:{LETTERS} ){{2,}}{LETTERS}(?![\\w'’*&])")
TEXTSPEAK = set("uryicbnka")  # "u r a", "r u a": runs of three of these are words, not a spelled-out word
# the spans never rewritten: URLs, e-mail addresses and @mentions
KEPT = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+|(?<!\w)@\w+|@user(?![a-z])", re.IGNORECASE)
LEET = {"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t", "9": "g"}
# a word of letters, digits and signs, with a contraction's tail ("d0n't"); not a hashtag ("#WWG1WGA", "#vote5sos")
LEET_WORD = re.compile(r"(?<![\w@$!#/\-'’])(?<!\w[.:])[A-Za-z0-9@$!]+(?:['’][A-Za-z]+)?(?![\w@$/\-'’]|[.:]\w)")
UNITS = {"st", "nd", "rd", "th", "s", "am", "pm", "k", "m", "g", "kg", "km", "cm", "mm", "ml", "lb", "lbs", "mb",
         "gb", "tb", "x", "d", "p", "h", "hr", "hrs", "min", "mins", "yr", "yrs", "yo", "mph", "ft", "in", "mg"}
NUMBER_WITH_UNIT = re.compile(r"(\d+)([A-Za-z]+)")


@lru_cache(maxsize=4096)
def _latin_look_alike(letter: str) -> str | None:
    """The Latin letter that `letter` (of another script) looks like, or None."""
    from confusable_homoglyphs import confusables

    found = confusables.is_confusable(letter, greedy=True, preferred_aliases=["latin"]) or []
    for entry in found:
        for glyph in entry["homoglyphs"]:
            latin = glyph["c"]
            if len(latin) == 1 and latin.isascii() and latin.isalpha():
                if letter.isupper() and latin == "l":  # Cyrillic or Greek capital I: the table's prototype is l
                    return "I"
                return latin
    return None


def _script(letter: str) -> str:
    from confusable_homoglyphs import categories

    return categories.alias(letter)


def fold_look_alikes(text: str) -> str:
    """Non-Latin look-alike letters of words that mix Latin with another script, as Latin letters."""
    if text.isascii():
        return text

    def fold(match: re.Match) -> str:
        word = match.group()
        if word.isascii():
            return word
        scripts = {_script(letter) for letter in word}
        if "LATIN" not in scripts or len(scripts) < 2:
            return word
        return "".join(letter if _script(letter) == "LATIN" else (_latin_look_alike(letter) or letter)
                       for letter in word)

    return MIXED_WORD.sub(fold, text)


def _join(match: re.Match) -> str:
    letters = match.group()[::2]
    if len(letters) == 3 and set(letters.lower()) <= TEXTSPEAK:
        return match.group()
    return letters


def join_spaced_letters(text: str) -> str:
    """Runs of three or more single letters separated by single spaces, as one word."""
    return SPACED.sub(_join, text)


def _unleet_word(word: str) -> str:
    contraction = re.search(r"['’][A-Za-z]+$", word)
    if contraction:  # d0n't: the word before the apostrophe
        return _unleet_word(word[:contraction.start()]) + contraction.group()
    core = word.rstrip("!")  # a trailing '!' is punctuation
    letters = "".join(character for character in core if character.isalpha())
    signs = [character for character in core if not character.isalpha()]
    if len(core) < (3 if letters.islower() else 4) or len(letters) < 2 or not signs \
            or any(sign not in LEET for sign in signs):
        return word  # "b4", "h8", "A7X", "2nd"
    inside = [index for index in range(1, len(core) - 1) if not core[index].isalpha()]
    if re.search(r"\d{3}|\$\d|(?:1st|2nd|3rd|\dth)$", core) or (re.search(r"\d\d$", core) and (len(inside) < 3 or not letters.islower())):
        return word  # numbers: "AB350M", "covid19", "$94million", "Happy4th" (not "1d10t", "b00gie")
    if core[0] == "$" and letters.isupper():
        return word  # a cashtag: "$TWTR"
    if not (letters.islower() or letters.isupper() or (letters[0].isupper() and letters[1:].islower())):
        return word  # mixed case: a code or an identifier ("KrdyCxpB4fs"), not a disguised word
    if not inside and not (len(signs) == 1 and core[0] in "$@"):
        return word  # signs only at the ends: "4ever", "3days", "page1", "them3", "mp3" (but "$lut")
    number = NUMBER_WITH_UNIT.fullmatch(core)
    if number and (len(number.group(1)) > 1 or number.group(2).lower() in UNITS):  # 3pm, 4th, 10k, 90s
        return word
    out: list[str] = []
    for index, character in enumerate(core):
        if character.isalpha():
            out.append(character)
            continue
        if character == "!":  # sh!t, id!ot, b!tches, !diot; not two sentences ("idiot!just", "INVOLVED!NO"), "!!"
            before = re.search(r"[A-Za-z]*$", core[:index]).group()
            after = re.match(r"[A-Za-z]*", core[index + 1:]).group()
            if not after or (index > 0 and (not before or before[-1].islower() != after[0].islower()
                                            or (min(len(before), len(after)) > 1 and max(len(before), len(after)) > 3))):
                return word
        letter = LEET[character]
        if character == "1":
            letter = _one(out[-1].lower() if out else "", LEET.get(core[index + 1:index + 2], core[index + 1:index + 2]))
        out.append(letter.upper() if letters.isupper() else letter)
    return "".join(out) + word[len(core):]


def _one(before: str, after: str) -> str:
    """'1' stands for an i or an l: l after an i or an l ("ki11"), before an a or an e ("1eave", "p3op1e"),
    after a vowel before a consonant or the end ("shou1d"); i otherwise ("1d10t", "f1lthy")."""
    after = after.lower()
    if before in ("i", "l") or after in ("a", "e") or (before in "aeou" and before and not (after and after in "aeiou")):
        return "l"
    return "i"


def _rewrite_outside(pattern: re.Pattern, rewrite, text: str, kept: list[tuple[int, int]]) -> str:
    def replace(match: re.Match) -> str:
        if any(start < match.end() and match.start() < end for start, end in kept):
            return match.group()
        return rewrite(match)

    return pattern.sub(replace, text)


def undo_leetspeak(text: str, kept: list[tuple[int, int]] | None = None) -> str:
    """Leetspeak digits and signs inside otherwise alphabetic ASCII words, as letters."""
    kept = _kept_spans(text) if kept is None else kept
    return _rewrite_outside(LEET_WORD, lambda match: _unleet_word(match.group()), text, kept)


def _kept_spans(text: str) -> list[tuple[int, int]]:
    return [match.span() for match in KEPT.finditer(text)]


def undo_evasion_spellings(text: str) -> str:
    """`text` with look-alike letters folded, spaced-out letters joined and leetspeak undone (see the module)."""
    text = fold_look_alikes(text)  # one letter for one letter: the kept spans do not move
    if "@" in text or "www" in text or "://" in text:
        text = _rewrite_outside(SPACED, _join, text, _kept_spans(text))
    else:
        text = join_spaced_letters(text)
    return undo_leetspeak(text)
