"""Issue 27: a multi-label model folder (config, operating point per category) and the Classifier's
multi-label API (category_thresholds, calibrated sigmoid probabilities, decide_categories)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tiny_models import synthetic_multi_label_rows

CATEGORIES = ["hate", "offensive"]


@pytest.fixture(scope="module")
def classifier(tiny_multi_label_dir):
    from moderator_app.core.inference.classifier import Classifier

    return Classifier.load(tiny_multi_label_dir, device="cpu", precision="fp32")


def test_the_folder_is_a_multi_label_hugging_face_model(tiny_multi_label_dir):
    config = json.loads((tiny_multi_label_dir / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert config["id2label"] == {"0": "hate", "1": "offensive"}
    point = json.loads((tiny_multi_label_dir / "operating_point.json").read_text())
    assert list(point["categories"]) == CATEGORIES
    assert point["threshold"] is None and point["positive_label"] is None and point["temperature"] == 1.0
    for entry in point["categories"].values():
        assert {"threshold", "temperature", "precision", "recall", "f1", "ap", "prevalence", "known_rows",
                "rule_met", "warning", "curve"} <= set(entry)
        assert 0.0 <= entry["threshold"] <= 1.0 and entry["temperature"] > 0
        assert entry["known_rows"] == 96 and 0 < entry["prevalence"] < 1


def test_the_classifier_scores_each_category_with_its_calibrated_sigmoid(classifier, tiny_multi_label_dir):
    import torch

    assert classifier.multi_label and classifier.labels == CATEGORIES
    rows = synthetic_multi_label_rows(64, seed=21)
    texts = [row[0] for row in rows] + [""]
    probabilities = classifier.predict_probabilities(texts)
    assert probabilities.shape == (65, 2) and np.isnan(probabilities[-1]).all()
    logits = classifier.predict_logits(texts[:-1])
    temperatures = [classifier.operating_point.categories[name]["temperature"] for name in CATEGORIES]
    expected = torch.sigmoid(torch.tensor(logits) / torch.tensor(temperatures)).numpy()
    np.testing.assert_allclose(probabilities[:-1], expected, atol=1e-6)
    assert any(abs(t - 1.0) > 1e-3 for t in temperatures)  # calibration moved something
    # The tiny model learned the synthetic rule: each category from its own words.
    decided = classifier.decide_categories(probabilities)
    truth = [[name for name, flag in zip(CATEGORIES, row[1:]) if flag] for row in rows]
    assert sum(d == t for d, t in zip(decided, truth)) / len(truth) >= 0.8
    assert decided[-1] == []


def test_saved_thresholds_per_category_are_used_and_can_be_overridden(tiny_multi_label_dir, tmp_path):
    from moderator_app.core.inference.classifier import Classifier

    folder = shutil.copytree(tiny_multi_label_dir, tmp_path / "model")
    point = json.loads((folder / "operating_point.json").read_text())
    point["categories"]["hate"]["threshold"], point["categories"]["offensive"]["threshold"] = 0.999, 0.0
    (folder / "operating_point.json").write_text(json.dumps(point))
    classifier = Classifier.load(folder, device="cpu", precision="fp32")
    assert classifier.category_thresholds == {"hate": 0.999, "offensive": 0.0}
    no_hate = [row[0] for row in synthetic_multi_label_rows(60, seed=3) if not row[1]]
    probabilities = classifier.predict_probabilities(no_hate)
    assert classifier.decide_categories(probabilities) == [["offensive"]] * len(no_hate)
    assert classifier.decide_categories(probabilities, {"hate": 0.0}) == [["hate", "offensive"]] * len(no_hate)
    with pytest.raises(ValueError, match="'threat' is not one of the model's categories"):
        classifier.decide_categories(probabilities, {"threat": 0.5})
    assert "thresholds hate 0.999, offensive 0.000 (best_f1 on validation)" in classifier.describe()
    # Without an operating point, 0.5 each and plain sigmoids.
    (folder / "operating_point.json").unlink()
    plain = Classifier.load(folder, device="cpu", precision="fp32")
    assert plain.category_thresholds == {"hate": 0.5, "offensive": 0.5}
    assert plain.category_temperatures.tolist() == [1.0, 1.0]


def test_decide_categories_is_for_multi_label_models_only(tiny_model_dir, tmp_path):
    from moderator_app.core.labels import flagged_categories

    assert flagged_categories(np.array([[0.6, 0.2], [np.nan, np.nan], [0.5, 0.9]]), CATEGORIES, [0.5, 0.9]) == \
        [["hate"], [], ["hate", "offensive"]]


def test_an_operating_point_of_other_categories_is_refused(tiny_multi_label_dir, tmp_path):
    from moderator_app.core.inference.classifier import Classifier
    from moderator_app.core.inference.model_folder import ModelLoadError

    folder = tmp_path / "model"
    shutil.copytree(tiny_multi_label_dir, folder)
    path = folder / "operating_point.json"
    point = json.loads(path.read_text())
    point["categories"] = {"offensive": point["categories"]["offensive"], "hate": point["categories"]["hate"]}
    path.write_text(json.dumps(point))
    with pytest.raises(ModelLoadError, match="its categories are offensive, hate, but the model's are hate, offensive"):
        Classifier.load(folder, device="cpu")
    point["categories"] = {"hate": dict(point["categories"]["hate"], threshold=1.5),
                           "offensive": point["categories"]["offensive"]}
    path.write_text(json.dumps(point))
    with pytest.raises(ModelLoadError, match="the threshold of 'hate', 1.5, is not between 0 and 1"):
        Classifier.load(folder, device="cpu")


def test_the_card_section_has_a_row_per_category(tiny_multi_label_dir):
    from moderator_app.core.inference.saved_operating_point import load_operating_point

    point = load_operating_point(tiny_multi_label_dir, CATEGORIES, multi_label=True)
    lines = "\n".join(point.card_lines())
    assert "| hate | 96 |" in lines and "| offensive | 96 |" in lines
    assert point.describe().startswith("per category, the threshold chosen for best F1 on its known validation rows: hate ")
