"""Jobs behind the Review tab's evaluation view, Qt-free: measure a labelled file, or a model's own
validation split, with the shared (batch-gated) model, keeping the probabilities so that the view can
re-measure at another threshold without running the model again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from moderator_app.core.evaluation.file_evaluation import FileEvaluation, evaluate_file
from moderator_app.core.evaluation.validation_split import evaluate_validation_split
from moderator_app.core.files.previews import preview_file
from moderator_app.core.inference.shared_model import GatedClassifier, ModelHandle, batch_progress


@dataclass
class Measured:
    """What the worker hands back: evaluate_file's result and the probabilities it computed (kept to
    draw the curve and re-measure at another threshold without running the model again)."""

    evaluation: FileEvaluation
    probabilities: np.ndarray


class _KeepsProbabilities:
    """The shared model as evaluate_file sees it: batch-gated, and remembering what it predicted."""

    def __init__(self, handle: ModelHandle):
        self._classifier = GatedClassifier(handle)
        self.probabilities: np.ndarray | None = None

    def __getattr__(self, name: str):
        return getattr(self._classifier, name)

    def predict_probabilities(self, texts, batch_size=None, on_batch=None):
        self.probabilities = self._classifier.predict_probabilities(texts, batch_size, on_batch)
        return self.probabilities


def measure_file(handle: ModelHandle, path: str, text_column: str, label_column: str, group_column: str,
                 threshold: float | None, report, cancelled) -> Measured:
    """Job: evaluate `path` with the loaded model; report(done, total) after each batch."""
    classifier = _KeepsProbabilities(handle)
    result = evaluate_file(classifier, path, text_column=text_column, label_column=label_column,
                           group_column=group_column, threshold=threshold,
                           on_batch=batch_progress(report, cancelled))
    return Measured(result, classifier.probabilities)


def measure_validation_split(handle: ModelHandle, by_source: bool, threshold: float | None, report,
                             cancelled) -> Measured:
    """Job: evaluate the model on the validation split of its own training run."""
    classifier = _KeepsProbabilities(handle)
    result = evaluate_validation_split(classifier, handle.classifier.name_or_path, by_source=by_source,
                                       threshold=threshold, on_batch=batch_progress(report, cancelled))
    return Measured(result, classifier.probabilities)


def file_columns(path: str) -> list[str]:
    """Job: the column names of a file (its first row only)."""
    columns, _rows = preview_file(path, rows=1)
    return columns
