"""The data audit: likely label errors, duplicates, leaks between training and validation, and figures
per source, over the rows exactly as a training run reads them (same sources, columns, label maps,
corrections and validation split: `core/training/data.load_training_data`).

`run_audit(config)` reads the data, embeds every text with the run's base encoder (or the `embed`
function given), finds label issues by cross-validation and cleanlab (`label_issues`), duplicate and
near-duplicate groups (`duplicates`) and the per-source figures; `report(stage, done, total)` is
called as it goes and `cancelled()` asked between steps and batches (AuditCancelled: nothing was
written). Nothing is written here; `AuditReport.to_dict()` is what `audit --json` saves.

A multi-label configuration (`categories`) is audited category by category (`category_audit`): each category
is a yes/no label on the rows that know it, unknown rows neither flagged nor used as evidence for it. Its
suspects' queue has one item per suspect row (`review.py`); its corrected copy is refused in one line
(`check_single_label`): a multi-label run's rows have no one label column to write back."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any, Callable

import numpy as np

from moderator_app.core.audit import category_audit
from moderator_app.core.audit.duplicates import (DuplicateGroup, cross_source_disagreements, describe_groups, exact_groups,
                                                 near_groups, normalise)
from moderator_app.core.audit.embeddings import AuditCancelled, encoder_embedder
from moderator_app.core.audit.label_issues import VIEWS, LabelIssues, find_issues, method_text
from moderator_app.core.errors import SettingsError
from moderator_app.core.files.tables import read_table
from moderator_app.core.hub import ensure_model_available

VOTE_COLUMNS = ("hate_speech", "offensive_language", "neither")
COUNT_COLUMN = "count"
TRAINING, VALIDATION = "training", "validation"

Report = Callable[[str, int, int], None]


@dataclass
class AuditRows:
    """Every row a run reads, training rows first: text, label, split, source and where it came from."""
    texts: list[str]
    label_ids: np.ndarray
    label_names: list[str]
    splits: list[str]
    sources: list[int]
    source_names: list[str]
    origin_files: list[str]
    origins: list[tuple[int, int]]  # (index into origin_files, 1-based data row)
    data_report: Any = None  # core.training.data.DataReport
    # a multi-label run's categories ([] for one label per row; `label_ids` are then unused) and each row's
    # value per category: 1 yes, 0 no, UNKNOWN (-1)
    categories: list[str] = field(default_factory=list)
    category_values: np.ndarray | None = None

    @property
    def labels(self) -> list[str]:
        """Each row's label as text ("hate yes, offensive ?" in a multi-label run)."""
        if self.categories:
            return [category_audit.row_text(self.categories, values) for values in self.category_values]
        return [self.label_names[index] for index in self.label_ids]

    def label_text(self, row: int) -> str:
        """One row's label as text (`labels[row]` without building every row's)."""
        if self.categories:
            return category_audit.row_text(self.categories, self.category_values[row])
        return self.label_names[self.label_ids[row]]

    def where(self, row: int) -> str:
        file_index, file_row = self.origins[row]
        return f"{Path(self.origin_files[file_index]).name} row {file_row}"


@dataclass
class Suspect:
    row: int
    given: str
    suggested: str
    score: float  # 1 - the out-of-sample probability of the given label
    category: str = ""  # a multi-label run's: the category the row's given yes/no is suspect for


