"""Issue 27: multi-label runs. The masked loss (a gradient check on a tiny model), the sources' category
rules (columns, vote counts at_least_one / majority, label maps, unknowns), their validation, and a whole
run on three sources that each label only some categories."""

from __future__ import annotations

import json

import numpy as np
import pytest

from moderator_app.core.config import ConfigError, TrainingConfig
from moderator_app.core.errors import DataError
from moderator_app.core.evaluation.categories import UNKNOWN
from moderator_app.core.sources import Source
from moderator_app.core.training.category_data import read_category_source
from moderator_app.core.training.multi_label import category_class_weights, masked_bce
from tiny_models import build_tiny_roberta, synthetic_multi_label_rows, write_csv, CATEGORY_WORDS

CATEGORIES = ["hate", "offensive"]


# ------------------------------------------------------------------------------ the masked loss
@pytest.fixture(scope="module")
def tiny_head_model(tmp_path_factory):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    base = build_tiny_roberta(tmp_path_factory.mktemp("base"))
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2,
                                                               problem_type="multi_label_classification")
    model.eval()  # no dropout: two forward passes give the same logits
    tokenizer = AutoTokenizer.from_pretrained(base)
    texts = [row[0] for row in synthetic_multi_label_rows(8, seed=1)]
    return model, dict(tokenizer(texts, padding=True, return_tensors="pt"))


def _loss_and_gradients(model, batch, targets):
    import torch

    model.zero_grad()
    logits = model(**batch).logits
    logits.retain_grad()
    loss = masked_bce(logits, torch.tensor(targets, dtype=torch.float32))
    loss.backward()
    return loss.item(), logits.grad.clone(), {name: p.grad.clone() for name, p in model.named_parameters()
                                              if p.grad is not None}


def test_masked_categories_do_not_move_the_loss_or_the_gradients(tiny_head_model):
    import torch

    model, batch = tiny_head_model
    truth = [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 1], [1, 1], [0, 0]]
    masked = [[hate, UNKNOWN if row >= 4 else offensive] for row, (hate, offensive) in enumerate(truth)]
    loss, logit_grads, grads = _loss_and_gradients(model, batch, masked)
    # Whatever an unknown pair's target would have been, it is out: its logit gets no gradient at all …
    assert torch.all(logit_grads[4:, 1] == 0) and torch.all(logit_grads[:4, 1] != 0)
    # … and the loss and every gradient are those of the known pairs alone.
    model.zero_grad()
    logits = model(**batch).logits
    known = torch.tensor(masked) >= 0
    reference = torch.nn.functional.binary_cross_entropy_with_logits(logits[known],
                                                                     torch.tensor(masked, dtype=torch.float32)[known])
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-6)
    for name, parameter in model.named_parameters():
        if parameter.grad is not None:
            torch.testing.assert_close(grads[name], parameter.grad, rtol=1e-5, atol=1e-7)
    # Taking the unknowns for "no" (what masking avoids) would move both.
    as_no = [[hate, 0 if offensive == UNKNOWN else offensive] for hate, offensive in masked]
    loss_as_no, _, grads_as_no = _loss_and_gradients(model, batch, as_no)
    assert loss_as_no != pytest.approx(loss)
    assert not torch.allclose(grads_as_no["classifier.out_proj.weight"], grads["classifier.out_proj.weight"])


def test_a_category_unknown_for_the_whole_batch_leaves_its_output_weights_untouched(tiny_head_model):
    model, batch = tiny_head_model
    only_hate = [[row % 2, UNKNOWN] for row in range(8)]
    _, _, grads = _loss_and_gradients(model, batch, only_hate)
    assert grads["classifier.out_proj.weight"][1].abs().max().item() == 0.0
    assert grads["classifier.out_proj.bias"][1].item() == 0.0
    assert grads["classifier.out_proj.weight"][0].abs().max().item() > 0.0


