"""Issue 27: what a multi-label model writes: `label` adds p_<category>, <category> (yes/no) and
predicted_labels; `classify` prints the flagged categories; a single threshold is refused."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from moderator_app.cli import main
from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)
from tiny_models import synthetic_multi_label_rows, write_csv

CATEGORIES = ["hate", "offensive"]


def _read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_label_writes_a_probability_and_a_yes_no_column_per_category(tiny_multi_label_dir, tmp_path, capsys):
    from moderator_app.core.inference.classifier import Classifier

    rows = synthetic_multi_label_rows(40, seed=41)
    source = write_csv(tmp_path / "comments.csv", [(text, index) for index, (text, *_) in enumerate(rows)] + [("", 99)],
                       header=("comment", "id"))
    assert main(["label", str(source), "--model", str(tiny_multi_label_dir), "--precision", "fp32"]) == 0
    out = capsys.readouterr().out
    assert "rows flagged per category: hate" in out
    written = _read(tmp_path / "comments.labelled.csv")
    assert list(written[0]) == ["comment", "id", "p_hate", "hate", "p_offensive", "offensive", "predicted_labels"]
    classifier = Classifier.load(tiny_multi_label_dir, device="cpu", precision="fp32")
    probabilities = classifier.predict_probabilities([text for text, *_ in rows])
    flagged = classifier.decide_categories(probabilities)
    for row, scores, chosen in zip(written, probabilities, flagged):
        assert float(row["p_hate"]) == pytest.approx(float(scores[0]), abs=1e-6)
        assert row["hate"] == ("yes" if "hate" in chosen else "no")
        assert row["offensive"] == ("yes" if "offensive" in chosen else "no")
        assert row["predicted_labels"] == ";".join(chosen)
    assert written[-1]["hate"] == "" and written[-1]["predicted_labels"] == "" and written[-1]["p_hate"] == ""
    # the decisions follow the saved per-category thresholds, recorded beside the file
    record = json.loads((tmp_path / "comments.labelled.csv.provenance.json").read_text())
    assert record["category_thresholds"] == classifier.category_thresholds
    assert sum(row["hate"] == "yes" for row in written) == record["label_counts"]["hate"]


def test_label_to_parquet_keeps_the_yes_no_columns_as_text(tiny_multi_label_dir, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "comments.parquet"
    pq.write_table(pa.table({"text": [row[0] for row in synthetic_multi_label_rows(10, seed=2)]}), source)
    assert main(["label", str(source), "--model", str(tiny_multi_label_dir)]) == 0
    table = pq.read_table(tmp_path / "comments.labelled.parquet")
    assert table.schema.field("hate").type == pa.string() and table.schema.field("p_hate").type == pa.float64()
    assert table.schema.field("predicted_labels").type == pa.string()


def test_a_column_named_like_a_category_is_refused(tiny_multi_label_dir, tmp_path, capsys):
    source = write_csv(tmp_path / "c.csv", [("some text", "x")], header=("text", "hate"))
    assert main(["label", str(source), "--model", str(tiny_multi_label_dir)]) == 2
    assert "already has a column 'hate', which labelling adds" in capsys.readouterr().err


def test_one_threshold_is_refused_for_a_multi_label_model(tiny_multi_label_dir, capsys):
    assert main(["classify", "some text", "--model", str(tiny_multi_label_dir), "--threshold", "0.5"]) == 2
    error = capsys.readouterr().err.strip()
    assert "is a multi-label model: each category is decided at its own threshold" in error and "\n" not in error


def test_label_threshold_category_value_flags_that_category_at_it_and_records_it(tiny_multi_label_dir, tmp_path,
                                                                                 capsys):
    from moderator_app.core.inference.classifier import Classifier

    rows = synthetic_multi_label_rows(24, seed=43)
    source = write_csv(tmp_path / "comments.csv", [(text,) for text, *_ in rows], header=("text",))
    assert main(["label", str(source), "--model", str(tiny_multi_label_dir), "--precision", "fp32",
                 "--threshold", "hate=0", "--threshold", "offensive=1"]) == 0
    written = _read(tmp_path / "comments.labelled.csv")
    assert all(row["hate"] == "yes" and row["offensive"] == "no" for row in written)  # every score ≥ 0, none ≥ 1
    record = json.loads((tmp_path / "comments.labelled.csv.provenance.json").read_text())
    assert record["category_thresholds"] == {"hate": 0.0, "offensive": 1.0}
    classifier = Classifier.load(tiny_multi_label_dir, device="cpu", precision="fp32")
    assert main(["label", str(source), "--model", str(tiny_multi_label_dir), "--precision", "fp32", "--overwrite",
                 "--threshold", "offensive=0"]) == 0  # hate stays at its saved threshold
    written = _read(tmp_path / "comments.labelled.csv")
    flagged = classifier.decide_categories(classifier.predict_probabilities([text for text, *_ in rows]))
    assert [row["hate"] for row in written] == ["yes" if "hate" in chosen else "no" for chosen in flagged]
    assert all(row["offensive"] == "yes" for row in written)
    record = json.loads((tmp_path / "comments.labelled.csv.provenance.json").read_text())
    assert record["category_thresholds"] == {"hate": classifier.category_thresholds["hate"], "offensive": 0.0}
    capsys.readouterr()


def test_an_unknown_category_threshold_exits_2_with_one_line(tiny_multi_label_dir, tmp_path, capsys):
    source = write_csv(tmp_path / "c.csv", [("some text",)], header=("text",))
    assert main(["label", str(source), "--model", str(tiny_multi_label_dir), "--threshold", "threat=0.5"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after the model's description
    assert error.startswith("moderator-app label: error: 'threat' is not a category of") and "--threshold" in error
    assert not (tmp_path / "c.labelled.csv").exists()


@pytest.mark.parametrize("value, said", [("hate=1.5", "expected a number between 0 and 1, got 1.5"),
                                         ("=0.5", "expected T or CATEGORY=T"), ("hate=x", "got 'x'")])
def test_a_malformed_category_threshold_exits_2_with_one_line(tmp_path, capsys, value, said):
    with pytest.raises(SystemExit) as raised:
        main(["label", str(tmp_path / "c.csv"), "--model", str(tmp_path), "--threshold", value])
    error = capsys.readouterr().err.strip()
    assert raised.value.code == 2 and said in error and "\n" not in error


def test_a_category_threshold_is_refused_for_a_single_label_model(tiny_classifier_dir, capsys):
    assert main(["classify", "some text", "--model", str(tiny_classifier_dir), "--threshold", "hate=0.5"]) == 2
    error = capsys.readouterr().err.strip()
    assert "a threshold per category needs a multi-label model" in error and "\n" not in error


def test_classify_takes_a_category_threshold(tiny_multi_label_dir, capsys):
    texts = [row[0] for row in synthetic_multi_label_rows(4, seed=9)]
    assert main(["classify", *texts, "--model", str(tiny_multi_label_dir), "--json", "--threshold", "hate=0",
                 "--threshold", "offensive=1"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [entry["categories"] for entry in printed] == [["hate"]] * len(texts)


def test_classify_prints_the_categories_over_their_thresholds(tiny_multi_label_dir, capsys):
    from moderator_app.core.inference.classifier import Classifier

    texts = [row[0] for row in synthetic_multi_label_rows(6, seed=8)]
    assert main(["classify", *texts, "--model", str(tiny_multi_label_dir), "--precision", "fp32", "--json"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    classifier = Classifier.load(tiny_multi_label_dir, device="cpu", precision="fp32")
    expected = classifier.decide_categories(classifier.predict_probabilities(texts))
    assert [entry["categories"] for entry in printed] == expected
    assert set(printed[0]["probabilities"]) == set(CATEGORIES)
    assert main(["classify", texts[0], "--model", str(tiny_multi_label_dir), "--precision", "fp32"]) == 0
    line = capsys.readouterr().out.rstrip("\n")
    assert line.startswith(";".join(expected[0]) + "\tP(hate)=") and line.endswith(texts[0])


# ------------------------------------------------------------------------------ evaluate
def _labelled_file(tmp_path):
    rows = synthetic_multi_label_rows(80, seed=51)
    records = []
    for index, (text, hate, offensive) in enumerate(rows):
        source = "a" if index % 2 else "b"
        # source b does not label offensive: its vote cells are blank (unknown there)
        records.append((text, "hate" if hate else "not-hate", 3 * offensive if source == "a" else "", 3, source))
    return rows, write_csv(tmp_path / "labelled.csv", records,
                           header=("text", "label", "offensive_language", "count", "source"))


def test_evaluate_reports_each_category_on_its_known_rows_and_per_group(tiny_multi_label_dir, tmp_path, capsys):
    from moderator_app.core.evaluation.categories import category_metrics
    from moderator_app.core.inference.classifier import Classifier

    rows, data = _labelled_file(tmp_path)
    rules = {"hate": {"column": "label", "yes": ["hate"], "no": ["not-hate"]},
             "offensive": {"votes": "offensive_language", "total": "count", "rule": "majority"}}
    out = tmp_path / "evaluation.json"
    assert main(["evaluate", str(tiny_multi_label_dir), str(data), "--categories", json.dumps(rules), "--by", "source",
                 "--json", str(out), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "Each category on its known rows" in printed and "  source=a" in printed
    result = json.loads(out.read_text())
    assert result["categories"]["hate"]["known_rows"] == 80
    assert result["categories"]["offensive"]["known_rows"] == 40  # source b's rows are unknown for it
    assert result["categories"]["offensive"]["unknown_rows"] == 40
    assert result["categories"]["offensive"]["by"]["b"]["known_rows"] == 0
    classifier = Classifier.load(tiny_multi_label_dir, device="cpu")
    probabilities = classifier.predict_probabilities([row[0] for row in rows])
    known = np.arange(80) % 2 == 1
    expected = category_metrics(np.array([row[2] for row in rows])[known], probabilities[known, 1], "offensive",
                                classifier.category_thresholds["offensive"])
    assert result["categories"]["offensive"]["f1"] == pytest.approx(expected["f1"])


def test_evaluate_reads_yes_no_columns_named_like_the_categories_by_default(tiny_multi_label_dir, tmp_path, capsys):
    rows = synthetic_multi_label_rows(30, seed=52)
    data = write_csv(tmp_path / "decisions.csv", [(text, "yes" if hate else "no", "") for text, hate, _ in rows],
                     header=("text", "hate", "offensive"))
    out = tmp_path / "e.json"
    assert main(["evaluate", str(tiny_multi_label_dir), str(data), "--json", str(out), "--device", "cpu"]) == 0
    result = json.loads(out.read_text())
    assert result["categories"]["hate"]["known_rows"] == 30 and result["categories"]["offensive"]["known_rows"] == 0


@pytest.mark.parametrize("arguments, message", [
    (["--categories", '{"threat": {"column": "label"}}'], "rules name 'threat', which is not one of the model's categories"),
    (["--categories", '{"hate": {"votes": "label"}}'], "needs 'rule': one of at_least_one, majority"),
    (["--threshold", "0.5"], "--threshold is for single-label models"),
    (["--categories", '{"hate": {"column": "nope"}}'], "no column 'nope'"),
])
def test_evaluate_refuses_what_does_not_fit_a_multi_label_model_in_one_line(tiny_multi_label_dir, tmp_path, capsys,
                                                                          arguments, message):
    _, data = _labelled_file(tmp_path)
    assert main(["evaluate", str(tiny_multi_label_dir), str(data), *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
