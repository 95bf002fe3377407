"""Calibration and the operating threshold, fitted on a validation set's logits.

Temperature scaling (Guo et al. 2017) divides the logits by one number T > 0 chosen to minimise the
negative log-likelihood of the validation labels: it changes no argmax decision, only how confident
the probabilities are. The operating threshold is then chosen on the calibrated probability of the
positive label by a ThresholdRule, with scikit-learn's precision_recall_curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moderator_app.core.evaluation.metrics import top_label_ece
from moderator_app.core.threshold_rule import BEST_F1, ThresholdRule

# T is searched in [e^-4, e^4]: far beyond any temperature seen on a fine-tuned classifier.
LOG_TEMPERATURE_BOUNDS = (-4.0, 4.0)
# The PR curve kept for plots: at most this many points, evenly spread along the curve.
CURVE_POINTS = 200


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    from scipy.special import softmax as scipy_softmax

    return scipy_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


def negative_log_likelihood(logits: np.ndarray, truth: np.ndarray, temperature: float) -> float:
    from scipy.special import log_softmax

    log_probabilities = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    return float(-log_probabilities[np.arange(len(truth)), truth].mean())


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The T > 0 that minimises the mean negative log-likelihood of softmax(logits / T); a bounded
    one-dimensional search over log T (scipy's Brent method)."""
    from scipy.optimize import minimize_scalar

    truth = np.asarray(truth, dtype=int)
    found = minimize_scalar(lambda log_t: negative_log_likelihood(logits, truth, float(np.exp(log_t))),
                            bounds=LOG_TEMPERATURE_BOUNDS, method="bounded", options={"xatol": 1e-4})
    return float(np.exp(found.x))


@dataclass
class ChosenThreshold:
    """A threshold on the positive label's probability with the validation precision, recall and F1
    it gives. `met` is False when no threshold reaches the rule's target (the closest one is taken)."""

    threshold: float
    precision: float
    recall: float
    f1: float
    met: bool
    note: str = ""


def choose_threshold(is_positive: np.ndarray, scores: np.ndarray, rule: ThresholdRule) -> ChosenThreshold:
    """The threshold `rule` picks on `scores` (the positive label's probability) for labels
    `is_positive`. best_f1: the highest F1. precision ≥ P: of the thresholds that reach P, the one
    with the most recall. recall ≥ R: of those that reach R, the one with the most precision.

    The threshold is set halfway between the chosen score and the next lower one: the validation
    rows are split exactly as at the chosen score, without the cut sitting on one row's score."""
    precision, recall, thresholds = _curve(is_positive, scores)
    f1 = _f1(precision, recall)
    met, note = True, ""
    if rule.kind == BEST_F1:
        chosen = int(np.argmax(f1))
    else:
        achieved = precision if rule.kind == "precision" else recall
        other = recall if rule.kind == "precision" else precision
        reaching = np.flatnonzero(achieved >= rule.target)
        if len(reaching):  # the most of the other measure; on a tie, the more of the rule's own
            chosen = int(reaching[np.lexsort((achieved[reaching], other[reaching]))[-1]])
        else:  # no cut reaches the target (precision only: recall 1 is always reachable)
            chosen = int(np.argmax(achieved))
            met = False
            note = (f"no threshold reaches {rule.describe()} on the validation set; the one with the highest "
                    f"{rule.kind} ({achieved[chosen]:.3f}) is used")
    lower = thresholds[chosen - 1] if chosen > 0 else None
    threshold = float(thresholds[chosen] if lower is None else (thresholds[chosen] + lower) / 2)
    return ChosenThreshold(threshold, float(precision[chosen]), float(recall[chosen]), float(f1[chosen]), met, note)


def pr_curve_points(is_positive: np.ndarray, scores: np.ndarray, points: int = CURVE_POINTS) -> list[dict[str, float]]:
    """The validation precision–recall curve as {threshold, precision, recall} points (at most `points`)."""
    precision, recall, thresholds = _curve(is_positive, scores)
    keep = np.unique(np.linspace(0, len(thresholds) - 1, min(points, len(thresholds))).round().astype(int))
    return [{"threshold": float(thresholds[i]), "precision": float(precision[i]), "recall": float(recall[i])}
            for i in keep]


def _curve(is_positive: np.ndarray, scores: np.ndarray):
    """precision_recall_curve without its final (precision 1, recall 0) point, which has no threshold."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(np.asarray(is_positive, dtype=bool),
                                                           np.asarray(scores, dtype=np.float64))
    return precision[:-1], recall[:-1], thresholds


def _f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    total = precision + recall
    return np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)


@dataclass
class Calibration:
    temperature: float
    ece_before: float
    ece_after: float


def calibrate(logits: np.ndarray, truth: np.ndarray) -> Calibration:
    """Fit the temperature on validation logits and report the ECE before and after."""
    truth = np.asarray(truth, dtype=int)
    temperature = fit_temperature(logits, truth)
    return Calibration(temperature, top_label_ece(truth, softmax(logits)),
                       top_label_ece(truth, softmax(logits, temperature)))