def test_balanced_weighting_is_scikit_learns_per_category_on_its_known_rows():
    targets = [[1, UNKNOWN], [0, 1], [0, 0], [0, UNKNOWN], [1, 0], [0, 0]]
    no, yes = category_class_weights(targets, "balanced")
    assert no == pytest.approx([6 / 8, 4 / 6]) and yes == pytest.approx([6 / 4, 4 / 2])
    assert category_class_weights(targets, "none") is None


def test_weighted_loss_is_the_weighted_mean_of_the_known_entries_so_no_category_outweighs_another():
    import torch

    targets = [[1, UNKNOWN], [0, 1], [0, 0], [0, UNKNOWN], [1, 0], [0, 0]]
    weights = torch.tensor(category_class_weights(targets, "balanced"))
    logits = torch.linspace(-2, 2, 12).reshape(6, 2)
    target_tensor = torch.tensor(targets, dtype=torch.float32)
    known = target_tensor >= 0
    entry_weights = torch.where(target_tensor > 0.5, weights[1], weights[0])[known]
    losses = torch.nn.functional.binary_cross_entropy_with_logits(logits[known], target_tensor[known], reduction="none")
    assert masked_bce(logits, target_tensor, weights).item() == pytest.approx(
        (losses * entry_weights).sum().item() / entry_weights.sum().item(), rel=1e-6)
    # Balanced weights sum to each category's known rows: a rare category is not scaled up against a common one.
    for category, count in ((0, 6), (1, 4)):
        column = target_tensor[:, category]
        rows = column >= 0
        assert torch.where(column[rows] > 0.5, weights[1, category], weights[0, category]).sum().item() == pytest.approx(count)


# ------------------------------------------------------------------------------ category rules
def _source(path, **rules) -> Source:
    return Source(path=str(path), categories=rules, name=path.stem)


def test_vote_count_rules_at_least_one_and_majority(tmp_path):
    path = write_csv(tmp_path / "votes.csv", [("a", 3, 0, 3), ("b", 3, 1, 2), ("c", 3, 2, 1), ("d", 4, 2, 2),
                                              ("e", 3, "", 3), ("f", 0, 0, 0)],
                     header=("tweet", "count", "hate_speech", "offensive_language"))
    part = read_category_source(_source(path, hate={"votes": "hate_speech", "rule": "at_least_one"},
                                        offensive={"votes": "offensive_language", "total": "count",
                                                   "rule": "majority"}), CATEGORIES, 0)
    # hate ≥ 1 vote; offensive more than half of count (2 of 4 is not a majority); no count: unknown
    assert part["targets"] == [[0, 1], [1, 1], [1, 0], [1, 0], [UNKNOWN, 1], [0, UNKNOWN]]
    majority = read_category_source(_source(path, hate={"votes": "hate_speech", "total": "count",
                                                        "rule": "majority"}), CATEGORIES, 0)
    # offensive is named by no rule: unknown for every row of the source
    assert majority["targets"] == [[0, UNKNOWN], [0, UNKNOWN], [1, UNKNOWN], [0, UNKNOWN]]
    assert majority["dropped"] == {"no category known (every rule of the source gave unknown)": 2}


def test_yes_no_columns_and_label_maps_with_unknowns_counted(tmp_path):
    path = write_csv(tmp_path / "mixed.csv", [("a", "1", "hate"), ("b", "no", "not-hate"), ("c", "", "other"),
                                              ("d", "TRUE", "other"), ("", "1", "hate")],
                     header=("text", "offensive", "label"))
    part = read_category_source(_source(path, offensive={"column": "offensive"},
                                        hate={"column": "label", "yes": ["hate"], "no": ["not-hate"]}),
                                CATEGORIES, 0)
    # row c: offensive blank, hate 'other' (in neither list): every category unknown, so it is left out
    assert part["targets"] == [[1, 1], [0, 0], [UNKNOWN, 1]]
    assert part["unmapped"]["hate"] == {"other": 2}
    assert part["dropped"] == {"no category known (every rule of the source gave unknown)": 1, "empty text": 1}
    bad = write_csv(tmp_path / "bad.csv", [("a", "maybe")], header=("text", "offensive"))
    with pytest.raises(DataError, match=r"bad.csv: column 'offensive' \(category 'offensive'\) holds 'maybe' in row 1"):
        read_category_source(_source(bad, offensive={"column": "offensive"}), CATEGORIES, 0)
    with pytest.raises(DataError, match="no column 'offense'"):
        read_category_source(_source(bad, offensive={"column": "offense"}), CATEGORIES, 0)


