"""Which label of a binary model a moderator flags, and how probabilities become labels: shared by
the classifier, the metrics and the operating point, so none of them imports another for it."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

POSITIVE_LABEL_WORDS = ("hate", "offensive", "toxic", "abusive", "positive")
NEGATED_LABEL = re.compile(r"^(not|no|non)[\s_-]?(?=\w)")


def positive_class_index(labels: Sequence[str]) -> int | None:
    """For a binary model, the index of the class a moderator flags: the one label naming
    hate/offensive/toxic/abusive/positive (not negated: "not-hate", "noHate" are negative) or "1";
    otherwise index 1, the convention of binary classifiers. None when not binary."""
    if len(labels) != 2:
        return None

    def flags(label: str) -> bool:
        name = label.strip().lower()
        if NEGATED_LABEL.match(name):
            return False
        return name == "1" or any(word in name for word in POSITIVE_LABEL_WORDS)

    flagged = [index for index, label in enumerate(labels) if flags(label)]
    return flagged[0] if len(flagged) == 1 else 1


def decide_labels(probabilities: np.ndarray, labels: list[str], positive_index: int | None,
                  threshold: float | None) -> tuple[list[str], np.ndarray]:
    """Labels ("" for rows of NaN: empty texts) and scores (NaN for them): the most probable label, or for
    a binary model (`positive_index`) with a threshold, the positive label from that probability on.
    The score is the positive label's probability (binary) or the chosen label's. Whole-array numpy:
    a 20,000-item queue is relabelled as a threshold slider moves."""
    empty = np.isnan(probabilities).any(axis=1)
    filled = np.nan_to_num(probabilities, nan=0.0)
    if threshold is None or positive_index is None:
        choice = filled.argmax(axis=1)
    else:
        choice = np.where(filled[:, positive_index] >= threshold, positive_index, 1 - positive_index)
    if positive_index is not None:
        scores = filled[:, positive_index].astype(np.float64)
    else:
        scores = filled[np.arange(len(filled)), choice].astype(np.float64)
    scores[empty] = np.nan
    names = np.array([*labels, ""], dtype=object)  # the label strings themselves, and "" for empty rows
    return names[np.where(empty, len(labels), choice)].tolist(), scores


def flagged_categories(probabilities: np.ndarray, categories: Sequence[str],
                       thresholds: Sequence[float]) -> list[list[str]]:
    """A multi-label decision: per row the categories whose probability is at or over their threshold
    (in `categories` order), [] for none and for rows of NaN (empty texts)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # NaN rows compare False: nothing flagged
        over = probabilities >= np.asarray(thresholds, dtype=np.float64)[None, :]
    names = list(categories)
    return [[names[index] for index in np.flatnonzero(row)] for row in over]


def joined_categories(flagged: Sequence[str]) -> str:
    """The `predicted_labels` cell of a labelled file: the flagged categories joined with ';'."""
    return ";".join(flagged)
