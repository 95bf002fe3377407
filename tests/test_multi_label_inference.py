"""Issue 27: what a multi-label model writes: `label` adds p_<category>, <category> (yes/no) and
predicted_labels; `classify` prints the flagged categories; a single threshold is refused."""

from __future__ import annotations

import csv
import json

import pytest

from moderator_app.cli import main
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