@pytest.mark.parametrize("change, setting, message", [
    (dict(categories=["hate"]), "categories", "at least two categories"),
    (dict(sources=[{"path": "a.csv", "categories": {"threat": {"column": "t"}}}]), "sources",
     "category 'threat' is not one of the run's categories"),
    (dict(sources=[{"path": "a.csv", "categories": {"hate": {"column": "h"}}}, {"path": "b.csv"}]), "sources",
     "source 2 (b.csv) labels none of the categories"),
    (dict(sources=[{"path": "a.csv", "categories": {"hate": {"column": "h"}}}]), "categories",
     "no source labels the category 'offensive'"),
    (dict(sources=[{"path": "a.csv", "label_map": {"1": "hate"}, "categories": {"hate": {"column": "h"},
                                                                                 "offensive": {"column": "o"}}}]),
     "sources", "'label_map' is a single-label setting"),
    (dict(sources=[{"path": "a.csv", "categories": {"hate": {"votes": "h", "rule": "majority"},
                                                     "offensive": {"column": "o"}}}]),
     "sources", "needs 'total'"),
    (dict(sources=[{"path": "a.csv", "categories": {"hate": {"votes": "h", "rule": "most"},
                                                     "offensive": {"column": "o"}}}]),
     "sources", "needs 'rule': one of at_least_one, majority"),
    (dict(sources=[{"path": "a.csv", "categories": {"hate": {"column": "h", "yes": ["1"], "no": [1]},
                                                     "offensive": {"column": "o"}}}]),
     "sources", "lists '1' under both 'yes' and 'no'"),
    (dict(categories=[], sources=[{"path": "a.csv", "categories": {"hate": {"column": "h"}}}]), "categories",
     "has category rules, but the run has no categories"),
    # vote shares as soft targets are a single-label loss: refused, naming the multi-label way to read votes
    (dict(sources=[{"path": "a.csv", "vote_columns": {"h": "hate"}, "votes": "soft",
                    "categories": {"hate": {"column": "h"}, "offensive": {"column": "o"}}}]), "sources",
     "'vote_columns' (vote shares as soft targets) is for single-label runs; a multi-label run reads votes as yes/no "
     "per category: a rule {\"votes\": COLUMN, \"rule\": \"at_least_one\"}"),
    (dict(sources=[{"path": "a.csv", "votes": "soft",
                    "categories": {"hate": {"column": "h"}, "offensive": {"column": "o"}}}]), "sources",
     "source 1 (a.csv): 'votes' (vote shares as soft targets) is for single-label runs"),
])
def test_category_settings_are_checked_in_one_line_naming_the_source(change, setting, message):
    settings = dict(categories=CATEGORIES, model_name_or_path="m", output_dir="out",
                    sources=[{"path": "a.csv", "categories": {"hate": {"column": "h"}, "offensive": {"column": "o"}}}])
    settings.update(change)
    problems = TrainingConfig(**settings).problems(require_data=False)
    assert setting in problems and message in problems[setting], problems
    assert "\n" not in problems[setting]


