"""A classifier's quality on labelled rows, always beside the majority-class baseline.

Every metric comes from scikit-learn except the expected calibration error, which scikit-learn does
not offer (its `calibration_curve` gives per-bin means but not the bin sizes ECE weights them by).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from moderator_app.core.labels import positive_class_index

ECE_BINS = 15
# "Nearly everything": one class predicted for at least this share of the rows while the data
# holds clearly fewer of it.
NEARLY_ALL = 0.95
# On lopsided data a model whose threshold favours the rare label (best F1, a precision or recall
# rule) may trade accuracy below the majority baseline for recall; it still beats the baseline when
# its balanced accuracy (the mean recall of the labels, 1/k for any constant or random guess) is
# clearly above chance. Below both, it has learned (nearly) nothing.
ABOVE_CHANCE = 0.05
TRY_INSTEAD = ("Try more training data or more epochs, a higher learning rate, or class weighting; "
               "do not use this model to flag content.")


@dataclass
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Evaluation:
    """Metrics of one set of rows (and, in `by`, of each group of them).

    `confusion_matrix` rows are true labels and columns predictions, both in `labels` order.
    `roc_auc` and `average_precision` are for binary models (score: the probability of
    `positive_label`) and None when the rows hold one class only. `ece` is the expected calibration
    error of the most probable label's probability (see expected_calibration_error). `threshold` is
    the cut on the positive label's probability, None for the most probable label."""

    n: int
    accuracy: float
    majority_baseline: float
    majority_label: str
    macro_f1: float
    per_class: dict[str, ClassScores]
    confusion_matrix: list[list[int]]
    labels: list[str]
    predicted_counts: dict[str, int]
    roc_auc: float | None
    average_precision: float | None
    ece: float
    threshold: float | None
    positive_label: str | None
    by: dict[str, "Evaluation"] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["by"] = {group: result.to_dict() for group, result in self.by.items()}
        if not self.by:
            del data["by"]
        return data


