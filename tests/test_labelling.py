"""label_file: faithful round trips of every column and row, formats, encodings, atomic output."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from test_inference import classifier, tiny_classifier_dir  # noqa: F401 (fixtures)
from tiny_models import synthetic_rows, write_csv

from moderator_app.core.errors import DataError
from moderator_app.core.inference.labelling import (LabellingCancelled, LabellingError, check_output_path,
                                          default_output_path, label_file)

pytestmark = pytest.mark.precision

ADDED = ["predicted_label", "score", "probability_hate", "probability_not-hate"]
ODD_ROWS = [
    ("007", "line one\nline two, with a comma", "x"),
    ("2", "emoji 😀 and café, naïve", ""),
    ("3", "NA", "null"),
    ("4", "None", "N/A"),
    ("5", "", "empty text"),
    ("6", "scum vermin " * 3000, "very long"),
    ("7", '"quoted" and ; semicolon', "  spaces  "),
    ("8", "=cmd|' /C calc'!A0", "-5"),
]


def read_raw(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def only_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_odd_csv_keeps_every_cell_row_and_header(tmp_path, classifier):
    source = write_csv(tmp_path / "odd.csv", ODD_ROWS, header=("", "text", "note"))  # unnamed index column
    summary = label_file(source, tmp_path / "out.csv", classifier, chunk_rows=3)

    rows = read_raw(tmp_path / "out.csv")
    assert rows[0] == ["", "text", "note"] + ADDED
    assert [row[:3] for row in rows[1:]] == [list(row) for row in ODD_ROWS]
    expected = classifier.predict([text for _, text, _ in ODD_ROWS])
    assert [row[3] for row in rows[1:]] == [p.label for p in expected]
    assert rows[5][3:] == ["", "", "", ""]  # the empty text: empty label, no numbers
    assert float(rows[6][4]) == pytest.approx(expected[5].score, abs=1e-6)  # long text truncated, labelled
    assert summary.rows == len(ODD_ROWS) and summary.empty_texts == 1
    assert sum(summary.label_counts.values()) == len(ODD_ROWS) - 1
    assert summary.text_column == "text"


def test_row_order_is_kept_across_chunks(tmp_path, classifier):
    rows = [(str(index), text) for index, (text, _) in enumerate(synthetic_rows(50, seed=9))]
    source = write_csv(tmp_path / "in.csv", rows, header=("id", "comment"))
    label_file(source, tmp_path / "small.csv", classifier, chunk_rows=7, batch_size=3)
    label_file(source, tmp_path / "large.csv", classifier)
    small, large = read_raw(tmp_path / "small.csv"), read_raw(tmp_path / "large.csv")
    assert [row[0] for row in small[1:]] == [str(index) for index in range(50)]
    assert [row[:4] for row in small] == [row[:4] for row in large]


@pytest.mark.parametrize("encoding, with_bom", [("utf-8-sig", True), ("cp1252", False)])
def test_encodings_round_trip(tmp_path, classifier, encoding, with_bom):
    rows = [("café crème €5", "1"), ("naïve señor", "2"), ("plain", "3")]
    source = write_csv(tmp_path / "in.csv", rows, header=("text", "id"), encoding=encoding)
    label_file(source, tmp_path / "out.csv", classifier)
    raw = (tmp_path / "out.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == with_bom
    assert [row[:2] for row in read_raw(tmp_path / "out.csv", encoding)[1:]] == [list(row) for row in rows]


@pytest.mark.parametrize("suffix, delimiter", [(".tsv", "\t"), (".csv", ";")])
def test_delimiter_is_kept(tmp_path, classifier, suffix, delimiter):
    rows = [("you scum, vermin", "a;b"), ("lovely weather", "c\td")]
    source = write_csv(tmp_path / f"in{suffix}", rows, header=("comment", "other"), delimiter=delimiter)
    label_file(source, tmp_path / f"out{suffix}", classifier)
    written = read_raw(tmp_path / f"out{suffix}", delimiter=delimiter)
    assert written[0] == ["comment", "other"] + ADDED
    assert [row[:2] for row in written[1:]] == [list(row) for row in rows]


def test_parquet_keeps_types_and_nulls(tmp_path, classifier):
    frame = pd.DataFrame({"id": [1, 2, 3], "text": ["scum vermin", None, "we went to the market and bought apples"], "weight": [0.5, None, 2.0]})
    frame.to_parquet(tmp_path / "in.parquet")
    summary = label_file(tmp_path / "in.parquet", tmp_path / "out.parquet", classifier, chunk_rows=2)
    result = pd.read_parquet(tmp_path / "out.parquet")
    pd.testing.assert_frame_equal(result[frame.columns], frame)
    assert list(result.columns) == list(frame.columns) + ADDED
    assert result["predicted_label"].tolist() == ["hate", "", "not-hate"]
    assert pd.isna(result["score"][1]) and summary.empty_texts == 1


def test_json_lines_keep_each_record(tmp_path, classifier):
    records = [{"id": 1, "text": "scum vermin", "meta": {"a": [1, 2]}}, {"id": 2, "text": "", "n": None},
               {"text": "lovely garden", "id": 3}]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n")
    label_file(source, tmp_path / "out.jsonl", classifier)
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    for original, labelled in zip(records, written):
        assert {key: labelled[key] for key in original} == original
        assert list(labelled)[-4:] == ADDED
    assert written[1]["predicted_label"] == "" and written[1]["score"] is None


def test_failure_half_way_leaves_no_output(tmp_path, classifier, monkeypatch):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(40, seed=2))
    calls = []
    real_predict = classifier.predict_probabilities

    def failing_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real_predict(*args, **kwargs)

    monkeypatch.setattr(classifier, "predict_probabilities", failing_second_chunk)
    with pytest.raises(RuntimeError, match="disk on fire"):
        label_file(source, tmp_path / "out.csv", classifier, chunk_rows=10)
    assert only_files(tmp_path) == ["in.csv"]  # neither the output nor its temporary file


def test_cancel_leaves_no_output_and_keeps_an_old_one(tmp_path, classifier):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(40, seed=2))
    (tmp_path / "out.csv").write_text("precious")
    seen = []
    with pytest.raises(LabellingCancelled):
        label_file(source, tmp_path / "out.csv", classifier, overwrite=True, chunk_rows=10, batch_size=4,
                   on_progress=lambda done, total, rate: seen.append(done), should_cancel=lambda: len(seen) >= 3)
    assert only_files(tmp_path) == ["in.csv", "out.csv"]
    assert (tmp_path / "out.csv").read_text() == "precious"


def test_progress_reports_rows_total_and_rate(tmp_path, classifier):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(30, seed=2))
    updates = []
    label_file(source, tmp_path / "out.csv", classifier, chunk_rows=8,
               on_progress=lambda done, total, rate: updates.append((done, total, rate)))
    done = [update[0] for update in updates]
    assert done == sorted(done) and done[-1] == 30
    assert {update[1] for update in updates} == {30}
    assert all(update[2] > 0 for update in updates)


def test_never_overwrites_the_input(tmp_path, classifier):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(5))
    before = source.read_bytes()
    for same in (source, tmp_path / "sub" / ".." / "in.csv"):
        with pytest.raises(LabellingError, match="this is the input file"):
            label_file(source, same, classifier, overwrite=True)
    assert source.read_bytes() == before


def test_existing_output_needs_overwrite(tmp_path, classifier):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(5))
    target = tmp_path / "out.csv"
    target.write_text("keep me")
    with pytest.raises(LabellingError, match="already exists"):
        label_file(source, target, classifier)
    assert target.read_text() == "keep me"
    label_file(source, target, classifier, overwrite=True)
    assert read_raw(target)[0] == ["text", "label"] + ADDED


def test_output_path_checks(tmp_path):
    source = tmp_path / "comments.csv"
    source.write_text("text\nhello\n")
    assert default_output_path(source) == tmp_path / "comments.labelled.csv"
    assert check_output_path(source, None) == tmp_path / "comments.labelled.csv"
    with pytest.raises(LabellingError, match="format"):
        check_output_path(source, tmp_path / "out.parquet")
    with pytest.raises(LabellingError, match="does not exist"):
        check_output_path(source, tmp_path / "missing" / "out.csv")


def test_bad_rows_fail_with_line_numbers_unless_skipped(tmp_path, classifier):
    source = tmp_path / "in.csv"
    source.write_text("text,id\nfine,1\ntoo,many,fields\nalso fine,3\nagain,bad,row\n")
    with pytest.raises(LabellingError, match=r"2 rows cannot be read: line 3 .*line 5 .*'skip_bad_rows'"):
        label_file(source, tmp_path / "out.csv", classifier)
    assert only_files(tmp_path) == ["in.csv"]
    summary = label_file(source, tmp_path / "out.csv", classifier, skip_bad_rows=True)
    assert [row.line for row in summary.bad_rows] == [3, 5]
    assert [row[:2] for row in read_raw(tmp_path / "out.csv")[1:]] == [["fine", "1"], ["also fine", "3"]]
    assert "line 3" in summary.describe()


def test_unterminated_quote_is_a_readable_error(tmp_path, classifier):
    source = tmp_path / "in.csv"
    source.write_text('text,id\n"never closed,1\nnext,2\n')
    with pytest.raises(DataError, match="quote"):
        label_file(source, tmp_path / "out.csv", classifier)
    assert only_files(tmp_path) == ["in.csv"]


def test_excel_safe_neutralises_formulas_only_when_asked(tmp_path, classifier):
    rows = [("=HYPERLINK(\"http://x\")", "+1"), ("@SUM(A1)", "-2"), ("plain text", "ok")]
    source = write_csv(tmp_path / "in.csv", rows)
    label_file(source, tmp_path / "plain.csv", classifier)
    label_file(source, tmp_path / "safe.csv", classifier, excel_safe=True)
    assert [row[:2] for row in read_raw(tmp_path / "plain.csv")[1:]] == [list(row) for row in rows]
    assert [row[:2] for row in read_raw(tmp_path / "safe.csv")[1:]] == [
        ["'=HYPERLINK(\"http://x\")", "'+1"], ["'@SUM(A1)", "'-2"], ["plain text", "ok"]]


def test_text_column_choice(tmp_path, classifier):
    source = write_csv(tmp_path / "in.csv", [("a", "scum vermin")], header=("id", "body_text"))
    with pytest.raises(DataError, match="which column holds the text"):
        label_file(source, tmp_path / "out.csv", classifier)
    with pytest.raises(DataError, match="no column named 'missing'"):
        label_file(source, tmp_path / "out.csv", classifier, text_column="missing")
    summary = label_file(source, tmp_path / "out.csv", classifier, text_column="BODY_TEXT")
    assert summary.text_column == "body_text" and summary.label_counts["hate"] == 1


def test_already_labelled_file_is_refused(tmp_path, classifier):
    source = write_csv(tmp_path / "in.csv", [("hello", "hate")], header=("text", "predicted_label"))
    with pytest.raises(LabellingError, match="already has a column 'predicted_label'"):
        label_file(source, tmp_path / "out.csv", classifier)


def test_header_only_file_gives_header_only_output(tmp_path, classifier):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n")
    summary = label_file(source, tmp_path / "out.csv", classifier)
    assert read_raw(tmp_path / "out.csv") == [["id", "text"] + ADDED] and summary.rows == 0
