"""What an epoch's validation predictions are worth: the majority-class baseline beside every metric,
the same metrics per training source, and the loud warning for a model that predicts one class for
(nearly) everything or does not beat the baseline (`core/evaluation/metrics.degenerate_warning`)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from moderator_app.core.evaluation.metrics import degenerate_warning, evaluate
from moderator_app.core.training.metrics import metrics_from_confusion


def majority_baseline(confusion_matrix: list[list[int]]) -> float:
    """The accuracy of predicting the most frequent true label for every row."""
    totals = [sum(row) for row in confusion_matrix]
    return max(totals) / sum(totals) if sum(totals) else 0.0


def degenerate_warning_for(confusion_matrix: list[list[int]], labels: Sequence[str]) -> str | None:
    """`degenerate_warning` of the predictions a confusion matrix (rows true, columns predicted) holds."""
    matrix = np.asarray(confusion_matrix, dtype=int)
    if matrix.sum() == 0:
        return None
    truth = np.repeat(np.arange(len(labels)), matrix.sum(axis=1))
    predicted = np.concatenate([np.repeat(np.arange(len(labels)), row) for row in matrix])
    one_hot = np.eye(len(labels))[predicted]  # only the predictions matter for the warning
    return degenerate_warning(evaluate(truth.tolist(), one_hot, list(labels)))


def per_source_metrics(truth: Sequence[int], predicted: Sequence[int], sources: Sequence[int],
                       source_names: Sequence[str], num_labels: int) -> dict[str, dict[str, Any]]:
    """Validation metrics of each source's rows: n, accuracy, macro precision/recall/F1, the
    majority baseline and the confusion matrix."""
    truth, predicted, sources = (np.asarray(values, dtype=int) for values in (truth, predicted, sources))
    result = {}
    for index, name in enumerate(source_names):
        rows = sources == index
        if not rows.any():
            continue
        matrix = np.zeros((num_labels, num_labels), dtype=int)
        np.add.at(matrix, (truth[rows], predicted[rows]), 1)
        metrics = metrics_from_confusion(matrix.tolist())
        result[name] = dict(n=int(rows.sum()), accuracy=metrics.accuracy, precision=metrics.precision,
                            recall=metrics.recall, f1=metrics.f1,
                            majority_baseline=majority_baseline(metrics.confusion_matrix),
                            confusion_matrix=metrics.confusion_matrix)
    return result


def class_weights(train_labels: Sequence[int], num_labels: int, rule: str) -> list[float] | None:
    """The loss weight of each label: None for "none" (every row counts the same), scikit-learn's
    `compute_class_weight("balanced")` — n_rows / (n_labels × rows of the label) — for "balanced"."""
    if rule == "none":
        return None
    from sklearn.utils.class_weight import compute_class_weight

    classes = np.arange(num_labels)
    return compute_class_weight("balanced", classes=classes, y=np.asarray(train_labels, dtype=int)).tolist()
