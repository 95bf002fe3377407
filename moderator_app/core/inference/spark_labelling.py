"""Labelling on Apache Spark: the same classifier and the same added columns as `label_file`, for
corpora larger than one machine.

`label_dataframe()` labels a Spark DataFrame's text column with `pyspark.ml.functions.predict_batch_udf`:
each Python worker loads the model once (Classifier.load: safetensors unless allowed, never remote code,
the precision rule of core.precision on the executor's own hardware) and labels batches of texts
through `label_texts`, the path `label_file` uses. `label_with_spark()` is the whole job behind
`moderator-app label --engine spark`: it reads CSV, JSON Lines or Parquet inputs, checks everything a
driver can check before the job starts (model, threshold, text column, added names, output), refuses or
leaves out unreadable rows (`skip_bad_rows`), writes a folder of part files under a hidden temporary
name beside the output and renames it only when the job succeeded.

pyspark is an optional dependency (`moderator-app[spark]`) and is imported only inside functions.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from moderator_app.core.errors import DataError, ModelNotUsableError, SettingsError, UserError
from moderator_app.core.files.atomic import process_is_alive
from moderator_app.core.files.columns import resolve_text_column
from moderator_app.core.files.formats import FORMATS, detect_format
from moderator_app.core.inference.classifier import PREDICT_GROUP_SIZE, Classifier
from moderator_app.core.inference.labelling import (LABEL_COLUMN, YES, LabellingError, LabelSummary, OutputPathError,
                                                    added_column_names, check_category_thresholds, check_threshold,
                                                    label_texts, text_column_names)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SPARK_INSTALL = 'pip install "moderator-app[spark]"'
# Each input row's id: increasing in input order (the INPUTs in the order given, then the rows of each),
# unique, not consecutive. Part files come back in any order; sorting by it restores the input's.
ROW_ID_COLUMN = "_row_id"
UNREADABLE_COLUMN = "_moderator_app_unreadable"  # Spark's corrupt-record column, under a name no file uses
# Written into the output folder last: what the folder holds and how it was made. It marks a folder as
# written by us, which is the only kind `overwrite` replaces (Spark readers skip names starting with _).
MANIFEST_NAME = "_moderator_app_labelled.json"
OUTPUT_FORMATS = ("parquet", "csv", "json")
SPARK_KINDS = {"csv", "json", "parquet"}
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst", ".lz4", ".snappy", ".deflate", ".xz")
SPARK_ENCODINGS = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "cp1252": "windows-1252", "utf-16": "UTF-16"}
# Texts per predict_batch_udf call: as label_file's chunks, a group the classifier sorts by length.
SPARK_BATCH_ROWS = PREDICT_GROUP_SIZE
# The error types an executor raises that carry a message for the user (found in Spark's job failure).
_USER_ERROR_LINE = re.compile(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception)): (.+)$", re.MULTILINE)
_EXECUTOR_USER_ERRORS = ("ModelOutputError", "ModelLoadError", "ModelNotAvailableError", "SettingsError",
                         "DataFileError", "LabellingError")


class SparkError(SettingsError):
    """Spark cannot be used as asked (not installed, no Java, a job that failed)."""
    title = "Spark cannot run"


def import_pyspark():
    # pyspark 4.0-4.1 warn at import that pandas 3 is newer than they were tested with; it reads and writes ours.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)
    try:
        import pyspark
        from pyspark.ml.functions import predict_batch_udf  # noqa: F401 (3.4+; also needs pandas and pyarrow)
    except ImportError as error:
        raise SparkError(f"the Spark engine needs pyspark ({error}); install it with {SPARK_INSTALL}.",
                         "Or choose the local {engine}.", setting="engine") from None
    return pyspark


# ------------------------------------------------------------------------------------- session
def spark_session(master: str | None = None) -> tuple["SparkSession", bool]:
    """The active session (a notebook's, spark-submit's, a test's), else a new one on `master` (None: what
    spark-submit or spark-defaults.conf say, else local[*]). Returns (session, created_here)."""
    import_pyspark()
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = SparkSession.builder.appName("moderator-app label")
    if master:
        builder = builder.master(master)
    resolved_master = master or SparkConf().get("spark.master", "local[*]")
    if resolved_master.startswith("local") and not os.environ.get("PYSPARK_PYTHON"):
        # Local workers run this interpreter (its packages, this project), not whatever `python3` is on PATH.
        os.environ["PYSPARK_PYTHON"] = sys.executable  # read by SparkContext (its conf key is not)
    try:
        session = builder.getOrCreate()
    except Exception as error:  # pyspark raises PySparkRuntimeError when the JVM cannot start
        text = str(error)
        if "JAVA_GATEWAY_EXITED" in text or "Java gateway" in text or "JAVA_HOME" in text:
            raise SparkError("Spark could not start its Java process: Spark 4 needs Java 17 or 21 (java on PATH "
                             "or JAVA_HOME).", "Install Java, or choose the local {engine}.",
                             setting="engine") from None
        raise SparkError(f"Spark could not start on {resolved_master}: {first_line(text)}",
                         "Check {master}.", setting="master") from None
    session.sparkContext.setLogLevel("ERROR")
    return session, True


def first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else "unknown error"


# ---------------------------------------------------------------------------------------- inputs
def column(name: str):
    """A column by its exact name (dots, spaces and backticks in it are not syntax)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def data_files(spark: "SparkSession", path: str, limit: int = 1000) -> list[str]:
    """Up to `limit` data files of `path` (a file, a folder of part files, nested partitions or a glob, on any
    file system Spark reads), as URIs; files Spark skips (names starting with _ or .) left out."""
    jvm, conf = spark.sparkContext._jvm, spark.sparkContext._jsc.hadoopConfiguration()
    pattern = jvm.org.apache.hadoop.fs.Path(path)
    file_system = pattern.getFileSystem(conf)
    found: list[str] = []
    for status in file_system.globStatus(pattern) or []:
        if not status.isDirectory():
            found.append(status.getPath().toString())
            continue
        files = file_system.listFiles(status.getPath(), True)
        while files.hasNext() and len(found) < limit:
            child = files.next().getPath()
            if not child.getName().startswith(("_", ".")):
                found.append(child.toString())
    return [name for name in found if not Path(name).name.startswith(("_", "."))]


