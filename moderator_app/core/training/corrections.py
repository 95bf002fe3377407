"""The moderator's label corrections as an override of training rows' labels.

A run with `corrections_queue` set reads the current decision per text in that Review queue (its
latest row, or a lead's adjudication when there is one: the same rule as exporting decisions and
retraining from them, `core/review/export.latest_decisions`)
and gives every training row with exactly that text the moderator's label. Only labels the run
already has are applied; the data report counts what was relabelled, confirmed, unmatched and why
a decision was not used. Nothing is dropped here: leaving a row out is the moderator's choice,
made in the file.

A multi-label run (`categories`) takes the decisions of a multi-label model, each the set of categories the
moderator says apply: every row with the decision's text gets, for each category the decision's model had
(and the run has), yes when the set holds it and no when it does not — also where the file left it unknown,
since the moderator answered for every category the model showed (`apply_category_corrections`). A category
the decision's model did not have keeps the file's value; a single-label decision says nothing about
categories and is counted, not used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moderator_app.core.errors import DataError
from moderator_app.core.review.export import ExportFilter, latest_decisions
from moderator_app.core.review.store import DecisionStore, is_server_url, store_location


def store_corrections(queue: str, store_path: str | Path | None = None) -> dict[str, str]:
    """text -> the moderator's current label, over the decisions of the Review queue `queue`
    (every queue when empty)."""
    return {decision.text: decision.moderator_label for decision in store_decisions(queue, store_path)}


def store_category_corrections(queue: str, categories: list[str],
                               store_path: str | Path | None = None) -> tuple[dict[str, dict[str, int]], int]:
    """(text -> {category: 1 yes / 0 no} for the run's `categories` the decision's model had, over the current
    multi-label decisions of `queue`; how many current decisions there are of single-label models, not used)."""
    decided, single_label = {}, 0
    for decision in store_decisions(queue, store_path):
        if not decision.multi_label:
            single_label += 1
            continue
        chosen = set(decision.moderator_categories or ())
        values = {name: int(name in chosen) for name in decision.categories if name in categories}
        if values:
            decided[decision.text] = values
    return decided, single_label


def store_decisions(queue: str, store_path: str | Path | None = None) -> list:
    """The current decision per text (core.review.export.latest_decisions) of the Review queue `queue`
    (every queue when empty)."""
    path = store_location(store_path)
    if not is_server_url(str(store_path or "")) and not Path(path).is_file():
        raise DataError(f"There is no decision store at {path}, so there are no corrections to apply.",
                        "Review the suspects in the Review tab first, or clear {corrections_queue}.",
                        setting="corrections_queue")
    store = DecisionStore(store_path if is_server_url(str(store_path or "")) else path)
    try:
        if queue and store.queues.find(queue) is None and not store.connection.execute(
                "SELECT 1 FROM decisions WHERE queue = ? LIMIT 1", (queue,)).fetchone():
            raise DataError(f"The decision store {path} has no queue called {queue!r}.",
                            "Choose a queue of the Review tab in {corrections_queue}.", setting="corrections_queue")
        decisions, _undone = latest_decisions(store, ExportFilter(queue=queue or None))
    finally:
        store.close()
    return decisions


def load_config_corrections(config) -> dict[str, Any] | None:
    """The corrections a configuration asks for, or None when it asks for none."""
    queue = getattr(config, "corrections_queue", "") or ""
    if not queue.strip():
        return None
    categories = list(getattr(config, "categories", None) or [])
    if categories:
        values, single_label = store_category_corrections(queue.strip(), categories)
        return {"queue": queue.strip(), "categories": values, "single_label": single_label}
    return {"queue": queue.strip(), "labels": store_corrections(queue.strip())}


def apply_category_corrections(texts: list[str], targets: list[list[int]], categories: list[str],
                               corrections: dict[str, Any] | None, summary: dict[str, Any] | None = None
                               ) -> dict[str, Any]:
    """A multi-label run's corrections: replace, in place, the values (`targets`, rows x `categories` of 1, 0,
    UNKNOWN) of every row whose text the moderator decided, for the categories the decision gives. Returns
    (and updates) the summary the data report shows: rows relabelled (a value changed) and confirmed."""
    if not corrections:
        return summary or {}
    decided = corrections["categories"]
    if not summary:
        summary = dict(queue=corrections["queue"], decisions=len(decided), relabelled=0, confirmed=0,
                       unknown_label=0, matched_texts=set(), kind="categories",
                       single_label_decisions=corrections.get("single_label", 0))
    positions = {name: index for index, name in enumerate(categories)}
    for row, text in enumerate(texts):
        values = decided.get(text)
        if values is None:
            continue
        summary["matched_texts"].add(text)
        changed = False
        for name, value in values.items():
            if targets[row][positions[name]] != value:
                targets[row][positions[name]] = value
                changed = True
        summary["relabelled" if changed else "confirmed"] += 1
    return summary


def apply_corrections(texts: list[str], labels: list[str], corrections: dict[str, Any] | None,
                      known: set[str] | None = None, summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """Replace, in place, the label of every row whose text the moderator corrected; `known` (default:
    the labels present) are the labels a correction may give. Returns (and updates) the summary the data
    report shows."""
    if not corrections:
        return summary or {}
    decided = corrections["labels"]
    known = set(labels) if known is None else known
    if summary is None:
        summary = dict(queue=corrections["queue"], decisions=len(decided), relabelled=0, confirmed=0,
                       unknown_label=0, matched_texts=set())
    for position, text in enumerate(texts):
        label = decided.get(text)
        if label is None:
            continue
        summary["matched_texts"].add(text)
        if label not in known:
            summary["unknown_label"] += 1
        elif label == labels[position]:
            summary["confirmed"] += 1
        else:
            labels[position] = label
            summary["relabelled"] += 1
    return summary


def describe_corrections(summary: dict[str, Any]) -> str:
    """One line for the data report."""
    matched = summary["matched_texts"]
    matched = len(matched) if isinstance(matched, set) else int(matched)
    given = "categories (yes / no per category the decision's model had)" \
        if summary.get("kind") == "categories" else "label"
    line = (f"corrections from the Review queue {summary['queue']!r}: {summary['decisions']:,} decisions; "
            f"{summary['relabelled']:,} rows take the moderator's {given} instead of the file's, "
            f"{summary['confirmed']:,} keep theirs (confirmed)")
    if summary.get("single_label_decisions"):
        line += (f"; {summary['single_label_decisions']:,} decisions of a single-label model say nothing about the "
                 "categories: not used")
    if summary["unknown_label"]:
        line += f", {summary['unknown_label']:,} left as they are (the decision's label is not one of the run's)"
    unmatched = summary["decisions"] - matched
    if unmatched > 0:
        line += f"; {unmatched:,} decisions match no row's text"
    return line + "."


def finished(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as plain JSON values (the report is saved with the run)."""
    if not summary:
        return {}
    done = dict(summary)
    done["matched_texts"] = len(done["matched_texts"]) if isinstance(done["matched_texts"], set) else done["matched_texts"]
    return done
