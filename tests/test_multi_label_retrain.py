"""Retraining a multi-label model from the moderators' sets of categories: the comparison of the old
and the new model is per category on the held-out decisions."""

from __future__ import annotations

import math

import pytest

from moderator_app.core.inference.classifier import Classifier
from moderator_app.core.review.category_figures import category_figures
from moderator_app.core.review.retrain import compare_models

CATEGORIES = ["hate", "offensive"]


def test_the_comparison_is_per_category_on_the_held_out_decisions(tmp_path, tiny_multi_label_dir):
    held_out = tmp_path / "held.csv"
    held_out.write_text("text,hate,offensive\nthe nazis and bigots,yes,no\nyou stupid idiot,no,yes\n"
                        "coffee with friends,no,\n", encoding="utf-8")
    comparisons = compare_models(tiny_multi_label_dir, tiny_multi_label_dir, None, held_out)
    assert len(comparisons) == 1 and comparisons[0].rows == 3
    assert set(comparisons[0].old) == {f"{name}: {category}" for name in ("precision", "recall", "F1")
                                       for category in CATEGORIES}
    same = [(old, new) for old, new in zip(comparisons[0].old.values(), comparisons[0].new.values())]
    assert all(old == new or (math.isnan(old) and math.isnan(new)) for old, new in same)  # one model twice
    model = Classifier.load(tiny_multi_label_dir, device="cpu")  # by hand: the third row's offensive is unknown
    flagged = model.decide_categories(model.predict_probabilities(["the nazis and bigots", "you stupid idiot",
                                                                   "coffee with friends"]))
    truth = [({"hate"}, CATEGORIES), ({"offensive"}, CATEGORIES), (set(), ["hate"])]
    expected = category_figures(CATEGORIES, ((chosen, flags, known) for (chosen, known), flags in zip(truth, flagged)))
    assert [comparisons[0].old[f"F1: {figure.category}"] for figure in expected] == pytest.approx(
        [math.nan if figure.f1 is None else figure.f1 for figure in expected], nan_ok=True)
    assert expected[1].decided == 2  # the unknown is left out
    assert compare_models(tiny_multi_label_dir, tiny_multi_label_dir, None, None) == []