@dataclass
class AuditReport:
    rows: AuditRows
    suspects: list[Suspect]
    issues: LabelIssues | None  # one label per row; a multi-label run's are in category_issues
    exact: list[DuplicateGroup]
    near: list[DuplicateGroup]
    per_source: list[dict[str, Any]]
    votes: list[dict[str, Any]]
    seconds: dict[str, float] = field(default_factory=dict)
    method: str = ""
    category_issues: dict[str, LabelIssues] = field(default_factory=dict)  # a multi-label run's, per category

    @property
    def notes(self) -> str:
        """Why no label errors were looked for (in a category), when so."""
        if self.rows.categories:
            return "; ".join(category_audit.category_notes(self.category_issues).values())
        return self.issues.note if self.issues is not None else ""

    @property
    def leaks(self) -> list[DuplicateGroup]:
        return [group for group in [*self.exact, *self.near] if group.leak]

    @property
    def conflicts(self) -> list[DuplicateGroup]:
        return [group for group in [*self.exact, *self.near] if group.conflict]

    def row_dict(self, row: int) -> dict[str, Any]:
        rows = self.rows
        file_index, file_row = rows.origins[row]
        if rows.categories:
            given = dict(categories={name: category_audit.value_name(value)
                                     for name, value in zip(rows.categories, rows.category_values[row])})
        else:
            given = dict(label=rows.label_names[rows.label_ids[row]])
        return dict(text=rows.texts[row], **given, split=rows.splits[row],
                    source=rows.source_names[rows.sources[row]], file=rows.origin_files[file_index], row=file_row)

    def to_dict(self) -> dict[str, Any]:
        def group(item: DuplicateGroup) -> dict[str, Any]:
            found = dict(kind=item.kind, conflict=item.conflict, leak=item.leak, cross_source=item.cross_source,
                         similarity=round(item.similarity, 3), labels=item.labels,
                         rows=[self.row_dict(row) for row in item.rows])
            return dict(found, conflicting_categories=item.conflict_categories) if categories else found

        def suspect(item: Suspect) -> dict[str, Any]:
            where = dict(category=item.category) if categories else {}
            return dict(self.row_dict(item.row), **where, given=item.given, suggested=item.suggested,
                        score=round(item.score, 4))

        categories = self.rows.categories
        return dict(
            labels=category_audit.BINARY if categories else self.rows.label_names, categories=list(categories),
            rows=len(self.rows.texts),
            training_rows=self.rows.splits.count(TRAINING), validation_rows=self.rows.splits.count(VALIDATION),
            method=self.method, seconds=self.seconds, note=self.notes,
            category_notes=category_audit.category_notes(self.category_issues),
            counts=self.counts(),
            suspects=[suspect(item) for item in self.suspects],
            exact_duplicates=[group(item) for item in self.exact],
            near_duplicates=[group(item) for item in self.near],
            per_source=self.per_source, votes=self.votes)

    def counts(self) -> dict[str, int]:
        def rows(groups):
            return sum(len(group.rows) for group in groups)

        return dict(suspects=len(self.suspects), exact_groups=len(self.exact), exact_rows=rows(self.exact),
                    near_groups=len(self.near), near_rows=rows(self.near),
                    conflicting_groups=len(self.conflicts), leaking_groups=len(self.leaks),
                    leaking_validation_rows=sum(1 for group in self.leaks for row in group.rows
                                                if self.rows.splits[row] == VALIDATION),
                    cross_source_groups=sum(1 for group in [*self.exact, *self.near] if group.cross_source),
                    split_votes=sum(item["split"] for item in self.votes),
                    **self.category_counts())

    def category_counts(self) -> dict[str, dict[str, int]]:
        """A multi-label run's suspects and conflicting duplicate groups per category ({} otherwise)."""
        if not self.rows.categories:
            return {}
        suspects = Counter(item.category for item in self.suspects)
        conflicts = Counter(name for group in self.conflicts for name in group.conflict_categories)
        return dict(suspects_per_category={name: suspects.get(name, 0) for name in self.rows.categories},
                    conflicting_groups_per_category={name: conflicts.get(name, 0) for name in self.rows.categories})


# ------------------------------------------------------------------------------------------------
COPY_REFUSED = ("A corrected copy", "write_corrected")


def check_single_label(categories, refused: tuple[str, str]) -> None:
    """Refuse what `refused` names (COPY_REFUSED: (what, its setting); it writes one label per row) for a
    multi-label run's `categories`."""
    what, setting = refused
    if categories:
        raise SettingsError(f"{what} writes one label per row; this audit is of a multi-label run (categories: "
                            f"{', '.join(categories)}), whose rows have a yes, no or unknown per category.",
                            "Leave out {" + setting + "} and train with the corrections as an override "
                            "({corrections_queue}) instead.", setting=setting)


