"""Evaluating a classifier on a labelled file: read, predict, measure. Used by `moderator-app
evaluate` and meant for the Review tab's evaluation view (`on_batch` reports progress and may
raise to cancel)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from moderator_app.core.evaluation.label_map import DEFAULT_SCORE_THRESHOLD, LabelMap
from moderator_app.core.evaluation.labelled_data import LabelledRows, read_labelled_rows
from moderator_app.core.evaluation.metrics import Evaluation, degenerate_warning, evaluate
from moderator_app.core.messages import settings_error

THRESHOLD_GIVEN = "given"
THRESHOLD_OPERATING_POINT = "the model's operating point"
THRESHOLD_NONE = "none: the most probable label"


@dataclass
class FileEvaluation:
    model: str
    data: LabelledRows
    result: Evaluation
    threshold_source: str
    warning: str | None

    def to_dict(self) -> dict[str, Any]:
        """The metrics at the top level (n, accuracy, majority_baseline, macro_f1, per_class, …, by),
        with the model, the data account, where the threshold came from and any warning."""
        return {**self.result.to_dict(), "threshold_source": self.threshold_source, "warning": self.warning,
                "model": self.model, "data": self.data.to_dict()}


def decision_threshold(classifier, threshold: float | None) -> tuple[float | None, str]:
    """(threshold, where it came from): the one given (binary models only), else the model's saved
    operating point, else None (the most probable label)."""
    if threshold is not None and not classifier.is_binary:
        raise settings_error(f"A decision threshold needs a binary model; this one has {len(classifier.labels)} "
                            f"labels ({', '.join(classifier.labels)}).", "Leave {threshold} empty.",
                            setting="threshold")
    if threshold is not None:
        return threshold, THRESHOLD_GIVEN
    if classifier.default_threshold is not None:
        return classifier.default_threshold, THRESHOLD_OPERATING_POINT
    return None, THRESHOLD_NONE


def evaluate_file(classifier, path: str | Path, *, text_column: str = "", label_column: str = "",
                  label_map: LabelMap | None = None, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
                  group_column: str = "", threshold: float | None = None, batch_size: int | None = None,
                  on_batch: Callable[[int], None] | None = None) -> FileEvaluation:
    """Evaluate a loaded `Classifier` on a labelled file. Without `threshold`, a binary model decides
    at its saved operating point when it has one, else every model takes the most probable label."""
    threshold, source = decision_threshold(classifier, threshold)
    rows = read_labelled_rows(path, classifier.labels, text_column, label_column, label_map, score_threshold,
                              group_column)
    probabilities = classifier.predict_probabilities(rows.texts, batch_size, on_batch)
    result = evaluate(rows.labels, probabilities, classifier.labels, threshold=threshold, groups=rows.groups)
    return FileEvaluation(classifier.name_or_path, rows, result, source, degenerate_warning(result))
