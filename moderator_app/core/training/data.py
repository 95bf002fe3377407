"""Loading labelled training data: files users really bring, turned into `datasets` tables of
(text, label) with a report of what was read and what was dropped, and why."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moderator_app.core.config import TrainingConfig
from moderator_app.core.files.formats import DataFileError, FileFormat, detect_format, is_index_column
from moderator_app.core.hub import looks_like_hub_id

TEXT_COLUMN_NAMES = ("text", "tweet", "comment", "sentence", "content", "message", "body", "post")
LABEL_COLUMN_NAMES = ("label", "labels", "class", "ishate", "is_hate", "hate", "target", "category")
MAX_CLASSES = 100  # more distinct labels than this almost always means the wrong column was chosen
DROP_EMPTY_TEXT = "empty text"
DROP_MISSING_LABEL = "missing label"


# One error type for every unusable data file, whether found while sniffing its format or its content.
DataError = DataFileError


# ------------------------------------------------------------------------------------------------
# Reading tables
# ------------------------------------------------------------------------------------------------
def read_table(source: str | Path):
    """A whole file (or hub dataset) as a `datasets.Dataset`; CSV cells stay strings, exactly as written."""
    import datasets

    path = Path(source).expanduser()
    if not path.exists() and looks_like_hub_id(str(source)):
        return _read_hub_dataset(str(source))
    fmt = detect_format(path)
    datasets.disable_progress_bars()
    try:
        if fmt.kind == "csv":
            columns = _csv_header(fmt)
            if preview_file(path, rows=1)[1] == []:
                raise DataError(f"{path}: the file has a header but no rows.")
            features = datasets.Features({name: datasets.Value("string") for name in columns})
            options = fmt.pandas_csv_options()
            options.pop("dtype")  # `features` gives every column the string type
            table = datasets.load_dataset("csv", data_files=str(path), split="train", features=features,
                                          **options)
        else:
            table = datasets.load_dataset(fmt.kind, data_files=str(path), split="train")
    except DataError:
        raise
    except Exception as error:  # pandas/pyarrow parse errors come in many types
        raise DataError(f"{path}: cannot be read as {fmt.kind.upper()}: {_first_line(error)}. "
                        "Check that the file is complete and that its extension matches its content.") from None
    drop = [name for name in table.column_names if is_index_column(name)]
    return table.remove_columns(drop) if drop else table


def preview_file(source: str | Path, rows: int = 20) -> tuple[list[str], list[list[str]]]:
    """Column names (index columns left out) and the first `rows` rows as strings, read quickly
    without loading the whole file."""
    import pandas as pd

    fmt = detect_format(source)
    try:
        if fmt.kind == "csv":
            frame = pd.read_csv(fmt.path, nrows=rows, **fmt.pandas_csv_options())
        elif fmt.kind == "json":
            frame = pd.read_json(fmt.path, lines=True, nrows=rows, dtype=False, encoding=fmt.encoding)
        else:
            import pyarrow.parquet as pq

            batch = next(pq.ParquetFile(fmt.path).iter_batches(batch_size=rows), None)
            frame = batch.to_pandas() if batch is not None else pd.DataFrame()
    except Exception as error:
        raise DataError(f"{fmt.path}: cannot be read as {fmt.kind.upper()}: {_first_line(error)}") from None
    frame = frame[[c for c in frame.columns if not is_index_column(str(c))]]
    values = [["" if value is None else str(value) for value in row] for row in frame.itertuples(index=False)]
    return [str(column) for column in frame.columns], values


def guess_columns(columns: list[str]) -> tuple[str | None, str | None]:
    """(text column, label column) when each is unambiguous among well-known names, else None."""
    return _guess(columns, TEXT_COLUMN_NAMES), _guess(columns, LABEL_COLUMN_NAMES)


def _guess(columns: list[str], known: tuple[str, ...]) -> str | None:
    matches = [column for column in columns if column.strip().lower() in known]
    return matches[0] if len(matches) == 1 else None


def _csv_header(fmt: FileFormat) -> list[str]:
    import pandas as pd

    try:
        return [str(c) for c in pd.read_csv(fmt.path, nrows=0, **fmt.pandas_csv_options()).columns]
    except Exception as error:
        raise DataError(f"{fmt.path}: cannot read the header line: {_first_line(error)}") from None


def _read_hub_dataset(name: str):
    import datasets

    from moderator_app.core.hub import hub_reachable, is_offline_mode

    if is_offline_mode() or not hub_reachable():
        raise DataError(f"{name}: no such file, and the Hugging Face hub cannot be reached to load it as a "
                        "dataset id. Choose a local CSV, TSV, JSON Lines or Parquet file.")
    try:
        return datasets.load_dataset(name, split="train")
    except Exception as error:
        raise DataError(f"{name}: cannot load this hub dataset: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


# ------------------------------------------------------------------------------------------------
# Labelled data
# ------------------------------------------------------------------------------------------------
@dataclass
class DataReport:
    """What loading found: shown by the CLI and the GUI before training starts."""

    train_source: str
    validation_source: str  # a file, or "stratified split of N %"
    text_column: str
    label_column: str
    label_kind: str  # "strings", "integers" or "0–1 score (≥ 0.5 is 1)"
    rows_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    dropped_examples: dict[str, list[int]] = field(default_factory=dict)  # reason -> first row numbers
    label_counts: dict[str, int] = field(default_factory=dict)
    train_rows: int = 0
    validation_rows: int = 0

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def summary(self) -> str:
        lines = [f"Training data: {self.train_source}",
                 f"  text column '{self.text_column}', label column '{self.label_column}' ({self.label_kind})",
                 f"  rows read: {self.rows_read:,} = {self.train_rows:,} for training + {self.validation_rows:,} "
                 f"for validation + {self.rows_dropped:,} dropped"]
        for reason, count in self.dropped.items():
            examples = ", ".join(str(row) for row in self.dropped_examples.get(reason, []))
            lines.append(f"    {reason}: {count:,} (rows {examples}{', …' if count > 5 else ''})")
        total = sum(self.label_counts.values()) or 1
        counts = ", ".join(f"{label} {count:,} ({count / total:.0%})" for label, count in self.label_counts.items())
        lines.append(f"  labels (training and validation rows): {counts}")
        lines.append(f"  training rows: {self.train_rows:,}; validation rows: {self.validation_rows:,} "
                     f"({self.validation_source})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class LoadedData:
    train: Any  # datasets.Dataset with columns text (string) and label (ClassLabel)
    validation: Any
    label_names: list[str]
    report: DataReport


@dataclass
class _Labelled:
    texts: list[str]
    labels: list[str]
    kind: str
    rows_read: int
    dropped: Counter
    dropped_examples: dict[str, list[int]]


def load_training_data(config: TrainingConfig) -> LoadedData:
    """Read, clean and split the data a configuration names."""
    import datasets

    table = read_table(config.train_file)
    text_column, label_column = _choose_columns(table.column_names, config, config.train_file)
    train = _extract(table, text_column, label_column, config.train_file)
    label_names = _label_names(train.labels, train.kind)
    if len(label_names) < 2:
        only = label_names[0] if label_names else "none"
        raise DataError(f"{config.train_file}: column '{label_column}' holds a single class ({only}); "
                        "a classifier needs examples of at least two labels.")
    if len(label_names) > MAX_CLASSES:
        raise DataError(f"{config.train_file}: column '{label_column}' has {len(label_names):,} distinct values; "
                        "is it really the label column? Choose another with --label-column.")
    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=label_names)})
    label_ids = {name: index for index, name in enumerate(label_names)}
    full = datasets.Dataset.from_dict({"text": train.texts, "label": [label_ids[x] for x in train.labels]},
                                      features=features)
    dropped, examples = Counter(train.dropped), dict(train.dropped_examples)

    if config.validation_file.strip():
        val_table = read_table(config.validation_file)
        val_text, val_label = _choose_columns(val_table.column_names, config, config.validation_file,
                                              fallback=(text_column, label_column))
        val = _extract(val_table, val_text, val_label, config.validation_file)
        unknown = sorted(set(val.labels) - set(label_names))
        if unknown:
            raise DataError(f"{config.validation_file}: label(s) {', '.join(map(repr, unknown))} in column "
                            f"'{val_label}' never occur in the training data ({', '.join(label_names)}).")
        validation = datasets.Dataset.from_dict(
            {"text": val.texts, "label": [label_ids[x] for x in val.labels]}, features=features)
        train_set, validation_source = full, str(config.validation_file)
        for reason, count in val.dropped.items():
            dropped[f"{reason} (validation file)"] += count
            examples[f"{reason} (validation file)"] = val.dropped_examples[reason]
        rows_read = train.rows_read + val.rows_read
    else:
        smallest = min(Counter(full["label"]).values())
        if smallest < 2:
            rare = [name for name, count in zip(label_names, _counts(full["label"], len(label_names))) if count < 2]
            raise DataError(f"{config.train_file}: label(s) {', '.join(rare)} occur only once; a stratified "
                            "validation split needs at least two rows of each. Add rows or give a validation file.")
        _check_split_sizes(config, full["label"], label_names)
        split = full.train_test_split(test_size=config.validation_split, seed=config.seed,
                                      stratify_by_column="label")
        train_set, validation = split["train"], split["test"]
        validation_source = f"stratified split of {config.validation_split:.0%}, seed {config.seed}"
        rows_read = train.rows_read

    # over every row kept (a validation file's too), so that the counts add up to the rows reported
    counts = [a + b for a, b in zip(_counts(train_set["label"], len(label_names)),
                                    _counts(validation["label"], len(label_names)))]
    report = DataReport(
        train_source=str(config.train_file), validation_source=validation_source,
        text_column=text_column, label_column=label_column, label_kind=train.kind, rows_read=rows_read,
        dropped=dict(dropped), dropped_examples=examples,
        label_counts={name: count for name, count in zip(label_names, counts)},
        train_rows=len(train_set), validation_rows=len(validation))
    if len(train_set) == 0 or len(validation) == 0:
        raise DataError(f"{config.train_file}: too few usable rows to train and validate ({len(full)}).")
    return LoadedData(train_set, validation, label_names, report)


def _check_split_sizes(config: TrainingConfig, label_ids: list[int], label_names: list[str]) -> None:
    """A stratified split needs at least one row of every label on each side; say so in our words
    (datasets says "test_size = 4 should be greater or equal to the number of classes = 9")."""
    from moderator_app.core.errors import DataError as SplitError

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


def _choose_columns(columns: list[str], config: TrainingConfig, source: str,
                    fallback: tuple[str, str] | None = None) -> tuple[str, str]:
    guessed_text, guessed_label = guess_columns(columns)
    chosen = []
    for role, wanted, guessed, option in (("text", config.text_column, guessed_text, "--text-column"),
                                          ("label", config.label_column, guessed_label, "--label-column")):
        if fallback and not wanted and (fallback[0 if role == "text" else 1] in columns):
            wanted = fallback[0 if role == "text" else 1]
        name = wanted.strip() or guessed
        listing = ", ".join(f"'{c}'" for c in columns)
        if not name:
            raise DataError(f"{source}: cannot tell which column holds the {role}; choose one with {option} "
                            f"(columns: {listing}).")
        if name not in columns:
            raise DataError(f"{source}: no column '{name}'; the file has {listing}. Choose one with {option}.")
        chosen.append(name)
    if chosen[0] == chosen[1]:
        raise DataError(f"{source}: the text and label columns are both '{chosen[0]}'; choose two different columns.")
    return chosen[0], chosen[1]


def _extract(table, text_column: str, label_column: str, source: str) -> _Labelled:
    """Pull texts and labels as Python values, dropping (and counting) unusable rows.

    Row numbers in reports are 1-based data rows (the header is not counted)."""
    raw_texts, raw_labels = table[text_column], table[label_column]
    if not raw_texts:
        raise DataError(f"{source}: the file has a header but no rows.")
    kind, parse = _label_parser(raw_labels, label_column, source)
    texts, labels, dropped, examples = [], [], Counter(), {}
    for row, (text, label) in enumerate(zip(raw_texts, raw_labels), start=1):
        text = "" if text is None else str(text)
        reason = None
        if not text.strip():
            reason = DROP_EMPTY_TEXT
        elif _is_missing(label):
            reason = DROP_MISSING_LABEL
        if reason:
            dropped[reason] += 1
            if len(examples.setdefault(reason, [])) < 5:
                examples[reason].append(row)
            continue
        texts.append(text)
        labels.append(parse(label))
    return _Labelled(texts, labels, kind, len(raw_texts), dropped, examples)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _label_parser(values: list[Any], column: str, source: str):
    """Decide once per column how labels read: strings, integer classes or a 0–1 score."""
    present = [value for value in values if not _is_missing(value)]
    if not present:
        raise DataError(f"{source}: column '{column}' holds no labels at all; is it the label column?")
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
    if numbers is None:
        return "strings", lambda value: str(value).strip()
    if all(number.is_integer() for number in numbers):
        return "integers", lambda value: str(int(float(value)))
    if all(0.0 <= number <= 1.0 for number in numbers):
        return "0–1 score (≥ 0.5 is 1)", lambda value: "1" if float(value) >= 0.5 else "0"
    example = next(value for value, number in zip(present, numbers)
                   if not number.is_integer() and not 0 <= number <= 1)
    raise DataError(f"{source}: column '{column}' holds numbers such as {example!r} that are neither integer "
                    "classes nor 0–1 scores; choose the label column with --label-column.")


def _label_names(labels: list[str], kind: str) -> list[str]:
    unique = set(labels)
    if kind == "strings":
        return sorted(unique)
    return sorted(unique, key=int)
