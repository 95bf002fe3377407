"""Several training sources in one run: label maps, per-source split and metrics, weights and caps,
class weighting, the majority baseline and the degenerate-model warning (issue 13, points 1–3)."""

import json

import pytest

from moderator_app.commands.train_progress import ConsoleProgress
from moderator_app.core.config import ConfigError, TrainingConfig
from moderator_app.core.errors import DataError
from moderator_app.core.training.data import load_training_data
from moderator_app.core.training.epoch_quality import class_weights, degenerate_warning_for, per_source_metrics
from moderator_app.core.training.multi_source import CAPPED, epoch_rows
from moderator_app.core.sources import SourceFormError, parse_source_form
from tiny_models import synthetic_rows, write_csv


def _davidson_like(path, count=60):
    """class 0 hate, 1 offensive, 2 neither, in a `tweet` column."""
    rows = [(text, 0 if label == "hate" else 1 + index % 2) for index, (text, label) in
            enumerate(synthetic_rows(count, seed=1))]
    return write_csv(path, rows, header=("tweet", "class"))


def _stormfront_like(path, count=60):
    rows = [(text, "hate" if label == "hate" else "noHate") for text, label in synthetic_rows(count, seed=2)]
    return write_csv(path, rows)


def _ethos_like(path, count=40):
    rows = [(text, 0.83 if label == "hate" else 0.17) for text, label in synthetic_rows(count, seed=3)]
    return write_csv(path, rows, header=("comment", "isHate"), delimiter=";")


def _config(sources, **overrides):
    return TrainingConfig(sources=sources, **overrides)


def test_label_maps_integers_strings_scores_and_dropped_values(tmp_path):
    davidson = _davidson_like(tmp_path / "davidson.csv")
    stormfront = _stormfront_like(tmp_path / "stormfront.csv")
    ethos = _ethos_like(tmp_path / "ethos.csv")
    data = load_training_data(_config([
        {"path": str(davidson), "text_column": "tweet", "label_column": "class",
         "label_map": {"0": "hate", "1": None, "2": "not-hate"}},
        {"path": str(stormfront), "label_map": {"noHate": "not-hate"}},
        {"path": str(ethos), "label_column": "isHate", "label_map": {"1": "hate", "0": "not-hate"},
         "score_threshold": 0.5}]))
    assert data.label_names == ["hate", "not-hate"]
    assert data.source_names == ["davidson", "stormfront", "ethos"]
    davidson_report, stormfront_report, ethos_report = data.report.sources
    # Davidson: 30 hate (0), offensive (1) dropped by the map, neither (2) not-hate
    values = davidson_report["value_counts"]
    assert values["0"] == 30 and values["1"] + values["2"] == 30 and values["1"] > 0
    assert davidson_report["label_counts"] == {"hate": 30, "not-hate": values["2"]}
    assert davidson_report["dropped"] == {"mapped to null by the label map": values["1"]}
    assert stormfront_report["label_counts"] == {"hate": 30, "not-hate": 30}
    assert ethos_report["label_counts"] == {"hate": 20, "not-hate": 20}
    assert ethos_report["label_kind"].startswith("0–1 score")
    assert data.report.rows_read == 160
    assert data.report.train_rows + data.report.validation_rows + data.report.rows_dropped == 160
    assert "source davidson" in data.report.summary()
    assert f"values in the file (before the map): '0' ×30" in data.report.summary()


def test_with_label_maps_the_labels_are_those_the_maps_name(tmp_path):
    stormfront = _stormfront_like(tmp_path / "stormfront.csv")
    with pytest.raises(DataError, match=r"label 'hate' in column 'label' \(30 rows\) is not one of the run's labels"):
        load_training_data(_config([{"path": str(stormfront), "label_map": {"noHate": "not-hate"}}]))


def test_an_unmapped_value_names_the_source_and_the_value(tmp_path):
    davidson = _davidson_like(tmp_path / "davidson.csv")
    stormfront = _stormfront_like(tmp_path / "stormfront.csv")
    with pytest.raises(DataError) as caught:
        load_training_data(_config([
            {"path": str(davidson), "text_column": "tweet", "label_column": "class",
             "label_map": {"0": "hate", "2": "not-hate"}},
            {"path": str(stormfront), "label_map": {"noHate": "not-hate"}}]))
    message = str(caught.value)
    assert "davidson.csv" in message and "'1'" in message and "column 'class'" in message


