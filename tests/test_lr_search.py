"""Find a learning rate (issue 24 point 3): short seeded trials of the unchanged engine, on the tiny model."""

from __future__ import annotations

import json
import tempfile
import threading

import pytest

from moderator_app.cli import main
from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import SettingsError
from moderator_app.core.training.lr_search import (RECIPE_LEARNING_RATE, SearchSettings, TrialProgress, TrialResult,
                                                   recommend, search_learning_rates)

QUICK_FLAGS = ["--train-batch-size", "16", "--max-length", "32", "--validation-rows", "32", "--device", "cpu",
               "--precision", "fp32", "--warmup-steps", "2"]


@pytest.fixture
def private_temp(tmp_path, monkeypatch):
    """Where the trials' temporary folder goes, to see that nothing is left there."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def quick_config(model_dir, train_csv, **overrides) -> TrainingConfig:
    values = dict(train_file=str(train_csv), model_name_or_path=str(model_dir), train_batch_size=16, max_length=32,
                  device="cpu", precision="fp32", warmup_steps=2)
    values.update(overrides)
    return TrainingConfig(**values)


QUICK = dict(min_lr=1e-5, max_lr=1e-2, trials=2, steps=5, validation_rows=32)


def test_cli_prints_the_table_and_writes_json(tiny_model_dir, synthetic_csv, tmp_path, private_temp, capsys):
    output = tmp_path / "lr.json"
    status = main(["tune-lr", "--data", str(synthetic_csv), "--model", str(tiny_model_dir), "--trials", "2",
                   "--min-lr", "1e-5", "--max-lr", "1e-2", "--steps", "5", *QUICK_FLAGS, "--json", str(output)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    rows = [line for line in captured.out.splitlines() if line.strip().startswith(("1.00e", "2.00e"))]
    assert [row.split("|")[0].strip() for row in rows] == ["1.00e-05", "2.00e-05", "1.00e-02"]
    assert "← recipe" in rows[1] or "recipe," in rows[1]  # the recipe's 2e-5 is always tried and marked
    assert sum("best" in row for row in rows) == 1
    assert "Each trial: 5 steps on 80 of 432 training rows" in captured.out
    assert "Recommended learning rate:" in captured.out

    saved = json.loads(output.read_text())
    assert [trial["learning_rate"] for trial in saved["trials"]] == [1e-5, RECIPE_LEARNING_RATE, 1e-2]
    assert [trial["is_recipe"] for trial in saved["trials"]] == [False, True, False]
    assert saved["best"] in (1e-5, RECIPE_LEARNING_RATE, 1e-2) and saved["recommended"] is not None
    assert all(trial["steps"] == 5 and trial["val_loss"] > 0 for trial in saved["trials"])
    assert saved["train_rows"] == 80 and saved["validation_rows"] == 32 and not saved["cancelled"]
    assert list(private_temp.iterdir()) == []  # the trials' folders are gone


@pytest.mark.parametrize("arguments, message", [
    (["--min-lr", "1e-3", "--max-lr", "1e-5"], "The range is empty: --min-lr (0.001) must be below --max-lr"),
    (["--max-lr", "2"], "--max-lr must be a learning rate between 0 and 1"),
    (["--trials", "1"], "--trials must be between 2 and 50"),
    (["--fraction", "1.5"], "--fraction must be a fraction of an epoch"),
    (["--steps", "3", "--fraction", "0.5"], "not allowed with argument"),
    (["--train-batch-size", "0"], "--train-batch-size: must be ≥ 1"),
])
def test_bad_input_exits_2_with_one_line(arguments, message, tiny_model_dir, synthetic_csv, private_temp, capsys):
    try:
        status = main(["tune-lr", "--data", str(synthetic_csv), "--model", str(tiny_model_dir), *arguments])
    except SystemExit as exit:  # a usage mistake, found by argparse
        status = exit.code
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert list(private_temp.iterdir()) == []


def test_no_output_folder_is_needed_but_data_is(tmp_path, private_temp, capsys):
    assert main(["tune-lr", "--model", str(tmp_path)]) == 2
    assert "--data" in capsys.readouterr().err


def test_seeded_the_same_twice_and_nothing_left_behind(tiny_model_dir, synthetic_csv, private_temp):
    config = quick_config(tiny_model_dir, synthetic_csv)
    abandoned = private_temp / "moderator-app-lr-search-999999999-x1y2"  # a search whose process was killed
    (abandoned / "trial-1").mkdir(parents=True)
    first = search_learning_rates(config, SearchSettings(**QUICK))
    second = search_learning_rates(config, SearchSettings(**QUICK))
    losses = [(trial.learning_rate, trial.val_loss, trial.accuracy) for trial in first.trials]
    assert losses == [(trial.learning_rate, trial.val_loss, trial.accuracy) for trial in second.trials]
    assert len(losses) == 3 and first.best == second.best and first.recommended == second.recommended
    assert list(private_temp.iterdir()) == []
    assert config.output_dir == "" and config.learning_rate == RECIPE_LEARNING_RATE  # the caller's config untouched


def test_a_fraction_of_an_epoch_on_a_stratified_subset(tiny_model_dir, synthetic_csv, private_temp):
    progress = []
    result = search_learning_rates(quick_config(tiny_model_dir, synthetic_csv),
                                   SearchSettings(min_lr=1e-4, max_lr=1e-3, trials=2, steps=None, fraction=0.25,
                                                  validation_rows=20), progress.append)
    assert result.train_rows == 108 and result.train_rows_total == 432 and result.steps == 7  # ceil(108 / 16)
    assert result.validation_rows == 20 and result.labels == ["hate", "not-hate"]
    assert [trial.learning_rate for trial in result.trials] == [1e-4, 1e-3]  # 2e-5 is outside the range
    steps = [item.step for item in progress if isinstance(item, TrialProgress) and item.trial == 1]
    assert steps == list(range(0, 8))
    assert [item for item in progress if isinstance(item, TrialResult)] == result.trials


@pytest.mark.parametrize("stop_in_trial", [1, 2])
def test_cancel_leaves_nothing_behind(stop_in_trial, tiny_model_dir, synthetic_csv, private_temp):
    stop = threading.Event()

    def on_progress(item):
        if isinstance(item, TrialProgress) and item.trial == stop_in_trial and item.step == 2:
            stop.set()

    result = search_learning_rates(quick_config(tiny_model_dir, synthetic_csv), SearchSettings(**QUICK),
                                   on_progress, stop)
    assert result.cancelled and len(result.trials) == stop_in_trial - 1
    assert list(private_temp.iterdir()) == []


def _trial(rate, loss, diverged=False):
    return TrialResult(rate, None if diverged else loss, None if diverged else 0.5, None if diverged else 0.5,
                       loss, 10, diverged, 1.0)


def test_recommendation_is_the_lowest_loss_or_a_step_below_divergence():
    best, recommended, reason = recommend([_trial(1e-6, 0.69), _trial(1e-5, 0.50), _trial(1e-4, 0.60)])
    assert best == recommended == 1e-5 and "lowest validation loss (0.5000)" in reason
    # the next higher rate diverged: the best is at the edge, one step lower is recommended
    best, recommended, reason = recommend([_trial(1e-6, 0.69), _trial(1e-5, 0.55), _trial(1e-4, 0.40),
                                           _trial(1e-3, 9.0, diverged=True)])
    assert best == 1e-4 and recommended == 1e-5 and "edge of divergence" in reason
    best, recommended, reason = recommend([_trial(1e-6, 0.69), _trial(1e-5, 0.50)])
    assert recommended == 1e-5 and "highest rate tried" in reason
    assert recommend([_trial(1e-3, 9, True), _trial(1e-2, 9, True)])[:2] == (None, None)


def test_settings_check_names_the_setting():
    with pytest.raises(SettingsError) as caught:
        SearchSettings(min_lr=0.0).check()
    assert caught.value.setting == "min_lr"
    assert SearchSettings(min_lr=1e-6, max_lr=1e-3, trials=4).learning_rates() == pytest.approx(
        [1e-6, 1e-5, RECIPE_LEARNING_RATE, 1e-4, 1e-3])


def test_a_rare_label_keeps_a_row_in_the_subset():
    from moderator_app.core.training.lr_search import _stratified_rows

    labels = [0] * 300 + [1] * 3 + [2] * 40
    rows = _stratified_rows(labels, 20, seed=1)
    assert {labels[row] for row in rows} == {0, 1, 2} and 20 <= len(rows) <= 21
    assert rows == _stratified_rows(labels, 20, seed=1)  # seeded
    assert _stratified_rows(labels, 400, seed=1) == list(range(len(labels)))  # more than there are: all of them


def test_trials_never_compile_even_when_the_run_would(tiny_model_dir, synthetic_csv, private_temp, monkeypatch):
    import torch

    compiled = []
    monkeypatch.setattr(torch, "compile", lambda model, **kwargs: compiled.append(model) or model)
    result = search_learning_rates(quick_config(tiny_model_dir, synthetic_csv, compile_model=True),
                                   SearchSettings(**QUICK))
    assert len(result.trials) == 3 and compiled == []  # a trial of a few steps never pays for a compilation


def test_a_multi_label_search_scores_each_trial_with_the_masked_loss(tiny_model_dir, tmp_path, private_temp, capsys,
                                                                     monkeypatch):
    """With `categories`, each trial is a multi-label run on the subsets, unknowns kept: its validation loss
    is the masked binary cross-entropy over the known (row, category) pairs of the validation subset."""
    import numpy as np

    from moderator_app.core.training import engine
    from tiny_models import one_category_sources, source_forms

    sources = one_category_sources(tmp_path)  # one labels only hate, the other only offensive
    scored = []
    multi_label_pass = engine.evaluate_multi_label

    def recorded(*args, **kwargs):
        val_loss, logits, targets = multi_label_pass(*args, **kwargs)
        scored.append((val_loss, logits, targets))
        return val_loss, logits, targets

    monkeypatch.setattr(engine, "evaluate_multi_label", recorded)
    output = tmp_path / "lr.json"
    status = main(["tune-lr", "--categories", "hate,offensive", *source_forms(sources), "--model", str(tiny_model_dir),
                   "--trials", "2", "--min-lr", "1e-4", "--max-lr", "1e-2", "--steps", "3", *QUICK_FLAGS,
                   "--json", str(output)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "Recommended learning rate:" in captured.out
    saved = json.loads(output.read_text())
    assert saved["labels"] == ["hate", "offensive"]
    assert [trial["learning_rate"] for trial in saved["trials"]] == [1e-4, 1e-2]
    assert saved["best"] in (1e-4, 1e-2) and saved["recommended"] is not None
    assert saved["train_rows"] == 48 and all(trial["steps"] == 3 for trial in saved["trials"])
    # each trial was scored by the multi-label validation pass, and that loss is what the curve compares …
    assert [trial["val_loss"] for trial in saved["trials"]] == pytest.approx([loss for loss, _, _ in scored])
    for val_loss, logits, targets in scored:
        # … on the validation subset with each row's other category still unknown (never taken for "no") …
        assert len(targets) == saved["validation_rows"] == 24
        assert ((targets == -1).sum(axis=1) == 1).all() and (targets[:, 0] == -1).any() and (targets[:, 1] == -1).any()
        # … the mean binary cross-entropy over the known pairs only
        known = targets >= 0
        bce = np.logaddexp(0, logits) - targets * logits
        assert val_loss == pytest.approx(bce[known].mean(), rel=1e-4)
    assert list(private_temp.iterdir()) == []
