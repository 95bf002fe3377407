"""A run's functional test suites (issue 23): refused when they repeat training rows, run on the final
model, and shown in the model card, metrics.jsonl, test_results.json and `train`'s output."""

from __future__ import annotations

import json

import pytest

from moderator_app.cli import main
from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import DataError
from moderator_app.core.training.engine import train
from moderator_app.core.training.events import FunctionalTestsEvent, event_from_dict
from test_engine import Recorder, tiny_config
from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)
from tiny_models import synthetic_rows, write_csv


@pytest.fixture()
def small_csv(tmp_path):
    return write_csv(tmp_path / "train.csv", synthetic_rows(96, seed=3))


def suite(folder, extra_rows=()):
    write_csv(folder / "policy.lists.csv", [("vermin",), ("scum",)], header=("slur",))
    return write_csv(folder / "policy.csv", [("those {slur} again", "hate", "derogation"),
                                             ("lovely coffee this morning", "not-hate", "neutral"), *extra_rows],
                     header=("text", "label", "functionality"))


def test_a_suite_in_the_config_runs_at_the_end_and_appears_in_the_card(tiny_model_dir, small_csv, tmp_path):
    recorder = Recorder()
    config = tiny_config(tiny_model_dir, small_csv, tmp_path / "out", num_epochs=1,
                         test_suites=[str(suite(tmp_path))])
    result = train(config, recorder)
    assert result.reason == "completed"
    [event] = recorder.of(FunctionalTestsEvent)
    [entry] = event.suites
    assert entry["total"] == 3 and set(entry["functionalities"]) == {"derogation", "neutral"}
    assert entry["threshold_source"] == "the model's operating point"
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "## Functional tests" in card and "### policy.csv" in card
    assert "| Functionality | Passed | Cases | Pass rate |" in card
    derogation = entry["functionalities"]["derogation"]
    assert f"| derogation | {derogation['passed']} | 2 | {derogation['pass_rate']:.1%} |" in card
    records = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    kinds = [record["kind"] for record in records]
    assert kinds[-2:] == ["tests", "finished"]
    assert event_from_dict(records[-2]) == event  # replayable like every other event
    saved = json.loads((tmp_path / "out" / "test_results.json").read_text(encoding="utf-8"))
    assert saved[0]["suite"] == str(tmp_path / "policy.csv") and len(saved[0]["failures"]) == entry["failures_total"]
    assert TrainingConfig.load(tmp_path / "out" / "training_config.json").test_suites == [str(tmp_path / "policy.csv")]


def test_a_run_whose_training_rows_repeat_suite_cases_is_refused(tiny_model_dir, tmp_path):
    rows = synthetic_rows(60, seed=3) + [("Those  VERMIN again", "hate"), ("lovely coffee this morning ", "not-hate")]
    data = write_csv(tmp_path / "train.csv", rows)
    config = tiny_config(tiny_model_dir, data, tmp_path / "out", num_epochs=1, test_suites=[str(suite(tmp_path))])
    with pytest.raises(DataError) as caught:
        train(config)
    message = caught.value.render()
    assert "2 of the 3 cases of the test suite" in message and "policy.csv" in message
    assert caught.value.setting == "test_suites"
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_train_tests_flag_and_its_one_line_errors(tiny_model_dir, small_csv, tmp_path, capsys):
    bad = write_csv(tmp_path / "bad.csv", [("x", "offensive", "f")], header=("text", "label", "functionality"))
    status = main(["train", "--data", str(small_csv), "--model", str(tiny_model_dir), "--output", str(tmp_path / "o"),
                   "--epochs", "1", "--max-length", "32", "--tests", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "bad.csv, row 1: the expected label 'offensive'" in err[0]
    status = main(["train", "--data", str(small_csv), "--model", str(tiny_model_dir), "--output", str(tmp_path / "o"),
                   "--epochs", "1", "--max-length", "32", "--train-batch-size", "16", "--learning-rate", "1e-3",
                   "--tests", str(suite(tmp_path))])
    captured = capsys.readouterr()
    assert status == 0
    assert "tests policy.csv:" in captured.err and "derogation:" in captured.err


def test_the_retrain_comparison_runs_the_new_models_suites_on_both(tmp_path, tiny_classifier_dir):
    from test_cli_suites import suite_file, with_threshold

    from moderator_app.core.review.retrain import compare_models

    old = tiny_classifier_dir
    new = with_threshold(old, tmp_path / "new", 1.0)  # the 'retrained' model flags nothing
    config = json.loads((new / "training_config.json").read_text())
    (new / "training_config.json").write_text(json.dumps({**config, "test_suites": [str(suite_file(tmp_path))]}))
    [comparison] = compare_models(old, new, None, None)
    assert comparison.data == "the test suite policy.csv" and comparison.rows == 6
    assert comparison.old["pass rate"] == pytest.approx(5 / 6) and comparison.new["pass rate"] == pytest.approx(2 / 6)
    assert comparison.old["pass rate: derogation"] == 1.0 and comparison.new["pass rate: derogation"] == 0.0
    assert comparison.notes[0] == "policy.csv: 3 cases newly fail, 0 newly pass with the new model."
    assert "newly failing [derogation] 'they are vermin from the city': now not-hate" in comparison.notes
