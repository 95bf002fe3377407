"""core.evaluation.calibration and operating_point: threshold rules, temperature scaling, the saved file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from moderator_app.core.config import ConfigError, TrainingConfig
from moderator_app.core.errors import SettingsError
from moderator_app.core.evaluation.calibration import calibrate, choose_threshold, fit_temperature, softmax
from moderator_app.core.evaluation.metrics import top_label_ece
from moderator_app.core.evaluation.operating_point import compute_operating_point
from moderator_app.core.inference.classifier import ModelLoadError
from moderator_app.core.inference.saved_operating_point import (OPERATING_POINT_FILE, load_operating_point,
                                                                save_operating_point)
from moderator_app.core.threshold_rule import ThresholdRule, parse_threshold_rule

# auto resolves to bf16 or fp32 by the CPU: `make test` runs this module both ways (--cpu-bf16)
pytestmark = pytest.mark.precision

LABELS = ["hate", "not-hate"]


def synthetic_scores(n: int = 400, seed: int = 7):
    rng = np.random.default_rng(seed)
    is_positive = rng.random(n) < 0.4
    scores = np.clip(np.where(is_positive, 0.62, 0.38) + rng.normal(0, 0.18, n), 0.001, 0.999).round(3)
    return is_positive, scores


def brute_force(is_positive, scores):
    """(cut, precision, recall, F1) for every cut 'score ≥ s' at each distinct score, counted directly."""
    rows = []
    for cut in np.unique(scores):
        predicted = scores >= cut
        true_positives = (predicted & is_positive).sum()
        precision, recall = true_positives / predicted.sum(), true_positives / is_positive.sum()
        rows.append((cut, precision, recall, 2 * precision * recall / (precision + recall) if true_positives else 0.0))
    return rows


def same_split(threshold, cut, scores):
    return np.array_equal(scores >= threshold, scores >= cut)


def test_best_f1_rule_matches_a_brute_force_search():
    is_positive, scores = synthetic_scores()
    chosen = choose_threshold(is_positive, scores, parse_threshold_rule("best_f1"))
    best = max(brute_force(is_positive, scores), key=lambda row: row[3])
    assert chosen.f1 == pytest.approx(best[3])
    assert chosen.f1 == pytest.approx(f1_score(is_positive, scores >= chosen.threshold))
    assert same_split(chosen.threshold, best[0], scores)
    assert chosen.met and (chosen.precision, chosen.recall) == pytest.approx(best[1:3])


def test_precision_rule_takes_the_most_recall_that_keeps_the_precision():
    is_positive, scores = synthetic_scores()
    chosen = choose_threshold(is_positive, scores, parse_threshold_rule("precision>=0.8"))
    reaching = [row for row in brute_force(is_positive, scores) if row[1] >= 0.8]
    best = max(reaching, key=lambda row: (row[2], row[1]))
    assert chosen.met and chosen.precision >= 0.8
    assert chosen.recall == pytest.approx(best[2]) and same_split(chosen.threshold, best[0], scores)
    # The threshold lies between two scores, never on one.
    assert chosen.threshold not in set(scores.tolist())


def test_recall_rule_takes_the_most_precision_that_keeps_the_recall():
    is_positive, scores = synthetic_scores()
    chosen = choose_threshold(is_positive, scores, ThresholdRule("recall", 0.9))
    reaching = [row for row in brute_force(is_positive, scores) if row[2] >= 0.9]
    best = max(reaching, key=lambda row: (row[1], row[2]))
    assert chosen.met and chosen.recall >= 0.9
    assert chosen.precision == pytest.approx(best[1]) and same_split(chosen.threshold, best[0], scores)


def test_an_unreachable_precision_says_so_and_takes_the_closest():
    is_positive = np.array([True, False, True, False])
    scores = np.array([0.9, 0.9, 0.4, 0.3])  # the top score is half wrong: precision never exceeds 2/3
    chosen = choose_threshold(is_positive, scores, parse_threshold_rule("precision>=0.95"))
    assert not chosen.met and "no threshold reaches precision ≥ 0.95" in chosen.note
    assert chosen.precision == pytest.approx(2 / 3)


@pytest.mark.parametrize("text", ["precision>=1.5", "recall>=0", "f2", "precision>0.9", ""])
def test_bad_rules_are_refused(text):
    with pytest.raises(SettingsError, match="threshold rule"):
        parse_threshold_rule(text)
    with pytest.raises(ConfigError, match="threshold_rule"):
        TrainingConfig(train_file="x.csv", output_dir="out", threshold_rule=text).validate()


def test_rule_spellings():
    assert str(parse_threshold_rule(" Precision >= 0.90 ")) == "precision>=0.9"
    assert parse_threshold_rule("recall>=.8") == ThresholdRule("recall", 0.8)
    assert TrainingConfig().threshold_rule == "best_f1"


def overconfident_logits(n: int = 4000, seed: int = 1, factor: float = 4.0):
    """Logits whose softmax is calibrated, then multiplied by `factor`: far too confident."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, 2))
    truth = np.array([rng.choice(2, p=row) for row in softmax(logits)])
    return logits * factor, truth