def file_kind(name: str) -> str | None:
    """csv, json, parquet … by the name, a compression suffix Spark reads (.gz, .bz2 …) skipped."""
    path = Path(name)
    suffix = path.suffix.lower()
    if suffix in COMPRESSION_SUFFIXES:
        suffix = Path(path.stem).suffix.lower()
    return FORMATS.get(suffix)


def input_kind(spark: "SparkSession", path: str) -> tuple[str, str]:
    """(csv, json or parquet; one of its files) for `path`, from the names of its data files."""
    files = data_files(spark, path)
    if not files:
        raise DataError(f"{path}: file not found (or a folder without data files).")
    kinds = {file_kind(name) for name in files}
    if len(kinds) != 1 or None in kinds:
        found = ", ".join(sorted(Path(name).suffix or "(no extension)" for name in set(files)))
        raise DataError(f"{path}: not CSV, JSON Lines or Parquet files of one format (found {found[:200]}).",
                        "Name the files .csv, .tsv, .jsonl or .parquet.")
    kind = kinds.pop()
    if kind not in SPARK_KINDS:
        raise DataError(f"{path}: the Spark engine reads CSV/TSV, JSON Lines and Parquet, not one text per line.",
                        "Label it with the local {engine}, or save it as a CSV with a text column.",
                        setting="engine")
    return kind, files[0]


def csv_options(path: str, example: str) -> dict[str, str]:
    """Spark's CSV options that read `path` by the app's rules: RFC 4180 quotes (a doubled quote is a
    quote), quoted line breaks kept inside their cell, the delimiter and encoding that detect_format finds
    (in the local file `example`, one of path's files; elsewhere a .tsv is tab-separated, else commas and
    UTF-8), every file's header line checked against the names read from the first."""
    local = example[len("file:"):] if example.startswith("file:") else example
    name = Path(example).name.lower()
    for suffix in COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    delimiter, encoding = ("\t" if name.endswith((".tsv", ".tab")) else ","), "UTF-8"
    if "://" not in local and Path(local).is_file() and Path(local).suffix.lower() not in COMPRESSION_SUFFIXES:
        fmt = detect_format(local)
        delimiter, encoding = fmt.delimiter, SPARK_ENCODINGS.get(fmt.encoding, fmt.encoding)
    return dict(header="true", sep=delimiter, encoding=encoding, quote='"', escape='"', multiLine="true",
                mode="PERMISSIVE", columnNameOfCorruptRecord=UNREADABLE_COLUMN, enforceSchema="false")


