"""Why this label: how much each word pushed the model towards (or away from) a label.

Occlusion: each word is removed in turn and the text classified again; a word's influence is the
drop in the label's probability without it. It needs nothing but the classifier's probabilities,
so it works for every model and tokenizer, and its numbers mean something to a moderator
("without 'vermin' the hate probability falls by 0.41"). One batched pass per text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

WORD = re.compile(r"\S+")
MAX_WORDS = 200  # longer texts: the first MAX_WORDS words are explained, beyond that the cost grows


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
    batched prediction)."""
    words = [(match.group(), match.start(), match.end()) for match in WORD.finditer(text)][:max_words]
    if not words:
        return []
    variants = [text] + [text[:start] + text[end:] for _, start, end in words]
    scores = [row[label_index] for row in probabilities(variants)]
    baseline = scores[0]
    return [WordInfluence(word, start, end, float(baseline - without))
            for (word, start, end), without in zip(words, scores[1:])]
