"""Issue 27 meets issue 26: a multi-label model labelled with `--engine spark` gets the columns `label`
writes for it (p_<category>, <category> yes/no, predicted_labels), with the same values, at the saved
per-category thresholds or at `--threshold CATEGORY=T`. Real Spark in local mode (test_spark_labelling's
session); skipped where pyspark or Java is missing."""

from __future__ import annotations

import json

import pytest
from test_spark_labelling import AWKWARD_TEXTS, label_args, read_csv, read_folder, spark  # noqa: F401 (fixture)
from tiny_models import synthetic_multi_label_rows, write_csv

from moderator_app.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support:FutureWarning")
CATEGORIES = ["hate", "offensive"]
ADDED = ["p_hate", "hate", "p_offensive", "offensive", "predicted_labels"]


def write_comments(path):
    """Synthetic multi-label texts (every combination of categories) with the awkward CSV cells among them."""
    texts = [row[0] for row in synthetic_multi_label_rows(300, seed=27)]
    texts = texts[:150] + AWKWARD_TEXTS + texts[150:]
    return write_csv(path, [(f"{index:04d}", text) for index, text in enumerate(texts)], header=("id", "text"))


def same_row(spark_row: dict, local_row: dict) -> None:
    for name in CATEGORIES + ["predicted_labels"]:
        assert spark_row[name] == local_row[name], (name, local_row["text"])
    for name in ("p_hate", "p_offensive"):
        if local_row[name] == "":  # the empty text: no numbers in either output
            assert spark_row[name] is None
        else:
            assert abs(spark_row[name] - float(local_row[name])) < 1e-5, (name, local_row["text"])


def summary_counts(out: str) -> str:
    """'hate N, offensive M' of the summary line (`label` and `label --engine spark` print the same)."""
    return out.split("rows flagged per category: ")[1].split(".")[0]


def test_spark_labels_a_multi_label_model_as_label_does(tmp_path, spark, tiny_multi_label_dir, capsys):
    from moderator_app.core.inference.classifier import Classifier

    source = write_comments(tmp_path / "comments.csv")
    assert main(["label", str(source), *label_args(tiny_multi_label_dir), "-o", str(tmp_path / "local.csv")]) == 0
    local_out = capsys.readouterr().out
    status = main(["label", "--engine", "spark", str(source), *label_args(tiny_multi_label_dir),
                   "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "Labelled 308 rows" in out and "1 empty texts" in out
    assert summary_counts(out) == summary_counts(local_out)
    local, labelled = read_csv(tmp_path / "local.csv"), read_folder(tmp_path / "out")
    assert list(local[0]) == ["id", "text", *ADDED]
    assert list(labelled[0]) == ["id", "text", *ADDED, "_row_id"]  # the same columns, then the row id
    assert len(labelled) == len(local) == 308
    for spark_row, local_row in zip(labelled, local):
        assert (spark_row["id"], spark_row["text"]) == (local_row["id"], local_row["text"])
        same_row(spark_row, local_row)
    for name in CATEGORIES:  # both answers occur, so that equal columns say something
        assert {row[name] for row in labelled} == {"yes", "no", ""}
    manifest = json.loads((tmp_path / "out" / "_moderator_app_labelled.json").read_text())
    classifier = Classifier.load(tiny_multi_label_dir, device="cpu", precision="fp32")
    assert manifest["category_thresholds"] == classifier.category_thresholds  # the saved ones
    assert manifest["columns_added"] == ADDED
    assert manifest["label_counts"] == {name: sum(row[name] == "yes" for row in local) for name in CATEGORIES}


def test_spark_threshold_category_moves_that_category_alone(tmp_path, spark, tiny_multi_label_dir, capsys):
    from moderator_app.core.inference.classifier import Classifier

    source = write_comments(tmp_path / "comments.csv")
    assert main(["label", str(source), *label_args(tiny_multi_label_dir), "-o", str(tmp_path / "saved.csv")]) == 0
    capsys.readouterr()
    assert main(["label", str(source), *label_args(tiny_multi_label_dir), "-o", str(tmp_path / "local.csv"),
                 "--threshold", "offensive=0"]) == 0
    local_out = capsys.readouterr().out
    # CSV part files this time: what is counted is read back from them
    status = main(["label", "--engine", "spark", str(source), *label_args(tiny_multi_label_dir),
                   "--output", str(tmp_path / "out"), "--output-format", "csv", "--threshold", "offensive=0"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert summary_counts(out) == summary_counts(local_out) and "1 empty texts" in out
    saved, local = read_csv(tmp_path / "saved.csv"), read_csv(tmp_path / "local.csv")
    labelled = sorted(read_folder_csv(tmp_path / "out"), key=lambda row: int(row["_row_id"]))
    assert len(labelled) == len(local)
    for spark_row, local_row, saved_row in zip(labelled, local, saved):
        assert spark_row["offensive"] == local_row["offensive"] == ("" if saved_row["text"] == "" else "yes")
        assert spark_row["hate"] == saved_row["hate"]  # hate stays at its saved threshold
        assert spark_row["predicted_labels"] == local_row["predicted_labels"]
    assert any(row["offensive"] == "no" for row in saved)  # so the override moved the column
    manifest = json.loads((tmp_path / "out" / "_moderator_app_labelled.json").read_text())
    classifier = Classifier.load(tiny_multi_label_dir, device="cpu", precision="fp32")
    assert manifest["category_thresholds"] == {"hate": classifier.category_thresholds["hate"], "offensive": 0.0}


def read_folder_csv(folder) -> list[dict]:
    rows = []
    for part in sorted(folder.glob("part-*.csv")):
        rows.extend(read_csv(part))
    return rows


def test_spark_refuses_an_unknown_category_threshold_in_one_line(tmp_path, spark, tiny_multi_label_dir, capsys):
    source = write_csv(tmp_path / "c.csv", [("some text",)], header=("text",))
    status = main(["label", "--engine", "spark", str(source), *label_args(tiny_multi_label_dir),
                   "--output", str(tmp_path / "out"), "--threshold", "threat=0.5"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith("moderator-app label: error: 'threat' is not a category of") and "--threshold" in err
    assert not (tmp_path / "out").exists()


def test_spark_refuses_one_threshold_for_a_multi_label_model(tmp_path, spark, tiny_multi_label_dir, capsys):
    source = write_csv(tmp_path / "c.csv", [("some text",)], header=("text",))
    status = main(["label", "--engine", "spark", str(source), *label_args(tiny_multi_label_dir),
                   "--output", str(tmp_path / "out"), "--threshold", "0.5"])
    err = capsys.readouterr().err
    assert status == 2 and "is a multi-label model: each category is decided at its own threshold" in err
    assert not (tmp_path / "out").exists()