def read_one_input(spark: "SparkSession", path: str, kind: str, example: str) -> "DataFrame":
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if kind == "parquet":
        return spark.read.parquet(path)
    if kind == "json":
        return spark.read.json(path, mode="PERMISSIVE", columnNameOfCorruptRecord=UNREADABLE_COLUMN)
    options = csv_options(path, example)
    columns = spark.read.options(**options).csv(path).columns  # the header line (Spark reads only that)
    columns = [name for name in columns if name != UNREADABLE_COLUMN]
    schema = T.StructType([T.StructField(name, T.StringType()) for name in columns]
                          + [T.StructField(UNREADABLE_COLUMN, T.StringType())])
    frame = spark.read.options(**options).schema(schema).csv(path)
    # Every cell of a CSV is text and an empty cell is "" (as the app's reader has it); Spark reads an
    # unquoted empty cell as null.
    return frame.select(*[F.coalesce(column(name), F.lit("")).alias(name) for name in columns],
                        F.col(UNREADABLE_COLUMN))


def read_inputs(spark: "SparkSession", paths: list[str]) -> tuple["DataFrame", str]:
    """The inputs as one DataFrame, in the order given, with ROW_ID_COLUMN; and their kind."""
    from pyspark.sql import functions as F

    found = {path: input_kind(spark, path) for path in paths}
    kinds = {path: kind for path, (kind, _) in found.items()}
    if len(set(kinds.values())) > 1:
        raise DataError(f"{', '.join(paths)}: the inputs mix formats ({', '.join(sorted(set(kinds.values())))}).",
                        "Label one format at a time.")
    frame = None
    for path in paths:
        try:
            part = read_one_input(spark, path, *found[path])
        except Exception as error:
            raise explain_spark_failure(error, f"{path}: cannot be read") from None
        frame = part if frame is None else frame.unionByName(part, allowMissingColumns=True)
    return frame.withColumn(ROW_ID_COLUMN, F.monotonically_increasing_id()), kinds[paths[0]]


def data_columns(frame: "DataFrame") -> list[str]:
    return [name for name in frame.columns if name not in (UNREADABLE_COLUMN, ROW_ID_COLUMN)]


def check_text_column(frame: "DataFrame", requested: str | None, source: str) -> str:
    """The text column by the app's rule (the one asked for, else the guess), refused unless it holds text."""
    from pyspark.sql import types as T

    columns = data_columns(frame)
    name = columns[resolve_text_column(columns, requested, source)]
    data_type = frame.schema[name].dataType
    if not isinstance(data_type, (T.StringType, T.NullType)):
        raise LabellingError(f"{source}: the column {name!r} holds {data_type.simpleString()} values, not text.",
                             "Choose the column that holds the texts with {text_column}.", setting="text_column")
    return name


def unreadable_rows(frame: "DataFrame", skip_bad_rows: bool, source: str, examples: int = 3) -> tuple["DataFrame", str | None]:
    """The frame without the rows Spark could not parse, and a note saying how many were left out; refused
    unless `skip_bad_rows`. One pass over the inputs (CSV and JSON only: Parquet has no such rows)."""
    from pyspark.sql import functions as F

    if UNREADABLE_COLUMN not in frame.columns:
        return frame, None
    readable = frame.where(F.col(UNREADABLE_COLUMN).isNull()).drop(UNREADABLE_COLUMN)
    # Spark refuses a query of the corrupt-record column alone; reading one data column beside it is allowed.
    bad = frame.where(F.col(UNREADABLE_COLUMN).isNotNull()).select(column(data_columns(frame)[0]),
                                                                   F.col(UNREADABLE_COLUMN))
    try:
        # max(length(…)) keeps the data column in the query (count() alone would read only the corrupt one).
        count = bad.agg(F.count(F.lit(1)), F.max(F.length(column(data_columns(frame)[0])))).first()[0]
        shown = [row[UNREADABLE_COLUMN] for row in bad.limit(examples).collect()] if count else []
    except Exception as error:
        raise explain_spark_failure(error, f"{source}: cannot be read") from None
    if not count:
        return readable, None
    listing = "; ".join(repr(text[:60] + ("…" if len(text) > 60 else "")) for text in shown)
    description = f"{count:,} rows cannot be read (a wrong number of fields, or invalid JSON), e.g. {listing}"
    if not skip_bad_rows:
        raise LabellingError(f"{source}: {description}.", "Fix them, or leave them out with {skip_bad_rows}.",
                             setting="skip_bad_rows")
    return readable, f"{description}: left out."


