"""A multi-label model's quality per category, on the rows whose source labels that category.

Targets are an array (rows × categories) of 1 (yes), 0 (no) and UNKNOWN (-1: the row's source does not
label the category). Every figure of a category is computed on its known rows only, beside its
prevalence there (the precision of flagging every row: the baseline of precision and of average
precision). Each category is calibrated on its own (a temperature on its logit, fitted as
core.evaluation.calibration fits the softmax one) and gets its own threshold by the run's rule.
scikit-learn computes every metric.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from moderator_app.core.evaluation.calibration import LOG_TEMPERATURE_BOUNDS, choose_threshold, pr_curve_points
from moderator_app.core.evaluation.metrics import degenerate_warning, evaluate, top_label_ece
from moderator_app.core.threshold_rule import ThresholdRule

UNKNOWN = -1
# The threshold of a category before calibration (per-epoch metrics) and of a model without an operating point.
DEFAULT_THRESHOLD = 0.5


def sigmoid(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    from scipy.special import expit

    return expit(np.asarray(logits, dtype=np.float64) / temperature)


def fit_sigmoid_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The T > 0 minimising the binary cross-entropy of sigmoid(logit / T) against `truth` (0/1): one
    category's temperature scaling, a bounded search over log T (scipy's Brent method)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_expit

    logits, truth = np.asarray(logits, dtype=np.float64), np.asarray(truth, dtype=np.float64)

    def loss(log_t: float) -> float:
        scaled = logits / float(np.exp(log_t))
        return float(-(truth * log_expit(scaled) + (1 - truth) * log_expit(-scaled)).mean())

    found = minimize_scalar(loss, bounds=LOG_TEMPERATURE_BOUNDS, method="bounded", options={"xatol": 1e-4})
    return float(np.exp(found.x))


def category_evaluation(truth: np.ndarray, scores: np.ndarray, name: str, threshold: float):
    """core.evaluation.metrics.evaluate of one category as a binary task ('not-<name>', '<name>') on its
    known rows: the degenerate-model warning and the confusion matrix come from it."""
    two_columns = np.column_stack([1 - scores, scores])
    return evaluate(np.asarray(truth, dtype=int), two_columns, [f"not-{name}", name], threshold=threshold)


def category_metrics(truth: np.ndarray, scores: np.ndarray, name: str,
                     threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """One category's figures on its known rows (`truth` 0/1, `scores` its probability): precision
    (None when nothing is flagged), recall, F1 at `threshold`, average precision (None with one class),
    the prevalence baseline, the rows and how many are yes, flagged, and the degenerate-model warning."""
    from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

    truth = np.asarray(truth, dtype=int)
    scores = np.asarray(scores, dtype=np.float64)
    if len(truth) == 0:
        return dict(known_rows=0, positives=0, flagged=0, prevalence=None, precision=None, recall=None, f1=None,
                    ap=None, warning=None)
    flagged = scores >= threshold
    both = len(np.unique(truth)) == 2
    result = category_evaluation(truth, scores, name, threshold) if both else None
    return dict(
        known_rows=int(len(truth)), positives=int(truth.sum()), flagged=int(flagged.sum()),
        prevalence=float(truth.mean()),
        precision=float(precision_score(truth, flagged, zero_division=0)) if flagged.any() else None,
        recall=float(recall_score(truth, flagged, zero_division=0)),
        f1=float(f1_score(truth, flagged, zero_division=0)),
        ap=float(average_precision_score(truth, scores)) if both else None,
        warning=degenerate_warning(result) if result is not None else None)


def per_category_metrics(targets: np.ndarray, probabilities: np.ndarray, categories: Sequence[str],
                         thresholds: Sequence[float] | None = None,
                         groups: Sequence[Any] | None = None) -> dict[str, dict[str, Any]]:
    """category_metrics of every category on its known rows (targets not UNKNOWN, probabilities not NaN).
    With `groups` (one value per row) each category's entry gets `by`: the same per group."""
    targets = np.asarray(targets, dtype=int)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    thresholds = list(thresholds) if thresholds is not None else [DEFAULT_THRESHOLD] * len(categories)
    result = {}
    group_values = None if groups is None else np.array([_group(value) for value in groups])
    for index, name in enumerate(categories):
        known = (targets[:, index] != UNKNOWN) & ~np.isnan(probabilities[:, index])
        entry = category_metrics(targets[known, index], probabilities[known, index], name, thresholds[index])
        entry["threshold"] = float(thresholds[index])
        entry["unknown_rows"] = int((~known).sum())
        if group_values is not None:
            entry["by"] = {group: category_metrics(targets[known & (group_values == group), index],
                                                   probabilities[known & (group_values == group), index], name,
                                                   thresholds[index])
                           for group in sorted(set(group_values))}
        result[name] = entry
    return result


def _group(value: Any) -> str:
    return "(missing)" if value is None or str(value) == "" else str(value)


def macro_f1(metrics: dict[str, dict[str, Any]]) -> float:
    """The mean F1 of the categories that have known rows (a run's one figure to rank epochs by)."""
    values = [entry["f1"] for entry in metrics.values() if entry.get("f1") is not None]
    return float(np.mean(values)) if values else 0.0


def category_point(logits: np.ndarray, truth: np.ndarray, name: str, rule: ThresholdRule) -> dict[str, Any]:
    """One category's operating point from its known validation rows (`logits`, `truth` 0/1): its
    temperature, the threshold `rule` picks on the calibrated probability, the figures there, the
    calibration error before and after, the precision–recall curve and the degenerate-model warning."""
    truth = np.asarray(truth, dtype=int)
    point: dict[str, Any] = dict(threshold=DEFAULT_THRESHOLD, temperature=1.0, precision=None, recall=0.0, f1=0.0,
                                 ap=None, prevalence=float(truth.mean()) if len(truth) else 0.0,
                                 known_rows=int(len(truth)), rule_met=False, warning=None, curve=[], note="",
                                 ece_before=None, ece_after=None)
    if len(truth) == 0:
        point["note"] = "no validation row labels this category; the default threshold 0.5 is used"
        return point
    if len(np.unique(truth)) < 2:
        point["note"] = (f"its validation rows are all {'yes' if truth[0] else 'no'}, so no threshold can be chosen; "
                         "the default threshold 0.5 is used")
        point.update({key: value for key, value in category_metrics(truth, sigmoid(logits), name).items()
                      if key in ("precision", "recall", "f1")})
        return point
    temperature = fit_sigmoid_temperature(logits, truth)
    scores = sigmoid(logits, temperature)
    chosen = choose_threshold(truth == 1, scores, rule)
    figures = category_metrics(truth, scores, name, chosen.threshold)
    before, after = (np.column_stack([1 - probability, probability])
                     for probability in (sigmoid(logits), scores))
    # As for a single-label model: a threshold tuned on these rows flatters the model, so the plain 0.5
    # decision is checked too.
    plain = category_metrics(truth, scores, name, DEFAULT_THRESHOLD)["warning"]
    point.update(threshold=chosen.threshold, temperature=temperature, precision=chosen.precision,
                 recall=chosen.recall, f1=chosen.f1, ap=figures["ap"], rule_met=chosen.met, note=chosen.note,
                 warning=figures["warning"] or (None if plain is None else "At the threshold 0.5: " + plain),
                 curve=pr_curve_points(truth == 1, scores),
                 ece_before=top_label_ece(truth, before), ece_after=top_label_ece(truth, after))
    return point
