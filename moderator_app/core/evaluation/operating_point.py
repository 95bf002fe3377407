"""Choosing a trained model's operating point: its temperature and decision threshold, fitted on
the best model's validation predictions and saved in its folder (the record and its file:
core.inference.saved_operating_point).

`operating_point.json` is written at the end of a training run from the best model's validation
predictions. `Classifier.load` reads it: the temperature calibrates every probability, and the
threshold is the default decision of `label`, `classify` and `evaluate` (an explicit threshold
overrides it). Models without the file keep the most probable label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from moderator_app.core.evaluation.calibration import calibrate, choose_threshold, pr_curve_points, softmax
from moderator_app.core.evaluation.categories import UNKNOWN, category_point
from moderator_app.core.evaluation.metrics import degenerate_warning, evaluate
from moderator_app.core.inference.classifier import Classifier
from moderator_app.core.inference.saved_operating_point import OperatingPoint, save_operating_point
from moderator_app.core.labels import positive_class_index
from moderator_app.core.threshold_rule import ThresholdRule, parse_threshold_rule


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


def compute_multi_label_operating_point(logits: np.ndarray, targets: np.ndarray, categories: Sequence[str],
                                        rule: ThresholdRule | str) -> OperatingPoint:
    """A multi-label model's operating point: per category (core.evaluation.categories.category_point) a
    temperature and a threshold by `rule`, from the validation rows whose source labels that category
    (`targets`: rows × categories of 1, 0 and UNKNOWN). The single-label fields stay neutral (no
    threshold, temperature 1); the calibration errors are the categories' means, weighted by known rows."""
    rule = parse_threshold_rule(rule) if isinstance(rule, str) else rule
    logits, targets = np.asarray(logits, dtype=np.float64), np.asarray(targets, dtype=int)
    points = {}
    for index, name in enumerate(categories):
        known = targets[:, index] != UNKNOWN
        points[str(name)] = category_point(logits[known, index], targets[known, index], str(name), rule)
    weights = [point["known_rows"] for point in points.values() if point["ece_before"] is not None]

    def mean_of(key: str) -> float:
        values = [point[key] for point in points.values() if point[key] is not None]
        return float(np.average(values, weights=weights)) if values else 0.0

    return OperatingPoint(str(rule), None, None, 1.0, mean_of("ece_before"), mean_of("ece_after"),
                          validation_rows=int(len(targets)), categories=points,
                          note="a threshold per category (see categories)")


def _with_most_probable_label(warning: str | None) -> str | None:
    return None if warning is None else "By its most probable label (without its threshold): " + warning[0].lower() + warning[1:]


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
    its operating point (for a multi-label model `truth` is rows × categories, with UNKNOWN where a row's
    source does not label a category) (operating_point.json and a section of the model card). The predictions are
    those of Classifier, which will use the operating point, so both see the same numbers."""
    classifier = Classifier.load(folder, device=device)
    logits = classifier.predict_logits(list(texts), batch_size)
    if classifier.multi_label:  # `truth`: rows × categories of 1, 0 and UNKNOWN
        point = compute_multi_label_operating_point(logits, np.asarray(truth), classifier.labels, rule)
    else:
        point = compute_operating_point(logits, truth, classifier.labels, rule)
    point.text_normalisation = classifier.normalisation
    save_operating_point(folder, point)
    append_to_model_card(folder, point)
    return point
