"""The data audit of a multi-label run (`TrainingConfig.categories`), category by category.

Each row of such a run has, per category, yes (1), no (0) or unknown (UNKNOWN, -1: the source does not label
that category, or its rule left the cell unknown). The audit treats each category as a binary yes/no label on
the rows where it is known, and only there:

- likely label errors: the single-label machinery (`label_issues.find_issues`: the same out-of-sample views
  and cleanlab ranking) on that category's known rows, from the embeddings computed once for all categories.
  A row unknown for a category is neither flagged for it nor evidence about it. A suspect names its
  category, the given yes/no, the suggested one and the score;
- duplicates: a group conflicts on a category when two of its rows know it and one says yes, the other no
  (a yes beside an unknown is no conflict: the other source does not say);
- per source: yes / no / unknown counts per category, and the share of its known rows flagged per category.

Leaks across training and validation, sources and the Davidson vote splits do not depend on the labels and
are found as for one label per row (`audit.py`)."""

from __future__ import annotations

from collections import Counter
from statistics import median
from typing import Any, Callable

import numpy as np

from moderator_app.core.audit.duplicates import cross_source_disagreements
from moderator_app.core.audit.embeddings import AuditCancelled
from moderator_app.core.audit.label_issues import FOLDS, LabelIssues, find_issues
from moderator_app.core.evaluation.categories import UNKNOWN

NO, YES = "no", "yes"
VALUE_NAMES = {1: YES, 0: NO, UNKNOWN: "unknown"}
BINARY = [NO, YES]  # a category's label ids: 0 no, 1 yes


def value_name(value: int) -> str:
    return VALUE_NAMES.get(int(value), "unknown")


def row_text(categories: list[str], values: np.ndarray) -> str:
    """A row's values as one short text: "hate yes, offensive ?" (? = unknown)."""
    return ", ".join(f"{name} {YES if value == 1 else NO if value == 0 else '?'}"
                     for name, value in zip(categories, values))


def find_category_issues(features, values: np.ndarray, categories: list[str], texts: list[str], seed: int,
                         neighbour_columns: int | None, views, report: Callable[[str, int, int], None],
                         cancelled: Callable[[], bool]) -> dict[str, LabelIssues]:
    """Per category: label_issues.find_issues on the rows that know it (yes 1 / no 0). The LabelIssues' rows
    are those known rows; `known_rows(values, index)` maps them back."""
    found = {}
    for index, name in enumerate(categories):
        if cancelled():
            raise AuditCancelled("The audit was cancelled; nothing was written.")
        known = known_rows(values, index)
        labels = values[known, index].astype(int)
        counts = np.bincount(labels, minlength=2)
        if counts.min() < 2:  # say it in the category's words, not as "label 1"
            missing = BINARY[int(np.argmin(counts))]
            found[name] = LabelIssues(np.full((len(known), 2), np.nan), np.ones(len(known)),
                                      np.zeros(0, dtype=int), 0,
                                      note=f"'{name}' has {counts.min()} known '{missing}' row(s); cross-validation "
                                           "needs at least 2 of each, so no label errors were looked for in it")
            continue
        stage = f"cross-validating '{name}'"
        report(stage, 0, 1)
        found[name] = find_issues(np.asarray(features)[known], labels, 2, seed=seed, texts=[texts[row] for row in known],
                                  neighbour_columns=neighbour_columns, views=views,
                                  report=lambda done, total, stage=stage: report(stage, done, total),
                                  cancelled=cancelled)
    return found


def known_rows(values: np.ndarray, index: int) -> np.ndarray:
    """The rows whose value for category `index` is yes or no, in row order."""
    return np.flatnonzero(values[:, index] != UNKNOWN)