def test_each_source_is_split_stratified_on_its_own(tmp_path):
    first = write_csv(tmp_path / "first.csv", synthetic_rows(100, seed=4))
    second = write_csv(tmp_path / "second.csv", synthetic_rows(40, seed=5))
    data = load_training_data(_config([{"path": str(first)}, {"path": str(second)}], validation_split=0.2))
    assert data.validation_sources.count(0) == 20 and data.validation_sources.count(1) == 8
    assert data.train_sources.count(0) == 80 and data.train_sources.count(1) == 32
    labels = data.validation["label"]
    for source in (0, 1):  # half hate, half not in each source's validation rows
        mine = [label for label, owner in zip(labels, data.validation_sources) if owner == source]
        assert mine.count(0) == mine.count(1)


def test_max_rows_is_a_seeded_reported_sample_and_weight_scales_a_share(tmp_path):
    first = write_csv(tmp_path / "first.csv", synthetic_rows(100, seed=4))
    second = write_csv(tmp_path / "second.csv", synthetic_rows(40, seed=5))
    sources = [{"path": str(first), "max_rows": 50}, {"path": str(second), "weight": 2.5}]
    data = load_training_data(_config(sources))
    again = load_training_data(_config(sources))
    assert data.report.sources[0]["dropped"] == {CAPPED: 50}
    assert data.train["text"] == again.train["text"]
    rows = epoch_rows(data.train_sources, data.source_weights, seed=12345, epoch=0)
    assert sum(data.train_sources[row] == 1 for row in rows) == 90  # 36 training rows × 2.5
    assert sum(data.train_sources[row] == 0 for row in rows) == 45
    assert rows == epoch_rows(data.train_sources, data.source_weights, seed=12345, epoch=0)
    assert rows != epoch_rows(data.train_sources, data.source_weights, seed=12345, epoch=1)


def test_train_file_is_one_more_source(tmp_path):
    first = write_csv(tmp_path / "first.csv", synthetic_rows(40, seed=4))
    second = write_csv(tmp_path / "second.csv", synthetic_rows(40, seed=5))
    data = load_training_data(TrainingConfig(train_file=str(first), sources=[{"path": str(second)}]))
    assert data.source_names == ["first", "second"]


def test_sources_settings_are_checked(tmp_path):
    config = TrainingConfig(sources=[{"path": "a.csv", "weight": 0}], model_name_or_path="m", output_dir="o")
    assert "weight" in config.problems()["sources"]
    assert "train_file" not in config.problems()
    assert "label map" in TrainingConfig(sources=[{"path": "a.csv", "label_map": "{oops"}]).problems()["sources"]
    (tmp_path / "c.json").write_text(json.dumps({"sources": [{"path": "a.csv", "colour": 1}]}))
    with pytest.raises(ConfigError, match="colour"):
        TrainingConfig.load(tmp_path / "c.json")


def test_the_short_form_on_the_command_line():
    entry = parse_source_form('d.csv;text_column=tweet;label_map={"0": "hate", "1": "a;b"};max_rows=200;weight=0.5')
    assert entry == {"path": "d.csv", "text_column": "tweet", "label_map": '{"0": "hate", "1": "a;b"}',
                     "max_rows": 200, "weight": 0.5}
    with pytest.raises(SourceFormError, match="colour"):
        parse_source_form("d.csv;colour=red")


def test_per_source_metrics_and_baselines():
    scores = per_source_metrics(truth=[0, 1, 1, 0, 1, 1], predicted=[0, 1, 0, 1, 1, 1], sources=[0, 0, 0, 1, 1, 1],
                                source_names=["a", "b"], num_labels=2)
    assert scores["a"]["accuracy"] == pytest.approx(2 / 3) and scores["a"]["n"] == 3
    assert scores["b"]["majority_baseline"] == pytest.approx(2 / 3)
    assert scores["b"]["confusion_matrix"] == [[0, 1], [0, 2]]


def test_class_weighting_is_sklearn_balanced_and_changes_the_loss(tiny_model_dir):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from moderator_app.core.training.engine import batch_loss

    assert class_weights([0, 1, 1, 1], 2, "none") is None
    assert class_weights([0, 1, 1, 1], 2, "balanced") == pytest.approx([2.0, 2 / 3])
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    batch = dict(tokenizer(["vermin scum", "lovely weather", "the garden", "coffee morning"], return_tensors="pt",
                           padding=True), labels=torch.tensor([0, 1, 1, 1]))
    with torch.no_grad():
        plain = batch_loss(model, batch).item()
        unit = batch_loss(model, batch, torch.ones(2)).item()
        balanced = batch_loss(model, batch, torch.tensor(class_weights([0, 1, 1, 1], 2, "balanced"))).item()
    assert unit == pytest.approx(plain, rel=1e-5)  # weights of 1 are the model's own loss
    assert balanced != pytest.approx(plain, rel=1e-3)