# ------------------------------------------------------------------------------ a whole run
def _three_sources(folder):
    """Like Davidson + TweetEval hate + TweetEval offensive: one source labels both categories (votes),
    one only hate (a label map), one only offensive (a yes/no column)."""
    rows = synthetic_multi_label_rows(480, seed=7)
    both = [(text, 3, 3 * hate, 3 * offensive) for text, hate, offensive in rows[:160]]
    hate_only = [(text, "hateful" if hate else "fine") for text, hate, _ in rows[160:320]]
    offensive_only = [(text, offensive) for text, _, offensive in rows[320:]]
    return [
        {"path": str(write_csv(folder / "both.csv", both, header=("tweet", "count", "hate_speech", "offensive_language"))),
         "text_column": "tweet",
         "categories": {"hate": {"votes": "hate_speech", "total": "count", "rule": "majority"},
                        "offensive": {"votes": "offensive_language", "rule": "at_least_one"}}},
        {"path": str(write_csv(folder / "hate.csv", hate_only)),
         "categories": {"hate": {"column": "label", "yes": ["hateful"], "no": ["fine"]}}},
        {"path": str(write_csv(folder / "offensive.csv", offensive_only, header=("text", "is_offensive"))),
         "categories": {"offensive": {"column": "is_offensive"}}},
    ]


@pytest.fixture(scope="module")
def multi_label_run(tmp_path_factory):
    from moderator_app.core.training.engine import train

    folder = tmp_path_factory.mktemp("run")
    base = build_tiny_roberta(folder / "base", extra_texts=[" ".join(words) for words in CATEGORY_WORDS] * 20)
    events = []
    config = TrainingConfig(categories=CATEGORIES, sources=_three_sources(folder), model_name_or_path=str(base),
                            output_dir=str(folder / "out"), learning_rate=3e-3, train_batch_size=16, warmup_steps=5,
                            num_epochs=10, max_length=32, logging_steps=4, class_weighting="balanced", lr_scheduler="constant",
                            early_stopping_patience=0, precision="fp32", validation_split=0.2)
    result = train(config, events.append)
    return folder / "out", result, events


def test_a_run_on_sources_that_each_label_some_categories(multi_label_run):
    from moderator_app.core.training.events import DataLoadedEvent, EpochEvent

    out, result, events = multi_label_run
    assert result.reason == "completed"
    report = next(event for event in events if isinstance(event, DataLoadedEvent)).report
    rows = synthetic_multi_label_rows(480, seed=7)
    assert report["categories"] == {
        "hate": {"yes": sum(row[1] for row in rows[:320]), "no": sum(1 - row[1] for row in rows[:320]), "unknown": 160},
        "offensive": {"yes": sum(row[2] for row in rows[:160] + rows[320:]),
                      "no": sum(1 - row[2] for row in rows[:160] + rows[320:]), "unknown": 160}}
    by_source = {source["name"]: source["categories"] for source in report["sources"]}
    assert by_source["hate"]["offensive"] == {"yes": 0, "no": 0, "unknown": 160}
    assert by_source["offensive"]["hate"] == {"yes": 0, "no": 0, "unknown": 160}
    epochs = [event for event in events if isinstance(event, EpochEvent)]
    assert len(epochs) == 10
    for epoch in epochs:
        assert set(epoch.categories) == set(CATEGORIES)
        for scores in epoch.categories.values():
            # each category's figures are on its known validation rows only (2 of the 3 sources' 20 %)
            assert scores["known_rows"] == 64 and {"precision", "recall", "f1", "ap", "prevalence"} <= set(scores)
        assert set(epoch.per_source) == {"both", "hate", "offensive"}
        assert set(epoch.per_source["hate"]["categories"]) == {"hate"}
    assert min(epochs[-1].categories[name]["f1"] for name in CATEGORIES) > 0.8
    config = json.loads((out / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification" and config["id2label"] == {"0": "hate",
                                                                                            "1": "offensive"}
    point = json.loads((out / "operating_point.json").read_text())
    assert list(point["categories"]) == CATEGORIES
    assert all(entry["known_rows"] == 64 for entry in point["categories"].values())
    card = (out / "README.md").read_text()
    assert "## Categories" in card and "| hate | 64 |" in card and "F1 per category, epoch by epoch" in card
    assert "votes 'hate_speech' of 'count', a majority" in card
    summary = json.loads((out / "training_summary.json").read_text())
    assert set(summary["best_metrics"]["categories"]) == set(CATEGORIES)


def test_the_trained_model_decides_with_its_saved_thresholds(multi_label_run):
    from moderator_app.core.inference.classifier import Classifier

    out, _, _ = multi_label_run
    classifier = Classifier.load(out, device="cpu", precision="fp32")
    point = json.loads((out / "operating_point.json").read_text())
    assert classifier.category_thresholds == {name: point["categories"][name]["threshold"] for name in CATEGORIES}
    rows = synthetic_multi_label_rows(60, seed=31)
    decided = classifier.decide_categories(classifier.predict_probabilities([row[0] for row in rows]))
    truth = [[name for name, flag in zip(CATEGORIES, row[1:]) if flag] for row in rows]
    assert np.mean([d == t for d, t in zip(decided, truth)]) > 0.8


def test_a_multi_label_config_round_trips_and_refuses_a_wrong_rule_in_a_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"categories": CATEGORIES, "sources": [
        {"path": "a.csv", "categories": {"hate": {"column": "h"}, "offensive": {"votes": "o", "rule": "all"}}}]}))
    with pytest.raises(ConfigError, match=r"'sources' source 1 \(a.csv\): the rule of category 'offensive' needs 'rule'"):
        TrainingConfig.load(path)


