"""A team on one decision store: queues assigned to moderators, a share of a queue reviewed blind by a
second moderator (core.review.double_review draws it), the disagreements between moderators and a
lead's final label for them (an adjudication).

Who is a lead is not checked: the app has no accounts, and a desktop app on a shared database has no
access control. Any moderator may assign a queue, set its double review or adjudicate; the store
records who did (the assignment's and the double review's `*_by`, the adjudication's `moderator`).

An adjudication is a row of the decision log of kind 'adjudication' (who, when, which model and
threshold, like any decision); the decisions before it stay. It is the text's current decision in
exports, retraining from decisions and a run's corrections (core.review.export.latest_decisions),
whatever is decided after it, until a later adjudication. A disagreement is a text whose moderators'
current decisions (each one's latest, not undone) differ; it is settled by an adjudication made after
the last of them.

A lead takes an adjudication back as a moderator takes back a decision: a `revert` row pointing at it
(who, when; the adjudication stays in the log). Only the text's latest adjudication can be undone, and
once it is, the text has no final label: the disagreement is open again and the moderators' decisions
count in exports as before it (an earlier adjudication that it replaced does not come back; record
that label again if it is the right one)."""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, replace

from moderator_app.core.errors import SettingsError
from moderator_app.core.review.connection import now, store_errors, transaction, write_advice
from moderator_app.core.review.decision import (COLUMNS, DECISION, NO_CATEGORY, REVERT, Decision, categories_of_text,
                                                decision_from_row, multi_label_text, new_uid, undo_of)
from moderator_app.core.review.double_review import DoubleReview, blind_texts, double_review, sampled
from moderator_app.core.review.export import ExportFilter, decisions_per_moderator
from moderator_app.core.review.queues import Queue, QueueError

ADJUDICATION = "adjudication"

MINE, ALL, SECOND_LOOK = "mine", "all", "second look"
VIEWS = {MINE: "Mine", ALL: "All", SECOND_LOOK: "Needs a second look"}


@dataclass(frozen=True)
class Disagreement:
    """A text whose moderators' current labels differ: their decisions (by moderator), and the
    adjudication that settled it (None: not settled)."""

    text: str
    decisions: dict[str, Decision]
    adjudication: Decision | None = None

    @property
    def settled(self) -> bool:
        return self.adjudication is not None

    @property
    def labels(self) -> list[str]:
        return sorted({decision.moderator_label for decision in self.decisions.values()})


@dataclass(frozen=True)
class SecondLook:
    """What waits in a queue for a moderator's second look: double-review items decided by another
    moderator and not by them (`blind`), and the queue's disagreements not settled yet."""

    queue: Queue
    blind: int
    disagreements: int

    @property
    def total(self) -> int:
        return self.blind + self.disagreements

    def describe(self) -> str:
        parts = ([f"{self.blind:,} to review blind"] if self.blind else []) + (
            [f"{self.disagreements:,} disagreement{'s' if self.disagreements != 1 else ''} to settle"]
            if self.disagreements else [])
        return ", ".join(parts) or "nothing waiting"


def _names(moderators) -> list[str]:
    names = [name.strip() for name in moderators if name and name.strip()]
    return list(dict.fromkeys(names))


def _queue(store, queue: int | str) -> Queue:
    """A queue by id or name; an unknown one is a QueueError naming it."""
    queues = store.queues
    queue_id = queue if isinstance(queue, int) else queues.find(queue)
    if queue_id is None:
        raise QueueError(f"The decision store {store.path} has no queue called '{queue}'.",
                         "Give a queue's name as the queue list shows it (decisions disagreements lists them).")
    return queues.get(queue_id, progress=False)


@contextmanager
def _writing(store, what: str):
    """One write transaction; a store that cannot be written is a QueueError saying what was not done."""
    try:
        with transaction(store.connection):
            yield
    except store_errors() as error:
        raise QueueError(f"Cannot {what} in {store.path}: {error}.", write_advice(store.path)) from None


