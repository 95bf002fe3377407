"""The decision log as files: the current decision per text as a training file (text, label, and on
request who decided, when, with which model, in which queue; a multi-label model's decisions as text and
one yes/no column per category instead of label), and a report of texts that two
moderators labelled differently. A text's current decision is its latest adjudication (a lead's final
label, kind 'adjudication') unless that was undone, else its latest row: the same rule for exports,
retraining from decisions and a run's corrections (`latest_decisions`). Both are written by the one atomic-output helper
(core/files/atomic.py) that `label` uses: a hidden temporary file beside the destination, claimed under
its name only when complete, removed when the export fails or is interrupted and, when a killed export
left it, at the next start for the same output; the file gets the user's usual permissions. An existing
file is replaced only when the caller says so. `excel_safe` neutralises cells that a spreadsheet would
run as formulas, as `label --excel-safe` does."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable

from moderator_app.core.errors import DataError, OutputNotWritableError, SettingsError
from moderator_app.core.files.atomic import atomic_output
from moderator_app.core.files.writers import neutralise_formula
from moderator_app.core.review.decision import COLUMNS, decision_from_row

PROVENANCE_COLUMNS = ("moderator", "decided_at", "model", "model_id", "queue")
CONFLICT_COLUMNS = ("text", "moderator", "label", "decided_at", "model", "queue")


@dataclass(frozen=True)
class ExportFilter:
    """Which decisions count. Each is optional; dates are ISO (2026-11-30 or with a time), inclusive."""

    queue: str | None = None
    moderator: str | None = None
    since: str | None = None
    until: str | None = None
    model: str | None = None  # a model identity, or the folder/hub id it was loaded from

    def where(self) -> tuple[str, list]:
        conditions, parameters = ["kind IN ('decision', 'revert', 'adjudication')"], []
        if self.queue:
            conditions.append("(queue = ? OR queue_id = (SELECT id FROM queues WHERE name = ?))")
            parameters += [self.queue, self.queue]
        if self.moderator:
            conditions.append("moderator = ?")
            parameters.append(self.moderator)
        if self.since:
            conditions.append("decided_at >= ?")
            parameters.append(_checked_date(self.since, "since"))
        if self.until:
            until = _checked_date(self.until, "until")
            conditions.append("decided_at <= ?")
            parameters.append(until + "\uffff" if len(until) == 10 else until)  # a whole day
        if self.model:
            conditions.append("(model_id = ? OR model_name = ?)")
            parameters += [self.model, self.model]
        return " AND ".join(conditions), parameters


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    rows: int
    undone: int = 0  # texts whose latest decision was undone back to undecided: not exported


# An adjudication is undone by a `revert` row that points at it (core.review.team.undo_adjudication):
# the adjudications undone, and the rows that undo one (neither is a moderator's decision)
UNDONE_ROWS = "SELECT reverts FROM decisions WHERE kind = 'revert' AND reverts IS NOT NULL"
ADJUDICATION_UNDOS = ("SELECT undo.id FROM decisions AS undo JOIN decisions AS undone ON undone.id = undo.reverts "
                      "WHERE undo.kind = 'revert' AND undone.kind = 'adjudication'")


def latest_decisions(store, where: ExportFilter) -> tuple[list, int]:
    """(the current decided row per text under the filter, how many texts' current row is undecided): a
    text's latest adjudication wins over any decision, before or after it; without one, its latest row.
    When its latest adjudication was undone, the text has none: its latest row that is neither an
    adjudication nor an adjudication's undo (an earlier adjudication that the undone one replaced does
    not come back)."""
    condition, parameters = where.where()
    latest_adjudication = "MAX(CASE WHEN kind = 'adjudication' THEN id END)"
    rows = store.connection.execute(
        f"SELECT {COLUMNS} FROM decisions WHERE id IN (SELECT CASE WHEN {latest_adjudication} IN ({UNDONE_ROWS}) "
        f"THEN MAX(CASE WHEN kind <> 'adjudication' THEN id END) ELSE COALESCE({latest_adjudication}, MAX(id)) END "
        f"FROM decisions WHERE {condition} AND id NOT IN ({ADJUDICATION_UNDOS}) GROUP BY text) ORDER BY id",
        parameters).fetchall()
    decisions = [decision_from_row(row) for row in rows]
    kept = [decision for decision in decisions if decision.decided]
    return kept, len(decisions) - len(kept)


def export_decisions(store, destination: str | Path, where: ExportFilter, provenance: bool = False,
                     overwrite: bool = True, excel_safe: bool = False) -> ExportSummary:
    """The current decision of each text as `text,label` (+ PROVENANCE_COLUMNS): a file the Training
    tab and `train --data` accept as it is."""
    destination = _checked_destination(store, destination, overwrite)
    decisions, undone = latest_decisions(store, where)
    categories = decision_categories(decisions, ("text", *(PROVENANCE_COLUMNS if provenance else ())))
    if categories is None:
        header = ["text", "label"]
        rows = [[decision.text, decision.moderator_label] for decision in decisions]
    else:  # a multi-label model's decisions: one yes/no column per category
        header = ["text", *categories]
        rows = [[decision.text, *category_values(decision, categories)] for decision in decisions]
    if provenance:
        header += PROVENANCE_COLUMNS
        for row, decision in zip(rows, decisions):
            row += [decision.moderator, decision.decided_at, decision.model_name, decision.model_id, decision.queue]
    write_csv_atomically(destination, header, rows, overwrite, excel_safe)
    return ExportSummary(destination, len(decisions), undone)


def decision_categories(decisions: list, reserved: tuple[str, ...] = ("text",)) -> list[str] | None:
    """The categories of multi-label `decisions` (their models' categories, in the order first seen), as
    the columns of their export; None when they are single-label. Decisions of both kinds cannot share
    one file, and a category cannot take the name of another column: both refused, saying what to do."""
    multi = sum(decision.multi_label for decision in decisions)
    if not multi:
        return None
    if multi < len(decisions):
        raise DataError(f"The decisions to export mix {multi:,} of multi-label models (a set of categories each) "
                        f"and {len(decisions) - multi:,} of single-label models (one label each); one file "
                        "cannot hold both.", "Export one model's decisions: give {model} (or {queue}).",
                        setting="model")
    categories = list(dict.fromkeys(name for decision in decisions for name in decision.categories))
    taken = [name for name in categories if name in reserved]
    if taken:
        provenance = taken[0] != "text"
        raise DataError(f"The model's category {taken[0]!r} has the name of another column of the export.",
                        "Export without {provenance}." if provenance else "Rename the category (id2label in the "
                        "model's config.json) and train again.", setting="provenance" if provenance else None)
    return categories


def category_values(decision, categories: list[str]) -> list[str]:
    """Per category, the moderator's "yes" or "no"; "" (unknown) for a category the decision's model did
    not have, so that a training run masks it out rather than reading it as "no"."""
    chosen, known = set(decision.moderator_categories or ()), set(decision.categories)
    return ["yes" if name in chosen else "no" if name in known else "" for name in categories]


def decisions_per_moderator(store, where: ExportFilter) -> dict[str, dict]:
    """Each moderator's current decision of each text under the filter, {text: {moderator: Decision}}
    by text then moderator: their latest decision that was not undone. (An undo row restores the text's
    label from before, which may be another moderator's: it is not the undoing moderator's own call.)"""
    condition, parameters = where.where()
    rows = store.connection.execute(
        f"SELECT {COLUMNS} FROM decisions WHERE id IN (SELECT MAX(id) FROM decisions WHERE {condition} "
        "AND kind = 'decision' AND id NOT IN (SELECT reverts FROM decisions WHERE kind = 'revert' "
        "AND reverts IS NOT NULL) GROUP BY text, moderator) ORDER BY text, moderator", parameters).fetchall()
    by_text: dict[str, dict] = {}
    for row in rows:
        decision = decision_from_row(row)
        if decision.decided:
            by_text.setdefault(decision.text, {})[decision.moderator] = decision
    return by_text


def conflicts(store, where: ExportFilter) -> list[tuple]:
    """Rows (CONFLICT_COLUMNS) of texts whose moderators' current labels differ, by text then moderator."""
    return [(decision.text, decision.moderator, decision.moderator_label, decision.decided_at, decision.model_name,
             decision.queue)
            for decisions in decisions_per_moderator(store, where).values()
            if len({decision.moderator_label for decision in decisions.values()}) > 1
            for decision in decisions.values()]


def export_conflicts(store, destination: str | Path, where: ExportFilter, overwrite: bool = True,
                     excel_safe: bool = False) -> ExportSummary:
    destination = _checked_destination(store, destination, overwrite)
    found = conflicts(store, where)
    write_csv_atomically(destination, list(CONFLICT_COLUMNS), found, overwrite, excel_safe)
    return ExportSummary(destination, len({row[0] for row in found}))


def write_csv_atomically(destination: Path, header: list[str], rows: Iterable, overwrite: bool = True,
                         excel_safe: bool = False) -> None:
    """The CSV written whole under `destination` or not at all (core/files/atomic.py)."""
    if excel_safe:
        header = [neutralise_formula(name) for name in header]
        rows = ([neutralise_formula(value) for value in row] for row in rows)
    with atomic_output(destination, overwrite) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)


def _checked_destination(store, destination: str | Path, overwrite: bool) -> Path:
    destination = Path(destination)
    if destination.resolve() == Path(store.path).resolve():
        raise OutputNotWritableError(f"{destination} is the decision store itself.", "Choose a CSV file to export to.")
    if destination.is_dir():
        raise OutputNotWritableError(f"{destination} is a folder.", "Choose a CSV file to export to.")
    if destination.exists() and not overwrite:
        raise OutputNotWritableError(f"{destination} exists already; it was left as it is.",
                                     "Choose another {output} or allow replacing it with {overwrite}.")
    if not destination.parent.is_dir():
        raise OutputNotWritableError(f"The folder of {destination} does not exist.", "Choose an existing folder.")
    return destination


def _checked_date(value: str, setting: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"'{value}' is not a date.", f"Give {{{setting}}} as YYYY-MM-DD.", setting=setting) from None
    return value