# ------------------------------------------------------------------------------ the command line
def test_train_takes_categories_and_source_rules_from_the_command_line(tiny_model_dir, tmp_path, capsys):
    from moderator_app.cli import main

    both, hate, offensive = _three_sources(tmp_path)
    forms = [f"{entry['path']};" + (f"text_column={entry['text_column']};" if "text_column" in entry else "")
             + "categories=" + json.dumps(entry["categories"]) for entry in (both, hate, offensive)]
    output = tmp_path / "model"
    status = main(["train", "--categories", "hate,offensive", *[part for form in forms for part in ("--source", form)],
                   "--model", str(tiny_model_dir), "--output", str(output), "--epochs", "1", "--max-length", "32",
                   "--train-batch-size", "32", "--precision", "fp32"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "categories (training and validation rows): hate yes" in captured.err  # the data report
    assert "category hate" in captured.err and "category offensive" in captured.err  # the epoch table
    saved = json.loads((output / "training_config.json").read_text())
    assert saved["categories"] == CATEGORIES and saved["sources"][1]["categories"] == hate["categories"]
    assert json.loads((output / "config.json").read_text())["problem_type"] == "multi_label_classification"


def test_a_wrong_category_rule_on_the_command_line_is_one_line(tmp_path, capsys):
    from moderator_app.cli import main

    status = main(["train", "--categories", "hate,offensive", "--source",
                   'a.csv;categories={"threat": {"column": "t"}}', "--output", str(tmp_path / "o")])
    error = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in error
    assert "source 1 (a.csv): category 'threat' is not one of the run's categories (hate, offensive)" in error


def test_a_stopped_multi_label_run_resumes_where_it_stopped(tiny_model_dir, tmp_path):
    import threading

    from moderator_app.core.training.engine import train
    from moderator_app.core.training.events import EpochEvent, StepEvent

    stop = threading.Event()
    events = []

    def stop_at_step_10(event):
        events.append(event)
        if isinstance(event, StepEvent) and event.global_step == 10:
            stop.set()

    config = TrainingConfig(categories=CATEGORIES, sources=_three_sources(tmp_path), model_name_or_path=str(tiny_model_dir),
                            output_dir=str(tmp_path / "out"), learning_rate=1e-3, train_batch_size=32, num_epochs=2,
                            max_length=32, logging_steps=1, precision="fp32")
    stopped = train(config, stop_at_step_10, stop_event=stop)
    assert stopped.reason == "stopped" and stopped.global_step == 10
    resumed_events = []
    resumed = train(TrainingConfig(), resumed_events.append, resume_from=tmp_path / "out")
    assert resumed.reason == "completed"
    assert [event.epoch for event in resumed_events if isinstance(event, EpochEvent)] == [1, 2]
    assert set(json.loads((tmp_path / "out" / "operating_point.json").read_text())["categories"]) == set(CATEGORIES)