# ------------------------------------------------------------------------------ assignment
def assign(store, queue: int | str, moderators, by: str = "", replace_all: bool = True) -> Queue:
    """Assign the queue to `moderators` (with `replace_all`, instead of those it was assigned to; an
    empty list unassigns it)."""
    found, names = _queue(store, queue), _names(moderators)
    with _writing(store, "assign the queue"):
        if replace_all:
            store.connection.execute("DELETE FROM queue_assignments WHERE queue_id = ?", (found.id,))
        for name in names:
            store.connection.execute(
                "INSERT INTO queue_assignments (queue_id, moderator, assigned_by, assigned_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (queue_id, moderator) DO NOTHING", (found.id, name, by, now()))
    return store.queues.get(found.id)


def assigned_to(store, moderator: str) -> set[int]:
    return {queue_id for queue_id, in store.connection.execute(
        "SELECT queue_id FROM queue_assignments WHERE moderator = ?", (moderator,))}


# ------------------------------------------------------------------------------ double review
def check_share(share: float) -> float:
    if not isinstance(share, (int, float)) or math.isnan(share) or not 0 < share <= 1:
        raise SettingsError(f"A double review's share must be above 0 and at most 1 (10 % is 0.1), not {share}.",
                            "Give {share} between 0 and 1, e.g. 0.1.", setting="share")
    return float(share)


def set_double_review(store, queue: int | str, share: float | None, seed: int = 0, by: str = "") -> DoubleReview | None:
    """Have `share` of the queue's items reviewed blind by a second moderator (None: no double review;
    the decisions already made stay)."""
    found = _queue(store, queue)
    if share is not None:
        share = check_share(share)
    with _writing(store, "set the queue's double review"):
        store.connection.execute(
            "INSERT INTO queue_review (queue_id, double_share, double_seed, double_set_by, double_set_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (queue_id) DO UPDATE SET double_share = excluded.double_share, "
            "double_seed = excluded.double_seed, double_set_by = excluded.double_set_by, "
            "double_set_at = excluded.double_set_at", (found.id, share, int(seed), by, now()))
    return double_review(store.connection, found.id)


def sample(store, queue: int | str) -> list[str]:
    """The queue's texts drawn for its double review (in queue order)."""
    found = _queue(store, queue)
    return sampled(double_review(store.connection, found.id), found.id, store.queues.items(found.id).texts)


def hide_blind(store, queue_id: int | None, moderator: str, current: dict, earlier: dict) -> tuple[dict, dict]:
    """A table's decisions (store.lookup_for_review's two halves) without those `moderator` is blind to."""
    blind = blind_texts(store.connection, queue_id, moderator, [*current, *earlier])
    if not blind:
        return current, earlier
    return ({text: found for text, found in current.items() if text not in blind},
            {text: found for text, found in earlier.items() if text not in blind})


def is_blind(store, text: str, queue_id: int | None, moderator: str) -> bool:
    return text in blind_texts(store.connection, queue_id, moderator, [text])


def visible_history(store, text: str, queue_id: int | None, moderator: str) -> list[Decision]:
    """The log rows about `text`, as `moderator` may see them: only their own while they are blind to it."""
    rows = store.history(text)
    if is_blind(store, text, queue_id, moderator):
        return [row for row in rows if row.moderator == moderator]
    return rows


# ------------------------------------------------------------------------------ disagreements
def disagreements(store, queue: str | None = None, settled: bool | None = False,
                  where: ExportFilter | None = None) -> list[Disagreement]:
    """Texts whose moderators' current decisions differ (under the queue's or `where`'s filter), the
    oldest first; `settled` False: only those not settled yet, True: only settled, None: all."""
    if queue is not None:
        _queue(store, queue)
    where = where or ExportFilter(queue=queue)
    found = []
    for text, by_moderator in decisions_per_moderator(store, where).items():
        if len({decision.moderator_label for decision in by_moderator.values()}) < 2:
            continue
        last = max(decision.id for decision in by_moderator.values())
        row = store.connection.execute(
            f"SELECT {COLUMNS} FROM decisions WHERE text = ? AND kind = ? AND id > ? ORDER BY id DESC LIMIT 1",
            (text, ADJUDICATION, last)).fetchone()
        adjudication = None if row is None else decision_from_row(row)
        if adjudication is not None and undo_of_adjudication(store, adjudication) is not None:
            adjudication = None  # undone: open again (an adjudication that it replaced does not come back)
        disagreement = Disagreement(text, by_moderator, adjudication)
        if settled is None or disagreement.settled == settled:
            found.append(disagreement)
    found.sort(key=lambda item: min(decision.id for decision in item.decisions.values()))
    return found


