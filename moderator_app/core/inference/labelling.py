"""Labelling a whole data file with a classifier: the orchestration.

Streamed chunk by chunk (memory stays constant however large the file), read by the shared
readers of `core/files`, written in the input's format by its writers, through an atomic output
(a hidden temporary file claimed under the final name only when complete), with the record of what
labelled it beside it (core.inference.provenance: OUTPUT.provenance.json, claimed with it). Qt-free:
the CLI's `label` command and the GUI share it.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from moderator_app.core.errors import DataError, OutputNotWritableError
from moderator_app.core.files.atomic import atomic_outputs
from moderator_app.core.files.columns import TEXT_COLUMN_NAMES, guess_column, resolve_text_column
from moderator_app.core.files.formats import FORMATS, FileFormat, detect_format
from moderator_app.core.files.readers import (CHUNK_ROWS, BadRow, LinesSource, describe_bad_rows,  # noqa: F401
                                              open_source)
from moderator_app.core.files.writers import Cancelled, CsvSink, JsonLinesSink, ParquetSink
from moderator_app.core.inference.classifier import Classifier, is_empty_text
from moderator_app.core.inference.model_info import model_identity as identify_model
from moderator_app.core.inference.provenance import labelling_record, provenance_path, write_record
from moderator_app.core.inference.provenance import threshold_source as provenance_threshold_source

LABEL_COLUMN = "predicted_label"
SCORE_COLUMN = "score"
PROBABILITY_PREFIX = "probability_"
# A multi-label model's columns: per category `p_<category>` (its calibrated probability) and `<category>`
# (yes/no at its threshold), then the categories flagged, joined with ';' ("" for none).
CATEGORY_PROBABILITY_PREFIX = "p_"
CATEGORIES_COLUMN = "predicted_labels"
YES, NO = "yes", "no"
# The format a labelled file is written in, by the input's kind: a .txt becomes a CSV with a text column.
OUTPUT_KINDS = {"csv": "csv", "lines": "csv", "json": "json", "parquet": "parquet"}
OUTPUT_SUFFIX = {"lines": ".csv"}

ProgressCallback = Callable[[int, "int | None", float], None]
LabellingCancelled = Cancelled  # should_cancel() asked to stop; nothing was written


class LabellingError(DataError, ValueError):
    """The file cannot be labelled as asked; the message names the file (and row or column) and
    says what to do."""


class OutputPathError(LabellingError, OutputNotWritableError):
    """The output path cannot be used (the input itself, an existing file, a missing folder …)."""
    title = OutputNotWritableError.title


@dataclass
class LabelSummary:
    input_path: str
    output_path: str
    text_column: str
    labels: list[str]
    rows: int = 0  # rows written, empty texts included
    empty_texts: int = 0  # rows left with an empty label because their text is empty
    label_counts: dict[str, int] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)  # unreadable rows left out (skip_bad_rows)
    blank_lines: int = 0  # a .txt input's lines holding no text, which are not items
    notes: list[str] = field(default_factory=list)  # what the user should know about how the file was read
    seconds: float = 0.0
    multi_label: bool = False  # label_counts then count the rows flagged for each category

    def count(self, labels: list[str]) -> None:
        self.rows += len(labels)
        for label in labels:
            if label:
                self.label_counts[label] += 1
            else:
                self.empty_texts += 1

    def count_categories(self, added: dict[str, Any]) -> None:
        """A multi-label chunk: rows, empty texts, and per category the rows it was flagged for."""
        first = added[self.labels[0]]
        self.rows += len(first)
        self.empty_texts += sum(1 for value in first if value == "")
        for label in self.labels:
            self.label_counts[label] += sum(1 for value in added[label] if value == YES)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def single_label(self) -> str | None:
        """The label every labelled row got, when there were several rows and they all got one."""
        if self.multi_label:  # the counts are of rows flagged per category, not of one label per row
            return None
        used = [label for label, count in self.label_counts.items() if count]
        return used[0] if len(used) == 1 and self.label_counts[used[0]] > 1 else None

    def describe(self) -> str:
        counts = ", ".join(f"{label} {self.label_counts.get(label, 0):,}" for label in self.labels)
        if self.multi_label:
            counts = "rows flagged per category: " + counts
        text = (f"Labelled {self.rows:,} rows of {self.input_path} into {self.output_path} in {self.seconds:.1f} s "
                f"({self.rows_per_second:,.0f} rows/s): {counts}.")
        if self.single_label is not None:
            text += (f" Every labelled row got the same label, {self.single_label!r}: check that the model "
                     "suits this data (a model that predicts one class is not a classifier).")
        if self.empty_texts:
            text += f" {self.empty_texts:,} empty texts left unlabelled."
        if self.blank_lines:
            text += f" {self.blank_lines:,} blank lines skipped (they hold no item)."
        if self.bad_rows:
            text += f" {len(self.bad_rows):,} unreadable rows left out: {describe_bad_rows(self.bad_rows)}."
        return " ".join([text, *self.notes])


def default_output_path(input_path: str | Path) -> Path:
    """`comments.csv` -> `comments.labelled.csv`, beside the input (a .txt is labelled into a .csv)."""
    path = Path(input_path)
    suffix = OUTPUT_SUFFIX.get(FORMATS.get(path.suffix.lower(), ""), path.suffix)
    return path.with_name(f"{path.stem}.labelled{suffix}")


def check_output_path(input_path: str | Path, output_path: str | Path | None, overwrite: bool = False) -> Path:
    """The output path to use, after checking that it is safe: never the input itself, the same
    format as the input, in an existing folder, and not an existing file unless `overwrite`."""
    source = Path(input_path)
    target = Path(output_path) if output_path else default_output_path(source)
    if target.resolve() == source.resolve() or (target.exists() and source.exists() and target.samefile(source)):
        raise OutputPathError(f"{target}: this is the input file; labelling never overwrites its input.",
                              "Choose another output file.")
    input_kind = FORMATS.get(source.suffix.lower())
    output_kind = FORMATS.get(target.suffix.lower())
    if input_kind and output_kind != OUTPUT_KINDS[input_kind]:
        suffix = default_output_path(source).suffix
        raise OutputPathError(f"{target}: the output is written in the input's format "
                              f"({OUTPUT_KINDS[input_kind].upper()}); give it a {suffix} name.")
    if target.is_dir():
        raise OutputPathError(f"{target}: is a folder; give the output a file name.")
    if not target.parent.is_dir():
        raise OutputPathError(f"{target}: the folder {target.parent} does not exist.",
                              "Create it or choose another output.")
    if target.exists() and not overwrite:
        raise OutputPathError(f"{target}: already exists.",
                              "Choose another output file, or allow replacing it with {overwrite}.",
                              setting="overwrite")
    sidecar = provenance_path(target)
    if sidecar.exists() and not overwrite:
        raise OutputPathError(f"{sidecar}: already exists (the record of what labelled {target.name} goes there).",
                              "Choose another output file, or allow replacing it with {overwrite}.",
                              setting="overwrite")
    return target


@dataclass
class LabellingPlan:
    """What labelling will read and write, checked before any model is loaded."""
    target: Path
    fmt: FileFormat
    source: Any
    text_position: int
    total_rows: int | None  # counted while checking the whole file (for CSV: a quote left open)

    @property
    def text_column(self) -> str:
        return self.source.columns[self.text_position]


def plan_labelling(input_path: str | Path, output_path: str | Path | None, *, text_column: str | None = None,
                   overwrite: bool = False, excel_safe: bool = False, chunk_rows: int = CHUNK_ROWS) -> LabellingPlan:
    """Check the output path, the input's format and its text column: everything that needs no model,
    so that a command can refuse a bad file before the model's slow load."""
    target = check_output_path(input_path, output_path, overwrite)
    fmt = detect_format(input_path)
    if excel_safe and OUTPUT_KINDS[fmt.kind] != "csv":
        raise LabellingError(f"{fmt.path}: the Excel-safe option applies to CSV/TSV output, which spreadsheets open.",
                             "Turn off {excel_safe}.", setting="excel_safe")
    source = open_source(fmt, chunk_rows)
    if not source.columns:
        raise LabellingError(f"{fmt.path}: holds no records to label.")
    text_position = resolve_text_column(source.columns, text_column, fmt.path)
    return LabellingPlan(target, fmt, source, text_position, source.count_rows())


