"""`moderator-app label --engine spark`: real Spark in local mode, the same labels as `label`.

Each Spark start costs 10-20 s, so the tests share one session and are few; they skip (with the reason)
where pyspark or Java is missing. .ci/run installs both."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

# pyspark 4 warns at import that pandas 3 is newer than it was tested with (the app does the same in
# spark_labelling.import_pyspark).
warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)
pytest.importorskip("pyspark", reason='pyspark is not installed (pip install "moderator-app[spark]")')
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java 17 or 21 (no java on PATH, no JAVA_HOME)", allow_module_level=True)

from test_inference import tiny_classifier_dir  # noqa: E402,F401 (fixture)
from tiny_models import synthetic_rows  # noqa: E402

from moderator_app.cli import main  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support:FutureWarning")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Cells that a CSV reader can get wrong: a quoted line break, doubled quotes, the delimiter, words pandas
# or Spark might take for missing values, spaces at the ends, an empty text.
AWKWARD_TEXTS = ["two\nlines of vermin", 'she said "hello" to the parasites', "a, b, and c", "NA", "null",
                 "  spaced out  ", "", "=1+2"]


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[2]").appName("moderator-app tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def write_rows(path: Path, count: int) -> Path:
    rows = synthetic_rows(count - len(AWKWARD_TEXTS), seed=26)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label"])
        for index, (text, label) in enumerate(rows[:count // 2] + [(t, "not-hate") for t in AWKWARD_TEXTS]
                                              + rows[count // 2:]):
            writer.writerow([f"{index:05d}", text, label])
    return path


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_folder(path: Path) -> list[dict]:
    import pyarrow.dataset as ds

    return sorted(ds.dataset(path, format="parquet").to_table().to_pylist(), key=lambda row: row["_row_id"])


def label_args(model: Path, *extra: str) -> list[str]:
    return ["--model", str(model), "--device", "cpu", "--precision", "fp32", *extra]


def test_spark_labels_every_row_as_label_does(tmp_path, spark, tiny_classifier_dir, capsys):
    source = write_rows(tmp_path / "comments.csv", 2000)
    # fp32: bf16 scores depend on how texts are batched, which differs between the two engines.
    assert main(["label", str(source), *label_args(tiny_classifier_dir), "-o", str(tmp_path / "local.csv")]) == 0
    status = main(["label", "--engine", "spark", str(source), *label_args(tiny_classifier_dir),
                   "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "Labelled 2,000 rows" in out and "1 empty texts" in out
    local, labelled = read_csv(tmp_path / "local.csv"), read_folder(tmp_path / "out")
    inputs = read_csv(source)
    assert len(labelled) == len(inputs) == 2000
    assert len({row["_row_id"] for row in labelled}) == 2000
    for original, spark_row, local_row in zip(inputs, labelled, local):
        assert {name: spark_row[name] for name in original} == original  # every cell as it was, in input order
        assert spark_row["predicted_label"] == local_row["predicted_label"]
        for name in ("score", "probability_hate", "probability_not-hate"):
            if local_row[name] == "":  # the empty text: no numbers in either output
                assert spark_row[name] is None
            else:
                assert abs(spark_row[name] - float(local_row[name])) < 1e-5, (name, original["text"])
    assert (tmp_path / "out" / "_moderator_app_labelled.json").is_file()


def test_spark_refuses_a_missing_text_column_in_one_line(tmp_path, spark, tiny_classifier_dir, capsys):
    source = write_rows(tmp_path / "in.csv", 20)
    status = main(["label", "--engine", "spark", str(source), *label_args(tiny_classifier_dir),
                   "--text-column", "comment_body", "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "no column named 'comment_body'" in err and "--text-column" in err
    assert not (tmp_path / "out").exists()


def test_spark_refuses_an_existing_output_folder(tmp_path, spark, tiny_classifier_dir, capsys):
    source = write_rows(tmp_path / "in.csv", 20)
    existing = tmp_path / "out"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    for extra in ([], ["--overwrite"]):  # --overwrite replaces only a folder that labelling wrote
        status = main(["label", "--engine", "spark", str(source), *label_args(tiny_classifier_dir),
                       "--output", str(existing), *extra])
        err = capsys.readouterr().err
        assert status == 2 and err.count("\n") == 1
        assert ("already exists" in err and "--overwrite" in err) if not extra else "not written by labelling" in err
        assert [path.name for path in existing.iterdir()] == ["notes.txt"]


def test_killed_job_leaves_no_output_under_the_final_name(tmp_path, spark, tiny_classifier_dir, capsys):
    source = write_rows(tmp_path / "in.csv", 20000)
    target = tmp_path / "out"
    # Batches of one text keep the job running long enough to be killed while it writes.
    command = [sys.executable, "-m", "moderator_app", "label", "--engine", "spark", "--master", "local[2]",
               str(source), *label_args(tiny_classifier_dir, "--batch-size", "1"), "--output", str(target)]
    job = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    try:
        while not any((path / "_temporary").exists() for path in tmp_path.glob(".out.*.part")):
            assert job.poll() is None, "the job ended before it could be killed"
            time.sleep(0.1)
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # the driver, its JVM and the Python workers at once
        job.wait()
    assert not target.exists()
    assert list(tmp_path.glob(".out.*.part"))  # the killed job's temporary folder, left behind
    status = main(["label", "--engine", "spark", str(write_rows(tmp_path / "small.csv", 20)),
                   *label_args(tiny_classifier_dir), "--output", str(target)])
    assert status == 0, capsys.readouterr().err
    assert len(read_folder(target)) == 20
    assert not list(tmp_path.glob(".out.*.part"))  # the next run for this output removed it


def test_spark_reads_json_lines_inputs_in_order_and_unreadable_rows_follow_skip_bad_rows(
        tmp_path, spark, tiny_classifier_dir, capsys):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text('{"text": "they are vermin", "n": 1}\n{"text": "lovely weather", "n": 2}\n{"text": "cut off\n',
                     encoding="utf-8")
    second.write_text('{"text": "filth and scum", "n": 3}\n{"text": null, "n": 4}\n', encoding="utf-8")
    arguments = ["label", "--engine", "spark", str(first), str(second), *label_args(tiny_classifier_dir),
                 "--output", str(tmp_path / "out")]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "1 rows cannot be read" in err and "--skip-bad-rows" in err
    assert not (tmp_path / "out").exists()
    assert main([*arguments, "--skip-bad-rows"]) == 0
    out = capsys.readouterr().out
    assert "Labelled 4 rows" in out and "1 rows cannot be read" in out and "left out" in out
    rows = read_folder(tmp_path / "out")
    assert [row["n"] for row in rows] == [1, 2, 3, 4]  # the INPUTs in the order given, then their rows
    assert rows[3]["predicted_label"] == "" and rows[3]["score"] is None  # a missing text is an empty one


def test_spark_refuses_a_column_that_is_not_text(tmp_path, spark, tiny_classifier_dir, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": [1, 2], "note": ["a", "b"]}), tmp_path / "numbers.parquet")
    status = main(["label", "--engine", "spark", str(tmp_path / "numbers.parquet"), *label_args(tiny_classifier_dir),
                   "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "'text' holds bigint values, not text" in err


def test_spark_executors_read_texts_with_the_normalisation_asked_for(tmp_path, spark, tiny_multi_label_dir, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Zero-width characters inside the category words: --no-normalise gives the model other tokens than the
    # default. Parquet in and out, so that the numbers are compared unrounded.
    texts = ["you are an id\u200biot and a mor\u200bon", "those n\u200bazis and b\u200bigots again",
             "st\u200bupid cl\u200bown", "the weather is nice"]
    pq.write_table(pa.table({"text": texts}), tmp_path / "in.parquet")
    for name, extra in (("default", []), ("raw", ["--no-normalise"])):
        assert main(["label", str(tmp_path / "in.parquet"), *label_args(tiny_multi_label_dir, *extra), "-o",
                     str(tmp_path / f"{name}.parquet")]) == 0
    status = main(["label", "--engine", "spark", str(tmp_path / "in.parquet"),
                   *label_args(tiny_multi_label_dir, "--no-normalise"), "--output", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().err
    default, raw = (pq.read_table(tmp_path / f"{name}.parquet").to_pylist() for name in ("default", "raw"))
    labelled = read_folder(tmp_path / "out")
    probabilities = ("p_hate", "p_offensive")
    assert max(abs(a[name] - b[name]) for a, b in zip(default, raw) for name in probabilities) > 1e-4  # it matters
    for spark_row, local_row in zip(labelled, raw):
        for name in probabilities:
            assert abs(spark_row[name] - local_row[name]) < 1e-6, (name, local_row["text"])
