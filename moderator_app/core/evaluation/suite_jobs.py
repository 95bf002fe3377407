"""The job behind the evaluation view's Tests section, Qt-free: run a suite with the shared
(batch-gated) model and, optionally, with another model for the comparison; keep the probabilities so
that the view re-decides at another threshold without running the model again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from moderator_app.core.evaluation.suite_results import (SuiteComparison, SuiteResult, check_comparable,
                                                         compare_results, run_suite, score_category_suite,
                                                         score_suite)
from moderator_app.core.evaluation.suites import Suite, read_suite
from moderator_app.core.inference.classifier import Classifier
from moderator_app.core.inference.shared_model import GatedClassifier, ModelHandle, batch_progress


@dataclass
class SuiteRun:
    suite: Suite  # its labels spelled as the model's (a multi-label model: its expected sets)
    result: SuiteResult
    probabilities: np.ndarray
    other: SuiteResult | None = None
    other_model: Any = None  # the other Classifier, kept by the view for the next run
    comparison: SuiteComparison | None = None


def measure_suite(handle: ModelHandle, path: str, threshold: float | dict[str, float] | None, other_path: str,
                  other_model: Any, report: Callable[..., None], cancelled: Callable[[], bool]) -> SuiteRun:
    """Job: run the suite at `path` on the loaded model (at `threshold`, or its operating point; a
    multi-label model: a threshold per category) and, with `other_path`, on that model at its own
    operating point (`other_model`: already loaded)."""
    on_batch = batch_progress(report, cancelled)

    suite = read_suite(path, multi_label=handle.classifier.multi_label)
    result, probabilities = run_suite(GatedClassifier(handle), suite, threshold, on_batch=on_batch)
    run = SuiteRun(result.suite, result, probabilities)
    if other_path:
        if other_model is None or str(other_model.name_or_path) != other_path:
            other_model = Classifier.load(other_path, device=handle.classifier.device)
        check_comparable(handle.classifier, other_model)
        run.other, _ = run_suite(other_model, suite, on_batch=on_batch)
        run.other_model = other_model
        run.comparison = compare_results(run.other, result)
    return run


def rescore(run: SuiteRun, handle: ModelHandle, threshold: float | dict[str, float] | None) -> SuiteRun:
    """The same run decided at another threshold (the Review tab's slider moved; a multi-label model:
    its category thresholds, the model's own for a category `threshold` does not name)."""
    classifier = handle.classifier
    if classifier.multi_label:
        result = score_category_suite(run.suite, run.probabilities, classifier.labels,
                                      classifier.category_thresholds_with(threshold or {}), run.result.model,
                                      "the Review tab's thresholds")
    else:
        result = score_suite(run.suite, run.probabilities, classifier.labels, classifier.positive_index, threshold,
                             run.result.model, "the Review tab's threshold")
    comparison = compare_results(run.other, result) if run.other is not None else None
    return SuiteRun(run.suite, result, run.probabilities, run.other, run.other_model, comparison)
