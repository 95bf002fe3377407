"""The data audit: likely label errors, duplicates, leaks between training and validation, and figures
per source, over the rows exactly as a training run reads them (same sources, columns, label maps,
corrections and validation split: `core/training/data.load_training_data`).

`run_audit(config)` reads the data, embeds every text with the run's base encoder (or the `embed`
function given), finds label issues by cross-validation and cleanlab (`label_issues`), duplicate and
near-duplicate groups (`duplicates`) and the per-source figures; `report(stage, done, total)` is
called as it goes and `cancelled()` asked between steps and batches (AuditCancelled: nothing was
written). Nothing is written here; `AuditReport.to_dict()` is what `audit --json` saves.

A multi-label configuration (`categories`) is refused in one line (`check_single_label`): every part of the
audit — label issues by a given and a suggested label, duplicates whose labels conflict, label shares per
source, the suspects' Review queue, the corrected copy — reads one label per row, which such a run's rows do
not have (a yes / no / unknown per category)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any, Callable

import numpy as np

from moderator_app.core.audit.duplicates import DuplicateGroup, describe_groups, exact_groups, near_groups, normalise
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

    @property
    def labels(self) -> list[str]:
        return [self.label_names[index] for index in self.label_ids]

    def where(self, row: int) -> str:
        file_index, file_row = self.origins[row]
        return f"{Path(self.origin_files[file_index]).name} row {file_row}"


@dataclass
class Suspect:
    row: int
    given: str
    suggested: str
    score: float  # 1 - the out-of-sample probability of the given label


@dataclass
class AuditReport:
    rows: AuditRows
    suspects: list[Suspect]
    issues: LabelIssues | None
    exact: list[DuplicateGroup]
    near: list[DuplicateGroup]
    per_source: list[dict[str, Any]]
    votes: list[dict[str, Any]]
    seconds: dict[str, float] = field(default_factory=dict)
    method: str = ""

    @property
    def leaks(self) -> list[DuplicateGroup]:
        return [group for group in [*self.exact, *self.near] if group.leak]

    @property
    def conflicts(self) -> list[DuplicateGroup]:
        return [group for group in [*self.exact, *self.near] if group.conflict]

    def row_dict(self, row: int) -> dict[str, Any]:
        rows = self.rows
        file_index, file_row = rows.origins[row]
        return dict(text=rows.texts[row], label=rows.label_names[rows.label_ids[row]], split=rows.splits[row],
                    source=rows.source_names[rows.sources[row]], file=rows.origin_files[file_index], row=file_row)

    def to_dict(self) -> dict[str, Any]:
        def group(item: DuplicateGroup) -> dict[str, Any]:
            return dict(kind=item.kind, conflict=item.conflict, leak=item.leak, cross_source=item.cross_source,
                        similarity=round(item.similarity, 3), labels=item.labels,
                        rows=[self.row_dict(row) for row in item.rows])

        return dict(
            labels=self.rows.label_names, rows=len(self.rows.texts),
            training_rows=self.rows.splits.count(TRAINING), validation_rows=self.rows.splits.count(VALIDATION),
            method=self.method, seconds=self.seconds,
            note=self.issues.note if self.issues is not None else "",
            counts=self.counts(),
            suspects=[dict(self.row_dict(item.row), given=item.given, suggested=item.suggested,
                           score=round(item.score, 4)) for item in self.suspects],
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
                    split_votes=sum(item["split"] for item in self.votes))


# ------------------------------------------------------------------------------------------------
def check_single_label(config) -> None:
    """Refuse a multi-label configuration: the audit's every finding is about one label per row."""
    categories = list(getattr(config, "categories", None) or [])
    if categories:
        raise SettingsError(f"The audit checks one label per row; this is a multi-label run (categories: "
                            f"{', '.join(categories)}), whose rows have a yes, no or unknown per category.",
                            "Audit each source on its own single label column instead: its file with its "
                            "{label_column}, in a configuration without categories.", setting="categories")


