"""core.evaluation.metrics: the numbers against scikit-learn, ECE, groups, and degenerate models."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, f1_score,
                             precision_recall_fscore_support, roc_auc_score)

from moderator_app.core.evaluation.metrics import (degenerate_warning, evaluate, expected_calibration_error,
                                                   is_degenerate)

LABELS = ["hate", "not-hate"]


def fixture_rows(n: int = 60, seed: int = 3):
    """Binary labels and noisy probabilities of 'hate' that are informative but not perfect."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)  # 0 = hate, 1 = not-hate
    p_hate = np.clip(np.where(truth == 0, 0.65, 0.35) + rng.normal(0, 0.2, n), 0.01, 0.99)
    return truth, np.column_stack([p_hate, 1 - p_hate])


def test_binary_numbers_match_scikit_learn():
    truth, probabilities = fixture_rows()
    result = evaluate([LABELS[i] for i in truth], probabilities, LABELS)
    predicted = probabilities.argmax(axis=1)
    assert result.n == 60
    assert result.accuracy == pytest.approx(accuracy_score(truth, predicted))
    assert result.macro_f1 == pytest.approx(f1_score(truth, predicted, average="macro"))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted)
    for index, label in enumerate(LABELS):
        scores = result.per_class[label]
        assert (scores.precision, scores.recall, scores.f1, scores.support) == pytest.approx(
            (precision[index], recall[index], f1[index], support[index]))
    assert result.confusion_matrix == confusion_matrix(truth, predicted).tolist()
    assert result.positive_label == "hate"
    assert result.roc_auc == pytest.approx(roc_auc_score(truth == 0, probabilities[:, 0]))
    assert result.average_precision == pytest.approx(average_precision_score(truth == 0, probabilities[:, 0]))
    majority = np.bincount(truth).max() / len(truth)
    assert result.majority_baseline == pytest.approx(majority)
    assert result.majority_label == LABELS[int(np.bincount(truth).argmax())]
    assert result.threshold is None


def test_threshold_decides_on_the_positive_probability():
    truth, probabilities = fixture_rows()
    result = evaluate(truth.tolist(), probabilities, LABELS, threshold=0.3)  # indices work as well as names
    predicted = np.where(probabilities[:, 0] >= 0.3, 0, 1)
    assert result.threshold == 0.3
    assert result.accuracy == pytest.approx(accuracy_score(truth, predicted))
    assert result.confusion_matrix == confusion_matrix(truth, predicted).tolist()
    assert result.predicted_counts == {"hate": int((predicted == 0).sum()), "not-hate": int((predicted == 1).sum())}


def test_multiclass_has_no_auc_and_refuses_a_threshold():
    truth = np.array([0, 1, 2, 2, 1, 0, 2])
    probabilities = np.eye(3)[[0, 1, 2, 1, 1, 0, 2]] * 0.7 + 0.1
    result = evaluate(truth, probabilities, ["a", "b", "c"])
    assert result.roc_auc is None and result.average_precision is None and result.positive_label is None
    assert result.macro_f1 == pytest.approx(f1_score(truth, probabilities.argmax(1), average="macro"))
    with pytest.raises(ValueError, match="binary"):
        evaluate(truth, probabilities, ["a", "b", "c"], threshold=0.5)


def test_one_class_only_has_no_auc():
    result = evaluate(["hate"] * 4, np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.8, 0.2]]), LABELS)
    assert result.roc_auc is None and result.average_precision is None
    assert result.majority_baseline == 1.0 and result.accuracy == 0.75


def test_expected_calibration_error_by_hand():
    # Two bins used (of 15): (0.6, 0.667] holds 0.62, 0.65 → accuracy 0.5, mean confidence 0.635;
    # (0.933, 1] holds 0.95, 0.99 → accuracy 1, mean 0.97. ECE = ½·0.135 + ½·0.03.
    confidences = np.array([0.62, 0.65, 0.95, 0.99])
    correct = np.array([1, 0, 1, 1])
    assert expected_calibration_error(confidences, correct) == pytest.approx(0.5 * 0.135 + 0.5 * 0.03)
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([1, 1])) == 0.0


