"""Unicode normalisation applied to every text before a model reads it (`Classifier`), on by default.

Only changes that cannot change what a text says: NFKC (full-width, mathematical and other compatibility
forms of a letter become the letter: 'ｈａｔｅ' and '𝐡𝐚𝐭𝐞' read 'hate') and the removal of invisible
characters that writers insert inside words to break a filter's tokens (zero-width space, word joiner,
soft hyphen …). Zero-width joiners and non-joiners are removed only between two Latin letters: elsewhere
they shape emoji sequences and Persian or Indic words. Plain ASCII text is returned unchanged.

With `evasion` (`TrainingConfig.normalise_evasion`), core/text/evasion_spellings then undoes the spellings
writers use to slip a word past a filter, only where a word's shape says it was disguised: look-alike
letters of another script inside Latin words folded to Latin, spaced-out letters joined, leetspeak inside
words undone."""

from __future__ import annotations

import re
import unicodedata

from moderator_app.core.text.evasion_spellings import DESCRIPTION as EVASION_DESCRIPTION
from moderator_app.core.text.evasion_spellings import undo_evasion_spellings

NORMALISATION = "NFKC, zero-width characters removed"
NO_NORMALISATION = "none"
# Invisible everywhere, meaningless in running text: zero-width space, word joiner, BOM / zero-width no-break
# space, Mongolian vowel separator, soft hyphen.
ALWAYS_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u180e\u00ad]")
LATIN = "A-Za-z\u00c0-\u024f"
JOINERS_IN_LATIN_WORDS = re.compile(f"(?<=[{LATIN}])[\u200c\u200d]+(?=[{LATIN}])")


def normalise_text(text: str, evasion: bool = False) -> str:
    """`text` in NFKC with zero-width characters removed, and with `evasion` the evasion spellings undone
    (see the module's docstring)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", ALWAYS_INVISIBLE.sub("", text))  # removed first: they split letters
        text = JOINERS_IN_LATIN_WORDS.sub("", text)
    return undo_evasion_spellings(text) if evasion else text


def describe_normalisation(enabled: bool, evasion: bool = False) -> str:
    if not enabled:
        return NO_NORMALISATION
    return f"{NORMALISATION}, {EVASION_DESCRIPTION}" if evasion else NORMALISATION
