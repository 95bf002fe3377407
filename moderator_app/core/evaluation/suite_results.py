"""Running a functional test suite on a classifier: the pass rate per functionality (with counts),
overall and per expected label, the failing cases, and the comparison of two models on one suite.

A case passes when the model's label, at its decision (the operating threshold, or a given one), is
the expected label. `score_suite` works from probabilities already computed, so the evaluation view
re-decides at another threshold without running the model again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from moderator_app.core.evaluation.file_evaluation import decision_threshold
from moderator_app.core.evaluation.suites import Suite, SuiteCase
from moderator_app.core.labels import decide_labels


@dataclass(frozen=True)
class PassCount:
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def describe(self) -> str:
        return f"{self.passed}/{self.total} ({self.rate:.0%})"

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "total": self.total, "pass_rate": self.rate}


@dataclass(frozen=True)
class CaseOutcome:
    case: SuiteCase
    predicted: str
    score: float  # binary models: the flagged label's probability; others: the predicted label's
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.case.to_dict(), "predicted": self.predicted, "score": self.score, "passed": self.passed}


@dataclass
class SuiteResult:
    suite: Suite
    model: str
    threshold: float | None
    threshold_source: str
    outcomes: list[CaseOutcome]
    overall: PassCount
    functionalities: dict[str, PassCount]
    by_label: dict[str, PassCount]  # per expected label: its recall on the suite
    positive_label: str | None = None  # the label the threshold is on (binary models)

    @property
    def failures(self) -> list[CaseOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.passed]

    def summary(self) -> str:
        """One line: the suite, how many passed, the weakest functionality."""
        text = f"{self.suite.name}: {self.overall.describe()} of the cases passed"
        weakest = min(self.functionalities.items(), key=lambda item: item[1].rate)
        if len(self.functionalities) > 1 and weakest[1].rate < 1:
            text += f"; weakest: {weakest[0]} {weakest[1].describe()}"
        return text

    def to_dict(self, failures: int | None = None) -> dict[str, Any]:
        """Everything, with the failing cases (the first `failures` of them; None: all)."""
        failing = self.failures
        return {"suite": self.suite.path, "lists": self.suite.lists_path, "model": self.model,
                "threshold": self.threshold, "positive_label": self.positive_label, "threshold_source": self.threshold_source,
                **self.overall.to_dict(),
                "functionalities": {name: count.to_dict() for name, count in self.functionalities.items()},
                "by_label": {name: count.to_dict() for name, count in self.by_label.items()},
                "failures_total": len(failing),
                "failures": [outcome.to_dict() for outcome in failing[:failures]]}


def score_suite(suite: Suite, probabilities: np.ndarray, labels: Sequence[str], positive_index: int | None,
                threshold: float | None, model: str = "", threshold_source: str = "") -> SuiteResult:
    """Pass rates of `suite` from a model's `probabilities` (cases × labels) at `threshold` (binary
    models; None: the most probable label). The suite's labels must be the model's (Suite.with_labels)."""
    from sklearn.metrics import accuracy_score, confusion_matrix

    labels = [str(label) for label in labels]
    predicted, scores = decide_labels(probabilities, labels, positive_index, threshold)
    expected = [case.expected for case in suite.cases]
    passed = np.asarray(predicted, dtype=object) == np.asarray(expected, dtype=object)
    outcomes = [CaseOutcome(case, str(label), float(score), bool(ok))
                for case, label, score, ok in zip(suite.cases, predicted, scores, passed)]
    overall = PassCount(int(round(accuracy_score(expected, predicted, normalize=False))), len(expected))
    functionalities = {}
    names = np.asarray([case.functionality for case in suite.cases], dtype=object)
    for name in suite.functionalities:
        chosen = names == name
        functionalities[name] = PassCount(int(passed[chosen].sum()), int(chosen.sum()))
    matrix = confusion_matrix(expected, predicted, labels=labels)  # rows: expected label
    by_label = {label: PassCount(int(matrix[row, row]), int(matrix[row].sum()))
                for row, label in enumerate(labels) if matrix[row].sum()}
    return SuiteResult(suite, model, threshold, threshold_source, outcomes, overall, functionalities, by_label,
                       labels[positive_index] if positive_index is not None else None)


def run_suite(classifier, suite: Suite, threshold: float | None = None, batch_size: int | None = None,
              on_batch: Callable[[int], None] | None = None) -> tuple[SuiteResult, np.ndarray]:
    """Run `suite` on a loaded Classifier at its operating threshold (or `threshold`); the result and
    the probabilities (kept by callers that re-decide at another threshold)."""
    threshold, source = decision_threshold(classifier, threshold)
    suite = suite.with_labels(classifier.labels)
    probabilities = classifier.predict_probabilities([case.text for case in suite.cases], batch_size, on_batch)
    result = score_suite(suite, probabilities, classifier.labels, classifier.positive_index, threshold,
                         classifier.name_or_path, source)
    return result, probabilities


# ------------------------------------------------------------------------------------------------
# Two models on one suite
# ------------------------------------------------------------------------------------------------
@dataclass
class FunctionalityChange:
    name: str
    old: PassCount
    new: PassCount

    @property
    def change(self) -> float:
        return self.new.rate - self.old.rate


@dataclass
class SuiteComparison:
    """`old` and `new` ran the same suite (case by case in the same order)."""

    old: SuiteResult
    new: SuiteResult
    rows: list[FunctionalityChange] = field(default_factory=list)
    newly_failing: list[tuple[CaseOutcome, CaseOutcome]] = field(default_factory=list)  # (old, new)
    newly_passing: list[tuple[CaseOutcome, CaseOutcome]] = field(default_factory=list)

    def to_dict(self, cases: int | None = None) -> dict[str, Any]:
        def pair(old: CaseOutcome, new: CaseOutcome) -> dict[str, Any]:
            return {**new.case.to_dict(), "old_predicted": old.predicted, "new_predicted": new.predicted}

        return {"old_model": self.old.model, "new_model": self.new.model,
                "overall": {"old": self.old.overall.to_dict(), "new": self.new.overall.to_dict()},
                "functionalities": {row.name: {"old": row.old.to_dict(), "new": row.new.to_dict()}
                                    for row in self.rows},
                "newly_failing_total": len(self.newly_failing), "newly_passing_total": len(self.newly_passing),
                "newly_failing": [pair(*item) for item in self.newly_failing[:cases]],
                "newly_passing": [pair(*item) for item in self.newly_passing[:cases]]}


def compare_results(old: SuiteResult, new: SuiteResult) -> SuiteComparison:
    """Per functionality the old and the new pass rate, and the cases that newly fail or newly pass."""
    old_cases = [outcome.case for outcome in old.outcomes]
    if [outcome.case for outcome in new.outcomes] != old_cases:
        raise ValueError("the two results are not of the same suite")
    comparison = SuiteComparison(old, new, [FunctionalityChange(name, old.functionalities[name], count)
                                            for name, count in new.functionalities.items()])
    for before, after in zip(old.outcomes, new.outcomes):
        if before.passed and not after.passed:
            comparison.newly_failing.append((before, after))
        elif after.passed and not before.passed:
            comparison.newly_passing.append((before, after))
    return comparison


# ------------------------------------------------------------------------------------------------
# The model card's section
# ------------------------------------------------------------------------------------------------
CARD_HEADING = "## Functional tests"


def card_lines(results: Sequence[SuiteResult], failures: int = 10) -> list[str]:
    """A model card section: per suite, the pass rate per functionality and the first failing cases."""
    lines = [CARD_HEADING, "",
             "The team's own test cases, run on the final model at its operating point (a suite is never "
             "training data)."]
    for result in results:
        decision = ("the most probable label" if result.threshold is None
                    else f"P({result.positive_label}) ≥ {result.threshold:.3f} ({result.threshold_source})")
        lines += ["", f"### {result.suite.name}", "", f"{result.suite.describe()}; decision: {decision}.", "",
                  "| Functionality | Passed | Cases | Pass rate |", "|:--|--:|--:|--:|"]
        for name, count in result.functionalities.items():
            lines.append(f"| {_cell(name)} | {count.passed} | {count.total} | {count.rate:.1%} |")
        lines.append(f"| **all** | {result.overall.passed} | {result.overall.total} | {result.overall.rate:.1%} |")
        failing = result.failures
        if failing:
            lines += ["", f"Failing cases ({len(failing)}{', the first ' + str(failures) if len(failing) > failures else ''}):",
                      "", "| Functionality | Text | Expected | Predicted |", "|:--|:--|:--|:--|"]
            lines += [f"| {_cell(item.case.functionality)} | {_cell(item.case.text)} | {_cell(item.case.expected)} | "
                      f"{_cell(item.predicted)} |" for item in failing[:failures]]
    return lines


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
