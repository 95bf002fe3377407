"""One row of the decision log (a moderator's decision or an undo) and how it is read from the
`decisions` table: what the store and its exports both read, kept apart from
the store so that the exports need not import the store that uses them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace

DECISION, REVERT = "decision", "revert"
COLUMNS = ("text, model_label, model_score, moderator_label, model_id, decided_at, moderator, model_name, threshold, "
           "probabilities, note, category, queue, queue_id, kind, reverts, moderator_categories, model_categories, "
           "category_thresholds, uid, id")
JSON_COLUMNS = ("probabilities", "moderator_categories", "model_categories", "category_thresholds")
WRITTEN = COLUMNS.rsplit(", ", 1)[0].split(", ")  # all but id


@dataclass(frozen=True)
class Decision:
    """One row of the decision log. `moderator_label` None: an undo left the text undecided."""

    text: str
    model_label: str
    model_score: float | None
    moderator_label: str | None
    model_id: str  # the model's identity (model_info.model_identity), not its folder
    decided_at: str = ""
    moderator: str = ""
    model_name: str = ""  # where the model was loaded from, for people to read
    threshold: float | None = None
    probabilities: dict[str, float] | None = None
    note: str = ""
    category: str = ""
    queue: str = ""  # the queue's name when decided
    queue_id: int | None = None
    kind: str = DECISION
    reverts: int | None = None  # the row an undo reverts
    # a multi-label model's decision (store version 8; None for a single-label one): the set of categories
    # the moderator says apply (empty: none of them; None in an undo back to undecided), the set the model
    # flagged, and the per-category thresholds it flagged them at. `moderator_label` and `model_label` then
    # hold the same sets as text (multi_label_text), so that "decided", "accepted" and the label-keyed
    # lookups work for both kinds alike
    moderator_categories: tuple[str, ...] | None = None
    model_categories: tuple[str, ...] | None = None
    category_thresholds: dict[str, float] | None = None
    # made when the decision is (by the client, not the store): a write retried after a lost connection
    # carries the same uid, and the store keeps the decision once (None: a row from before store version 5)
    uid: str | None = field(default_factory=lambda: new_uid())
    id: int | None = None

    @property
    def accepted(self) -> bool:
        return self.model_label == self.moderator_label

    @property
    def decided(self) -> bool:
        return self.moderator_label is not None

    @property
    def multi_label(self) -> bool:
        return self.model_categories is not None

    @property
    def categories(self) -> list[str]:
        """A multi-label decision's model's categories, in its order (the probabilities it was shown)."""
        known = list(self.probabilities or {})
        extra = [name for name in (*(self.model_categories or ()), *(self.moderator_categories or ()))
                 if name not in known]
        return known + extra


def decision_from_row(row) -> Decision:
    """A Decision from a `SELECT {COLUMNS}` row."""
    values = dict(zip(COLUMNS.split(", "), row))
    for name in JSON_COLUMNS:
        if values[name] is not None:
            values[name] = json.loads(values[name])
    for name in ("moderator_categories", "model_categories"):
        if values[name] is not None:
            values[name] = tuple(values[name])
    return Decision(**values)


def stored_values(decision: Decision) -> list:
    """The WRITTEN columns' values of `decision`, the JSON ones as text."""
    values = [getattr(decision, name) for name in WRITTEN]
    for name in JSON_COLUMNS:
        position = WRITTEN.index(name)
        if values[position] is not None:
            values[position] = json.dumps(list(values[position]) if isinstance(values[position], tuple)
                                          else values[position])
    return values


def undo_of(reverted: Decision, earlier: Decision | None, moderator: str, note: str = "") -> Decision:
    """The `revert` row (not stored yet) that undoes `reverted`: the text's label for that model back to
    `earlier`'s (with the model's label, score and thresholds it was made against), or undecided when
    there is no earlier decision. The store's Undo and an adjudication's undo (core.review.team) both
    write one; each chooses which row is `earlier`."""
    if earlier is None:
        restored = replace(reverted, moderator_label=None, moderator_categories=None)
    else:
        restored = replace(reverted, moderator_label=earlier.moderator_label, model_label=earlier.model_label,
                           model_score=earlier.model_score, threshold=earlier.threshold,
                           probabilities=earlier.probabilities, moderator_categories=earlier.moderator_categories,
                           model_categories=earlier.model_categories,
                           category_thresholds=earlier.category_thresholds)
    return replace(restored, moderator=moderator, decided_at="", note=note, category="", kind=REVERT,
                   reverts=reverted.id, uid=new_uid(), id=None)


NO_CATEGORY = "(none)"  # a multi-label decision that no category applies, as text
CATEGORY_SEPARATOR = ";"  # as `label`'s predicted_labels column joins them


def multi_label_text(categories) -> str:
    """A set of categories (in the model's order) as the log's label text: "hate;offensive", or "(none)"."""
    return CATEGORY_SEPARATOR.join(categories) if categories else NO_CATEGORY


def categories_of_text(text: str) -> tuple[str, ...]:
    """The categories of a multi_label_text()."""
    return () if text in ("", NO_CATEGORY) else tuple(text.split(CATEGORY_SEPARATOR))


def new_uid() -> str:
    return uuid.uuid4().hex
