"""A trained model's operating point: its temperature and decision threshold, saved in its folder.

`operating_point.json` is written at the end of a training run from the best model's validation
predictions. `Classifier.load` reads it: the temperature calibrates every probability, and the
threshold is the default decision of `label`, `classify` and `evaluate` (an explicit threshold
overrides it). Models without the file keep the most probable label.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from moderator_app.core.evaluation.calibration import calibrate, choose_threshold, pr_curve_points, softmax
from moderator_app.core.evaluation.metrics import degenerate_warning, evaluate
from moderator_app.core.evaluation.threshold_rule import ThresholdRule, parse_threshold_rule
from moderator_app.core.files.atomic import atomic_output
from moderator_app.core.inference.classifier import ModelLoadError, positive_class_index

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

    def describe(self) -> str:
        """One line: the threshold, why, and the calibration."""
        rule = parse_threshold_rule(self.rule)
        if self.threshold is None:
            decision = f"the most probable label ({self.note})" if self.note else "the most probable label"
        else:
            decision = (f"threshold {self.threshold:.3f} on P({self.positive_label}), chosen for {rule.describe()} "
                        f"on {self.validation_rows:,} validation rows (precision {self.precision:.3f}, recall "
                        f"{self.recall:.3f})" + (f"; {self.note}" if self.note else ""))
        return (f"{decision}; temperature {self.temperature:.3f} (expected calibration error "
                f"{self.ece_before:.3f} before, {self.ece_after:.3f} after)")

    def card_lines(self) -> list[str]:
        validation = self.validation
        lines = [CARD_HEADING, "",
                 f"- Decision: {self.describe()}.",
                 f"- On the validation set at this decision: accuracy {validation['accuracy']:.4f} against a "
                 f"majority-class baseline of {validation['majority_baseline']:.4f} ('{validation['majority_label']}' "
                 f"for every row), macro F1 {validation['macro_f1']:.4f}."]
        if self.text_normalisation:
            lines.append(f"- Text normalisation before the model reads a text: {self.text_normalisation} "
                         "(`--no-normalise` on label, classify and evaluate switches it off).")
        if self.warning:
            lines += ["", f"**Warning: {self.warning}**"]
        return lines

    def precision_recall_at(self, threshold: float) -> tuple[float | None, float] | None:
        """The validation precision and recall of the positive label at another threshold (a slider's
        position), from the saved curve; None without a curve. Above every validation score nothing
        is flagged: the precision is undefined (None, where scikit-learn's curve ends at 1 by
        convention), the recall 0."""
        if not self.curve:
            return None
        # The curve's points are in increasing threshold; 'score ≥ t' splits the validation rows as
        # its first point at or above t does (exactly so between neighbours of the full curve).
        at_or_above = next((point for point in self.curve if point["threshold"] >= threshold), None)
        if at_or_above is None:
            return None, 0.0
        return at_or_above["precision"], at_or_above["recall"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "OperatingPoint":
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def compute_operating_point(logits: np.ndarray, truth: Sequence[int], labels: Sequence[str],
                            rule: ThresholdRule | str) -> OperatingPoint:
    """Fit the temperature on validation `logits` (rows × labels) with labels `truth` (indices),
    then choose the threshold by `rule` on the calibrated probabilities."""
    rule = parse_threshold_rule(rule) if isinstance(rule, str) else rule
    labels = [str(label) for label in labels]
    truth = np.asarray(truth, dtype=int)
    calibration = calibrate(logits, truth)
    probabilities = softmax(logits, calibration.temperature)
    positive = positive_class_index(labels)
    point = OperatingPoint(str(rule), None, labels[positive] if positive is not None else None,
                           calibration.temperature, calibration.ece_before, calibration.ece_after,
                           validation_rows=int(len(truth)))
    if positive is None:
        point.note = f"a threshold needs a binary model; this one has {len(labels)} labels"
    elif len(np.unique(truth)) < 2:
        point.note = f"the validation set holds only '{labels[int(truth[0])]}', so no threshold can be chosen"
    else:
        is_positive, scores = truth == positive, probabilities[:, positive]
        chosen = choose_threshold(is_positive, scores, rule)
        point.threshold, point.precision, point.recall, point.f1 = (chosen.threshold, chosen.precision,
                                                                    chosen.recall, chosen.f1)
        point.rule_met, point.note = chosen.met, chosen.note
        point.curve = pr_curve_points(is_positive, scores)
    result = evaluate(truth, probabilities, labels, threshold=point.threshold)
    point.validation = result.to_dict()
    # A threshold tuned on these very rows flatters the model; the most probable label (what the
    # epoch table shows) is checked too, and either failing is reported.
    most_probable = evaluate(truth, probabilities, labels) if point.threshold is not None else result
    point.warning = degenerate_warning(result) or _with_most_probable_label(degenerate_warning(most_probable))
    return point


def _with_most_probable_label(warning: str | None) -> str | None:
    return None if warning is None else "By its most probable label (without its threshold): " + warning[0].lower() + warning[1:]


# ------------------------------------------------------------------------------------------------
# The file in the model folder
# ------------------------------------------------------------------------------------------------
def save_operating_point(folder: str | Path, point: OperatingPoint) -> Path:
    """Write operating_point.json into a model folder of ours, atomically (a temporary file renamed)."""
    target = Path(folder) / OPERATING_POINT_FILE
    with atomic_output(target, overwrite=True) as temporary:  # the user's usual permissions, as every output
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(point.to_dict(), handle, indent=2, ensure_ascii=False)
            handle.write("\n")
    return target


def load_operating_point(folder: str | Path, labels: Sequence[str]) -> OperatingPoint | None:
    """The operating point saved in `folder`, or None when there is none. A file that cannot be
    read or does not fit the model's `labels` is a ModelLoadError, as Classifier.load's other refusals
    (rather than a silent fall-back to the most probable label)."""
    path = Path(folder) / OPERATING_POINT_FILE
    if not path.is_file():
        return None
    try:
        point = OperatingPoint.from_dict(json.loads(path.read_text(encoding="utf-8")))
        parse_threshold_rule(point.rule)
    except Exception as error:  # any malformed content: JSON, missing fields, wrong types
        raise ModelLoadError(f"{path} cannot be read ({type(error).__name__}: {error}). {UNUSABLE_HINT}") from None
    problem = _problem(point, [str(label) for label in labels])
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


def append_to_model_card(folder: str | Path, point: OperatingPoint, card_name: str = "README.md") -> None:
    """Add the operating point's section to the model card the trainer wrote."""
    card = Path(folder) / card_name
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    card.write_text(text.rstrip("\n") + "\n\n" + "\n".join(point.card_lines()) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------------------------
# The hook at the end of a training run
# ------------------------------------------------------------------------------------------------
def calibrate_trained_model(folder: str | Path, texts: Sequence[str], truth: Sequence[int], rule: str,
                            device: str = "cpu", batch_size: int | None = None) -> OperatingPoint:
    """Load the model saved in `folder` (the best epoch's), predict its validation `texts`, and save
    its operating point (operating_point.json and a section of the model card). The predictions are
    those of Classifier, which will use the operating point, so both see the same numbers."""
    from moderator_app.core.inference.classifier import Classifier

    classifier = Classifier.load(folder, device=device)
    logits = classifier.predict_logits(list(texts), batch_size)
    point = compute_operating_point(logits, truth, classifier.labels, rule)
    point.text_normalisation = classifier.normalisation
    save_operating_point(folder, point)
    append_to_model_card(folder, point)
    return point
