"""What loading training data found, and what it hands the trainer: the data report (rows read,
dropped and why, labels, warnings about labels that look wrong) and the loaded tables. Shared by the
one-file loader (core/training/data) and the multi-source one (core/training/multi_source)."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from moderator_app.core.evaluation.category_rules import MISSING_WORDS
from moderator_app.core.training.corrections import describe_corrections

MAX_CLASSES = 100  # more distinct labels than this almost always means the wrong column was chosen
DROP_EMPTY_TEXT = "empty text"
DROP_MISSING_LABEL = "missing label"
DROP_MISSING_WORD = "label spelled as missing (NaN, null, None, N/A …)"
# How spreadsheets and pandas spell a missing value; as a label they are almost never a class (one list,
# shared with the category rules of multi-label data).
MISSING_LABEL_WORDS = MISSING_WORDS


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
    evasion_families: list[str] = field(default_factory=list)  # the copies' kinds, when not all six
    corrections: dict[str, Any] = field(default_factory=dict)  # the moderator's corrections (core/training/corrections)
    # a multi-label run (core/training/category_data): per category, the rows it is yes / no / unknown for
    categories: dict[str, dict[str, int]] = field(default_factory=dict)

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
        if self.categories:
            lines.append("  categories (training and validation rows): " + describe_category_counts(self.categories))
        else:
            lines.append(f"  labels (training and validation rows): {counts}")
        lines.append(f"  training rows: {self.train_rows:,}; validation rows: {self.validation_rows:,} "
                     f"({self.validation_source})")
        if self.evasion_copies:
            lines.append(f"  evasion-robust training: {self.evasion_copies:,} obfuscated copies of training rows "
                         f"(a share of {self.evasion_share:g}) added to each epoch, labels kept, drawn anew each epoch"
                         + (f"; kinds: {', '.join(self.evasion_families)} (those the model's reading does not undo)"
                            if self.evasion_families else ""))
        lines.extend(f"  warning: {warning}" for warning in self.warnings)
        if self.corrections:
            lines.append(f"  {describe_corrections(self.corrections)}")
        for source in self.sources:
            if source.get("categories"):
                lines.extend(_category_source_lines(source))
                continue
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


def describe_category_counts(counts: dict[str, dict[str, int]]) -> str:
    """Per category 'yes N / no N / unknown N' (a multi-label run's report)."""
    return "; ".join(f"{name} yes {count['yes']:,} / no {count['no']:,} / unknown {count['unknown']:,}"
                     for name, count in counts.items())


def _category_source_lines(source: dict[str, Any]) -> list[str]:
    dropped = "".join(f", {reason} {count:,}" for reason, count in source["dropped"].items())
    return [f"  source {source['name']} ({source['path']}): text '{source['text_column']}', categories "
            f"{source['label_map'] or 'none (every category unknown)'}, weight {source['weight']:g}",
            f"    rows read {source['rows_read']:,} = {source['train_rows']:,} training + "
            f"{source['validation_rows']:,} validation{dropped}",
            f"    {describe_category_counts(source['categories'])}"]


def describe_votes(votes: dict[str, Any]) -> str:
    """A source's vote account (core/training/votes) as one line of the data report."""
    mode = {"soft": "training on the vote shares as soft targets",
            "drop_split": f"{votes['dropped_from_training']:,} training rows with split votes left out",
            "majority": "training on the label column (the majority)"}[votes["mode"]]
    unusable = (f"; {votes['no_usable_votes']:,} rows without usable votes train on their label"
                if votes["no_usable_votes"] else "")
    return (f"votes ({', '.join(votes['columns'])}): {votes['split']:,} of {votes['rows']:,} rows split between "
            f"labels ({votes['split_in_training']:,} of them training rows); {mode}{unusable}")


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