def test_degenerate_warning_fires_on_a_constant_predictor_not_on_a_good_one():
    constant = [[0, 40], [0, 60]]  # everything predicted as the second label
    warning = degenerate_warning_for(constant, ["hate", "not-hate"])
    assert warning and "'not-hate' for 100%" in warning and "class weighting" in warning
    assert degenerate_warning_for([[35, 5], [6, 54]], ["hate", "not-hate"]) is None
    assert "does not beat" in degenerate_warning_for([[10, 30], [10, 50]], ["hate", "not-hate"])


def test_the_cli_epoch_table_shows_baseline_per_source_and_warning(capsys):
    from moderator_app.core.training.events import EpochEvent

    progress = ConsoleProgress()
    progress.on_event(EpochEvent(
        epoch=1, global_step=10, train_loss=0.7, val_loss=0.69, accuracy=0.6, precision=0.3, recall=0.5, f1=0.37,
        confusion_matrix=[[0, 40], [0, 60]], labels=["hate", "not-hate"], seconds=1.0, is_best=True,
        majority_baseline=0.6, per_source={"davidson": dict(n=50, accuracy=0.9, majority_baseline=0.9, f1=0.47)},
        warning="The model predicts 'not-hate' for 100% …"))
    printed = capsys.readouterr().err
    assert "Baseline" in printed and "0.6000" in printed and "davidson" in printed
    assert "degenerate" in printed and "← best" not in printed and "warning (epoch 1)" in printed


def test_a_run_on_two_sources_reports_each_in_events_and_the_card(tiny_model_dir, tmp_path):
    from moderator_app.core.training.engine import train
    from moderator_app.core.training.events import EpochEvent

    stormfront = _stormfront_like(tmp_path / "stormfront.csv", count=120)
    davidson = _davidson_like(tmp_path / "davidson.csv", count=120)
    events = []
    config = TrainingConfig(
        sources=[{"path": str(stormfront), "label_map": {"noHate": "not-hate"}, "weight": 0.5},
                 {"path": str(davidson), "text_column": "tweet", "label_column": "class",
                  "label_map": {"0": "hate", "1": "not-hate", "2": "not-hate"}, "max_rows": 100}],
        model_name_or_path=str(tiny_model_dir), output_dir=str(tmp_path / "out"), learning_rate=1e-3,
        train_batch_size=16, warmup_steps=2, num_epochs=1, max_length=32, class_weighting="balanced")
    result = train(config, events.append)
    epoch = next(event for event in events if isinstance(event, EpochEvent))
    assert set(epoch.per_source) == {"stormfront", "davidson"}
    assert epoch.per_source["stormfront"]["n"] == 12 and epoch.per_source["davidson"]["n"] == 10
    assert 0.5 <= epoch.majority_baseline < 1
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Training sources" in card and "| stormfront | stormfront.csv |" in card
    assert "class_weighting: balanced" in card and "- Majority-class baseline (accuracy): 0." in card
    from moderator_app.core.inference.model_info import card_metrics

    assert set(card_metrics(card)) == {"val_loss", "accuracy", "f1"}  # the Review tab still reads the card
    assert result.best_metrics["majority_baseline"] == epoch.majority_baseline
    # 108 stormfront rows at weight 0.5 → 54, 90 davidson rows → 144 rows in 9 steps of 16
    assert result.global_step == 9


def test_the_command_line_adds_repeated_data_and_short_forms_to_the_config_sources(tmp_path):
    import argparse

    from moderator_app.commands.train import add_arguments, config_from_args

    (tmp_path / "c.json").write_text(json.dumps({"sources": [{"path": "from_config.csv"}]}))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--config", str(tmp_path / "c.json"), "--data", "a.csv", "--data", "b.csv",
                              "--source", 'd.csv;label_map={"0": "hate", "1": null}', "--model", "m",
                              "--output", "o", "--class-weighting", "balanced"])
    config = config_from_args(args)
    assert config.train_file == "a.csv" and config.class_weighting == "balanced"
    assert config.sources == [{"path": "from_config.csv"}, {"path": "b.csv"},
                              {"path": "d.csv", "label_map": '{"0": "hate", "1": null}'}]
    bad = parser.parse_args(["--source", "d.csv;weight=heavy", "--model", "m", "--output", "o"])
    with pytest.raises(ConfigError, match="weight='heavy'"):
        config_from_args(bad)