def category_suspects(values: np.ndarray, categories: list[str], issues: dict[str, LabelIssues], make) -> list:
    """Every category's flagged rows as `make(row, given, suggested, score, category)`, the highest score first
    (a row may be a suspect for two categories)."""
    suspects = []
    for index, name in enumerate(categories):
        found = issues[name]
        known = known_rows(values, index)
        for local in found.flagged:
            row = int(known[local])
            suspects.append(make(row, BINARY[int(values[row, index])], BINARY[found.suggested(int(local))],
                                 found.score(int(local)), name))
    return sorted(suspects, key=lambda item: -item.score)


def mark_conflicts(groups: list, values: np.ndarray, categories: list[str]) -> None:
    """Set each duplicate group's conflict per category (two rows knowing it, yes against no) and its label
    counts per category ("hate yes": rows), in place: a yes beside an unknown is not a conflict."""
    for group in groups:
        conflicting, counts = [], Counter()
        for index, name in enumerate(categories):
            seen = {int(values[row, index]) for row in group.rows} - {UNKNOWN}
            if seen == {0, 1}:
                conflicting.append(name)
            for row in group.rows:
                counts[f"{name} {value_name(values[row, index])}"] += 1
        group.conflict_categories = conflicting
        group.conflict = bool(conflicting)
        group.labels = dict(counts)


def category_notes(issues: dict[str, LabelIssues]) -> dict[str, str]:
    return {name: found.note for name, found in issues.items() if found.note}


def used_views_and_folds(issues: dict[str, LabelIssues], views) -> tuple[tuple[str, ...], int]:
    """The views averaged and the folds, for the method text (those of the categories that were audited)."""
    audited = [found for found in issues.values() if found.views]
    return (audited[0].views if audited else tuple(views)), max((found.folds for found in audited), default=FOLDS)


def category_source_figures(result) -> list[dict[str, Any]]:
    """Per source: rows, lengths, yes / no / unknown and flagged per category, and the rows it shares with
    other sources (duplicate groups) whose known value for a category another source's row contradicts."""
    rows = result.rows
    values, categories = rows.category_values, rows.categories
    flagged = Counter((rows.sources[item.row], item.category) for item in result.suspects)
    flagged_rows = Counter(rows.sources[row] for row in {item.row for item in result.suspects})
    known_and_different = (lambda row, other: any(
        values[row, index] != UNKNOWN and values[other, index] != UNKNOWN and values[row, index] != values[other, index]
        for index in range(len(categories))))
    shared, disagree = cross_source_disagreements([*result.exact, *result.near], rows.sources, known_and_different)
    figures = []
    for source, name in enumerate(rows.source_names):
        members = [row for row, index in enumerate(rows.sources) if index == source]
        if not members:
            continue
        per_category = {}
        for index, category in enumerate(categories):
            column = values[members, index]
            yes, no = int((column == 1).sum()), int((column == 0).sum())
            count = flagged.get((source, category), 0)
            per_category[category] = dict(yes=yes, no=no, unknown=len(members) - yes - no, flagged=count,
                                          flagged_share=round(count / (yes + no), 4) if yes + no else None)
        lengths = [len(rows.texts[row]) for row in members]
        figures.append(dict(
            source=name, rows=len(members), categories=per_category,
            median_length=median(lengths), mean_length=round(sum(lengths) / len(lengths), 1),
            flagged=flagged_rows.get(source, 0), flagged_share=round(flagged_rows.get(source, 0) / len(members), 4),
            rows_shared_with_other_sources=shared.get(source, 0),
            disagreeing_with_other_sources=disagree.get(source, 0),
            disagreement_share=round(disagree[source] / shared[source], 4) if shared.get(source) else None))
    return figures


def describe_source_categories(figure: dict[str, Any]) -> str:
    """One source's per-category counts as the report prints them."""
    parts = []
    for name, counts in figure["categories"].items():
        share = "" if counts["flagged_share"] is None else f", {counts['flagged_share']:.1%} flagged"
        parts.append(f"{name} yes {counts['yes']:,} / no {counts['no']:,} / unknown {counts['unknown']:,}{share}")
    return "; ".join(parts)
