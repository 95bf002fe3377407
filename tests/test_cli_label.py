"""`moderator-app label` and `moderator-app classify` end to end."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from test_inference import tiny_classifier_dir  # noqa: F401 (fixture)
from tiny_models import synthetic_rows, write_csv

from moderator_app.cli import main

# auto resolves to bf16 or fp32 by the CPU: `make test` runs this module both ways (--cpu-bf16)
pytestmark = pytest.mark.precision

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_label_end_to_end(tmp_path, tiny_classifier_dir, capsys):
    rows = synthetic_rows(40, seed=8) + [("", "not-hate")]
    source = write_csv(tmp_path / "comments.csv", rows)
    status = main(["label", str(source), "--model", str(tiny_classifier_dir), "--threshold", "0.5",
                   "--batch-size", "8", "--device", "cpu"])
    out = capsys.readouterr().out
    assert status == 0
    with open(tmp_path / "comments.labelled.csv", newline="", encoding="utf-8") as handle:
        written = list(csv.reader(handle))
    assert written[0][:3] == ["text", "label", "predicted_label"]
    assert [row[:2] for row in written[1:]] == [list(row) for row in rows]
    correct = sum(row[1] == row[2] for row in written[1:-1])
    assert correct >= 36  # the tiny model learned the synthetic rule
    assert "Labelled 41 rows" in out and "1 empty texts" in out


def test_label_refuses_to_overwrite_without_flag(tmp_path, tiny_classifier_dir, capsys):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))
    (tmp_path / "out.csv").write_text("old")
    status = main(["label", str(source), "--model", str(tiny_classifier_dir), "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "already exists" in err and "--overwrite" in err
    assert (tmp_path / "out.csv").read_text() == "old"


def test_label_errors_are_one_line_without_traceback(tmp_path):
    """A real process: exit status 2 and one line on stderr, as a user sees it."""
    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))
    result = subprocess.run([sys.executable, "-m", "moderator_app", "label", str(source), "--model",
                             str(tmp_path / "no-such-model"), "-o", str(source)],
                            capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "input file" in result.stderr


def test_label_reports_a_missing_model(tmp_path, capsys):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))
    status = main(["label", str(source), "--model", str(tmp_path / "no-such-model")])
    assert status == 2 and "no such model folder" in capsys.readouterr().err
    assert not (tmp_path / "in.labelled.csv").exists()


def test_classify_arguments_and_stdin(tiny_classifier_dir, capsys, monkeypatch):
    status = main(["classify", "scum vermin parasites", "the weather is lovely today", "--model",
                   str(tiny_classifier_dir)])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0 and len(lines) == 2
    label, score, text = lines[0].split("\t")
    # the number is labelled with what it is the probability of, even beside the other label
    assert label == "hate" and score.startswith("P(hate)=") and text == "scum vermin parasites"
    assert 0.5 < float(score.removeprefix("P(hate)=")) <= 1
    assert lines[1].startswith("not-hate\tP(hate)=0.")

    monkeypatch.setattr(sys, "stdin", io.StringIO("vermin scum\n\nwe went to the market\n"))
    assert main(["classify", "--model", str(tiny_classifier_dir), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and '"label": ""' in lines[1]


def test_commands_do_not_import_torch_at_import_time():
    code = ("import sys, moderator_app.commands.label, moderator_app.commands.classify; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT, timeout=60)


def test_spark_engine_without_pyspark_says_what_to_install(tmp_path, tiny_classifier_dir, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as where it is not installed: import pyspark fails
    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))
    status = main(["label", "--engine", "spark", str(source), "--model", str(tiny_classifier_dir),
                   "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert 'pip install "moderator-app[spark]"' in err and not (tmp_path / "out").exists()


def test_label_never_imports_pyspark(tmp_path, tiny_classifier_dir):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))
    script = ("import sys; from moderator_app.cli import main; "
              f"status = main(['label', {str(source)!r}, '--model', {str(tiny_classifier_dir)!r}]); "
              "assert status == 0 and 'pyspark' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=PROJECT_ROOT, capture_output=True, timeout=300)


def test_spark_only_options_are_refused_by_the_local_engine(tmp_path, tiny_classifier_dir, capsys):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))
    for arguments in ([str(source), "--master", "local[2]"], [str(source), "--output-format", "parquet"],
                      [str(source), str(source)]):  # several INPUTs
        status = main(["label", *arguments, "--model", str(tiny_classifier_dir)])
        err = capsys.readouterr().err
        assert status == 2 and err.count("\n") == 1 and "--engine spark" in err
    assert not (tmp_path / "in.labelled.csv").exists()


def test_label_records_the_model_and_threshold_beside_the_output(tmp_path, tiny_classifier_dir, capsys):
    from moderator_app.core.inference.model_info import model_identity
    from moderator_app.core.inference.provenance import GIVEN, MOST_PROBABLE, read_provenance

    rows = synthetic_rows(12, seed=4) + [("", "not-hate")]
    source = write_csv(tmp_path / "comments.csv", rows)
    output = tmp_path / "comments.labelled.csv"
    assert main(["label", str(source), "--model", str(tiny_classifier_dir), "--threshold", "0.35",
                 "--device", "cpu"]) == 0
    record = read_provenance(output)
    assert record["threshold"] == 0.35 and record["threshold_source"] == GIVEN
    assert record["model"] == str(tiny_classifier_dir) and record["labels"] == ["hate", "not-hate"]
    assert record["model_identity"] == model_identity(str(tiny_classifier_dir), ["hate", "not-hate"])
    assert record["input"] == str(source.resolve()) and record["rows"] == 13 and record["empty_texts"] == 1
    assert record["app"].startswith("moderator-app ") and record["labelled_at"] and record["precision"]
    with open(output, newline="", encoding="utf-8") as handle:  # the columns are unchanged
        assert next(csv.reader(handle)) == ["text", "label", "predicted_label", "score", "probability_hate",
                                            "probability_not-hate"]
    # without --threshold or an operating point: the most probable label, said so
    assert main(["label", str(source), "--model", str(tiny_classifier_dir), "--device", "cpu", "--overwrite"]) == 0
    record = read_provenance(output)
    assert record["threshold"] is None and record["threshold_source"] == MOST_PROBABLE


def test_label_never_writes_the_record_over_a_file_it_did_not_write(tmp_path, tiny_classifier_dir, capsys):
    source = write_csv(tmp_path / "in.csv", synthetic_rows(4))
    record = tmp_path / "in.labelled.csv.provenance.json"
    record.write_text("mine")
    status = main(["label", str(source), "--model", str(tiny_classifier_dir), "--device", "cpu"])
    assert status == 2 and "already exists" in capsys.readouterr().err
    assert record.read_text() == "mine" and not (tmp_path / "in.labelled.csv").exists()


def test_a_failed_label_run_leaves_neither_output_nor_record(tmp_path, tiny_classifier_dir, capsys):
    source = tmp_path / "broken.csv"
    source.write_text('text\n"fine row\nnext\n', encoding="utf-8")  # a quote left open
    status = main(["label", str(source), "--model", str(tiny_classifier_dir), "--device", "cpu"])
    assert status == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broken.csv"]
