"""Jobs behind the Review tab's evaluation view, Qt-free: measure a labelled file with the shared
(batch-gated) model, keeping the probabilities so that the view can re-measure at another threshold
without running the model again (a model's own validation split: core.training.validation_split)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moderator_app.core.evaluation.file_evaluation import FileEvaluation, evaluate_file
from moderator_app.core.files.previews import preview_file
from moderator_app.core.inference.shared_model import GatedClassifier, ModelHandle, batch_progress


@dataclass
class Measured:
    """What the worker hands back: evaluate_file's result and the probabilities it computed (kept to
    draw the curve and re-measure at another threshold without running the model again)."""

    evaluation: FileEvaluation
    probabilities: np.ndarray


class KeepsProbabilities:
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
    classifier = KeepsProbabilities(handle)
    result = evaluate_file(classifier, path, text_column=text_column, label_column=label_column,
                           group_column=group_column, threshold=threshold,
                           on_batch=batch_progress(report, cancelled))
    return Measured(result, classifier.probabilities)


def file_columns(path: str) -> list[str]:
    """Job: the column names of a file (its first row only)."""
    columns, _rows = preview_file(path, rows=1)
    return columns