def label_file(input_path: str | Path, output_path: str | Path | None, classifier: "Classifier", *,
               text_column: str | None = None, threshold: float | None = None, batch_size: int | None = None,
               overwrite: bool = False, skip_bad_rows: bool = False, excel_safe: bool = False,
               on_progress: ProgressCallback | None = None, should_cancel: Callable[[], bool] | None = None,
               chunk_rows: int = CHUNK_ROWS, plan: LabellingPlan | None = None, threshold_source: str | None = None,
               model_identity: str | None = None, input_name: str | Path | None = None,
               category_thresholds: dict[str, float] | None = None) -> LabelSummary:
    """Label every row of a CSV/TSV, TXT, JSON Lines or Parquet file and write it, in the same format
    (a TXT as CSV) and row order, with all its columns plus `predicted_label`, `score` and
    `probability_<label>`.

    on_progress(rows_done, total_rows or None, rows_per_second) is called as batches finish;
    should_cancel() is polled as often, and True stops the run (LabellingCancelled) with nothing
    written. `plan`: the result of plan_labelling() for these same arguments, when the caller checked
    the file already. Raises a UserError (DataError, OutputNotWritableError …) for anything wrong with
    the files.

    Beside the output, OUTPUT.provenance.json records the model, its identity (`model_identity`, else
    computed), the threshold and `threshold_source` (default: calibrated when it is the model's own,
    else --threshold), the input (`input_name`, else `input_path`) and the row counts; both files are
    claimed together, or neither is left. A multi-label model flags each category at its saved
    threshold, or at `category_thresholds`' for the categories it names (the Review tab's, `--threshold
    CATEGORY=VALUE`); the record holds the thresholds used."""
    progress = Progress(on_progress, should_cancel)
    if plan is None:
        plan = plan_labelling(input_path, output_path, text_column=text_column, overwrite=overwrite,
                              excel_safe=excel_safe, chunk_rows=chunk_rows)
    check_threshold(classifier, threshold)
    check_category_thresholds(classifier, category_thresholds)
    source, fmt = plan.source, plan.fmt
    added_names = added_column_names(classifier.labels, classifier.multi_label)
    for name in added_names:
        if name in source.columns:
            raise LabellingError(f"{fmt.path}: already has a column {name!r}, which labelling adds "
                                 "(was the file labelled already?).", "Rename that column first.")
    summary = LabelSummary(str(fmt.path), str(plan.target), plan.text_column, list(classifier.labels),
                           label_counts={label: 0 for label in classifier.labels}, multi_label=classifier.multi_label)
    if fmt.kind == "csv" and len(source.columns) == 1 and guess_column(source.columns, TEXT_COLUMN_NAMES) is None:
        summary.notes.append(f"The first line ({plan.text_column[:60]!r}) was read as the column's name, not as a "
                             "text: a CSV starts with a header line. A file of one text per line without a header "
                             "should be named .txt.")
    progress.total_rows = plan.total_rows

    with atomic_outputs([plan.target, provenance_path(plan.target)], overwrite) as (temporary, record_temporary):
        sink = open_sink(temporary, plan, added_names, excel_safe,
                         text_column_names(classifier.labels, classifier.multi_label))
        try:
            chunks = source.chunks()
            for chunk in chunks:
                refuse_bad_rows(source, chunks, skip_bad_rows)
                added = label_texts(classifier, source.texts(chunk, plan.text_position), threshold, batch_size,
                                    on_batch=progress.advance, rows_before=summary.rows,
                                    category_thresholds=category_thresholds)
                sink.write(chunk, added)
                release_free_memory()
                if classifier.multi_label:
                    summary.count_categories(added)
                else:
                    summary.count(added[LABEL_COLUMN])
                progress.reached(summary.rows)
            refuse_bad_rows(source, chunks, skip_bad_rows)  # unreadable rows after the last readable one
        finally:
            sink.close()
        summary.bad_rows = list(source.bad_rows)
        summary.blank_lines = getattr(source, "blank_lines", 0)
        identity = model_identity or identify_model(classifier.name_or_path, list(classifier.labels))
        source_word = provenance_threshold_source(threshold, classifier.default_threshold, threshold_source)
        write_record(record_temporary, labelling_record(summary, classifier, threshold, source_word, identity,
                                                        input_name or input_path, category_thresholds))
    summary.seconds = progress.elapsed()
    return summary


