"""Running a functional test suite on a classifier: the pass rate per functionality (with counts),
overall and per expected label, the failing cases, and the comparison of two models on one suite.

A case passes when the model's label, at its decision (the operating threshold, or a given one), is
the expected label; for a multi-label model, when the set of categories it flags (each at its threshold)
is the expected set, and each category's rates are the recall of its expected-yes and expected-no cases.
`score_suite` and `score_category_suite` work from probabilities already computed, so the evaluation
view re-decides at another threshold without running the model again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from moderator_app.core.evaluation.file_evaluation import decision_threshold
from moderator_app.core.evaluation.suites import Suite, SuiteCase, category_set_text
from moderator_app.core.labels import decide_labels, flagged_categories
from moderator_app.core.messages import settings_error


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
    score: float  # binary models: the flagged label's probability; multi-label: the highest category's; others: the predicted label's
    passed: bool
    # a multi-label model: the flagged set and every category's probability
    predicted_categories: tuple[str, ...] | None = None
    probabilities: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {**self.case.to_dict(), "predicted": self.predicted, "score": self.score, "passed": self.passed}
        if self.predicted_categories is not None:
            data["predicted_categories"] = list(self.predicted_categories)
            data["probabilities"] = dict(self.probabilities or {})
        return data


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
    category_thresholds: dict[str, float] | None = None  # a multi-label model: each category's threshold
    # a multi-label model, per category: the recall of its expected-yes ("yes") and expected-no ("no") cases
    by_category: dict[str, dict[str, PassCount]] = field(default_factory=dict)

    @property
    def multi_label(self) -> bool:
        return self.category_thresholds is not None

    def decision(self) -> str:
        """How the cases were decided, in words."""
        if self.category_thresholds is not None:
            return ("each category at its threshold (" + ", ".join(
                f"{name} {value:.3f}" for name, value in self.category_thresholds.items()) + f"; {self.threshold_source})")
        if self.threshold is None:
            return "the most probable label"
        return f"P({self.positive_label}) ≥ {self.threshold:.3f} ({self.threshold_source})"

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
                **({"category_thresholds": dict(self.category_thresholds),
                    "by_category": {name: {side: count.to_dict() for side, count in sides.items()}
                                    for name, sides in self.by_category.items()}} if self.multi_label else {}),
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


def score_category_suite(suite: Suite, probabilities: np.ndarray, categories: Sequence[str],
                         thresholds: dict[str, float], model: str = "", threshold_source: str = "") -> SuiteResult:
    """Pass rates of a multi-label `suite` (Suite.with_categories) from a model's sigmoid
    `probabilities` (cases × categories), each category flagged at its threshold in `thresholds`: a
    case passes when the flagged set is its expected set. Per category, the recall of the cases that
    expect it (yes) and of those that do not (no), as scikit-learn counts them; the per-label rates
    (`by_label`) are the expected-yes ones."""
    from sklearn.metrics import confusion_matrix

    categories = [str(name) for name in categories]
    flagged = flagged_categories(probabilities, categories, [thresholds[name] for name in categories])
    expected = [case.expected_categories or () for case in suite.cases]
    passed = np.asarray([set(got) == set(wanted) for got, wanted in zip(flagged, expected)], dtype=bool)
    highest = np.nan_to_num(np.asarray(probabilities, dtype=np.float64), nan=0.0).max(axis=1)
    outcomes = [CaseOutcome(case, category_set_text(got), float(top), bool(ok), tuple(got),
                            dict(zip(categories, map(float, row))))
                for case, got, top, ok, row in zip(suite.cases, flagged, highest, passed, probabilities)]
    overall = PassCount(int(passed.sum()), len(passed))
    names = np.asarray([case.functionality for case in suite.cases], dtype=object)
    functionalities = {name: PassCount(int(passed[names == name].sum()), int((names == name).sum()))
                       for name in suite.functionalities}
    by_category: dict[str, dict[str, PassCount]] = {}
    for name in categories:
        truth = [name in wanted for wanted in expected]
        decided = [name in got for got in flagged]
        # rows: expected yes, expected no; the diagonal is each side's recall
        matrix = confusion_matrix(truth, decided, labels=[True, False])
        by_category[name] = {side: PassCount(int(matrix[row, row]), int(matrix[row].sum()))
                             for row, side in enumerate(("yes", "no")) if matrix[row].sum()}
    by_label = {name: sides["yes"] for name, sides in by_category.items() if "yes" in sides}
    return SuiteResult(suite, model, None, threshold_source, outcomes, overall, functionalities, by_label, None,
                       {name: float(thresholds[name]) for name in categories}, by_category)


THRESHOLDS_SAVED = "the model's thresholds"


def category_decision(classifier, overrides: dict[str, float] | None) -> tuple[dict[str, float], str]:
    """A multi-label model's thresholds (its saved ones, `overrides` in place of those they name) and
    where they came from; a category the model lacks is a settings error naming it."""
    try:
        chosen = classifier.category_thresholds_with(overrides)
    except ValueError as error:
        raise settings_error(f"--threshold: {error}.", "Name one of the model's categories: CATEGORY=T.",
                             setting="threshold") from None
    given = ", ".join(overrides or {})
    return chosen, THRESHOLDS_SAVED + (f"; given for {given}" if given else "")


def run_suite(classifier, suite: Suite, threshold: float | dict[str, float] | None = None,
              batch_size: int | None = None,
              on_batch: Callable[[int], None] | None = None) -> tuple[SuiteResult, np.ndarray]:
    """Run `suite` on a loaded Classifier at its operating threshold (or `threshold`; a multi-label
    model: each category at its threshold, a dict `threshold` in place of those it names); the result
    and the probabilities (kept by callers that re-decide at another threshold)."""
    if getattr(classifier, "multi_label", False):
        if threshold is not None and not isinstance(threshold, dict):
            raise settings_error(f"A single threshold is for a binary model; {classifier.name_or_path} is a "
                                 f"multi-label model (categories {', '.join(classifier.labels)}).",
                                 "Give one per category: CATEGORY=T.", setting="threshold")
        thresholds, source = category_decision(classifier, threshold)
        suite = suite.with_categories(classifier.labels)
        probabilities = classifier.predict_probabilities([case.text for case in suite.cases], batch_size, on_batch)
        return score_category_suite(suite, probabilities, classifier.labels, thresholds, classifier.name_or_path,
                                    source), probabilities
    if isinstance(threshold, dict):
        raise settings_error(f"Thresholds per category are for a multi-label model; {classifier.name_or_path} gives "
                             f"one label per text ({', '.join(classifier.labels)}).", "Give one threshold T.",
                             setting="threshold")
    threshold, source = decision_threshold(classifier, threshold)
    suite = suite.with_labels(classifier.labels)
    probabilities = classifier.predict_probabilities([case.text for case in suite.cases], batch_size, on_batch)
    result = score_suite(suite, probabilities, classifier.labels, classifier.positive_index, threshold,
                         classifier.name_or_path, source)
    return result, probabilities


def check_comparable(model, other) -> None:
    """Two models whose suite results can be compared case by case: of one kind, and two multi-label
    models with the same categories."""
    kinds = [bool(getattr(item, "multi_label", False)) for item in (model, other)]
    if kinds[0] != kinds[1]:
        multi, single = (model, other) if kinds[0] else (other, model)
        raise settings_error(f"{multi.name_or_path} is a multi-label model and {single.name_or_path} gives one label "
                             "per text: their test cases are not decided alike.", "Compare two models of one kind.")
    if kinds[0] and set(model.labels) != set(other.labels):
        raise settings_error(f"{other.name_or_path} has the categories {', '.join(other.labels)}, {model.name_or_path} "
                             f"{', '.join(model.labels)}: a suite's expected sets mean different things for them.",
                             "Compare two multi-label models with the same categories.")


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
        lines += ["", f"### {result.suite.name}", "", f"{result.suite.describe()}; decision: {result.decision()}.", "",
                  "| Functionality | Passed | Cases | Pass rate |", "|:--|--:|--:|--:|"]
        for name, count in result.functionalities.items():
            lines.append(f"| {_cell(name)} | {count.passed} | {count.total} | {count.rate:.1%} |")
        lines.append(f"| **all** | {result.overall.passed} | {result.overall.total} | {result.overall.rate:.1%} |")
        if result.multi_label:
            lines += ["", "| Category | Expected yes: flagged | Expected no: not flagged |", "|:--|--:|--:|"]
            lines += [f"| {_cell(name)} | {_rate(sides.get('yes'))} | {_rate(sides.get('no'))} |"
                      for name, sides in result.by_category.items()]
        failing = result.failures
        if failing:
            lines += ["", f"Failing cases ({len(failing)}{', the first ' + str(failures) if len(failing) > failures else ''}):",
                      "", "| Functionality | Text | Expected | Predicted |", "|:--|:--|:--|:--|"]
            lines += [f"| {_cell(item.case.functionality)} | {_cell(item.case.text)} | {_cell(item.case.expected)} | "
                      f"{_cell(item.predicted)} |" for item in failing[:failures]]
    return lines


def _rate(count: PassCount | None) -> str:
    return "–" if count is None else f"{count.passed}/{count.total} ({count.rate:.1%})"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
