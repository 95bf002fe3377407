"""The obfuscation families (core/text/obfuscation) and the inference normalisation (core/text/normalise)."""

import random
import unicodedata

import pytest

from moderator_app.core.text.normalise import normalise_text
from moderator_app.core.text.obfuscation import (FAMILIES, HOMOGLYPHS, ZERO_WIDTH, obfuscate,
                                                 obfuscated_copies)

TEXTS = ["I hate you people, go back home!", "they are vermin", "ok", "", "   ", "42 :)", "naïve café owners"]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_same_seed_gives_the_same_copies_and_another_seed_others(family):
    texts = TEXTS * 20
    assert obfuscated_copies(texts, family, 7) == obfuscated_copies(texts, family, 7)
    assert obfuscated_copies(texts, family, 7) != obfuscated_copies(texts, family, 8)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_text_is_never_made_empty_and_one_without_words_is_kept(family):
    rng = random.Random(0)
    for text in TEXTS * 10:
        result = obfuscate(text, family, rng)
        assert bool(result.strip()) == bool(text.strip())
    assert obfuscate("42 :)", family, rng) == "42 :)"
    assert obfuscate("ok", family, rng) == "ok"  # no word of three letters


def _changed_words(original: str, result: str):
    return [(a, b) for a, b in zip(original.split(), result.split()) if a != b]


def test_each_family_does_what_it_says():
    text = "they hate those people"
    rng = random.Random(3)
    swapped = obfuscate(text, "swap", rng)
    assert len(swapped) == len(text) and sorted(swapped) == sorted(text) and swapped != text
    for a, b in _changed_words(text, swapped):
        assert a[0] == b[0] and sorted(a) == sorted(b)
    dropped = obfuscate(text, "drop", rng)
    assert len(dropped) < len(text) and all(len(b) == len(a) - 1 for a, b in _changed_words(text, dropped))
    for seed in range(20):
        spaced = obfuscate(text, "spaces", random.Random(seed))
        assert spaced.replace(" ", "") == text.replace(" ", "") and spaced != text
    leet = obfuscate(text, "leetspeak", rng)
    assert leet != text and any(character.isdigit() for character in leet) and len(leet) == len(text)
    looks = obfuscate(text, "homoglyphs", rng)
    assert looks != text and set(looks) - set(text) <= set(HOMOGLYPHS.values())
    assert unicodedata.normalize("NFKC", looks) == looks  # normalisation does not undo them
    hidden = obfuscate(text, "zero_width", rng)
    assert hidden != text and "".join(c for c in hidden if c not in ZERO_WIDTH) == text


def test_copies_keep_the_order_and_the_number_of_texts():
    texts = ["first hateful text", "42", "second text here"]
    copies = obfuscated_copies(texts, "drop", 1)
    assert len(copies) == 3 and copies[1] == "42"
    assert [len(copy) for copy in copies] < [len(text) for text in texts]
    assert copies[0].startswith("f") and copies[2].startswith("s")


def test_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown obfuscation"):
        obfuscate("some text", "rot13", random.Random(0))


def test_normalisation_leaves_ascii_alone_and_undoes_compatibility_forms_and_zero_width():
    for text in ("I hate you", "  spaced\ttext \n", "a+b=c; 'quoted' \"text\""):
        assert normalise_text(text) == text
    assert normalise_text("ｈａｔｅ them") == "hate them"
    assert normalise_text("𝐡𝐚𝐭𝐞") == "hate"
    assert normalise_text("h\u200ba\u2060t\u00ade\ufeff") == "hate"
    assert normalise_text("h\u200ca\u200dte") == "hate"  # joiners between Latin letters
    family = "👨\u200d👩\u200d👧"  # a joiner that shapes an emoji sequence stays
    assert normalise_text(family) == family
    assert normalise_text("h\u0430te") == "h\u0430te"  # a Cyrillic look-alike is a letter of its own
