"""Loading labelled training data: files users really bring, turned into `datasets` tables of
(text, label) with a report of what was read, what was dropped and why, and what looks suspicious.

Files are read by the shared readers of `core/files` (the same ones batch labelling and the Review
import use), so a file reads the same everywhere and gets the same text column."""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moderator_app.core.config import TrainingConfig
from moderator_app.core.files.columns import (LABEL_COLUMN_NAMES, TEXT_COLUMN_NAMES,  # noqa: F401 (re-exported)
                                              guess_label_column, guess_text_column, resolve_column)
from moderator_app.core.files.formats import DataFileError, detect_format, is_index_column
from moderator_app.core.files.readers import describe_bad_rows, first_line, is_missing, open_source
from moderator_app.core.files.previews import preview_file  # noqa: F401 (the training form's preview)
from moderator_app.core.hub import looks_like_hub_id
from moderator_app.core.training.corrections import (apply_corrections, describe_corrections, finished,
                                                     load_config_corrections)

MAX_CLASSES = 100  # more distinct labels than this almost always means the wrong column was chosen
DROP_EMPTY_TEXT = "empty text"
DROP_MISSING_LABEL = "missing label"
DROP_MISSING_WORD = "label spelled as missing (NaN, null, None, N/A …)"
# How spreadsheets and pandas spell a missing value; as a label they are almost never a class.
MISSING_LABEL_WORDS = frozenset({"nan", "null", "none", "n/a", "na", "#n/a", "nil", "missing"})

# One error type for every unusable data file, whether found while sniffing its format or its content.
DataError = DataFileError


# ------------------------------------------------------------------------------------------------
# Reading tables
# ------------------------------------------------------------------------------------------------
@dataclass
class Table:
    """A data file's columns (index columns left out) and their values, read on demand by the shared
    readers. `column_names` and `table[name]` read as a `datasets.Dataset` does."""
    source: str
    columns: list[str]
    _read: Any  # callable(positions, text_positions) -> list of value lists

    @property
    def column_names(self) -> list[str]:
        return self.columns

    def values(self, names: list[str], text: str | None = None) -> list[list[Any]]:
        """The values of `names`, in one pass; the column `text` is read as texts (numbers, lists and
        objects in it are refused)."""
        positions = [self.columns.index(name) for name in names]
        return self._read(positions, {self.columns.index(text)} if text is not None else set())

    def __getitem__(self, name: str) -> list[Any]:
        return self.values([name])[0]


def read_table(source: str | Path) -> Table:
    """A file (read by the shared readers) or a hub dataset id, as a `Table`."""
    path = Path(source).expanduser()
    if not path.exists() and looks_like_hub_id(str(source)):
        dataset = _read_hub_dataset(str(source))
        return Table(str(source), list(dataset.column_names),
                     lambda positions, _: [dataset[dataset.column_names[p]] for p in positions])
    fmt = detect_format(path)
    reader = open_source(fmt)
    kept = [index for index, name in enumerate(reader.columns) if not is_index_column(name)]

    def read(positions: list[int], text_positions: set[int]) -> list[list[Any]]:
        columns: list[list[Any]] = [[] for _ in positions]
        readers = [(kept[position], reader.texts if position in text_positions else reader.values)
                   for position in positions]
        for chunk in reader.chunks():
            for values, (file_position, read_column) in zip(columns, readers):
                values.extend(read_column(chunk, file_position))
        if reader.bad_rows:
            raise DataError(f"{path}: {len(reader.bad_rows):,} rows cannot be read: "
                            f"{describe_bad_rows(reader.bad_rows)}.", "Fix them and try again.")
        return columns

    return Table(str(path), [reader.columns[index] for index in kept], read)


def guess_columns(columns: list[str]) -> tuple[str | None, str | None]:
    """(text column, label column) guessed by the one rule of `core/files/columns`."""
    return guess_text_column(columns), guess_label_column(columns)