def audit_rows(config) -> AuditRows:
    """The rows of a training configuration, read and split exactly as training does."""
    # lazy for start-up speed: the Training tab imports this module as the window opens (the Audit page); the data
    # loader comes with an audit
    from moderator_app.core.training.data import load_training_data

    data = load_training_data(config)
    texts = list(data.train["text"]) + list(data.validation["text"])
    categories = list(getattr(config, "categories", None) or [])
    if categories:  # each row's label is a list of 1.0 / 0.0 / UNKNOWN per category
        values = np.array(list(data.train["label"]) + list(data.validation["label"]), dtype=float)
        label_ids, values = np.zeros(len(texts), dtype=int), values.reshape(len(texts), len(categories)).astype(int)
    else:
        label_ids, values = np.array(list(data.train["label"]) + list(data.validation["label"]), dtype=int), None
    splits = [TRAINING] * len(data.train) + [VALIDATION] * len(data.validation)
    if data.source_names:
        sources, names = list(data.train_sources) + list(data.validation_sources), list(data.source_names)
    else:
        sources, names = [0] * len(texts), [Path(str(config.train_file)).stem or str(config.train_file)]
    return AuditRows(texts, label_ids, list(data.label_names), splits, sources, names, list(data.origin_files),
                     list(data.train_origin) + list(data.validation_origin), data.report, categories, values)


def run_audit(config, embed: Callable | None = None, report: Report | None = None,
              cancelled: Callable[[], bool] | None = None, rows: AuditRows | None = None,
              near_threshold: float = 0.8, views: tuple[str, ...] = VIEWS) -> AuditReport:
    """Audit the data of `config` (a TrainingConfig). `embed(texts, report, cancelled)` -> (n, d) array;
    default: the mean-pooled embeddings of `config.model_name_or_path`. `views`: the label-issue views
    averaged (label_issues.ALL_VIEWS; default the three of VIEWS)."""
    report = report or (lambda stage, done, total: None)
    cancelled = cancelled or (lambda: False)

    def check() -> None:
        if cancelled():
            raise AuditCancelled("The audit was cancelled; nothing was written.")

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    report("reading the data", 0, 1)
    rows = rows or audit_rows(config)
    seconds["read"] = time.perf_counter() - started
    check()
    if embed is None:  # a missing or unsafe base model is said now, not after the duplicates
        from moderator_app.core.training.base_model import check_weight_files  # lazy for start-up speed, as above

        ensure_model_available(config.model_name_or_path)
        check_weight_files(config.model_name_or_path, config.allow_pickle)
        embed = encoder_embedder(config.model_name_or_path, config.max_length, config.allow_pickle)

    started = time.perf_counter()
    keys = [normalise(text) for text in rows.texts]
    labels, splits = rows.labels, rows.splits
    report("finding duplicates", 0, 1)
    exact = describe_groups([("exact", group, 1.0) for group in exact_groups(keys)], labels, splits, rows.sources)
    near = describe_groups([("near", group, similarity) for group, similarity in
                            near_groups(keys, near_threshold, cancelled)], labels, splits, rows.sources)
    if rows.categories:  # a conflict is a category known yes in one row and no in another
        category_audit.mark_conflicts([*exact, *near], rows.category_values, rows.categories)
    seconds["duplicates"] = time.perf_counter() - started
    check()

    started = time.perf_counter()
    features = embed(rows.texts, lambda done, total: report("embedding the texts", done, total), cancelled)
    seconds["embed"] = time.perf_counter() - started
    check()
    started = time.perf_counter()
    if rows.categories:
        result = _audit_categories(config, rows, features, getattr(embed, "neighbour_columns", None), views, report,
                                   cancelled, exact, near, seconds, started)
        check()
        report("done", 1, 1)
        return result
    report("cross-validating", 0, 1)
    issues = find_issues(features, rows.label_ids, len(rows.label_names), seed=config.seed, texts=rows.texts,
                         neighbour_columns=getattr(embed, "neighbour_columns", None), views=views,
                         report=lambda done, total: report("cross-validating", done, total), cancelled=cancelled)
    seconds["label_issues"] = time.perf_counter() - started
    suspects = [Suspect(int(row), rows.label_names[rows.label_ids[row]], rows.label_names[issues.suggested(row)],
                        issues.score(row)) for row in issues.flagged]
    check()
    result = AuditReport(rows, suspects, issues, exact, near, [], [], seconds,
                         method=method_text(issues.views, config.model_name_or_path, issues.folds))
    result.per_source = per_source_figures(result)
    result.votes = vote_figures(rows)
    report("done", 1, 1)
    return result


