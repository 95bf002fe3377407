"""Loading labelled training data: files users really bring, turned into `datasets` tables of
(text, label) with a report of what was read, what was dropped and why, and what looks suspicious.

Files are read by the shared readers of `core/files` (the same ones batch labelling and the Review
import use), so a file reads the same everywhere and gets the same text column."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import DataError as SplitError
from moderator_app.core.files.columns import LABEL_COLUMN_NAMES, TEXT_COLUMN_NAMES  # noqa: F401 (re-exported)
from moderator_app.core.files.formats import DataFileError
from moderator_app.core.files.previews import preview_file  # noqa: F401 (the training form's preview)
from moderator_app.core.files.readers import is_missing
# guess_columns and read_table: the training form's and the audit's way in, as before
from moderator_app.core.files.tables import Table, choose_columns, guess_columns, read_table  # noqa: F401
from moderator_app.core.training.category_data import load_category_data
from moderator_app.core.training.corrections import apply_corrections, finished, load_config_corrections
from moderator_app.core.training.data_report import (DROP_EMPTY_TEXT, DROP_MISSING_LABEL, MAX_CLASSES,
                                                     MISSING_LABEL_WORDS, DataReport, LoadedData, label_warnings)
from moderator_app.core.training.evasion import report_copies, training_families
from moderator_app.core.training.multi_source import load_source_data

# One error type for every unusable data file, whether found while sniffing its format or its content.
DataError = DataFileError


# ------------------------------------------------------------------------------------------------
# Labelled data
# ------------------------------------------------------------------------------------------------
@dataclass
class _Labelled:
    texts: list[str]
    labels: list[str]
    kind: str
    rows_read: int
    dropped: Counter
    dropped_examples: dict[str, list[int]]
    missing_words: Counter  # label spellings of "missing" (NaN, null …) and how often each occurred
    rows: list[int] = field(default_factory=list)  # each kept row's 1-based data row in the file


def load_training_data(config: TrainingConfig) -> LoadedData:
    """Read, clean and split the data a configuration names."""
    import datasets

    datasets.disable_progress_bars()  # the data report says what was read; no bars on the console
    if getattr(config, "categories", None):  # a multi-label run: every file is a source with category rules
        return _with_evasion_copies(load_category_data(config), config)
    if getattr(config, "sources", None):
        return _with_evasion_copies(load_source_data(config), config)

    missing_words_are_missing = getattr(config, "treat_na_labels_as_missing", True)
    table = read_table(config.train_file)
    text_column, label_column = choose_columns(table.columns, config, config.train_file)
    train = _extract(table, text_column, label_column, config.train_file, missing_words_are_missing)
    corrections = load_config_corrections(config)
    corrected = apply_corrections(train.texts, train.labels, corrections)
    label_names = _label_names(train.labels, train.kind)
    if len(label_names) < 2:
        only = label_names[0] if label_names else "none"
        raise DataError(f"{config.train_file}: column '{label_column}' holds a single class ({only}); "
                        "a classifier needs examples of at least two labels.",
                        "Choose the label column with {label_column}, or add rows of another label.",
                        setting="label_column")
    if len(label_names) > MAX_CLASSES:
        raise DataError(f"{config.train_file}: column '{label_column}' has {len(label_names):,} distinct values; "
                        "is it really the label column?", "Choose another with {label_column}.",
                        setting="label_column")
    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=label_names)})
    label_ids = {name: index for index, name in enumerate(label_names)}
    train_label_ids = [label_ids[x] for x in train.labels]  # counted from this list: a Dataset column iterates slowly
    full = datasets.Dataset.from_dict({"text": train.texts, "label": train_label_ids}, features=features)
    origin_files, train_origin, validation_origin = [str(config.train_file)], [(0, row) for row in train.rows], []
    dropped, examples = Counter(train.dropped), dict(train.dropped_examples)
    missing_words = Counter(train.missing_words)

    if config.validation_file.strip():
        val_table = read_table(config.validation_file)
        val_text, val_label = choose_columns(val_table.columns, config, config.validation_file,
                                              fallback=(text_column, label_column))
        val = _extract(val_table, val_text, val_label, config.validation_file, missing_words_are_missing)
        corrected = apply_corrections(val.texts, val.labels, corrections, set(label_names), corrected)
        unknown = sorted(set(val.labels) - set(label_names))
        if unknown:
            raise DataError(f"{config.validation_file}: label(s) {', '.join(map(repr, unknown))} in column "
                            f"'{val_label}' never occur in the training data ({', '.join(label_names)}).")
        validation = datasets.Dataset.from_dict(
            {"text": val.texts, "label": [label_ids[x] for x in val.labels]}, features=features)
        origin_files.append(str(config.validation_file))
        validation_origin = [(1, row) for row in val.rows]
        train_set, validation_source = full, str(config.validation_file)
        for reason, count in val.dropped.items():
            dropped[f"{reason} (validation file)"] += count
            examples[f"{reason} (validation file)"] = val.dropped_examples[reason]
        missing_words.update(val.missing_words)
        rows_read = train.rows_read + val.rows_read
        validation_file_rows = val.rows_read
    else:
        smallest = min(Counter(train_label_ids).values())
        if smallest < 2:
            rare = [name for name, count in zip(label_names, _counts(train_label_ids, len(label_names))) if count < 2]
            raise DataError(f"{config.train_file}: label(s) {', '.join(rare)} occur only once; a stratified "
                            "validation split needs at least two rows of each.",
                            "Add rows, or give a validation file with {validation_file}.",
                            setting="validation_file")
        _check_split_sizes(config, train_label_ids, label_names)
        # the row numbers ride along through the split (the split depends only on the labels and the seed)
        numbered = full.add_column("row", list(range(len(full))))
        split = numbered.train_test_split(test_size=config.validation_split, seed=config.seed,
                                          stratify_by_column="label")
        validation_origin = [train_origin[index] for index in split["test"]["row"]]
        train_origin = [train_origin[index] for index in split["train"]["row"]]
        train_set, validation = split["train"].remove_columns("row"), split["test"].remove_columns("row")
        validation_source = f"stratified split of {config.validation_split:.0%}, seed {config.seed}"
        rows_read = train.rows_read
        validation_file_rows = 0

    # over every row kept (a validation file's too), so that the counts add up to the rows reported
    counts = [a + b for a, b in zip(_counts(train_set["label"], len(label_names)),
                                    _counts(validation["label"], len(label_names)))]
    label_counts = {name: count for name, count in zip(label_names, counts)}
    report = DataReport(
        train_source=str(config.train_file), validation_source=validation_source,
        text_column=text_column, label_column=label_column, label_kind=train.kind, rows_read=rows_read,
        dropped=dict(dropped), dropped_examples=examples, label_counts=label_counts,
        train_rows=len(train_set), validation_rows=len(validation), validation_file_rows=validation_file_rows,
        warnings=label_warnings(label_counts, train.kind, missing_words, missing_words_are_missing,
                                lambda labels: f"{config.train_file}, column '{label_column}'"),
        corrections=finished(corrected))
    if len(train_set) == 0 or len(validation) == 0:
        raise DataError(f"{config.train_file}: too few usable rows to train and validate ({len(full)}).")
    return _with_evasion_copies(LoadedData(train_set, validation, label_names, report, origin_files=origin_files,
                                         train_origin=train_origin, validation_origin=validation_origin), config)


def _with_evasion_copies(data: LoadedData, config: TrainingConfig) -> LoadedData:
    report_copies(data, getattr(config, "evasion_augment", 0.0), training_families(config))
    return data


def _check_split_sizes(config: TrainingConfig, label_ids: list[int], label_names: list[str]) -> None:
    """A stratified split needs at least one row of every label on each side; say so in our words
    (datasets says "test_size = 4 should be greater or equal to the number of classes = 9")."""
    rows = len(label_ids)
    validation_rows = math.ceil(config.validation_split * rows)
    side, size = ("validation", validation_rows) if validation_rows < len(label_names) else \
        ("training", rows - validation_rows)
    if size >= len(label_names):
        return
    counts = ", ".join(f"{name} {count:,}" for name, count in zip(label_names, _counts(label_ids, len(label_names))))
    source = str(config.train_file).replace("{", "{{").replace("}", "}}")
    raise SplitError(f"{source}: a validation split of {config.validation_split:g} leaves {size:,} of {rows:,} "
                     f"rows for {side}, fewer than the {len(label_names)} labels ({counts}): a stratified split "
                     "needs a row of each label on both sides.",
                     "Change {validation_split}, add rows, or give a {validation_file}.", setting="validation_split")


def _counts(label_ids: list[int], n: int) -> list[int]:
    counter = Counter(label_ids)
    return [counter.get(index, 0) for index in range(n)]


def _extract(table: Table, text_column: str, label_column: str, source: str,
             missing_words_are_missing: bool) -> _Labelled:
    """Pull texts and labels as Python values, dropping (and counting) unusable rows.

    Row numbers in reports are 1-based data rows (the header is not counted)."""
    raw_texts, raw_labels = table.values([text_column, label_column], text=text_column)
    if not raw_texts:
        raise DataError(f"{source}: the file has a header but no rows.")
    if all(text is None or not str(text).strip() for text in raw_texts):
        raise DataError(f"{source}: the text column '{text_column}' is empty in every row.",
                        "Choose the column that holds the texts with {text_column}.", setting="text_column")
    missing_words: Counter = Counter(
        label.strip() for label in raw_labels if isinstance(label, str) and label.strip().lower() in MISSING_LABEL_WORDS)
    if missing_words_are_missing:
        raw_labels = [None if isinstance(label, str) and label.strip().lower() in MISSING_LABEL_WORDS else label
                      for label in raw_labels]
    kind, parse = _label_parser(raw_labels, label_column, source)
    texts, labels, dropped, examples, kept_rows = [], [], Counter(), {}, []
    for row, (text, label) in enumerate(zip(raw_texts, raw_labels), start=1):
        text = "" if text is None else str(text)
        reason = None
        if not text.strip():
            reason = DROP_EMPTY_TEXT
        elif is_missing(label):
            reason = DROP_MISSING_LABEL
        if reason:
            dropped[reason] += 1
            if len(examples.setdefault(reason, [])) < 5:
                examples[reason].append(row)
            continue
        texts.append(text)
        labels.append(parse(label))
        kept_rows.append(row)
    return _Labelled(texts, labels, kind, len(raw_texts), dropped, examples, missing_words, kept_rows)




def _label_parser(values: list[Any], column: str, source: str):
    """Decide once per column how labels read: strings, integer classes or a 0–1 score."""
    present = [value for value in values if not is_missing(value)]
    if not present:
        raise DataError(f"{source}: column '{column}' holds no labels at all; is it the label column?",
                        "Choose the label column with {label_column}.", setting="label_column")
    if any(isinstance(value, (dict, list)) for value in present):
        raise DataError(f"{source}: column '{column}' holds lists or objects, not labels.",
                        "Choose the label column with {label_column}.", setting="label_column")
    numbers = []
    for value in present:
        if isinstance(value, bool):
            numbers = None
            break
        try:
            numbers.append(float(value))
        except (TypeError, ValueError):
            numbers = None
            break
    if numbers is not None and not all(math.isfinite(number) for number in numbers):
        numbers = None  # "inf" or "nan" among numbers: read the column as strings, the warnings name them
    if numbers is None:
        return "strings", lambda value: str(value).strip()
    if all(number.is_integer() for number in numbers):
        return "integers", lambda value: str(int(float(value)))
    if all(0.0 <= number <= 1.0 for number in numbers):
        return "0–1 score (≥ 0.5 is 1)", lambda value: "1" if float(value) >= 0.5 else "0"
    example = next(value for value, number in zip(present, numbers)
                   if not number.is_integer() and not 0 <= number <= 1)
    raise DataError(f"{source}: column '{column}' holds numbers such as {example!r} that are neither integer "
                    "classes nor 0–1 scores.", "Choose the label column with {label_column}.",
                    setting="label_column")


def _label_names(labels: list[str], kind: str) -> list[str]:
    unique = set(labels)
    if kind == "strings":
        return sorted(unique)
    return sorted(unique, key=int)
