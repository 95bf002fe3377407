"""`moderator-app evaluate` end to end, and the operating point from training to `label`/`classify`."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)
from tiny_models import synthetic_rows, write_csv

from moderator_app.cli import main

# auto resolves to bf16 or fp32 by the CPU: `make test` runs this module both ways (--cpu-bf16)
pytestmark = pytest.mark.precision

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REQUIRED_KEYS = {"n", "accuracy", "majority_baseline", "macro_f1", "per_class", "confusion_matrix", "roc_auc",
                 "average_precision", "ece", "threshold", "by"}


def labelled_file(folder: Path) -> Path:
    """60 synthetic rows from two sources, one empty text and one label the model does not have."""
    rows = [(text, label, "forum" if index % 3 else "tweets") for index, (text, label) in
            enumerate(synthetic_rows(60, seed=21))]
    rows += [("", "hate", "forum"), ("people from the city", "offensive", "tweets")]
    return write_csv(folder / "test.csv", rows, header=("text", "label", "source"))


def test_evaluate_end_to_end(tmp_path, tiny_classifier_dir, capsys):
    from moderator_app.core.inference.classifier import Classifier

    data = labelled_file(tmp_path)
    out = tmp_path / "metrics.json"
    status = main(["evaluate", str(tiny_classifier_dir), str(data), "--by", "source", "--json", str(out),
                   "--device", "cpu", "--batch-size", "16"])
    stdout = capsys.readouterr().out
    assert status == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert REQUIRED_KEYS <= set(report)
    assert report["n"] == 60 and set(report["by"]) == {"forum", "tweets"}
    assert report["by"]["forum"]["n"] + report["by"]["tweets"]["n"] == 60
    assert report["data"]["dropped"] == {"empty text": 1} and report["data"]["unknown_labels"] == {"offensive": 1}
    assert report["threshold"] is None and report["threshold_source"].startswith("none")
    # The same numbers as the classifier's own predictions give.
    rows = synthetic_rows(60, seed=21)
    predicted = [p.label for p in Classifier.load(tiny_classifier_dir, device="cpu").predict([t for t, _ in rows])]
    assert report["accuracy"] == pytest.approx(np.mean([p == label for p, (_, label) in zip(predicted, rows)]))
    assert report["majority_baseline"] == pytest.approx(0.5)
    for words in ("accuracy", "baseline", "macro F1", "source=forum", "Confusion matrix", "'offensive' 1",
                  "empty text 1 (rows 61)", f"Wrote {out}"):
        assert words in stdout


def test_evaluate_with_an_integer_label_map_and_a_threshold(tmp_path, tiny_classifier_dir, capsys):
    rows = [(text, "1" if label == "hate" else "0") for text, label in synthetic_rows(30, seed=4)]
    data = write_csv(tmp_path / "ints.csv", rows, header=("comment", "isHate"))
    out = tmp_path / "m.json"
    status = main(["evaluate", str(tiny_classifier_dir), str(data), "--label-map", '{"1": "hate", "0": "not-hate"}',
                   "--threshold", "0.3", "--json", str(out), "--device", "cpu"])
    assert status == 0, capsys.readouterr().err
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["n"] == 30 and report["threshold"] == 0.3 and report["threshold_source"] == "given"
    assert report["data"]["label_kind"] == "integers" and "by" not in report
    assert report["accuracy"] >= 0.8 and report["roc_auc"] is not None


@pytest.mark.parametrize("extra, words", [
    (["--label-map", '{"hate": "hate"}', "--label-column", "source"], "label 'tweets'"),
    (["--label-column", "verdict"], "no column 'verdict'"),
    (["--by", "target"], "--by"),
    (["--label-map", '{"offensive": "toxic"}'], "'toxic'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, tiny_classifier_dir, capsys, extra, words):
    data = labelled_file(tmp_path)
    status = main(["evaluate", str(tiny_classifier_dir), str(data), "--device", "cpu", *extra])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("moderator-app evaluate: error: ") and words in err


def test_unmapped_value_names_the_file_and_the_value(tmp_path, tiny_classifier_dir, capsys):
    rows = [(text, {"hate": "0", "not-hate": "2"}[label]) for text, label in synthetic_rows(10)] + [("x y", "1")]
    data = write_csv(tmp_path / "davidson.csv", rows, header=("tweet", "class"))
    status = main(["evaluate", str(tiny_classifier_dir), str(data), "--label-map", '{"0": "hate", "2": "not-hate"}'])
    err = capsys.readouterr().err
    assert status == 2 and "davidson.csv" in err and "'1'" in err and "--label-map" in err


def test_an_existing_json_output_is_kept(tmp_path, tiny_classifier_dir, capsys):
    data = labelled_file(tmp_path)
    out = tmp_path / "mine.json"
    out.write_text("precious")
    status = main(["evaluate", str(tiny_classifier_dir), str(data), "--json", str(out), "--device", "cpu"])
    assert status == 2 and "--overwrite" in capsys.readouterr().err
    assert out.read_text() == "precious"
    assert main(["evaluate", str(tiny_classifier_dir), str(data), "--json", str(out), "--overwrite",
                 "--device", "cpu"]) == 0
    assert json.loads(out.read_text())["n"] == 60
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mine.json", "test.csv"]  # no temporary file


def test_an_unwritable_json_folder_is_named(tmp_path, tiny_classifier_dir, capsys, monkeypatch):
    import errno

    from moderator_app.core.files import atomic

    def refuse(*args, **kwargs):  # as a read-only folder does, even for root on a read-only mount
        raise PermissionError(errno.EACCES, "Permission denied", str(args[0]))

    data = labelled_file(tmp_path)
    monkeypatch.setattr(atomic, "open", refuse, raising=False)
    status = main(["evaluate", str(tiny_classifier_dir), str(data), "--json", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert status == 2 and f"{tmp_path}: this folder cannot be written to (Permission denied)" in err
    assert ".part" not in err


def test_a_full_disk_while_writing_the_json_names_the_file(tmp_path, tiny_classifier_dir, capsys, monkeypatch):
    import errno

    data = labelled_file(tmp_path)

    def disk_full(data, handle, **kwargs):
        handle.write('{"n": ')
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(json, "dump", disk_full)
    status = main(["evaluate", str(tiny_classifier_dir), str(data), "--json", str(tmp_path / "m.json"),
                   "--device", "cpu"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1, err
    assert f"No space left on the disk while writing {tmp_path / 'm.json'}" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["test.csv"]  # no half file, no temporary


def test_evaluation_json_gets_the_users_usual_permissions(tmp_path, tiny_classifier_dir):
    import os
    import stat

    data = labelled_file(tmp_path)
    previous = os.umask(0o027)
    try:
        assert main(["evaluate", str(tiny_classifier_dir), str(data), "--json", str(tmp_path / "m.json"),
                     "--device", "cpu"]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == 0o640  # 0666 & ~umask, not mkstemp's 0600


def by_column_file(folder: Path, groups) -> Path:
    rows = [(text, label, group) for (text, label), group in zip(synthetic_rows(len(groups), seed=21), groups)]
    return write_csv(folder / "groups.csv", rows, header=("text", "label", "group"))


@pytest.mark.parametrize("groups, words", [
    (["", " "] * 10, "the group column 'group' is empty in every row evaluated"),
    ([f"user{index}" for index in range(120)], "the group column 'group' has 120 distinct values in 120 rows"),
])
def test_a_by_column_that_holds_no_groups_is_refused_before_predicting(tmp_path, tiny_classifier_dir, capsys,
                                                                     monkeypatch, groups, words):
    from moderator_app.core.inference.classifier import Classifier

    def not_reached(*args, **kwargs):
        raise AssertionError("the model ran before the group column was checked")

    monkeypatch.setattr(Classifier, "predict_probabilities", not_reached)
    data = by_column_file(tmp_path, groups)
    status = main(["evaluate", str(tiny_classifier_dir), str(data), "--by", "group", "--device", "cpu"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and words in err and "--by" in err, err


def test_group_limits():
    from moderator_app.core.evaluation.labelled_data import MAX_GROUPS, check_groups
    from moderator_app.core.errors import DataError

    check_groups(["a", "(missing)", "b"], "f.csv", "g")  # some rows without a group: fine
    check_groups([str(index % 40) for index in range(60)], "f.csv", "g")  # 40 small groups: allowed
    with pytest.raises(DataError, match="1,001 distinct values"):
        check_groups([str(index % (MAX_GROUPS + 1)) for index in range(100_000)], "f.csv", "g")


def test_a_missing_model_is_one_line_in_a_real_process(tmp_path):
    data = labelled_file(tmp_path)
    result = subprocess.run([sys.executable, "-m", "moderator_app", "evaluate", str(tmp_path / "no-model"), str(data)],
                            capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


# ------------------------------------------------------------------------------------------------
# The operating point: written by training, used by label and classify
# ------------------------------------------------------------------------------------------------
def train_tiny(tiny_model_dir, train_csv, output: Path, **overrides) -> Path:
    from moderator_app.core.config import TrainingConfig
    from moderator_app.core.training.engine import train

    settings = dict(train_file=str(train_csv), model_name_or_path=str(tiny_model_dir), output_dir=str(output),
                    learning_rate=1e-3, train_batch_size=16, warmup_steps=5, num_epochs=4, max_length=32,
                    device="cpu")
    train(TrainingConfig(**{**settings, **overrides}))
    return output


@pytest.fixture(scope="module")
def trained_run(tiny_model_dir, synthetic_csv, synthetic_val_csv, tmp_path_factory) -> Path:
    return train_tiny(tiny_model_dir, synthetic_csv, tmp_path_factory.mktemp("calibrated") / "run",
                      validation_file=str(synthetic_val_csv), threshold_rule="recall>=0.9")


def test_a_training_run_writes_its_operating_point(trained_run):
    from moderator_app.core.evaluation.calibration import softmax
    from moderator_app.core.inference.classifier import Classifier

    saved = json.loads((trained_run / "operating_point.json").read_text(encoding="utf-8"))
    assert saved["rule"] == "recall>=0.9" and saved["positive_label"] == "hate"
    assert 0.0 <= saved["threshold"] <= 1.0 and saved["recall"] >= 0.9 and saved["temperature"] > 0
    assert saved["validation_rows"] == 120 and saved["validation"]["majority_baseline"] == 0.5
    assert saved["validation"]["accuracy"] > 0.9 and saved["warning"] is None
    assert saved["curve"] and saved["ece_before"] >= 0 and saved["ece_after"] >= 0
    card = (trained_run / "README.md").read_text(encoding="utf-8")
    assert "## Calibration and operating threshold" in card and "majority-class baseline" in card

    classifier = Classifier.load(trained_run, device="cpu")
    assert classifier.default_threshold == saved["threshold"]
    assert classifier.temperature == saved["temperature"]
    texts = [text for text, _ in synthetic_rows(8, seed=3)]
    expected = softmax(classifier.predict_logits(texts), saved["temperature"])
    assert np.allclose(classifier.predict_probabilities(texts), expected, atol=1e-5)


def test_label_and_classify_decide_at_the_operating_point_unless_told(trained_run, tmp_path, capsys):
    # A threshold of 0 makes every text 'hate': proof that the saved threshold is the default.
    path = trained_run / "operating_point.json"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(json.dumps({**json.loads(original), "threshold": 0.0}), encoding="utf-8")
        rows = synthetic_rows(20, seed=9)
        source = write_csv(tmp_path / "in.csv", rows)
        assert main(["label", str(source), "--model", str(trained_run), "--device", "cpu"]) == 0
        assert {row["predicted_label"] for row in read_rows(tmp_path / "in.labelled.csv")} == {"hate"}
        assert main(["label", str(source), "--model", str(trained_run), "--device", "cpu", "--threshold", "0.5",
                     "-o", str(tmp_path / "given.csv")]) == 0
        assert {row["predicted_label"] for row in read_rows(tmp_path / "given.csv")} == {"hate", "not-hate"}
        capsys.readouterr()
        assert main(["classify", "lovely weather today", "--model", str(trained_run), "--device", "cpu"]) == 0
        assert capsys.readouterr().out.startswith("hate")
        assert main(["evaluate", str(trained_run), str(source), "--device", "cpu", "--json",
                     str(tmp_path / "e.json")]) == 0
        report = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))
        assert report["threshold"] == 0.0 and report["threshold_source"] == "the model's operating point"
        assert report["warning"] and "'hate' for 100%" in report["warning"]
    finally:
        path.write_text(original, encoding="utf-8")


def test_a_damaged_operating_point_is_one_line_not_a_silent_argmax(trained_run, tmp_path, capsys):
    path = trained_run / "operating_point.json"
    original = path.read_text(encoding="utf-8")
    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))
    try:
        path.write_text(original[: len(original) // 2], encoding="utf-8")  # cut short
        for command in (["label", str(source), "--model", str(trained_run)],
                        ["classify", "lovely weather", "--model", str(trained_run)],
                        ["evaluate", str(trained_run), str(source)]):
            assert main([*command, "--device", "cpu"]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "operating_point.json cannot be read" in err and "Delete it" in err
    finally:
        path.write_text(original, encoding="utf-8")
    assert not (tmp_path / "in.labelled.csv").exists()


def test_a_run_that_learned_nothing_says_so_in_its_card(tiny_model_dir, synthetic_csv, tmp_path):
    run = train_tiny(tiny_model_dir, synthetic_csv, tmp_path / "run", num_epochs=1, learning_rate=1e-7)
    saved = json.loads((run / "operating_point.json").read_text(encoding="utf-8"))
    assert saved["warning"] and "class weighting" in saved["warning"]
    assert f"**Warning: {saved['warning']}**" in (run / "README.md").read_text(encoding="utf-8")


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