def added_column_names(labels: list[str], multi_label: bool = False) -> list[str]:
    """The columns labelling adds to every row, in order (a multi-label model's: `p_<category>` and
    `<category>` for each category, then `predicted_labels`)."""
    if multi_label:
        return [name for label in labels for name in (CATEGORY_PROBABILITY_PREFIX + label, label)] + [CATEGORIES_COLUMN]
    return [LABEL_COLUMN, SCORE_COLUMN] + [PROBABILITY_PREFIX + label for label in labels]


def text_column_names(labels: list[str], multi_label: bool = False) -> list[str]:
    """The added columns that hold text rather than numbers."""
    return [*labels, CATEGORIES_COLUMN] if multi_label else [LABEL_COLUMN]


def label_texts(classifier: "Classifier", texts: list, threshold: float | None, batch_size: int | None = None,
                on_batch: Callable[[int], None] | None = None, rows_before: int = 0,
                category_thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    """Texts -> the added columns (added_column_names order): the one path from texts to labels, shared
    by `label_file` and the Spark engine (a multi-label model's categories at `category_thresholds` where
    they name one, else at its saved thresholds). Empty texts get label "" and NaN numbers; NaN for a non-empty
    text refuses the model (ModelOutputError, naming row `rows_before` + its position + 1)."""
    probabilities = classifier.predict_probabilities(texts, batch_size, on_batch=on_batch)
    refuse_not_a_number(probabilities, texts, classifier, rows_before)
    if classifier.multi_label:
        return category_columns(classifier, probabilities, category_thresholds)
    labels, scores = classifier.decide(probabilities, threshold)
    added: dict[str, Any] = {LABEL_COLUMN: labels, SCORE_COLUMN: scores}
    added.update((PROBABILITY_PREFIX + label, probabilities[:, index].astype(np.float64))
                 for index, label in enumerate(classifier.labels))
    return added


def category_columns(classifier: "Classifier", probabilities: np.ndarray,
                     thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    """A multi-label model's added columns from its probabilities, at its saved thresholds (`thresholds`
    overrides those it names): empty texts get NaN probabilities and "" in the text columns."""
    empty = np.isnan(probabilities).any(axis=1)
    flagged = classifier.decide_categories(probabilities, thresholds)
    added: dict[str, Any] = {}
    for index, label in enumerate(classifier.labels):
        added[CATEGORY_PROBABILITY_PREFIX + label] = probabilities[:, index].astype(np.float64)
        added[label] = ["" if blank else YES if label in chosen else NO for blank, chosen in zip(empty, flagged)]
    added[CATEGORIES_COLUMN] = ["" if blank else ";".join(chosen) for blank, chosen in zip(empty, flagged)]
    return added


def open_sink(temporary: Path, plan: LabellingPlan, added_names: list[str], excel_safe: bool,
              text_columns: list[str] | None = None):
    kind = OUTPUT_KINDS[plan.fmt.kind]
    if kind == "parquet":
        return ParquetSink(temporary, plan.source.schema, added_names, text_columns or [LABEL_COLUMN])
    sink_class = CsvSink if kind == "csv" else JsonLinesSink
    return sink_class(temporary, plan.fmt, plan.source.columns + added_names, excel_safe)


def check_threshold(classifier: "Classifier", threshold: float | None) -> None:
    if threshold is not None and getattr(classifier, "multi_label", False):
        raise LabellingError(f"{classifier.name_or_path} is a multi-label model: each category is decided at its "
                             "own threshold, saved in its operating_point.json; one threshold does not apply.",
                             "Leave {threshold} empty for this model.", setting="threshold")
    if threshold is not None and not classifier.is_binary:
        raise LabellingError(f"a decision threshold needs a binary model; {classifier.name_or_path} has "
                             f"{len(classifier.labels)} labels ({', '.join(classifier.labels)}).",
                             "Leave {threshold} empty for this model.", setting="threshold")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise LabellingError(f"the threshold must be between 0 and 1, got {threshold}.",
                             "Change {threshold}.", setting="threshold")


def check_category_thresholds(classifier: "Classifier", thresholds: dict[str, float] | None) -> None:
    """Thresholds per category (`--threshold CATEGORY=VALUE`, the Review tab's) name categories of a
    multi-label model, each between 0 and 1."""
    if not thresholds:
        return
    if not getattr(classifier, "multi_label", False):
        raise LabellingError(f"a threshold per category needs a multi-label model; {classifier.name_or_path} has "
                             f"one label per text ({', '.join(classifier.labels)}).",
                             "Give {threshold} as one number for this model, or leave it out.", setting="threshold")
    for name, value in thresholds.items():
        if name not in classifier.labels:
            raise LabellingError(f"{name!r} is not a category of {classifier.name_or_path} "
                                 f"({', '.join(classifier.labels)}).", "Name one of them in {threshold}.",
                                 setting="threshold")
        if not 0.0 <= float(value) <= 1.0:
            raise LabellingError(f"the threshold of {name!r} must be between 0 and 1, got {value}.",
                                 "Change {threshold}.", setting="threshold")


class ModelOutputError(LabellingError):
    """The model produced no usable numbers (NaN) for texts that are not empty."""
    title = "Model cannot be used"


def refuse_not_a_number(probabilities: np.ndarray, texts: list, classifier: "Classifier", rows_before: int) -> None:
    """Empty texts get NaN on purpose; NaN for a non-empty text means broken weights (a diverged run)."""
    broken = [index for index, (row, text) in enumerate(zip(probabilities, texts))
              if not is_empty_text(text) and not np.isfinite(row).all()]
    if broken:
        raise ModelOutputError(
            f"{classifier.name_or_path}: the model's output is not a number (NaN) for {len(broken):,} non-empty "
            f"texts of this chunk (first: row {rows_before + broken[0] + 1}); its weights are broken, as after a "
            "training run whose loss diverged. Nothing was written.",
            "Choose another model, or train again (a lower {learning_rate} usually helps).")


def refuse_bad_rows(source, remaining_chunks: Iterator, skip_bad_rows: bool) -> None:
    if source.bad_rows and not skip_bad_rows:
        for _ in remaining_chunks:  # read on, without the model, to list every unreadable row at once
            pass
        raise LabellingError(
            f"{source.fmt.path}: {len(source.bad_rows):,} rows cannot be read: {describe_bad_rows(source.bad_rows)}.",
            "Fix them, or leave them out with {skip_bad_rows}; they are then listed in the summary.",
            setting="skip_bad_rows")


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; absent on macOS, Windows and musl
    except (AttributeError, OSError):
        return None


def release_free_memory() -> None:
    """Give the heap's free pages back to the operating system, once per chunk.

    As torch frees large activations, glibc raises its mmap threshold; from then on activations of
    ever-changing sizes (one per batch length) come from the heap, fragment it, and the resident
    size of a long run creeps up by hundreds of MiB before levelling off (benchmarks/label_memory.py).
    Trimming once per chunk keeps it flat for a few milliseconds per chunk; trimming per batch, or
    a fixed mmap threshold, would make every batch fault its pages in again (measured 25 % slower)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class Progress:
    """Rows done, reported to on_progress and checked against should_cancel after every batch."""

    def __init__(self, on_progress: ProgressCallback | None, should_cancel: Callable[[], bool] | None):
        self.on_progress, self.should_cancel = on_progress, should_cancel
        self.started = time.perf_counter()
        self.rows_done = 0
        self.total_rows: int | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def advance(self, rows: int) -> None:
        self.reached(self.rows_done + rows)

    def reached(self, rows_done: int) -> None:
        self.rows_done = rows_done
        if self.should_cancel is not None and self.should_cancel():
            raise LabellingCancelled("labelling was cancelled; nothing was written")
        if self.on_progress is not None:
            elapsed = self.elapsed()
            self.on_progress(rows_done, self.total_rows, rows_done / elapsed if elapsed > 0 else 0.0)