# ------------------------------------------------------------------------------------ labelling
def check_model_folder(model: str) -> Path:
    """The Spark engine takes a model folder: every executor loads it (a hub id would be downloaded by each)."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        raise ModelNotUsableError(f"{model}: no such model folder; the Spark engine needs the model as a folder, "
                                  "which every executor loads.",
                                  "Give a folder written by training (or a downloaded model) as {model_name_or_path}.",
                                  setting="model_name_or_path")
    return folder


@dataclass(frozen=True)
class ModelSpec:
    """What every executor needs to load the model as the driver checked it."""
    path: str  # a folder every executor reads at this path, or its name among SparkFiles when `shipped`
    labels: tuple[str, ...]
    device: str = "auto"
    precision: str = "auto"
    allow_pickle: bool = False
    shipped: bool = False
    # A multi-label model (issue 27): its columns are label's per-category ones, decided at the saved
    # thresholds with these (category, threshold) pairs in place of those they name. `label_with_spark` gives
    # every category's, as the driver resolved them (saved, then --threshold CATEGORY=T), so that every
    # executor decides as the driver planned and recorded.
    multi_label: bool = False
    category_thresholds: tuple[tuple[str, float], ...] = ()
    # core.text.normalise before the model reads a text, and its evasion spellings; None: as the model was
    # trained. `label_with_spark` gives the driver's (--normalise / --no-normalise … resolved), so that
    # executors read texts as `label` would.
    normalise: bool | None = None
    normalise_evasion: bool | None = None

    @property
    def added_columns(self) -> list[str]:
        return added_column_names(list(self.labels), self.multi_label)

    @property
    def text_columns(self) -> list[str]:
        return text_column_names(list(self.labels), self.multi_label)


def make_predictor(model: ModelSpec, threshold: float | None, batch_size: int | None):
    """Runs on an executor, once per Python worker (predict_batch_udf caches it): load the model, then label
    each batch of texts by label_texts."""
    import torch
    from pyspark import SparkFiles, TaskContext
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    context = TaskContext.get()
    if context is not None:  # one task per core (spark.task.cpus): its torch threads, not all the machine's
        torch.set_num_threads(max(1, int(context.cpus())))
    path = SparkFiles.get(model.path) if model.shipped else model.path
    classifier = Classifier.load(path, device=model.device, allow_pickle=model.allow_pickle,
                                 precision=model.precision, normalise=model.normalise,
                                 normalise_evasion=model.normalise_evasion)
    if tuple(classifier.labels) != model.labels:
        raise LabellingError(f"{path}: the model on this executor has labels {', '.join(classifier.labels)}, "
                             f"not {', '.join(model.labels)} as on the driver.", "Ship the same model to every executor.")
    if classifier.multi_label != model.multi_label:
        raise LabellingError(f"{path}: the model on this executor is {'' if classifier.multi_label else 'not '}"
                             f"multi-label, unlike the ModelSpec's (multi_label={model.multi_label}).",
                             "Ship the same model to every executor.")
    thresholds = dict(model.category_thresholds) or None
    text_columns = set(model.text_columns)

    def predict(texts: np.ndarray) -> dict[str, np.ndarray]:
        # Spark hands a null text over as NaN: empty, as label_file treats a missing cell.
        values = [text if isinstance(text, str) else None for text in texts]
        added = label_texts(classifier, values, threshold, batch_size, category_thresholds=thresholds)
        return {name: np.asarray(value, dtype=object if name in text_columns else np.float64)
                for name, value in added.items()}

    return predict


def label_dataframe(frame: "DataFrame", text_column: str, model: ModelSpec, threshold: float | None = None,
                    batch_size: int | None = None) -> "DataFrame":
    """`frame` with label_file's added columns after its own: predicted_label ("" for an empty text), score
    and probability_<label> (null for an empty text); for a multi-label model (`model.multi_label`) p_<category>
    (null for an empty text), <category> (yes/no, "" for an empty text) and predicted_labels. Lazy, as Spark
    is: nothing runs until it is written."""
    from functools import partial

    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    names, text_columns = model.added_columns, set(model.text_columns)
    result_type = T.StructType([T.StructField(name, T.StringType() if name in text_columns else T.DoubleType())
                                for name in names])
    predictor = predict_batch_udf(partial(make_predictor, model, threshold, batch_size), return_type=result_type,
                                  batch_size=SPARK_BATCH_ROWS)
    result = "_moderator_app_result"
    labelled = frame.withColumn(result, predictor(column(text_column)))

    def added(name: str):
        value = F.col(result)[name]
        return (value if name in text_columns else F.when(~F.isnan(value), value)).alias(name)  # NaN -> null

    return labelled.select(*[column(name) for name in frame.columns], *[added(name) for name in names])


# --------------------------------------------------------------------------------------- output
class OutputFolder:
    """The output folder on any file system Spark writes (local, HDFS, S3 …) through Hadoop's FileSystem:
    written under a hidden temporary name beside it, renamed to its final name when complete."""

    def __init__(self, spark: "SparkSession", target: str):
        jvm = spark.sparkContext._jvm
        self._path = jvm.org.apache.hadoop.fs.Path
        path = self._path(target)
        self.fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        self.target = self.fs.makeQualified(path)
        self.name = self.target.getName()
        self.parent = self.target.getParent()
        self.temporary = None

    def qualified(self, path: str) -> str:
        return self.fs.makeQualified(self._path(path)).toString()

    def check(self, inputs: list[str], overwrite: bool) -> None:
        target = self.target.toString()
        for path in inputs:
            source = self.qualified(path)
            if source == target or source.startswith(target.rstrip("/") + "/") or target.startswith(source + "/"):
                raise OutputPathError(f"{target}: is or holds the input {path}; labelling never writes over its input.",
                                      "Choose another output folder.")
        if self.target.toUri().getScheme() == "file" and not self.fs.exists(self.parent):
            raise OutputPathError(f"{target}: the folder {self.parent.toString()} does not exist.",
                                  "Create it or choose another output.")
        if not self.fs.exists(self.target):
            return
        if not overwrite:
            raise OutputPathError(f"{target}: already exists.",
                                  "Choose another output folder, or allow replacing it with {overwrite}.",
                                  setting="overwrite")
        if not self.fs.getFileStatus(self.target).isDirectory() or not self.fs.exists(self._path(self.target, MANIFEST_NAME)):
            raise OutputPathError(f"{target}: exists and was not written by labelling (it holds no {MANIFEST_NAME}); "
                                  "it is left as it is.", "Choose another output folder.")

    def temporary_pattern(self) -> re.Pattern:
        return re.compile(rf"^\.{re.escape(self.name)}\.(.+)-(\d+)-[0-9a-f]{{8}}\.part$")

    def remove_stale_temporaries(self) -> list[str]:
        """Temporary folders of earlier runs on this host for this output whose driver process is gone."""
        removed, pattern, host = [], self.temporary_pattern(), socket.gethostname()
        if not self.fs.exists(self.parent):
            return removed
        for status in self.fs.listStatus(self.parent):
            match = pattern.match(status.getPath().getName())
            if match and match.group(1) == host and not process_is_alive(int(match.group(2))):
                self.fs.delete(status.getPath(), True)
                removed.append(status.getPath().toString())
        return removed

    def new_temporary(self) -> str:
        name = f".{self.name}.{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}.part"
        self.temporary = self._path(self.parent, name)
        return self.temporary.toString()

    def write_manifest(self, manifest: dict) -> None:
        stream = self.fs.create(self._path(self.temporary, MANIFEST_NAME), False)
        try:
            stream.write(bytearray(json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")))
        finally:
            stream.close()

    def claim(self, overwrite: bool) -> None:
        """Give the finished temporary folder the final name; an old output (checked as ours) is moved aside
        first and deleted once the new one has its name."""
        old = None
        if self.fs.exists(self.target):
            if not overwrite:
                raise OutputPathError(f"{self.target.toString()}: was created by someone else while this job ran; "
                                      "it was left as it is and this job's output was discarded.",
                                      "Choose another output, or allow replacing it with {overwrite}.",
                                      setting="overwrite")
            old = self._path(self.parent, f".{self.name}.{socket.gethostname()}-{os.getpid()}-"
                                          f"{secrets.token_hex(4)}.part")
            if not self.fs.rename(self.target, old):
                raise OutputPathError(f"{self.target.toString()}: cannot be replaced.", "Choose another output.")
        if not self.fs.rename(self.temporary, self.target):
            raise OutputPathError(f"{self.target.toString()}: the finished output could not be renamed to this name "
                                  f"(it is left at {self.temporary.toString()}).", "Choose another output.")
        self.temporary = None
        if old is not None:
            self.fs.delete(old, True)

    def discard(self) -> None:
        if self.temporary is not None and self.fs.exists(self.temporary):
            self.fs.delete(self.temporary, True)
        self.temporary = None


def write_frame(frame: "DataFrame", path: str, output_format: str) -> None:
    writer = frame.write.mode("errorifexists")
    if output_format == "csv":  # RFC 4180 quoting, as label_file writes: a quote inside a cell is doubled
        writer = writer.options(header="true", quote='"', escape='"')
    writer.format(output_format).save(path)


def read_back(spark: "SparkSession", path: str, output_format: str) -> "DataFrame":
    if output_format == "csv":
        return spark.read.options(header="true", quote='"', escape='"', multiLine="true").csv(path)
    return spark.read.format(output_format).load(path)


def labelled_counts(frame: "DataFrame", labels: list[str], multi_label: bool) -> tuple[int, int, dict[str, int]]:
    """(rows, empty texts, counts) of a written output as read back, counted as label_file's LabelSummary
    counts them: rows per predicted label, or for a multi-label model the rows flagged for each category."""
    from pyspark.sql import functions as F

    if not multi_label:
        counts = {row[0]: row[1] for row in frame.groupBy(LABEL_COLUMN).count().collect()}
        return (int(sum(counts.values())), int(sum(count for label, count in counts.items() if not label)),
                {label: int(counts.get(label, 0)) for label in labels})
    first = column(labels[0])  # "" (null once read back from CSV) for an empty text, in every category's column
    totals = frame.agg(F.count(F.lit(1)), F.count(F.when(first.isNull() | (first == ""), 1)),
                       *[F.count(F.when(column(label) == YES, 1)) for label in labels]).first()
    return int(totals[0]), int(totals[1]), {label: int(value) for label, value in zip(labels, totals[2:])}


def explain_spark_failure(error: BaseException, what: str) -> Exception:
    """A failed Spark job as one sentence: the user error an executor raised when there is one (a model
    that gives NaN, a model an executor cannot load …), else Spark's own first line."""
    if isinstance(error, UserError):
        return error
    text = str(error)
    raised = _USER_ERROR_LINE.findall(text)
    for kind, message in reversed(raised):
        if kind in _EXECUTOR_USER_ERRORS:
            return LabellingError(message.strip())
    detail = f"{raised[-1][0]}: {raised[-1][1]}" if raised else first_line(text)
    return SparkError(f"{what}: the Spark job failed: {detail.strip()[:300]}",
                      "See Spark's log (the driver's output) for the executors' errors.")