def adjudicate(store, text: str, label: str, moderator: str, queue: str | None = None, note: str = "") -> Decision:
    """Record `label` as the final label of `text` (an adjudication by `moderator`), against the model and
    threshold of the text's latest decision. The label must be one the model or a moderator gave."""
    if queue is not None:
        _queue(store, queue)
    row = store.connection.execute(
        f"SELECT {COLUMNS} FROM decisions WHERE text = ? AND kind = ? AND moderator_label IS NOT NULL "
        f"{'AND (queue = ? OR queue_id = (SELECT id FROM queues WHERE name = ?)) ' if queue else ''}"
        "ORDER BY id DESC LIMIT 1", (text, DECISION, *((queue, queue) if queue else ()))).fetchone()
    if row is None:
        where = f" in the queue '{queue}'" if queue else ""
        raise SettingsError(f"No moderator has decided the text {text[:60]!r}{where}; there is nothing to adjudicate.",
                            "Give a text as `decisions disagreements` lists it.", setting="text")
    latest = decision_from_row(row)
    if latest.multi_label:  # the final set of categories, given as the log writes one ("hate;offensive", "(none)")
        chosen = categories_of_text(label)
        unknown = [name for name in chosen if name not in latest.categories]
        if unknown:
            raise SettingsError(f"'{unknown[0]}' is not a category of this text's model "
                                f"({', '.join(latest.categories)}).", "Give {label} as the categories that apply, "
                                f"joined by ';', or '{NO_CATEGORY}' for none of them.", setting="label")
        ordered = tuple(name for name in latest.categories if name in chosen)
        return store.record(replace(latest, moderator_label=multi_label_text(ordered), moderator_categories=ordered,
                                    moderator=moderator, decided_at="", note=note, category="", kind=ADJUDICATION,
                                    reverts=None, uid=new_uid(), id=None))
    known = set(latest.probabilities or ()) | {latest.model_label} | {
        label for label, in store.connection.execute(
            "SELECT DISTINCT moderator_label FROM decisions WHERE text = ? AND moderator_label IS NOT NULL", (text,))}
    if label not in known:
        raise SettingsError(f"'{label}' is not a label of this text's model or decisions ({', '.join(sorted(known))}).",
                            "Give {label} as one of those.", setting="label")
    return store.record(replace(latest, moderator_label=label, moderator=moderator, decided_at="", note=note,
                                category="", kind=ADJUDICATION, reverts=None, uid=new_uid(), id=None))


def latest_adjudication(store, text: str, queue: str | None = None) -> Decision | None:
    """The latest adjudication of `text` (recorded in the queue, when given), undone or not."""
    row = store.connection.execute(
        f"SELECT {COLUMNS} FROM decisions WHERE text = ? AND kind = ? "
        f"{'AND (queue = ? OR queue_id = (SELECT id FROM queues WHERE name = ?)) ' if queue else ''}"
        "ORDER BY id DESC LIMIT 1", (text, ADJUDICATION, *((queue, queue) if queue else ()))).fetchone()
    return None if row is None else decision_from_row(row)


def undo_of_adjudication(store, adjudication: Decision) -> Decision | None:
    """The row that undid `adjudication` (None: it stands). Read through the text's index: an undo row
    is about the same text."""
    row = store.connection.execute(
        f"SELECT {COLUMNS} FROM decisions WHERE text = ? AND kind = ? AND reverts = ? ORDER BY id LIMIT 1",
        (adjudication.text, REVERT, adjudication.id)).fetchone()
    return None if row is None else decision_from_row(row)


