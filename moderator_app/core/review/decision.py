"""One row of the decision log (a moderator's decision or an undo) and how it is read from the
`decisions` table: what the store and its exports both read, kept apart from
the store so that the exports need not import the store that uses them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

DECISION, REVERT = "decision", "revert"
COLUMNS = ("text, model_label, model_score, moderator_label, model_id, decided_at, moderator, model_name, threshold, "
           "probabilities, note, category, queue, queue_id, kind, reverts, uid, id")
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


def decision_from_row(row) -> Decision:
    """A Decision from a `SELECT {COLUMNS}` row."""
    values = dict(zip(COLUMNS.split(", "), row))
    if values["probabilities"] is not None:
        values["probabilities"] = json.loads(values["probabilities"])
    return Decision(**values)


def new_uid() -> str:
    return uuid.uuid4().hex