# ------------------------------------------------------------------------------------ the job
@dataclass
class SparkLabellingPlan:
    """What a Spark labelling job reads and writes, checked on the driver before any model is loaded."""
    source: str  # the inputs, for messages
    inputs: list[str]
    folder: OutputFolder
    frame: "DataFrame"  # the readable rows, with ROW_ID_COLUMN
    text_column: str
    output_format: str
    note: str | None  # unreadable rows left out


def plan_spark_labelling(spark: "SparkSession", inputs: list[str], output: str, *, text_column: str | None = None,
                         output_format: str = "parquet", overwrite: bool = False,
                         skip_bad_rows: bool = False) -> SparkLabellingPlan:
    """Check the output folder, the inputs' format, their text column (the app's guess and refusals) and their
    unreadable rows (one pass over CSV and JSON inputs): everything that needs no model."""
    if output_format not in OUTPUT_FORMATS:
        raise SettingsError(f"the output format must be one of {', '.join(OUTPUT_FORMATS)}, got {output_format!r}.",
                            "Change {output_format}.", setting="output_format")
    source = ", ".join(inputs)
    folder = OutputFolder(spark, output)
    folder.check(inputs, overwrite)
    frame, _ = read_inputs(spark, inputs)
    text = check_text_column(frame, text_column, source)
    if ROW_ID_COLUMN in data_columns(frame):
        raise LabellingError(f"{source}: already has a column {ROW_ID_COLUMN!r}, which labelling adds "
                             "(was it labelled already?).", "Rename that column first.")
    frame, note = unreadable_rows(frame, skip_bad_rows, source)
    return SparkLabellingPlan(source, list(inputs), folder, frame, text, output_format, note)