def evaluate(y_true: Sequence[str] | Sequence[int], probabilities: np.ndarray, label_names: Sequence[str],
             threshold: float | None = None, groups: Sequence[Any] | None = None) -> Evaluation:
    """Metrics of `probabilities` (rows × labels, in `label_names` order) against `y_true` (label
    names or indices into `label_names`). `threshold` (binary models): the positive label when its
    probability is at least that. `groups` (one value per row) adds the same metrics per group in `by`."""
    labels = [str(name) for name in label_names]
    truth = _as_indices(y_true, labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.shape != (len(truth), len(labels)):
        raise ValueError(f"probabilities have shape {probabilities.shape}, expected ({len(truth)}, {len(labels)})")
    if len(truth) == 0:
        raise ValueError("no rows to evaluate")
    positive = positive_class_index(labels)
    if threshold is not None and positive is None:
        raise ValueError(f"a threshold needs a binary model; this one has {len(labels)} labels")
    predicted = predict_indices(probabilities, positive, threshold)
    result = _metrics(truth, predicted, probabilities, labels, positive, threshold)
    if groups is not None:
        group_values = np.array(["(missing)" if value is None or str(value) == "" else str(value) for value in groups])
        if len(group_values) != len(truth):
            raise ValueError(f"{len(group_values)} group values for {len(truth)} rows")
        for group in sorted(set(group_values)):
            rows = group_values == group
            result.by[group] = _metrics(truth[rows], predicted[rows], probabilities[rows], labels, positive, threshold)
    return result


def predict_indices(probabilities: np.ndarray, positive: int | None, threshold: float | None) -> np.ndarray:
    """Predicted label indices: the most probable label, or for a binary model with a threshold the
    positive label when its probability is at least the threshold (as Classifier.decide)."""
    if threshold is None:
        return probabilities.argmax(axis=1)
    return np.where(probabilities[:, positive] >= threshold, positive, 1 - positive)


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error (Guo et al. 2017): the rows are put into `bins` equal-width bins of
    confidence over [0, 1]; ECE is the mean over bins of |accuracy − mean confidence|, weighted by
    each bin's share of the rows. 0 is perfectly calibrated."""
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    # Bin i holds confidences in (i/bins, (i+1)/bins]; a confidence of exactly 0 joins the first bin.
    bin_of_row = np.clip(np.ceil(confidences * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for index in np.unique(bin_of_row):
        rows = bin_of_row == index
        total += rows.sum() * abs(correct[rows].mean() - confidences[rows].mean())
    return float(total / len(confidences))


def top_label_ece(truth: np.ndarray, probabilities: np.ndarray) -> float:
    """ECE of the most probable label's probability against whether that label is right."""
    return expected_calibration_error(probabilities.max(axis=1), probabilities.argmax(axis=1) == truth)


def _metrics(truth: np.ndarray, predicted: np.ndarray, probabilities: np.ndarray, labels: list[str],
             positive: int | None, threshold: float | None) -> Evaluation:
    from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, f1_score,
                                 precision_recall_fscore_support, roc_auc_score)

    indices = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=indices, zero_division=0)
    true_counts = np.bincount(truth, minlength=len(labels))
    majority = int(true_counts.argmax())
    both_classes = positive is not None and len(np.unique(truth)) == 2
    scores = probabilities[:, positive] if positive is not None else None
    return Evaluation(
        n=int(len(truth)),
        accuracy=float(accuracy_score(truth, predicted)),
        majority_baseline=float(true_counts[majority] / len(truth)),
        majority_label=labels[majority],
        macro_f1=float(f1_score(truth, predicted, labels=indices, average="macro", zero_division=0)),
        per_class={label: ClassScores(float(p), float(r), float(f), int(s))
                   for label, p, r, f, s in zip(labels, precision, recall, f1, support)},
        confusion_matrix=confusion_matrix(truth, predicted, labels=indices).tolist(),
        labels=labels,
        predicted_counts={label: int(count) for label, count in zip(labels, np.bincount(predicted, minlength=len(labels)))},
        roc_auc=float(roc_auc_score(truth == positive, scores)) if both_classes else None,
        average_precision=float(average_precision_score(truth == positive, scores)) if both_classes else None,
        ece=top_label_ece(truth, probabilities),
        threshold=threshold,
        positive_label=labels[positive] if positive is not None else None)


def _as_indices(y_true: Sequence[str] | Sequence[int], labels: list[str]) -> np.ndarray:
    values = list(y_true)
    if all(isinstance(value, (int, np.integer)) and not isinstance(value, bool) for value in values):
        indices = np.asarray(values, dtype=int)
        if len(indices) and (indices.min() < 0 or indices.max() >= len(labels)):
            raise ValueError(f"label indices must be between 0 and {len(labels) - 1}")
        return indices
    position = {label: index for index, label in enumerate(labels)}
    unknown = sorted({str(value) for value in values} - set(position))
    if unknown:
        raise ValueError(f"labels {', '.join(map(repr, unknown))} are not among {', '.join(labels)}")
    return np.asarray([position[str(value)] for value in values], dtype=int)


# ------------------------------------------------------------------------------------------------
# Degenerate models
# ------------------------------------------------------------------------------------------------
def is_degenerate(result: Evaluation) -> bool:
    """True when the model predicts one label for (nearly) every row although the rows are not
    (nearly) all of that label, or when neither its accuracy beats the majority-class baseline nor
    its balanced accuracy beats chance (by ABOVE_CHANCE)."""
    return degenerate_warning(result) is not None


def degenerate_warning(result: Evaluation) -> str | None:
    """A warning saying what is wrong and what to try, or None for a model that learned something."""
    top_label = max(result.predicted_counts, key=result.predicted_counts.get)
    predicted_share = result.predicted_counts[top_label] / result.n
    true_share = result.per_class[top_label].support / result.n
    scores = (f"accuracy {result.accuracy:.3f} against a majority baseline of {result.majority_baseline:.3f} "
              f"('{result.majority_label}' for every row), macro F1 {result.macro_f1:.3f}")
    if predicted_share >= NEARLY_ALL and true_share < NEARLY_ALL:
        return (f"The model predicts '{top_label}' for {predicted_share:.0%} of the {result.n:,} rows, which hold "
                f"{true_share:.0%} '{top_label}' ({scores}): it has not learned to tell the labels apart. "
                + TRY_INSTEAD)
    recalls = [metrics.recall for metrics in result.per_class.values() if metrics.support]
    balanced = sum(recalls) / len(recalls) if recalls else 0.0
    chance = 1 / len(result.per_class) if result.per_class else 0.0
    if result.accuracy <= result.majority_baseline and balanced <= chance + ABOVE_CHANCE:
        return (f"The model does not beat the majority baseline ({scores}, balanced accuracy {balanced:.3f} "
                f"where guessing gives {chance:.3f}). " + TRY_INSTEAD)
    return None


# ------------------------------------------------------------------------------------------------
# The baseline every metric is shown beside
# ------------------------------------------------------------------------------------------------
def prior_baseline(y_true: Sequence[str] | Sequence[int], label_names: Sequence[str]) -> Evaluation:
    """The metrics of a model that knows only the class shares (scikit-learn's DummyClassifier with
    strategy="prior"): every row gets the shares as probabilities, so it predicts the majority label
    (accuracy = the majority baseline), ranks nothing (ROC-AUC 0.5, average precision = the positive
    share) and is perfectly calibrated (ECE 0)."""
    labels = [str(name) for name in label_names]
    truth = _as_indices(y_true, labels)
    shares = np.bincount(truth, minlength=len(labels)) / max(len(truth), 1)
    return evaluate(truth, np.tile(shares, (len(truth), 1)), labels)