def test_temperature_scaling_lowers_ece_on_an_overconfident_model():
    logits, truth = overconfident_logits()
    calibration = calibrate(logits, truth)
    assert calibration.temperature == pytest.approx(4.0, rel=0.15)
    assert calibration.ece_before > 0.1
    assert calibration.ece_after < calibration.ece_before / 3
    # Scaling changes no decision of the most probable label.
    assert np.array_equal(softmax(logits).argmax(1), softmax(logits, calibration.temperature).argmax(1))
    assert calibration.ece_after == pytest.approx(top_label_ece(truth, softmax(logits, calibration.temperature)))


def test_temperature_of_a_calibrated_model_stays_near_one():
    logits, truth = overconfident_logits(factor=1.0)
    assert fit_temperature(logits, truth) == pytest.approx(1.0, abs=0.15)


def test_operating_point_round_trip_and_checks(tmp_path):
    logits, truth = overconfident_logits(800)
    point = compute_operating_point(logits, truth, LABELS, "recall>=0.8")
    assert point.positive_label == "hate" and point.recall >= 0.8 and point.rule == "recall>=0.8"
    assert point.validation["n"] == 800 and point.validation["threshold"] == point.threshold
    assert point.curve and {"threshold", "precision", "recall"} == set(point.curve[0])
    assert "recall ≥ 0.8" in point.describe() and "temperature" in point.describe()
    save_operating_point(tmp_path, point)
    assert [path.name for path in tmp_path.iterdir()] == [OPERATING_POINT_FILE]  # no temporary file left
    loaded = load_operating_point(tmp_path, LABELS)
    assert loaded == point
    assert load_operating_point(tmp_path / "elsewhere", LABELS) is None
    with pytest.raises(ModelLoadError, match="does not fit this model"):
        load_operating_point(tmp_path, ["toxic", "fine"])
    (tmp_path / OPERATING_POINT_FILE).write_text(json.dumps({"rule": "best_f1"}))
    with pytest.raises(ModelLoadError, match="cannot be read"):
        load_operating_point(tmp_path, LABELS)


def test_operating_point_of_a_multiclass_model_has_no_threshold():
    rng = np.random.default_rng(0)
    logits, truth = rng.normal(0, 2, (300, 3)), rng.integers(0, 3, 300)
    point = compute_operating_point(logits, truth, ["a", "b", "c"], "best_f1")
    assert point.threshold is None and point.positive_label is None and "binary" in point.note
    assert point.temperature > 1  # random logits: the fit flattens them


def test_precision_and_recall_at_a_slider_position():
    is_positive, scores = synthetic_scores(150)  # under 200 distinct scores: the curve is kept whole
    logits = np.log(np.column_stack([scores, 1 - scores]))
    point = compute_operating_point(logits, np.where(is_positive, 0, 1), LABELS, "best_f1")
    probabilities = softmax(logits, point.temperature)[:, 0]
    for threshold in (0.2, 0.45, 0.5, 0.61, point.threshold):
        flagged = probabilities >= threshold
        precision, recall = point.precision_recall_at(threshold)
        assert recall == pytest.approx((flagged & is_positive).sum() / is_positive.sum())
        assert precision == pytest.approx((flagged & is_positive).sum() / flagged.sum())
    assert point.precision_recall_at(1.0) == (None, 0.0)  # nothing flagged: undefined
    assert compute_operating_point(logits[:, [0, 0, 1]], np.zeros(150, int), ["a", "b", "c"],
                                   "best_f1").precision_recall_at(0.5) is None