def label_with_spark(spark: "SparkSession", plan: SparkLabellingPlan, classifier, *, model_path: str,
                     threshold: float | None = None, batch_size: int | None = None, device: str = "auto",
                     precision: str = "auto", allow_pickle: bool = False, ship_model: bool = False,
                     overwrite: bool = False, category_thresholds: dict[str, float] | None = None) -> LabelSummary:
    """Label what `plan` reads into its output folder. `classifier`: the model as loaded on the driver (its
    labels and refusals checked before the job); executors load `model_path` themselves. A multi-label model
    flags each category at its saved threshold, or at `category_thresholds`' for those it names, as label_file."""
    started = time.perf_counter()
    check_threshold(classifier, threshold)
    check_category_thresholds(classifier, category_thresholds)
    multi_label = classifier.multi_label
    thresholds_used = classifier.category_thresholds_with(category_thresholds) if multi_label else {}
    source, folder, text, output_format, note = (plan.source, plan.folder, plan.text_column, plan.output_format,
                                                 plan.note)
    added_names = added_column_names(classifier.labels, multi_label)
    for name in added_names:
        if name in data_columns(plan.frame):
            raise LabellingError(f"{source}: already has a column {name!r}, which labelling adds "
                                 "(was it labelled already?).", "Rename that column first.")
    frame = plan.frame
    parallelism = spark.sparkContext.defaultParallelism
    if frame.rdd.getNumPartitions() < parallelism:
        # A CSV with quoted line breaks is read by one task per file (multiLine); spread its rows over every
        # core (row ids are assigned before, so the order stays recoverable).
        frame = frame.repartition(parallelism)

    model_folder = Path(model_path).expanduser()
    spec_path = str(model_folder.resolve())
    if ship_model:
        spark.sparkContext.addFile(spec_path, recursive=True)
        spec_path = model_folder.resolve().name
    model = ModelSpec(spec_path, tuple(classifier.labels), device, precision, allow_pickle, ship_model,
                      multi_label, tuple(thresholds_used.items()), classifier.normalise, classifier.normalise_evasion)
    labelled = label_dataframe(frame, text, model, threshold, batch_size)
    labelled = labelled.select(*[column(name) for name in labelled.columns if name != ROW_ID_COLUMN],
                               ROW_ID_COLUMN)  # the input's columns, the added ones, then the row id

    folder.remove_stale_temporaries()
    temporary = folder.new_temporary()
    try:
        try:
            write_frame(labelled, temporary, output_format)
            rows, empty_texts, counts = labelled_counts(read_back(spark, temporary, output_format),
                                                        list(classifier.labels), multi_label)
        except Exception as error:
            raise explain_spark_failure(error, source) from None
        summary = LabelSummary(source, folder.target.toString(), text, list(classifier.labels), rows=rows,
                               empty_texts=empty_texts, label_counts=counts, multi_label=multi_label,
                               notes=[note] if note else [])
        folder.write_manifest({
            "written_by": "moderator-app label --engine spark", "inputs": plan.inputs, "format": output_format,
            "text_column": text, "model": str(model_folder.resolve()), "threshold": threshold,
            **({"category_thresholds": thresholds_used} if multi_label else {}),
            "labels": list(classifier.labels), "rows": summary.rows, "label_counts": summary.label_counts,
            "empty_texts": summary.empty_texts, "unreadable_rows_left_out": note,
            "row_id_column": ROW_ID_COLUMN, "columns_added": added_names})
        folder.claim(overwrite)
    except BaseException:  # failed, cancelled, Ctrl-C or SIGTERM: nothing under the final name, no temporary left
        try:
            spark.sparkContext.cancelAllJobs()
            folder.discard()
        except Exception:  # the JVM may be gone already; a later run removes the temporary
            pass
        raise
    summary.seconds = time.perf_counter() - started
    return summary
