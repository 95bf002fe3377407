import json

import pytest

from moderator_app.core.config import TrainingConfig
from moderator_app.core.training.data import DataError, guess_columns, load_training_data, preview_file
from tiny_models import synthetic_rows, write_csv


def load(path, **settings):
    return load_training_data(TrainingConfig(train_file=str(path), output_dir="unused", **settings))


def balanced_rows(count=40):
    return [(f"text number {i}", "hate" if i % 2 else "ok") for i in range(count)]


def test_semicolon_delimiter_and_score_labels(tmp_path):
    rows = [(f"comment {i}", ["1.0", "0.0", "0.6666667", "0.1666667"][i % 4]) for i in range(40)]
    data = load(write_csv(tmp_path / "ethos.csv", rows, header=("comment", "isHate"), delimiter=";"))
    assert data.report.text_column == "comment" and data.report.label_column == "isHate"
    assert data.label_names == ["0", "1"]
    assert data.report.label_counts == {"0": 20, "1": 20}  # 0.667 ≥ 0.5 counts as 1, 0.167 as 0
    assert "score" in data.report.label_kind


def test_unnamed_index_column_and_integer_classes(tmp_path):
    path = tmp_path / "davidson.csv"
    path.write_text(",count,class,tweet\n" + "".join(f"{i},3,{i % 3},tweet {i}\n" for i in range(30)))
    data = load(path)
    assert (data.report.text_column, data.report.label_column) == ("tweet", "class")
    assert data.label_names == ["0", "1", "2"]
    assert set(data.train.column_names) == {"text", "label"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings(tmp_path, encoding):
    rows = [("café naïve déjà vu", "a"), ("€100 – “quoted”", "b")] * 10
    data = load(write_csv(tmp_path / "enc.csv", rows, encoding=encoding))
    texts = set(data.train["text"]) | set(data.validation["text"])
    assert texts == {"café naïve déjà vu", "€100 – “quoted”"}
    assert data.report.text_column == "text"  # a BOM must not end up in the first column's name


def test_literal_missing_value_words_stay_text(tmp_path):
    rows = [(word, label) for word in ("NA", "null", "None", "N/A", "nan") for label in ("a", "b")] * 2
    data = load(write_csv(tmp_path / "na.csv", rows))
    assert data.report.rows_dropped == 0
    assert set(data.train["text"]) | set(data.validation["text"]) == {"NA", "null", "None", "N/A", "nan"}


def test_empty_texts_and_missing_labels_are_dropped_and_counted(tmp_path):
    rows = balanced_rows(40) + [("", "hate"), ("   ", "ok"), ("no label here", ""), ("\t", "ok")]
    data = load(write_csv(tmp_path / "gaps.csv", rows))
    report = data.report
    assert report.rows_read == 44
    assert report.dropped == {"empty text": 3, "missing label": 1}
    assert report.dropped_examples["missing label"] == [43]
    assert report.train_rows + report.validation_rows == 40
    assert "empty text: 3" in report.summary()


def test_single_class_is_an_error(tmp_path):
    with pytest.raises(DataError, match="single class"):
        load(write_csv(tmp_path / "one.csv", [(f"t{i}", "hate") for i in range(10)]))


def test_missing_column_lists_the_columns(tmp_path):
    path = write_csv(tmp_path / "cols.csv", balanced_rows(), header=("body", "verdict"))
    with pytest.raises(DataError, match="'body', 'verdict'"):
        load(path)  # 'verdict' is no known label name
    with pytest.raises(DataError, match=r"no column named 'labels'.*'body', 'verdict'"):
        load(path, label_column="labels")
    assert load(path, label_column="verdict").report.label_column == "verdict"


def test_empty_and_header_only_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        load(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("text,label\n")
    with pytest.raises(DataError, match="no rows"):
        load(tmp_path / "header.csv")


def test_binary_file_is_an_error(tmp_path):
    (tmp_path / "data.csv").write_bytes(b"PK\x03\x04\x00\x00binary\x00stuff" * 20)
    with pytest.raises(DataError, match="binary"):
        load(tmp_path / "data.csv")


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load(tmp_path / "nope.csv")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(DataError, match="unsupported"):
        load(tmp_path / "data.xlsx")


def test_numeric_labels_that_are_neither_classes_nor_scores(tmp_path):
    rows = [(f"t{i}", str(i * 1.5)) for i in range(10)]
    with pytest.raises(DataError, match="neither integer classes nor 0–1 scores"):
        load(write_csv(tmp_path / "num.csv", rows))


def test_label_column_with_free_text_is_suspicious(tmp_path):
    rows = [(f"t{i}", f"label {i}") for i in range(150)]
    with pytest.raises(DataError, match="distinct values"):
        load(write_csv(tmp_path / "many.csv", rows))


def test_tsv_jsonl_and_parquet(tmp_path):
    import pandas as pd

    rows = balanced_rows()
    tsv = load(write_csv(tmp_path / "d.tsv", rows, delimiter="\t"))
    jsonl_path = tmp_path / "d.jsonl"
    jsonl_path.write_text("".join(json.dumps({"sentence": t, "label": int(l == "hate")}) + "\n" for t, l in rows))
    jsonl = load(jsonl_path)
    parquet_path = tmp_path / "d.parquet"
    pd.DataFrame(rows, columns=["text", "label"]).to_parquet(parquet_path)
    parquet = load(parquet_path)
    assert tsv.label_names == parquet.label_names == ["hate", "ok"]
    assert jsonl.label_names == ["0", "1"] and jsonl.report.text_column == "sentence"
    assert len(tsv.train) + len(tsv.validation) == len(parquet.train) + len(parquet.validation) == 40


def test_stratified_seeded_split(tmp_path):
    rows = [(f"t{i}", "hate" if i % 4 == 0 else "ok") for i in range(200)]
    path = write_csv(tmp_path / "s.csv", rows)
    first, second = load(path), load(path)
    assert len(first.validation) == 20
    assert first.validation["label"].count(first.label_names.index("hate")) == 5  # 25 % of 20
    assert first.validation["text"] == second.validation["text"]  # seeded
    assert load(path, seed=1).validation["text"] != first.validation["text"]


def test_validation_file_with_an_unseen_label(tmp_path):
    train = write_csv(tmp_path / "train.csv", balanced_rows())
    val = write_csv(tmp_path / "val.csv", [("x", "hate"), ("y", "spam")])
    with pytest.raises(DataError, match="'spam'.*never occur"):
        load(train, validation_file=str(val))
    good = write_csv(tmp_path / "good.csv", [("x", "hate"), ("y", "ok")])
    data = load(train, validation_file=str(good))
    assert len(data.validation) == 2 and len(data.train) == 40


def test_class_with_a_single_row_cannot_be_split(tmp_path):
    rows = balanced_rows() + [("lonely", "rare")]
    with pytest.raises(DataError, match="rare.*only once"):
        load(write_csv(tmp_path / "rare.csv", rows))


def test_columns_are_chosen_by_the_shared_rule(tmp_path):
    """`text` is preferred to `comment` (the rule labelling and the Review import use); a name shared by
    two columns is refused rather than the first taken silently."""
    path = write_csv(tmp_path / "amb.csv", [(t, t, l) for t, l in balanced_rows()], header=("text", "comment", "label"))
    assert load(path).report.text_column == "text"
    assert load(path, text_column="comment").report.text_column == "comment"
    assert guess_columns(["Tweet", "Class"]) == ("Tweet", "Class")
    twice = write_csv(tmp_path / "twice.csv", [(t, t, l) for t, l in balanced_rows()], header=("text", "text", "label"))
    with pytest.raises(DataError, match="2 columns are named 'text'"):
        load(twice)
    with pytest.raises(DataError, match="2 columns are named 'text'"):
        load(twice, text_column="text")


def test_quoted_newlines_commas_and_emoji_survive(tmp_path):
    tricky = ['line one\nline two', 'a, b; c | d', 'emoji 😀🔥 text', '"quoted" text', "x" * 5000]
    rows = [(text, label) for text in tricky for label in ("a", "b")] * 2
    data = load(write_csv(tmp_path / "tricky.csv", rows))
    assert set(data.train["text"]) | set(data.validation["text"]) == set(tricky)


def test_preview_reads_the_first_rows(synthetic_csv):
    columns, rows = preview_file(synthetic_csv, rows=5)
    assert columns == ["text", "label"]
    assert len(rows) == 5 and all(len(row) == 2 for row in rows)
    assert rows[0] == list(synthetic_rows(480, seed=1)[0])
