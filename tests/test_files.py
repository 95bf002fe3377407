"""core/files: one format rule and one text-column rule for training, labelling and the Review import;
the bad inputs that used to be read silently wrong."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from test_inference import classifier, tiny_classifier_dir  # noqa: F401 (fixtures)
from tiny_models import synthetic_rows, write_csv

from moderator_app.cli import main
from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import DataError
from moderator_app.core.files.previews import read_texts
from moderator_app.core.inference.labelling import label_file, plan_labelling
from moderator_app.core.training.data import load_training_data


def train_data(path, **settings):
    return load_training_data(TrainingConfig(train_file=str(path), output_dir="unused", **settings))


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


# ------------------------------------------------------------------------ one rule everywhere
@pytest.mark.parametrize("header", [("comment", "text", "label"), ("Tweet", "Message", "label"),
                                    ("id", "content", "label")])
def test_cli_gui_import_and_training_pick_the_same_text_column(tmp_path, tiny_classifier_dir, header):
    """Training needed a unique match and labelling went by priority: (comment, text) gave `comment`
    to neither in Train and `text` in Label. One rule now."""
    from moderator_app.gui.review.workers import preview_for_import

    rows = [(f"{t} a", f"{t} b", label) for t, label in synthetic_rows(20)]
    path = write_csv(tmp_path / "in.csv", rows, header=header)
    gui_choice = preview_for_import(str(path)).text_column
    cli_choice = plan_labelling(path, None).text_column
    training_choice = train_data(path).report.text_column
    assert gui_choice == cli_choice == training_choice
    assert main(["label", str(path), "--model", str(tiny_classifier_dir), "--device", "cpu"]) == 0
    labelled = read_rows(tmp_path / "in.labelled.csv")
    position = list(header).index(cli_choice)
    assert [row[position] for row in labelled[1:]] == [row[position] for row in rows]


def test_txt_is_one_item_per_line_everywhere(tmp_path, classifier):
    """`.txt` was read as CSV by `label` (first line lost to a header, lines with commas dropped as bad
    rows) and as lines by the Review import. The "lines" rule everywhere now."""
    from moderator_app.gui.review.workers import preview_for_import, text_file_as_csv

    items = ["you people are vermin, all of you", "lovely weather, isn't it", "a \"quoted\" word", "plain"]
    path = tmp_path / "pasted.txt"
    path.write_text(items[0] + "\n\n" + "\n".join(items[1:]) + "\n", encoding="utf-8")

    assert read_texts(str(path), None) == items
    preview = preview_for_import(str(path))
    assert preview.rows == [[item] for item in items] and preview.total_rows == 4 and preview.text_column == "text"
    summary = label_file(path, None, classifier)
    labelled = read_rows(tmp_path / "pasted.labelled.csv")
    assert [row[0] for row in labelled] == ["text", *items] and summary.rows == 4
    assert "1 blank lines skipped" in summary.describe()
    converted = read_rows(text_file_as_csv(path, tmp_path / "gui.csv", lambda: False))
    assert converted == [["text"], *[[item] for item in items]]


def test_one_column_csv_says_its_first_line_was_the_header(tmp_path, classifier):
    path = tmp_path / "texts.csv"
    path.write_text("first text of the file\nsecond text\n")
    summary = label_file(path, None, classifier)
    assert summary.rows == 1 and "first line ('first text of the file') was read as the column's name" in summary.describe()


# ------------------------------------------------------------------------ CSV quotes
def test_a_quote_left_open_is_reported_with_its_line_not_merged(tmp_path, classifier):
    lines = ["text,label"] + [f"row {i} text,{'hate' if i % 2 else 'ok'}" for i in range(20)]
    lines[5] = '"row 4 opens a quote,hate'
    lines[6] = 'row 5 "closes" it,ok'
    path = tmp_path / "open.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"lines 6 to 7: a quoted field does not end"):
        label_file(path, tmp_path / "out.csv", classifier)
    assert not (tmp_path / "out.csv").exists()
    with pytest.raises(DataError, match=r"lines 6 to 7"):
        train_data(path)


def test_quoted_line_breaks_and_doubled_quotes_are_fine(tmp_path, classifier):
    rows = [('line one\nline two, with a comma', "x"), ('say ""hi"" twice', "y"), ('"quoted" start', "z")]
    path = write_csv(tmp_path / "ok.csv", rows)
    label_file(path, tmp_path / "out.csv", classifier)
    assert [row[:2] for row in read_rows(tmp_path / "out.csv")[1:]] == [list(row) for row in rows]


# ------------------------------------------------------------------------ JSON Lines, Parquet
def test_json_lines_columns_come_from_every_record(tmp_path, classifier):
    path = tmp_path / "in.jsonl"
    records = [{"id": 0}, {"id": 1, "text": "scum vermin"}, {"id": 2, "text": "lovely day", "extra": True}]
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    summary = label_file(path, tmp_path / "out.jsonl", classifier)
    assert summary.text_column == "text" and summary.empty_texts == 1
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert written[1]["predicted_label"] == "hate" and written[0]["predicted_label"] == ""


@pytest.mark.parametrize("value, described", [({"nested": "x"}, "an object"), (["a", "b"], "a list"),
                                              (42, "a number")])
def test_a_text_column_of_objects_lists_or_numbers_is_refused(tmp_path, classifier, value, described):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"text": "fine"}) + "\n" + json.dumps({"text": value}) + "\n")
    with pytest.raises(DataError, match=f"column 'text' holds {described}.*not text"):
        label_file(path, tmp_path / "out.jsonl", classifier)
    assert not (tmp_path / "out.jsonl").exists()
    labelled = tmp_path / "train.jsonl"
    labelled.write_text("".join(json.dumps({"text": value if i == 3 else f"t{i}", "label": i % 2}) + "\n"
                                for i in range(10)))
    with pytest.raises(DataError, match="not text"):
        train_data(labelled)


def test_a_parquet_text_column_of_numbers_is_refused(tmp_path, classifier):
    path = tmp_path / "in.parquet"
    pd.DataFrame({"text": [1, 2, 3], "label": ["a", "b", "a"]}).to_parquet(path)
    with pytest.raises(DataError, match=r"column 'text' holds a number \(1\).*type int64"):
        label_file(path, tmp_path / "out.parquet", classifier)
    with pytest.raises(DataError, match="not text"):
        train_data(path)


# ------------------------------------------------------------------------ encodings and empties
def test_utf16_csv_is_read_not_called_binary(tmp_path, classifier):
    rows = [(f"café {text}", label) for text, label in synthetic_rows(20)]
    path = write_csv(tmp_path / "excel.csv", rows, encoding="utf-16")
    assert train_data(path).report.rows_read == 20
    summary = label_file(path, tmp_path / "out.csv", classifier)
    assert summary.rows == 20
    with open(tmp_path / "out.csv", encoding="utf-16", newline="") as handle:
        assert [row[:2] for row in csv.reader(handle)][1:] == [list(row) for row in rows]


def test_an_all_empty_text_column_is_named_not_the_label_column(tmp_path):
    path = write_csv(tmp_path / "empty.csv", [("", "hate"), ("  ", "ok")] * 5)
    with pytest.raises(DataError, match="text column 'text' is empty in every row") as raised:
        train_data(path)
    assert raised.value.setting == "text_column"


# ------------------------------------------------------------------------ labels
def test_label_spellings_warn_and_missing_words_count_as_missing(tmp_path):
    rows = ([(f"t{i}", "hate") for i in range(40)] + [(f"u{i}", "ok") for i in range(40)]
            + [("a", "HATE"), ("b", "Hate"), ("c", "haet"), ("d", "NaN"), ("e", "null"), ("f", "None"), ("g", "N/A")])
    path = write_csv(tmp_path / "labels.csv", rows * 2)
    data = train_data(path)
    assert data.label_names == ["HATE", "Hate", "haet", "hate", "ok"]  # 5 classes, not 9
    assert data.report.dropped["missing label"] == 8
    text = data.report.summary()
    assert "'HATE', 'Hate', 'hate' differ only in case" in text
    assert "'haet' (2 rows) looks like a misspelling of 'hate'" in text
    assert "'NaN' ×2" in text and "treated as missing" in text
    kept = train_data(path, treat_na_labels_as_missing=False)
    assert len(kept.label_names) == 9 and "trained as classes of their own" in kept.report.summary()


def test_well_formed_labels_give_no_warnings(tmp_path):
    rows = [(f"t{i}", label) for i in range(30) for label in ("offensive", "not-offensive")]
    assert train_data(write_csv(tmp_path / "ok.csv", rows)).report.warnings == []


# ------------------------------------------------------------------------ labelling outcomes
def test_summary_says_when_every_row_got_the_same_label(tmp_path, classifier):
    path = write_csv(tmp_path / "in.csv", [("scum vermin", "x"), ("vermin filth scum", "y")])
    summary = label_file(path, tmp_path / "out.csv", classifier)
    assert summary.single_label == "hate" and "Every labelled row got the same label, 'hate'" in summary.describe()
    mixed = label_file(write_csv(tmp_path / "mixed.csv", synthetic_rows(10)), tmp_path / "m.csv", classifier)
    assert mixed.single_label is None and "same label" not in mixed.describe()


def test_not_a_number_from_the_model_is_an_error(tmp_path, classifier, monkeypatch):
    import numpy as np

    from moderator_app.core.inference.labelling import ModelOutputError

    real = classifier.predict_probabilities

    def broken(texts, *args, **kwargs):
        result = real(texts, *args, **kwargs)
        result[1] = np.nan  # what a model whose training diverged returns
        return result

    monkeypatch.setattr(classifier, "predict_probabilities", broken)
    path = write_csv(tmp_path / "in.csv", synthetic_rows(5))
    with pytest.raises(ModelOutputError, match=r"not a number \(NaN\) for 1 non-empty texts.*row 2"):
        label_file(path, tmp_path / "out.csv", classifier)
    assert not (tmp_path / "out.csv").exists()


def test_excel_safe_also_neutralises_the_header(tmp_path, classifier):
    path = write_csv(tmp_path / "in.csv", [("hello", "1")], header=("text", "=HYPERLINK(\"x\")"))
    label_file(path, tmp_path / "safe.csv", classifier, excel_safe=True)
    assert read_rows(tmp_path / "safe.csv")[0][:2] == ["text", "'=HYPERLINK(\"x\")"]


def test_report_says_which_rows_the_label_counts_cover(tmp_path):
    """"rows read: 1,000" beside label counts adding up to 800 (the validation file's rows) looked like lost rows."""
    train = write_csv(tmp_path / "train.csv", [(f"t{i}", "hate" if i % 2 else "ok") for i in range(40)])
    validation = write_csv(tmp_path / "val.csv", [(f"v{i}", "hate" if i % 2 else "ok") for i in range(10)])
    text = train_data(train, validation_file=str(validation)).report.summary()
    assert "rows read: 50 = 40 for training + 10 for validation + 0 dropped (40 training file, 10 validation file)" in text
    assert "labels (training and validation rows): hate 25 (50%), ok 25 (50%)" in text


def test_a_categorical_parquet_text_column_is_text(tmp_path, classifier):
    path = tmp_path / "in.parquet"
    pd.DataFrame({"text": pd.Categorical(["scum vermin", "lovely day", "scum vermin"])}).to_parquet(path)
    assert label_file(path, tmp_path / "out.parquet", classifier).rows == 3


def test_a_txt_labelled_in_the_window_and_on_the_command_line_gives_the_same_file(tmp_path, tiny_classifier_dir):
    from moderator_app.gui.review.workers import BatchRequest, label_batch, load_model

    path = tmp_path / "pasted.txt"
    path.write_bytes("vermin, scum and filth\r\ncafé with friends\r\n\r\n\"quoted\" line\r\n".encode("cp1252"))
    assert main(["label", str(path), "--model", str(tiny_classifier_dir), "--device", "cpu",
                 "-o", str(tmp_path / "cli.csv")]) == 0
    handle = load_model(str(tiny_classifier_dir), device="cpu")
    label_batch(handle, BatchRequest(str(path), str(tmp_path / "gui.csv"), None, None),
                lambda *progress: None, lambda: False)
    assert (tmp_path / "gui.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()
    assert read_rows(tmp_path / "cli.csv")[1][0] == "vermin, scum and filth"


def test_a_misspelt_label_with_few_rows_is_warned_naming_file_column_and_both_spellings(tmp_path):
    rows = [(f"t{i}", "hate") for i in range(8)] + [("x", "haet")] + [(f"u{i}", "not-hate") for i in range(8)]
    path = write_csv(tmp_path / "labels.csv", rows * 2)
    warnings = train_data(path).report.warnings
    assert warnings == [f"{path}, column 'label': label 'haet' (2 rows) looks like a misspelling of 'hate' (16 rows); "
                        "it is trained as a class of its own. Correct the file if it is a typo."]


@pytest.mark.parametrize("labels", [("hate", "not-hate"), ("offensive", "not-offensive"), ("0", "1", "2"),
                                    ("male", "female"), ("hate", "hateful", "neither"),
                                    ("racism", "sexism", "neither")])
def test_real_label_sets_are_no_misspellings(tmp_path, labels):
    rows = [(f"t{i}", label) for index, label in enumerate(labels) for i in range(30 if index == 0 else 3)]
    assert train_data(write_csv(tmp_path / "ok.csv", rows)).report.warnings == []


def test_outputs_that_belong_together_are_claimed_together_or_not_at_all(tmp_path):
    from moderator_app.core.files.atomic import OutputExistsError, atomic_outputs

    data, record = tmp_path / "out.csv", tmp_path / "out.csv.provenance.json"
    with atomic_outputs([data, record]) as (first, second):
        first.write_text("rows")
        second.write_text("{}")
    assert data.read_text() == "rows" and record.read_text() == "{}"
    data.unlink()
    record.unlink()
    with pytest.raises(OutputExistsError):
        with atomic_outputs([data, record]) as (first, second):
            first.write_text("rows")
            second.write_text("{}")
            record.write_text("someone else's")  # appears while the run writes
    assert not data.exists()  # this run's own output is taken back
    assert record.read_text() == "someone else's"  # the other file is left as it is
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv.provenance.json"]  # no temporaries
