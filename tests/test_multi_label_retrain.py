"""Retraining a multi-label model from the moderators' sets of categories: the decisions become one
more source with a yes/no column per category read by {"column": ...} rules (a valid run config), a
seeded share held out, single-label decisions counted and not used; the comparison of the old and the
new model is per category on the held-out decisions."""

from __future__ import annotations

import csv
import json
import math
import shutil

import pytest

from test_multi_label_decisions import multi, single

from moderator_app.core.errors import DataError
from moderator_app.core.inference.classifier import Classifier
from moderator_app.core.review.category_figures import category_figures
from moderator_app.core.review.retrain import compare_models, prepare_retrain
from moderator_app.core.review.store import DecisionStore

CATEGORIES = ["hate", "offensive"]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def multi_label_model(tmp_path, tiny_multi_label_dir, tiny_model_dir):
    """The tiny multi-label model, with a training config naming one source that labels both categories."""
    source = tmp_path / "votes.csv"
    source.write_text("text,hate,offensive\nnazis again,1,0\nyou idiot,0,1\ncoffee,0,0\n", encoding="utf-8")
    model = shutil.copytree(tiny_multi_label_dir, tmp_path / "model")
    sources = [{"path": str(source), "text_column": "text",
                "categories": {"hate": {"column": "hate"}, "offensive": {"column": "offensive"}}}]
    (model / "training_config.json").write_text(json.dumps({
        "model_name_or_path": str(tiny_model_dir), "categories": CATEGORIES, "sources": sources, "max_length": 64}))
    return model, sources


def test_the_decisions_become_one_more_source_with_a_column_per_category(tmp_path, multi_label_model):
    model, sources = multi_label_model
    store = DecisionStore(tmp_path / "d.sqlite3")
    for n in range(12):
        store.record(multi(f"decided text {n}", ("hate",) if n % 2 else (), flagged=("offensive",)))
    store.record(multi("a threat", ("threat",), model="sha256:other", categories=("hate", "offensive", "threat")))
    store.record(single("a single-label decision"))
    store.record(single("another single-label decision"))
    plan = prepare_retrain(store, model, CATEGORIES, None)
    assert plan.config.sources[:1] == sources
    assert plan.config.sources[1] == {"path": str(plan.decisions_file), "text_column": "text",
                                      "categories": {"hate": {"column": "hate"}, "offensive": {"column": "offensive"}}}
    assert plan.config.categories == CATEGORIES and plan.config.problems() == {}
    trained, held_out = read_csv(plan.decisions_file), read_csv(plan.held_out_file)
    assert trained[0] == held_out[0] == ["text", "hate", "offensive"]
    assert len(trained) - 1 + len(held_out) - 1 == 13 and len(held_out) - 1 == 2
    rows = {row[0]: row[1:] for row in trained[1:] + held_out[1:]}
    assert rows["decided text 1"] == ["yes", "no"] and rows["decided text 2"] == ["no", "no"]
    assert rows["a threat"] == ["no", "no"]  # the threat is not a category of this model
    assert any("2 decisions are of models without these categories" in line for line in plan.report), plan.report
    from moderator_app.core.sources import training_sources
    from moderator_app.core.training.category_data import read_category_source

    read = read_category_source(training_sources(plan.config)[-1], CATEGORIES, seed=0)  # as the run reads it
    targets = dict(zip(read["texts"], read["targets"]))
    assert len(targets) == 11 and targets["decided text 1"] == [1, 0] and targets["decided text 2"] == [0, 0]
    store.close()


def test_too_few_multi_label_decisions_say_so(tmp_path, multi_label_model):
    model, _ = multi_label_model
    store = DecisionStore(tmp_path / "d.sqlite3")
    store.record(multi("one", ("hate",)))
    store.record(single("two"))
    with pytest.raises(DataError, match="1 decisions with this model's categories"):
        prepare_retrain(store, model, CATEGORIES, None)
    store.close()


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