def _read_hub_dataset(name: str):
    import datasets

    from moderator_app.core.hub import hub_reachable, is_offline_mode

    if is_offline_mode() or not hub_reachable():
        raise DataError(f"{name}: no such file, and the Hugging Face hub cannot be reached to load it as a "
                        "dataset id.", "Choose a local CSV, TSV, JSON Lines or Parquet file with {train_file}.",
                        setting="train_file")
    datasets.disable_progress_bars()
    try:
        return datasets.load_dataset(name, split="train")
    except Exception as error:
        raise DataError(f"{name}: cannot load this hub dataset: {first_line(error)}") from None


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
    warnings: list[str] = field(default_factory=list)  # things that load but look wrong (label spellings …)
    validation_file_rows: int = 0  # rows read from a separate validation file (included in rows_read)
    sources: list[dict[str, Any]] = field(default_factory=list)  # per training source (core/training/multi_source)
    evasion_copies: int = 0  # obfuscated copies added to each epoch (core/training/evasion)
    evasion_share: float = 0.0
    corrections: dict[str, Any] = field(default_factory=dict)  # the moderator's corrections (core/training/corrections)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def summary(self) -> str:
        lines = [f"Training data: {self.train_source}",
                 f"  text column '{self.text_column}', label column '{self.label_column}' ({self.label_kind})",
                 f"  rows read: {self.rows_read:,} = {self.train_rows:,} for training + {self.validation_rows:,} "
                 f"for validation + {self.rows_dropped:,} dropped{self._rows_read_by_file()}"]
        for reason, count in self.dropped.items():
            examples = ", ".join(str(row) for row in self.dropped_examples.get(reason, []))
            lines.append(f"    {reason}: {count:,}" + (f" (rows {examples}{', …' if count > 5 else ''})"
                                                        if examples else ""))
        total = sum(self.label_counts.values()) or 1
        counts = ", ".join(f"{label} {count:,} ({count / total:.0%})" for label, count in self.label_counts.items())
        lines.append(f"  labels (training and validation rows): {counts}")
        lines.append(f"  training rows: {self.train_rows:,}; validation rows: {self.validation_rows:,} "
                     f"({self.validation_source})")
        if self.evasion_copies:
            lines.append(f"  evasion-robust training: {self.evasion_copies:,} obfuscated copies of training rows "
                         f"(a share of {self.evasion_share:g}) added to each epoch, labels kept, drawn anew each epoch")
        lines.extend(f"  warning: {warning}" for warning in self.warnings)
        if self.corrections:
            lines.append(f"  {describe_corrections(self.corrections)}")
        for source in self.sources:
            lines.append(f"  source {source['name']} ({source['path']}): text '{source['text_column']}', label "
                         f"'{source['label_column']}' ({source['label_kind']}), label map {source['label_map']}, "
                         f"weight {source['weight']:g}")
            dropped = "".join(f", {reason} {count:,}" for reason, count in source["dropped"].items())
            labels = ", ".join(f"{label} {count:,}" for label, count in source["label_counts"].items())
            values = ", ".join(f"{value!r} ×{count:,}" for value, count in
                               sorted(source["value_counts"].items(), key=lambda item: -item[1])[:12])
            lines.append(f"    rows read {source['rows_read']:,} = {source['train_rows']:,} training + "
                         f"{source['validation_rows']:,} validation{dropped}; labels: {labels}")
            lines.append(f"    values in the file (before the map): {values}")
            if source.get("votes"):
                lines.append("    " + describe_votes(source["votes"]))
        return "\n".join(lines)

    def _rows_read_by_file(self) -> str:
        if not self.validation_file_rows:
            return ""
        return (f" ({self.rows_read - self.validation_file_rows:,} training file, "
                f"{self.validation_file_rows:,} validation file)")

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class LoadedData:
    train: Any  # datasets.Dataset with columns text (string) and label (ClassLabel)
    validation: Any
    label_names: list[str]
    report: DataReport
    # Several sources (core/training/multi_source): each row's source (an index into source_names)
    train_sources: list[int] = field(default_factory=list)
    validation_sources: list[int] = field(default_factory=list)
    source_names: list[str] = field(default_factory=list)
    source_weights: list[float] = field(default_factory=list)
    # Sources with votes "soft" (core/training/votes): each training row's target over the labels, else empty
    train_targets: list[list[float]] = field(default_factory=list)
    # Where each row came from, for the data audit (core/audit): (index into origin_files, 1-based data row)
    origin_files: list[str] = field(default_factory=list)
    train_origin: list[tuple[int, int]] = field(default_factory=list)
    validation_origin: list[tuple[int, int]] = field(default_factory=list)


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
    if getattr(config, "sources", None):
        from moderator_app.core.training.multi_source import load_source_data

        return _with_evasion_copies(load_source_data(config), config)

    missing_words_are_missing = getattr(config, "treat_na_labels_as_missing", True)
    table = read_table(config.train_file)
    text_column, label_column = _choose_columns(table.columns, config, config.train_file)
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
        val_text, val_label = _choose_columns(val_table.columns, config, config.validation_file,
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
    from moderator_app.core.training.evasion import report_copies

    report_copies(data, getattr(config, "evasion_augment", 0.0))
    return data


def describe_votes(votes: dict[str, Any]) -> str:
    """A source's vote account (core/training/votes) as one line of the data report."""
    mode = {"soft": "training on the vote shares as soft targets",
            "drop_split": f"{votes['dropped_from_training']:,} training rows with split votes left out",
            "majority": "training on the label column (the majority)"}[votes["mode"]]
    unusable = (f"; {votes['no_usable_votes']:,} rows without usable votes train on their label"
                if votes["no_usable_votes"] else "")
    return (f"votes ({', '.join(votes['columns'])}): {votes['split']:,} of {votes['rows']:,} rows split between "
            f"labels ({votes['split_in_training']:,} of them training rows); {mode}{unusable}")


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


# A label this much rarer than another one typo away from it is probably that label misspelt
# (`haet` ×1 beside `hate` ×8); one that is merely similar must be ten times rarer.
TYPO_RATIO, SIMILAR_RATIO = 3, 10


def label_warnings(label_counts: dict[str, int], kind: str, missing_words: Counter,
                   missing_words_are_missing: bool, where: Any = None) -> list[str]:
    """Labels that load but probably should not be classes of their own: spellings of "missing",
    and labels differing only by case or spacing, or by a small typo from a more common one.
    `where(labels)` names the file(s) and column holding those labels, to start each warning with."""
    def located(*labels: str) -> str:
        return f"{where(labels)}: " if where else ""

    warnings = []
    if missing_words:
        spelled = ", ".join(f"{word!r} ×{count:,}" for word, count in missing_words.most_common())
        if missing_words_are_missing:
            warnings.append(f"labels spelled as a missing value ({spelled}) were treated as missing and "
                            "their rows dropped.")
        else:
            warnings.append(f"labels spelled as a missing value ({spelled}) are trained as classes of their own.")
    if kind != "strings":
        return warnings
    by_form: dict[str, list[str]] = {}
    for label in label_counts:
        by_form.setdefault(re.sub(r"[\s_-]+", "", label.lower()), []).append(label)
    for spellings in by_form.values():
        if len(spellings) > 1:
            warnings.append(f"{located(*spellings)}labels {', '.join(map(repr, spellings))} differ only in case or "
                            "spacing; they are trained as different classes. Correct the file if they mean the same.")
    for rare, rare_count in label_counts.items():
        for common, common_count in label_counts.items():
            if rare != common and rare.lower() != common.lower() and _looks_misspelt(rare, rare_count, common,
                                                                                        common_count):
                warnings.append(f"{located(rare, common)}label {rare!r} ({_rows(rare_count)}) looks like a "
                                f"misspelling of {common!r} ({_rows(common_count)}); it is trained as a class of its "
                                "own. Correct the file if it is a typo.")
                break
    return warnings


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def _looks_misspelt(rare: str, rare_count: int, common: str, common_count: int) -> bool:
    """`rare` one typo from `common` (a letter wrong, missing, extra, or two swapped) and TYPO_RATIO× rarer,
    or merely similar and SIMILAR_RATIO× rarer. Labels of fewer than three characters or without a letter
    (0/1/2, A/B) are never taken for typos of each other; hate/not-hate, offensive/not-offensive, male/female
    are not typos either."""
    a, b = rare.lower(), common.lower()
    if min(len(a), len(b)) < 3 or not (any(c.isalpha() for c in a) and any(c.isalpha() for c in b)):
        return False
    if common_count >= TYPO_RATIO * rare_count and _one_typo_apart(a, b):
        return True
    if a in b or b in a:  # male/female, hate/hateful: one label inside another is a word of its own
        return False
    return common_count >= SIMILAR_RATIO * rare_count and difflib.SequenceMatcher(None, a, b).ratio() >= 0.75


def _one_typo_apart(a: str, b: str) -> bool:
    """Whether `a` becomes `b` by one substitution, insertion, deletion or swap of two neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    start = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    if len(a) == len(b):
        swapped = a[start + 2:] == b[start + 2:] and a[start:start + 2] == b[start:start + 2][::-1]
        return a[start + 1:] == b[start + 1:] or swapped
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[start + 1:] == shorter[start:]


def _counts(label_ids: list[int], n: int) -> list[int]:
    counter = Counter(label_ids)
    return [counter.get(index, 0) for index in range(n)]


def _choose_columns(columns: list[str], config: TrainingConfig, source: str,
                    fallback: tuple[str, str] | None = None) -> tuple[str, str]:
    """The text and label columns by the shared rule (`core/files/columns`): the ones asked for, else the
    guess; a validation file falls back to the training file's names when it has them."""
    chosen = []
    for role, wanted, fallback_name in (("text", config.text_column, fallback[0] if fallback else None),
                                        ("label", config.label_column, fallback[1] if fallback else None)):
        if not wanted.strip() and fallback_name in columns:
            wanted = fallback_name
        chosen.append(columns[resolve_column(columns, wanted.strip() or None, source, role)])
    if chosen[0] == chosen[1]:
        raise DataError(f"{source}: the text and label columns are both '{chosen[0]}'.",
                        "Choose two different columns with {text_column} and {label_column}.")
    return chosen[0], chosen[1]


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