def test_a_source_with_its_own_validation_file_is_not_split(tmp_path):
    first = write_csv(tmp_path / "first.csv", synthetic_rows(60, seed=4))
    stormfront = _stormfront_like(tmp_path / "stormfront.csv", count=50)
    stormfront_val = write_csv(tmp_path / "stormfront_val.csv",
                               [(text, "noHate" if label == "not-hate" else label) for text, label in
                                synthetic_rows(20, seed=9)] + [("", "hate")])
    data = load_training_data(_config([
        {"path": str(first)},
        {"path": str(stormfront), "label_map": {"noHate": "not-hate", "hate": "hate"},
         "validation_path": str(stormfront_val)}]))
    assert data.train_sources.count(1) == 50 and data.validation_sources.count(1) == 20
    assert data.validation_sources.count(0) == 6  # the other source is still split
    report = data.report.sources[1]
    assert report["rows_read"] == 71 and report["dropped"] == {"empty text": 1}
    assert data.report.train_rows + data.report.validation_rows + data.report.rows_dropped == data.report.rows_read


# ------------------------------------------------------------------------ bad inputs (issue 22)
def test_a_label_only_one_source_has_is_warned_naming_the_source(tmp_path, capsys):
    davidson = _davidson_like(tmp_path / "davidson.csv")
    stormfront = _stormfront_like(tmp_path / "stormfront.csv")
    data = load_training_data(_config([
        {"path": str(davidson), "text_column": "tweet", "label_column": "class",
         "label_map": {"0": "hate", "1": "offensive", "2": "not-hate"}},
        {"path": str(stormfront), "label_map": {"noHate": "not-hate", "hate": "hate"}}]))
    assert data.label_names == ["hate", "not-hate", "offensive"]
    offensive = data.report.sources[0]["label_counts"]["offensive"]
    expected = f"label 'offensive' comes only from source davidson ({davidson}, column 'class', {offensive:,} rows)"
    single = [warning for warning in data.report.warnings if "comes only from" in warning]
    assert len(single) == 1 and single[0].startswith(expected)
    assert f"warning: {expected}" in data.report.summary()
    from moderator_app.core.training.events import DataLoadedEvent

    progress = ConsoleProgress()  # the command repeats the data report's warnings when the run ends
    progress.on_event(DataLoadedEvent(data.report.summary(), data.report.to_dict()))
    assert progress.data_warnings == data.report.warnings
    copy = write_csv(tmp_path / "more.csv", synthetic_rows(60, seed=9))
    both = load_training_data(_config([{"path": str(stormfront), "label_map": {"noHate": "not-hate", "hate": "hate"}},
                                       {"path": str(copy)}]))
    assert not any("comes only from" in warning for warning in both.report.warnings)  # every label in both


@pytest.mark.parametrize("second", ["same", "written another way", "a link"])
def test_the_same_file_given_twice_is_refused_naming_it(tmp_path, second):
    first = write_csv(tmp_path / "first.csv", synthetic_rows(40, seed=4))
    other = {"same": str(first), "written another way": str(tmp_path / "." / "first.csv"),
             "a link": str(tmp_path / "link.csv")}[second]
    if second == "a link":
        (tmp_path / "link.csv").symlink_to(first)
    with pytest.raises(DataError, match=r"is given twice as a training source \(sources 1 and 2\)") as raised:
        load_training_data(TrainingConfig(train_file=str(first), sources=[{"path": other}]))
    assert other in str(raised.value) and "weight 2" in str(raised.value) and raised.value.setting == "sources"


def test_data_given_twice_on_the_command_line_is_one_line_and_exit_2(tmp_path, tiny_model_dir, capsys):
    from moderator_app.cli import main

    first = write_csv(tmp_path / "first.csv", synthetic_rows(40, seed=4))
    status = main(["train", "--data", str(first), "--data", str(first), "--model", str(tiny_model_dir),
                   "--output", str(tmp_path / "out"), "--epochs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and f"{first} is given twice as a training source" in err[-1] and "--source" in err[-1]
    assert not (tmp_path / "out").exists()


def test_a_file_given_twice_is_a_problem_of_the_sources_setting_before_anything_loads(tmp_path):
    first = write_csv(tmp_path / "first.csv", synthetic_rows(10, seed=4))
    config = TrainingConfig(train_file=str(first), sources=[{"path": str(tmp_path / "." / "first.csv")}],
                            model_name_or_path="m", output_dir=str(tmp_path / "out"))
    assert "is given twice as a training source (sources 1 and 2)" in config.problems()["sources"]
    assert "sources" not in TrainingConfig(train_file=str(first), sources=[{"path": "other.csv"}]).problems()
