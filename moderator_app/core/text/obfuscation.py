"""The ways abusers obfuscate text to slip past a filter, as seeded perturbations.

Six families, each changing some of a text's words (at least one, when it has a word of three or more
letters) and nothing else — no other character, space or punctuation moves:

- ``swap``: two neighbouring letters inside a word trade places ("hate" → "htae");
- ``drop``: a letter inside a word is left out ("vermin" → "vermn");
- ``spaces``: a word's letters spaced out ("h a t e"), or the space between two words removed;
- ``leetspeak``: letters written as digits and signs ("hate" → "h4t3");
- ``homoglyphs``: Latin letters replaced by look-alike Cyrillic ones ("hate" → "hаtе", which no
  Unicode normalisation undoes);
- ``zero_width``: invisible zero-width characters inserted inside words.

Every draw comes from the `random.Random` passed in, so the same seed gives the same text in any process.
nlpaug's character augmenters (RandomCharAug, KeyboardAug, OcrAug) are not used: they draw from the global
`random` and `numpy.random` state (seeding them would reset the training process's global generators, and
two callers would disturb each other's sequence), they re-join the words they tokenised with single
spaces (changing a text's spacing and punctuation beyond the perturbation), and they have no leetspeak,
homoglyph or zero-width family — those would be ours anyway."""

from __future__ import annotations

import random
import re
from typing import Callable, Sequence

FAMILIES = ("swap", "drop", "spaces", "leetspeak", "homoglyphs", "zero_width")
FAMILY_NAMES = {"swap": "letters swapped", "drop": "letters dropped", "spaces": "spaces added or removed",
                "leetspeak": "leetspeak", "homoglyphs": "look-alike letters", "zero_width": "zero-width characters"}
WORD = re.compile(r"[^\W\d_]{3,}")  # a word of at least three letters: what a filter's word list matches
WORD_SHARE = 0.5  # the share of a text's words that are changed (at least one)
LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "l": "1", "g": "9", "b": "8"}
HOMOGLYPHS = {"a": "а", "c": "с", "e": "е", "i": "і", "j": "ј", "o": "о", "p": "р", "s": "ѕ", "x": "х", "y": "у",
              "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "I": "І", "K": "К", "M": "М", "O": "О", "P": "Р",
              "T": "Т", "X": "Х", "Y": "У"}
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060")


def _swap(word: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(word) - 1)  # inside the word: its first letter stays
    return word[:position] + word[position + 1] + word[position] + word[position + 2:]


def _drop(word: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(word))
    return word[:position] + word[position + 1:]


def _spaced(word: str, rng: random.Random) -> str:
    return " ".join(word)


def _leet(word: str, rng: random.Random) -> str:
    positions = [index for index, letter in enumerate(word) if letter.lower() in LEET]
    if not positions:
        return word
    chosen = {rng.choice(positions)} | {index for index in positions if rng.random() < 0.5}
    return "".join(rng.choice(LEET[letter.lower()]) if index in chosen else letter
                   for index, letter in enumerate(word))


def _homoglyphs(word: str, rng: random.Random) -> str:
    positions = [index for index, letter in enumerate(word) if letter in HOMOGLYPHS]
    if not positions:
        return word
    chosen = {rng.choice(positions)} | {index for index in positions if rng.random() < 0.5}
    return "".join(HOMOGLYPHS[letter] if index in chosen else letter for index, letter in enumerate(word))


def _zero_width(word: str, rng: random.Random) -> str:
    gaps = sorted(rng.sample(range(1, len(word)), rng.randint(1, len(word) - 1)))
    pieces, start = [], 0
    for gap in gaps:
        pieces += [word[start:gap], rng.choice(ZERO_WIDTH)]
        start = gap
    return "".join(pieces) + word[start:]


WORD_CHANGES: dict[str, Callable[[str, random.Random], str]] = {
    "swap": _swap, "drop": _drop, "spaces": _spaced, "leetspeak": _leet, "homoglyphs": _homoglyphs,
    "zero_width": _zero_width}


def obfuscate(text: str, family: str, rng: random.Random) -> str:
    """`text` obfuscated by `family` (one of FAMILIES), drawing from `rng`. A text without a word of
    three letters (or, for leetspeak and homoglyphs, without a letter they replace) comes back as it
    is; a non-empty text never comes back empty."""
    if family not in WORD_CHANGES:
        raise ValueError(f"unknown obfuscation {family!r}; one of {', '.join(FAMILIES)}")
    words = list(WORD.finditer(text))
    if not words:
        return text
    if family == "spaces" and rng.random() < 0.5:
        joined = _remove_a_space(text, rng)
        if joined is not None:
            return joined
    chosen = sorted(rng.sample(range(len(words)), max(1, round(WORD_SHARE * len(words)))))
    change = WORD_CHANGES[family]
    pieces, start = [], 0
    for index in chosen:
        match = words[index]
        pieces += [text[start:match.start()], change(match.group(), rng)]
        start = match.end()
    result = "".join(pieces) + text[start:]
    return result if result.strip() else text


def _remove_a_space(text: str, rng: random.Random) -> str | None:
    """`text` with one space between two words removed ("you people" → "youpeople"), or None."""
    gaps = [match.start() for match in re.finditer(r"(?<=\w) (?=\w)", text)]
    if not gaps:
        return None
    gap = rng.choice(gaps)
    return text[:gap] + text[gap + 1:]


def family_rng(seed: int, family: str) -> random.Random:
    """The generator of one family's copies of an evaluation set: a pure function of (seed, family)."""
    return random.Random(seed * 1_000_003 + FAMILIES.index(family) + 1)


def obfuscated_copies(texts: Sequence[str], family: str, seed: int) -> list[str]:
    """Every text obfuscated by `family`, in order, reproducibly from `seed`."""
    rng = family_rng(seed, family)
    return [obfuscate(text, family, rng) for text in texts]