def audit_rows(config) -> AuditRows:
    """The rows of a training configuration, read and split exactly as training does."""
    check_single_label(config)
    # lazy for start-up speed: the Training tab imports this module as the window opens (the Audit page); the data
    # loader comes with an audit
    from moderator_app.core.training.data import load_training_data

    data = load_training_data(config)
    texts = list(data.train["text"]) + list(data.validation["text"])
    label_ids = np.array(list(data.train["label"]) + list(data.validation["label"]), dtype=int)
    splits = [TRAINING] * len(data.train) + [VALIDATION] * len(data.validation)
    if data.source_names:
        sources, names = list(data.train_sources) + list(data.validation_sources), list(data.source_names)
    else:
        sources, names = [0] * len(texts), [Path(str(config.train_file)).stem or str(config.train_file)]
    return AuditRows(texts, label_ids, list(data.label_names), splits, sources, names, list(data.origin_files),
                     list(data.train_origin) + list(data.validation_origin), data.report)


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

    check_single_label(config)  # before the data is read, whatever `rows` were given
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
    seconds["duplicates"] = time.perf_counter() - started
    check()

    started = time.perf_counter()
    features = embed(rows.texts, lambda done, total: report("embedding the texts", done, total), cancelled)
    seconds["embed"] = time.perf_counter() - started
    check()
    started = time.perf_counter()
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


# ------------------------------------------------------------------------------------------------
def per_source_figures(result: AuditReport) -> list[dict[str, Any]]:
    rows = result.rows
    flagged = Counter(rows.sources[item.row] for item in result.suspects)
    # per source: rows in a duplicate group with another source's rows, and those whose label another source's differs from
    shared, disagree = Counter(), Counter()
    for group in [*result.exact, *result.near]:
        if not group.cross_source:
            continue
        for row in group.rows:
            others = [other for other in group.rows if rows.sources[other] != rows.sources[row]]
            shared[rows.sources[row]] += 1
            if any(rows.label_ids[other] != rows.label_ids[row] for other in others):
                disagree[rows.sources[row]] += 1
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
    lines = [f"Audited {len(rows.texts):,} rows ({rows.splits.count(TRAINING):,} training, "
             f"{rows.splits.count(VALIDATION):,} validation) of {', '.join(rows.source_names)}; labels "
             f"{', '.join(rows.label_names)}.",
             f"Likely label errors: {counts['suspects']:,}"
             + (f" ({result.issues.note})" if result.issues is not None and result.issues.note else "")
             + f"  [{result.method}]"]
    corrections = getattr(rows.data_report, "corrections", None)
    if corrections:  # the labels audited are the corrected ones: say so, as the data report does
        from moderator_app.core.training.corrections import describe_corrections

        lines.insert(1, f"Labels read with the {describe_corrections(corrections)}")
    for item in result.suspects[:top]:
        lines.append(f"  {item.score:.3f}  {item.given} -> {item.suggested}  {rows.where(item.row)}  "
                     f"{_short(rows.texts[item.row])}")
    for title, groups in (("Exact duplicates (after normalisation)", result.exact), ("Near-duplicates", result.near)):
        flagged = [group for group in groups if group.conflict or group.leak or group.cross_source]
        lines.append(f"{title}: {len(groups):,} groups, {sum(len(group.rows) for group in groups):,} rows; "
                     f"{sum(group.conflict for group in groups):,} with conflicting labels, "
                     f"{sum(group.leak for group in groups):,} across training and validation, "
                     f"{sum(group.cross_source for group in groups):,} across sources.")
        for group in (flagged or groups)[:examples]:
            lines.append("  group: " + ", ".join(f"{label} ×{count}" for label, count in group.labels.items())
                         + "".join(f" [{flag}]" for flag, on in (("conflict", group.conflict), ("leak", group.leak),
                                                                  ("cross-source", group.cross_source)) if on))
            for row in group.rows[:examples]:
                lines.append(f"    {rows.labels[row]:>10}  {rows.splits[row]:<10}  {rows.where(row)}  "
                             f"{_short(rows.texts[row])}")
    lines.append(f"Leaks between training and validation: {counts['leaking_groups']:,} groups, "
                 f"{counts['leaking_validation_rows']:,} validation rows with a copy in training.")
    for figure in result.per_source:
        shares = ", ".join(f"{label} {share:.0%}" for label, share in figure["label_shares"].items())
        disagreement = ("" if figure["disagreement_share"] is None else
                        f"; disagrees with other sources on {figure['disagreement_share']:.0%} of "
                        f"{figure['rows_shared_with_other_sources']:,} shared texts")
        lines.append(f"Source {figure['source']}: {figure['rows']:,} rows ({shares}), median length "
                     f"{figure['median_length']:g} characters, {figure['flagged_share']:.1%} flagged{disagreement}.")
    for figure in result.votes:
        lines.append(f"Crowd votes in {Path(figure['file']).name}: {figure['split']:,} of {figure['rows']:,} rows "
                     f"not unanimous, {figure['contested']:,} without a majority above half.")
    return lines


def _short(text: str, width: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"

