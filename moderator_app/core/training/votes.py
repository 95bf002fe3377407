"""Labels from annotator disagreement: a source's vote-count columns (`vote_columns`, `votes`).

Davidson et al. give each tweet's crowd votes per class (`hate_speech`, `offensive_language`, `neither`
out of `count`). A source names such columns and the run's label each one counts for:

    {"path": "davidson.csv", "label_column": "class", "label_map": {"0": "hate", "1": "not-hate", "2": "not-hate"},
     "vote_columns": {"hate_speech": "hate", "offensive_language": "not-hate", "neither": "not-hate"},
     "votes": "soft"}

The label column still gives each row its label (what validation, class weights and the stratified split
use). `votes` says what the votes do in training:
- ``soft`` (default): the row trains on its vote share as a soft target (hate 2/3, not-hate 1/3), with a
  cross-entropy over soft targets that weighs classes as the hard one does (`soft_cross_entropy`);
- ``drop_split``: rows whose votes are split between labels are left out (counted in the data report);
- ``majority``: the label column only, as without votes.
In every mode the data report says how many rows' votes were split. A column mapped to null is not
counted; rows whose votes are missing, not whole numbers ≥ 0 or all 0 are left out and counted."""

from __future__ import annotations

import math
from typing import Any, Sequence

SOFT_TARGETS = "soft_labels"  # the training rows' column of vote shares (one per label) the loss reads
DROP_BAD_VOTES = "vote counts missing or not whole numbers ≥ 0"
DROP_SPLIT = "votes split between labels (votes: drop_split)"


def _count(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 and number.is_integer() else None


def vote_shares(columns: Sequence[Sequence[Any]], targets: Sequence[str | None]) -> list[dict[str, float] | None]:
    """Per row, each label's share of its votes ({label: share}); None for a row whose votes are missing,
    not whole numbers ≥ 0, or all 0. `columns` are the vote columns' values, `targets` their labels."""
    shares: list[dict[str, float] | None] = []
    for values in zip(*columns):
        counts: dict[str, float] = {}
        usable = True
        for value, label in zip(values, targets):
            number = _count(value)
            if number is None:
                usable = False
                break
            if label is not None:
                counts[label] = counts.get(label, 0.0) + number
        total = sum(counts.values()) if usable else 0.0
        shares.append({label: count / total for label, count in counts.items() if count} if total else None)
    return shares


def is_split(share: dict[str, float]) -> bool:
    return len(share) > 1


def target_vector(share: dict[str, float] | None, label: str, label_names: Sequence[str]) -> list[float]:
    """The soft target of a row over the run's labels: its vote shares, or (no votes) its label as 1."""
    if share is None:
        return [1.0 if name == label else 0.0 for name in label_names]
    return [share.get(name, 0.0) for name in label_names]


def soft_cross_entropy(logits, targets, class_weights=None):
    """Cross-entropy against soft targets (rows × labels, each row summing to 1), the mean over rows.
    With class weights w, each label's term is weighted by it and the sum divided by the total weight
    of the targets, Σᵢ Σ_c w_c t_ic (−log p_ic) / Σᵢ Σ_c w_c t_ic: for one-hot targets exactly
    torch's weighted cross-entropy (which divides by the weights of the rows' labels)."""
    log_probabilities = logits.float().log_softmax(dim=-1)
    targets = targets.to(log_probabilities.dtype)
    if class_weights is None:
        return -(targets * log_probabilities).sum(dim=-1).mean()
    weighted = targets * class_weights
    return -(weighted * log_probabilities).sum() / weighted.sum()