def _audit_categories(config, rows: AuditRows, features, neighbour_columns, views, report: Report, cancelled,
                      exact, near, seconds, started) -> AuditReport:
    """The label issues and per-source figures of a multi-label run, category by category (category_audit)."""
    issues = category_audit.find_category_issues(features, rows.category_values, rows.categories, rows.texts,
                                                 config.seed, neighbour_columns, views, report, cancelled)
    seconds["label_issues"] = time.perf_counter() - started
    suspects = category_audit.category_suspects(rows.category_values, rows.categories, issues, Suspect)
    used, folds = category_audit.used_views_and_folds(issues, views)
    method = (method_text(used, config.model_name_or_path, folds)
              + "; per category, as a yes/no label on the rows that know it (unknown rows left out)")
    result = AuditReport(rows, suspects, None, exact, near, [], [], seconds, method=method, category_issues=issues)
    result.per_source = category_audit.category_source_figures(result)
    result.votes = vote_figures(rows)
    return result


# ------------------------------------------------------------------------------------------------
def per_source_figures(result: AuditReport) -> list[dict[str, Any]]:
    rows = result.rows
    flagged = Counter(rows.sources[item.row] for item in result.suspects)
    shared, disagree = cross_source_disagreements([*result.exact, *result.near], rows.sources,
                                                  lambda row, other: rows.label_ids[row] != rows.label_ids[other])
    figures = []
    for index, name in enumerate(rows.source_names):
        members = [row for row, source in enumerate(rows.sources) if source == index]
        if not members:
            continue
        counts = Counter(rows.label_ids[row] for row in members)
        lengths = [len(rows.texts[row]) for row in members]
        figures.append(dict(
            source=name, rows=len(members),
            label_shares={label: round(counts.get(position, 0) / len(members), 4)
                          for position, label in enumerate(rows.label_names)},
            median_length=median(lengths), mean_length=round(sum(lengths) / len(lengths), 1),
            flagged=flagged.get(index, 0), flagged_share=round(flagged.get(index, 0) / len(members), 4),
            rows_shared_with_other_sources=shared.get(index, 0),
            disagreeing_with_other_sources=disagree.get(index, 0),
            disagreement_share=round(disagree[index] / shared[index], 4) if shared.get(index) else None))
    return figures


def vote_figures(rows: AuditRows) -> list[dict[str, Any]]:
    """For each file with Davidson-style vote columns: the audited rows whose crowd votes were split."""
    figures = []
    for file_index, path in enumerate(rows.origin_files):
        try:
            table = read_table(path)
        except Exception:  # noqa: BLE001 - it was read a moment ago; a file that vanished has no votes to show
            continue
        if not all(column in table.columns for column in (*VOTE_COLUMNS, COUNT_COLUMN)):
            continue
        votes = np.array([[_number(value) for value in column]
                          for column in table.values([*VOTE_COLUMNS, COUNT_COLUMN])], dtype=float).T
        members = [row for row, (index, _file_row) in enumerate(rows.origins) if index == file_index]
        split, contested, examples = 0, 0, []
        for row in members:
            values = votes[rows.origins[row][1] - 1]
            total = values[3] if values[3] > 0 else values[:3].sum()
            if total <= 0:
                continue
            top = values[:3].max() / total
            if top < 1.0:
                split += 1
                if len(examples) < 3:
                    examples.append(dict(text=rows.texts[row], row=rows.origins[row][1],
                                         votes=dict(zip(VOTE_COLUMNS, map(int, values[:3]))), count=int(total)))
            if top <= 0.5:
                contested += 1
        figures.append(dict(file=path, rows=len(members), split=split, contested=contested,
                            split_share=round(split / len(members), 4) if members else 0.0, examples=examples))
    return figures


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


