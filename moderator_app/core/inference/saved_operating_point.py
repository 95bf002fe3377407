"""A trained model's operating point as it is saved in its folder: the record (temperature, threshold,
the validation figures behind them) and `operating_point.json`, written atomically and read back with
the model's labels checked. `Classifier.load` reads it; core.evaluation.operating_point computes it
at the end of a training run."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from moderator_app.core.files.atomic import atomic_output
from moderator_app.core.inference.model_folder import ModelLoadError
from moderator_app.core.labels import positive_class_index
from moderator_app.core.threshold_rule import parse_threshold_rule

OPERATING_POINT_FILE = "operating_point.json"
CARD_HEADING = "## Calibration and operating threshold"
UNUSABLE_HINT = "Delete it to decide by the most probable label, or train the model again."


@dataclass
class OperatingPoint:
    """`threshold` is on the calibrated probability of `positive_label` (None: the most probable
    label, for models that are not binary or a validation set with one class). `precision`, `recall`
    and `f1` are the positive label's on the validation set at that threshold; `validation` holds
    the full evaluation there (accuracy, majority baseline, macro F1 …), `warning` says when the
    model is degenerate, `curve` is the validation precision–recall curve."""

    rule: str
    threshold: float | None
    positive_label: str | None
    temperature: float
    ece_before: float
    ece_after: float
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    rule_met: bool = True
    note: str = ""
    validation_rows: int = 0
    validation: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None
    curve: list[dict[str, float]] = field(default_factory=list)
    text_normalisation: str = ""  # what the Classifier did to each text first (core.text.normalise); "" before it was recorded
    # A multi-label model's operating point per category, in the model's category order: each
    # {threshold, temperature, precision, recall, f1, ap, prevalence, known_rows, rule_met, warning, curve, …},
    # the threshold on the category's calibrated probability. Empty for a single-label model.
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)

    def describe(self) -> str:
        """One line: the threshold, why, and the calibration."""
        rule = parse_threshold_rule(self.rule)
        if self.categories:
            return (f"per category, the threshold chosen for {rule.describe()} on its known validation rows: "
                    + "; ".join(f"{name} {describe_category(point)}" for name, point in self.categories.items()))
        if self.threshold is None:
            decision = f"the most probable label ({self.note})" if self.note else "the most probable label"
        else:
            decision = (f"threshold {self.threshold:.3f} on P({self.positive_label}), chosen for {rule.describe()} "
                        f"on {self.validation_rows:,} validation rows (precision {self.precision:.3f}, recall "
                        f"{self.recall:.3f})" + (f"; {self.note}" if self.note else ""))
        return (f"{decision}; temperature {self.temperature:.3f} (expected calibration error "
                f"{self.ece_before:.3f} before, {self.ece_after:.3f} after)")

    def card_lines(self) -> list[str]:
        if self.categories:
            return self._category_card_lines()
        validation = self.validation
        lines = [CARD_HEADING, "",
                 f"- Decision: {self.describe()}.",
                 f"- On the validation set at this decision: accuracy {validation['accuracy']:.4f} against a "
                 f"majority-class baseline of {validation['majority_baseline']:.4f} ('{validation['majority_label']}' "
                 f"for every row), macro F1 {validation['macro_f1']:.4f}."]
        if self.text_normalisation:
            lines.append(f"- Text normalisation before the model reads a text: {self.text_normalisation} "
                         "(`--no-normalise` on label, classify and evaluate switches it off, "
                         "`--no-normalise-evasion` its undoing of evasion spellings).")
        if self.warning:
            lines += ["", f"**Warning: {self.warning}**"]
        return lines

    def _category_card_lines(self) -> list[str]:
        """The multi-label card section: a row per category, its figures on its known validation rows."""
        lines = [CARD_HEADING, "",
                 f"- Decision: a category is flagged when its calibrated probability is at or over its threshold, "
                 f"chosen per category for {parse_threshold_rule(self.rule).describe()} on the validation rows "
                 "whose source labels that category (the other rows are unknown for it and left out).", "",
                 "| category | known rows | prevalence (baseline precision) | threshold | precision | recall | F1 "
                 "| AP | temperature |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for name, point in self.categories.items():
            precision = "n/a" if point.get("precision") is None else f"{point['precision']:.4f}"
            lines.append(f"| {name} | {point['known_rows']:,} | {point['prevalence']:.4f} | {point['threshold']:.3f} "
                         f"| {precision} | {point['recall']:.4f} | {point['f1']:.4f} | "
                         f"{_figure(point.get('ap'))} | {point['temperature']:.3f} |")
        if self.text_normalisation:
            lines += ["", f"- Text normalisation before the model reads a text: {self.text_normalisation}."]
        warnings = [f"**Warning ({name}): {point['warning']}**" for name, point in self.categories.items()
                    if point.get("warning")]
        if warnings:
            lines += ["", *warnings]
        return lines

    @property
    def warnings(self) -> list[str]:
        """Every degenerate-model warning: the model's, or one per category naming it."""
        if self.categories:
            return [f"{name}: {point['warning']}" for name, point in self.categories.items() if point.get("warning")]
        return [self.warning] if self.warning else []

    def precision_recall_at(self, threshold: float) -> tuple[float | None, float] | None:
        """The validation precision and recall of the positive label at another threshold (a slider's
        position), from the saved curve; None without a curve. Above every validation score nothing
        is flagged: the precision is undefined (None, where scikit-learn's curve ends at 1 by
        convention), the recall 0."""
        return precision_recall_on_curve(self.curve, threshold)

    def category_precision_recall_at(self, category: str, threshold: float) -> tuple[float | None, float] | None:
        """As precision_recall_at, for one category of a multi-label model, from its own validation curve
        (None: no such category, or no curve, as when its validation rows were all yes or all no)."""
        return precision_recall_on_curve((self.categories.get(category) or {}).get("curve") or [], threshold)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "OperatingPoint":
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def precision_recall_on_curve(curve: Sequence[dict[str, float]], threshold: float) -> tuple[float | None, float] | None:
    """The precision and recall at `threshold` on a saved precision–recall curve (points in increasing
    threshold); None for an empty curve, (None, 0) above every validation score."""
    if not curve:
        return None
    # 'score ≥ t' splits the validation rows as the curve's first point at or above t does (exactly so
    # between neighbours of the full curve).
    at_or_above = next((point for point in curve if point["threshold"] >= threshold), None)
    if at_or_above is None:
        return None, 0.0
    return at_or_above["precision"], at_or_above["recall"]


