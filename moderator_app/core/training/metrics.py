"""Classification metrics from a confusion matrix (accuracy, macro precision/recall/F1)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ClassificationMetrics:
    accuracy: float
    precision: float
    recall: float
    f1: float
    confusion_matrix: list[list[int]]


def metrics_from_predictions(labels, predictions, num_labels: int) -> ClassificationMetrics:
    """`labels` and `predictions` are 1-D integer tensors on any device; one host transfer."""
    import torch

    counts = torch.bincount(labels.long() * num_labels + predictions.long(), minlength=num_labels**2)
    return metrics_from_confusion(counts.reshape(num_labels, num_labels).cpu().tolist())


def metrics_from_confusion(matrix: list[list[int]]) -> ClassificationMetrics:
    """Rows are true labels, columns predictions. Undefined precision/recall (no predictions of,
    or no examples of a class) count as 0, as scikit-learn's zero_division=0."""
    n = len(matrix)
    total = sum(map(sum, matrix))
    correct = sum(matrix[i][i] for i in range(n))
    precisions, recalls, f1s = [], [], []
    for i in range(n):
        predicted = sum(matrix[row][i] for row in range(n))
        actual = sum(matrix[i])
        precision = matrix[i][i] / predicted if predicted else 0.0
        recall = matrix[i][i] / actual if actual else 0.0
        precisions.append(precision)
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return ClassificationMetrics(
        accuracy=correct / total if total else 0.0,
        precision=sum(precisions) / n, recall=sum(recalls) / n, f1=sum(f1s) / n,
        confusion_matrix=[list(map(int, row)) for row in matrix])