# ------------------------------------------------------------------------------------------------
def summary_lines(result: AuditReport, examples: int = 3, top: int = 10) -> list[str]:
    """The audit as the command line prints it."""
    rows, counts = result.rows, result.counts()
    labels = (f"categories {', '.join(rows.categories)} (yes / no / unknown each)" if rows.categories else
              f"labels {', '.join(rows.label_names)}")
    per_category = counts.get("suspects_per_category", {})
    lines = [f"Audited {len(rows.texts):,} rows ({rows.splits.count(TRAINING):,} training, "
             f"{rows.splits.count(VALIDATION):,} validation) of {', '.join(rows.source_names)}; {labels}.",
             f"Likely label errors: {counts['suspects']:,}"
             + (" (" + ", ".join(f"{name} {count:,}" for name, count in per_category.items()) + ")"
                if per_category else "")
             + (f" ({result.notes})" if result.notes else "")
             + f"  [{result.method}]"]
    corrections = getattr(rows.data_report, "corrections", None)
    if corrections:  # the labels audited are the corrected ones: say so, as the data report does
        from moderator_app.core.training.corrections import describe_corrections

        lines.insert(1, f"Labels read with the {describe_corrections(corrections)}")
    for item in result.suspects[:top]:
        category = f"{item.category}: " if item.category else ""
        lines.append(f"  {item.score:.3f}  {category}{item.given} -> {item.suggested}  {rows.where(item.row)}  "
                     f"{_short(rows.texts[item.row])}")
    for title, groups in (("Exact duplicates (after normalisation)", result.exact), ("Near-duplicates", result.near)):
        flagged = [group for group in groups if group.conflict or group.leak or group.cross_source]
        conflicts = Counter(name for group in groups for name in group.conflict_categories)
        conflict_text = (f"{sum(group.conflict for group in groups):,} with conflicting labels"
                         + (" (" + ", ".join(f"on {name} {conflicts.get(name, 0):,}" for name in rows.categories) + ")"
                            if rows.categories else ""))
        lines.append(f"{title}: {len(groups):,} groups, {sum(len(group.rows) for group in groups):,} rows; "
                     f"{conflict_text}, "
                     f"{sum(group.leak for group in groups):,} across training and validation, "
                     f"{sum(group.cross_source for group in groups):,} across sources.")
        for group in (flagged or groups)[:examples]:
            lines.append("  group: " + ", ".join(f"{label} ×{count}" for label, count in group.labels.items())
                         + "".join(f" [{flag}]" for flag, on in ((_conflict_flag(group), group.conflict),
                                                                  ("leak", group.leak),
                                                                  ("cross-source", group.cross_source)) if on))
            for row in group.rows[:examples]:
                lines.append(f"    {rows.label_text(row):>10}  {rows.splits[row]:<10}  {rows.where(row)}  "
                             f"{_short(rows.texts[row])}")
    lines.append(f"Leaks between training and validation: {counts['leaking_groups']:,} groups, "
                 f"{counts['leaking_validation_rows']:,} validation rows with a copy in training.")
    for figure in result.per_source:
        shares = (category_audit.describe_source_categories(figure) if rows.categories else
                  ", ".join(f"{label} {share:.0%}" for label, share in figure["label_shares"].items()))
        disagreement = ("" if figure["disagreement_share"] is None else
                        f"; disagrees with other sources on {figure['disagreement_share']:.0%} of "
                        f"{figure['rows_shared_with_other_sources']:,} shared texts")
        lines.append(f"Source {figure['source']}: {figure['rows']:,} rows ({shares}), median length "
                     f"{figure['median_length']:g} characters, {figure['flagged_share']:.1%} flagged{disagreement}.")
    for figure in result.votes:
        lines.append(f"Crowd votes in {Path(figure['file']).name}: {figure['split']:,} of {figure['rows']:,} rows "
                     f"not unanimous, {figure['contested']:,} without a majority above half.")
    return lines


def _conflict_flag(group: DuplicateGroup) -> str:
    return "conflict on " + ", ".join(group.conflict_categories) if group.conflict_categories else "conflict"


def _short(text: str, width: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"