def describe_category(point: dict[str, Any]) -> str:
    """A category's threshold and its validation figures, in a few words."""
    precision = "n/a" if point.get("precision") is None else f"{point['precision']:.3f}"
    return (f"{point['threshold']:.3f} (precision {precision}, recall {point['recall']:.3f}, F1 {point['f1']:.3f} "
            f"on {point['known_rows']:,} rows; temperature {point['temperature']:.3f})")


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


# ------------------------------------------------------------------------------------------------
def save_operating_point(folder: str | Path, point: OperatingPoint) -> Path:
    """Write operating_point.json into a model folder of ours, atomically (a temporary file renamed)."""
    target = Path(folder) / OPERATING_POINT_FILE
    with atomic_output(target, overwrite=True) as temporary:  # the user's usual permissions, as every output
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(point.to_dict(), handle, indent=2, ensure_ascii=False)
            handle.write("\n")
    return target


def load_operating_point(folder: str | Path, labels: Sequence[str], multi_label: bool = False) -> OperatingPoint | None:
    """The operating point saved in `folder`, or None when there is none. A file that cannot be
    read or does not fit the model's `labels` (for a `multi_label` model: its categories) is a
    ModelLoadError, as Classifier.load's other refusals (rather than a silent fall-back to the most
    probable label)."""
    path = Path(folder) / OPERATING_POINT_FILE
    if not path.is_file():
        return None
    try:
        point = OperatingPoint.from_dict(json.loads(path.read_text(encoding="utf-8")))
        parse_threshold_rule(point.rule)
    except Exception as error:  # any malformed content: JSON, missing fields, wrong types
        raise ModelLoadError(f"{path} cannot be read ({type(error).__name__}: {error}). {UNUSABLE_HINT}") from None
    labels = [str(label) for label in labels]
    if point.categories and not multi_label:
        problem = "it holds thresholds per category, but the model is not a multi-label model"
    else:
        problem = _categories_problem(point, labels) if multi_label else _problem(point, labels)
    if problem:
        raise ModelLoadError(f"{path} does not fit this model: {problem}. {UNUSABLE_HINT}")
    return point


def _problem(point: OperatingPoint, labels: list[str]) -> str | None:
    if not isinstance(point.temperature, (int, float)) or not math.isfinite(point.temperature) or point.temperature <= 0:
        return f"the temperature {point.temperature!r} is not a positive number"
    if point.threshold is None:
        return None
    if not isinstance(point.threshold, (int, float)) or not 0.0 <= point.threshold <= 1.0:
        return f"the threshold {point.threshold!r} is not between 0 and 1"
    positive = positive_class_index(labels)
    if positive is None or labels[positive] != point.positive_label:
        return (f"its threshold is for the label {point.positive_label!r}, but the model's labels are "
                f"{', '.join(labels)}")
    return None


def _categories_problem(point: OperatingPoint, categories: list[str]) -> str | None:
    """What keeps a multi-label operating point from fitting a model of these `categories`, or None."""
    if not isinstance(point.categories, dict):
        return f"'categories' must be an object, got {type(point.categories).__name__}"
    if not point.categories:
        return (f"it has no thresholds per category for this multi-label model ({', '.join(categories)})"
                if point.threshold is not None else None)
    if list(point.categories) != categories:
        return f"its categories are {', '.join(map(str, point.categories))}, but the model's are {', '.join(categories)}"
    for name, entry in point.categories.items():
        if not isinstance(entry, dict):
            return f"category {name!r} is not an object"
        threshold, temperature = entry.get("threshold"), entry.get("temperature", 1.0)
        if not _number(threshold) or not 0.0 <= threshold <= 1.0:
            return f"the threshold of {name!r}, {threshold!r}, is not between 0 and 1"
        if not _number(temperature) or temperature <= 0:
            return f"the temperature of {name!r}, {temperature!r}, is not a positive number"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