def undo_adjudication(store, text: str, moderator: str, queue: str | None = None, note: str = "",
                      adjudication_id: int | None = None) -> Decision:
    """Undo the final label of `text`: its latest adjudication (in the queue, when given), which must not
    be undone already (with `adjudication_id`, it must be that row: the one a view showed). Appends a
    `revert` row by `moderator` pointing at it, which puts the text's label for that model back to its
    latest decision that is not an adjudication (None: undecided), so the table shows the moderators'
    decision again; returns that row."""
    if queue is not None:
        _queue(store, queue)
    short = repr(text[:60])
    latest = latest_adjudication(store, text, queue)
    if latest is None:
        where = f" in the queue '{queue}'" if queue else ""
        raise SettingsError(f"No lead has adjudicated the text {short}{where}; there is no final label to undo.",
                            "Give a text that has a final label, as the settled disagreements list it.",
                            setting="text")
    undone = undo_of_adjudication(store, latest)
    if undone is not None:
        raise SettingsError(f"The final label '{latest.moderator_label}' of {short} was undone already (by "
                            f"{undone.moderator or 'an unknown moderator'}, {_when(undone)}); the text has no "
                            "final label now.", "Record a final label again if the text needs one.", setting="text")
    if adjudication_id is not None and latest.id != adjudication_id:
        raise SettingsError(f"The final label shown for {short} is not its current one: "
                            f"{latest.moderator or 'a moderator'} recorded '{latest.moderator_label}' since "
                            f"({_when(latest)}).",
                            "Reload the disagreements, then undo the current final label if it is wrong.",
                            setting="text")
    earlier = store.connection.execute(  # the text's latest row for the model, adjudications and their undos aside
        f"SELECT {COLUMNS} FROM decisions WHERE text = ? AND model_id = ? AND kind <> ? AND NOT (kind = ? AND reverts "
        "IS NOT NULL AND reverts IN (SELECT id FROM decisions WHERE text = ? AND kind = ?)) ORDER BY id DESC LIMIT 1",
        (text, latest.model_id, ADJUDICATION, REVERT, text, ADJUDICATION)).fetchone()
    return store.record(undo_of(latest, None if earlier is None else decision_from_row(earlier), moderator, note))


def _when(decision: Decision) -> str:
    return decision.decided_at[:16].replace("T", " ")


# ------------------------------------------------------------------------------ the queue list
def second_looks(store, moderator: str) -> list[SecondLook]:
    """The queues where something waits for `moderator`'s second look, the most recent first."""
    found = []
    for queue in store.queues.all(moderator):
        texts = store.queues.items(queue.id).texts
        blind = blind_texts(store.connection, queue.id, moderator, texts)
        waiting = 0
        if blind:
            decided_by_others = {text for text, in store.connection.execute(
                "SELECT DISTINCT d.text FROM queue_items q JOIN decisions d ON d.text = q.text WHERE q.queue_id = ? "
                "AND d.kind = 'decision' AND d.moderator <> ? AND d.moderator_label IS NOT NULL",
                (queue.id, moderator))}
            waiting = len(blind & decided_by_others)
        open_disagreements = len(disagreements(store, queue.name))
        if waiting or open_disagreements:
            found.append(SecondLook(queue, waiting, open_disagreements))
    return found


def queue_view(store, view: str, moderator: str) -> list[tuple[Queue, str]]:
    """The queue list of `view` (MINE, ALL, SECOND_LOOK) for `moderator`: each queue with its line's
    text ("N of M reviewed", and what waits for a second look)."""
    if view == SECOND_LOOK:
        return [(look.queue, f"{look.queue.progress}; {look.describe()}") for look in second_looks(store, moderator)]
    queues = store.queues.all(moderator)
    if view == MINE:
        mine = assigned_to(store, moderator)
        queues = [queue for queue in queues if queue.id in mine]
    return [(queue, queue.progress) for queue in queues]
