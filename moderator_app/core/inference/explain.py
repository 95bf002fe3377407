"""Why this label: how much each word pushed the model towards (or away from) a label.

Occlusion: each word is removed in turn and the text classified again; a word's influence is the
drop in the label's probability without it. It needs nothing but the classifier's probabilities,
so it works for every model and tokenizer, and its numbers mean something to a moderator
("without 'vermin' the hate probability falls by 0.41"). All of a text's variants go to the classifier in
one call, which runs them in as few forward passes as their length allows (one for a tweet).

Shading is by the absolute change in probability, not relative to the text's strongest word: a word
whose removal moves the probability by 0.005 is faint even when no word matters more."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

WORD = re.compile(r"\S+")
MAX_WORDS = 200  # longer texts: the first MAX_WORDS words are explained, beyond that the cost grows
# A change in probability of this much or more is shaded fully; smaller ones in proportion, so that a word
# moving the probability by 0.005 is barely tinted (and bf16 arithmetic's noise of that size never glares).
FULL_SHADE_CHANGE = 0.3


@dataclass(frozen=True)
class WordInfluence:
    word: str
    start: int  # character offsets in the original text
    end: int
    influence: float  # probability of the label with the word minus without it; > 0 pushed towards it


def explain(text: str, probabilities: Callable[[Sequence[str]], Sequence[Sequence[float]]], label_index: int,
            max_words: int = MAX_WORDS) -> list[WordInfluence]:
    """Influence of each word of `text` on the probability of class `label_index`.

    `probabilities(texts)` returns one list of class probabilities per text (a Classifier's
    batched prediction); it is called once, with the text and each of its occlusions."""
    words = [(match.group(), match.start(), match.end()) for match in WORD.finditer(text)][:max_words]
    if not words:
        return []
    variants = [text] + [text[:start] + text[end:] for _, start, end in words]
    scores = [row[label_index] for row in probabilities(variants)]
    baseline = scores[0]
    return [WordInfluence(word, start, end, float(baseline - without))
            for (word, start, end), without in zip(words, scores[1:])]


def shade(influence: float) -> float:
    """How strongly to shade a word, 0 to 1: the absolute change in probability over FULL_SHADE_CHANGE."""
    if influence != influence:  # NaN: nothing known, nothing shown
        return 0.0
    return min(abs(influence) / FULL_SHADE_CHANGE, 1.0)


def strongest(influences: Sequence[WordInfluence]) -> WordInfluence | None:
    """The word whose removal changes the probability most (either way); None without words."""
    return max(influences, key=lambda word: abs(word.influence), default=None)