def test_groups_get_the_same_metrics_of_their_own_rows():
    truth, probabilities = fixture_rows()
    groups = ["a" if i % 3 else "b" for i in range(len(truth))]
    groups[5] = None
    result = evaluate(truth, probabilities, LABELS, groups=groups)
    assert set(result.by) == {"a", "b", "(missing)"}
    rows_a = np.array([g == "a" for g in groups])
    assert result.by["a"].n == rows_a.sum()
    assert result.by["a"].accuracy == pytest.approx(accuracy_score(truth[rows_a], probabilities[rows_a].argmax(1)))
    assert sum(group.n for group in result.by.values()) == result.n
    as_dict = result.to_dict()
    assert as_dict["by"]["b"]["n"] == result.by["b"].n and "by" not in as_dict["by"]["b"]


def test_degenerate_warning_fires_on_a_constant_predictor():
    truth = np.array([0] * 415 + [1] * 585)  # the 800-row run: 58.5 % not-hate
    constant = np.tile([0.3, 0.7], (1000, 1))
    result = evaluate(truth, constant, LABELS)
    warning = degenerate_warning(result)
    assert is_degenerate(result)
    assert "'not-hate' for 100%" in warning and "0.585" in warning
    assert "more training data or more epochs" in warning and "learning rate" in warning
    assert "class weighting" in warning


def test_degenerate_warning_fires_when_the_baseline_is_not_beaten():
    truth = np.array([0] * 30 + [1] * 70)
    # Predicts hate for 30 rows, 20 of them wrong: accuracy 0.6 < baseline 0.7.
    p_hate = np.array([0.9] * 10 + [0.1] * 20 + [0.9] * 20 + [0.1] * 50)
    result = evaluate(truth, np.column_stack([p_hate, 1 - p_hate]), LABELS)
    assert result.accuracy == pytest.approx(0.6)
    assert "does not beat the majority baseline" in degenerate_warning(result)  # balanced accuracy 0.52


def test_no_warning_when_a_threshold_trades_accuracy_for_the_rare_labels_recall():
    truth = np.array([0] * 100 + [1] * 900)  # 10 % hate: the majority baseline is 0.9
    # flags 80 of the 100 hateful rows and 120 benign ones: accuracy 0.86 < 0.9, balanced accuracy 0.83
    p_hate = np.array([0.9] * 80 + [0.1] * 20 + [0.9] * 120 + [0.1] * 780)
    result = evaluate(truth, np.column_stack([p_hate, 1 - p_hate]), LABELS)
    assert result.accuracy < result.majority_baseline and not is_degenerate(result)


def test_no_warning_for_a_good_model_even_on_lopsided_data():
    truth, probabilities = fixture_rows(400)
    good = np.where(truth[:, None] == np.arange(2), 0.9, 0.1)
    assert degenerate_warning(evaluate(truth, good, LABELS)) is None
    lopsided = np.array([1] * 97 + [0] * 3)  # a model that is right on all of it predicts 97 % one class
    assert not is_degenerate(evaluate(lopsided, np.eye(2)[lopsided] * 0.8 + 0.1, LABELS))


def test_the_prior_baseline_is_the_majority_class_and_ranks_nothing():
    from sklearn.dummy import DummyClassifier
    from sklearn.metrics import f1_score

    from moderator_app.core.evaluation.metrics import prior_baseline

    truth = ["hate"] * 3 + ["not-hate"] * 7
    baseline = prior_baseline(truth, ["hate", "not-hate"])
    dummy = DummyClassifier(strategy="prior").fit(np.zeros((10, 1)), truth)
    assert baseline.accuracy == pytest.approx(0.7) == pytest.approx(baseline.majority_baseline)
    assert baseline.macro_f1 == pytest.approx(f1_score(truth, dummy.predict(np.zeros((10, 1))), average="macro"))
    assert baseline.roc_auc == pytest.approx(0.5) and baseline.average_precision == pytest.approx(0.3)
    assert baseline.ece == pytest.approx(0.0)
