"""Blind double review: which of a queue's items a second moderator reviews without seeing the first
decision, and which of them are still hidden from a moderator.

The sample is drawn reproducibly, without a random generator's state: an item is in it when a hash of
the seed, the queue's id and the item's text falls below the share (SHA-256, read as a number in
[0, 1)). Drawing again gives the same items; a larger share keeps the items of a smaller one; an item
added to the queue later is in or out by the same rule; the same text is in or out wherever it stands in
the queue. A moderator is blind to an item of the sample until they have decided it themselves: their
table shows it undecided, and its history shows none of the others' decisions; once they decide it,
everything shows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class DoubleReview:
    """A queue's double review: the share of its items drawn, and the seed of the draw."""

    share: float
    seed: int = 0
    set_by: str = ""
    set_at: str = ""


def draw(seed: int, queue_id: int, text: str) -> float:
    """The item's place in [0, 1): in the sample when below the share."""
    digest = hashlib.sha256(f"{seed}\x1f{queue_id}\x1f{text}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def sampled(review: DoubleReview | None, queue_id: int, texts: Iterable[str]) -> list[str]:
    """The texts of `texts` (each once, in their order) drawn for the double review."""
    if review is None:
        return []
    return [text for text in dict.fromkeys(texts) if draw(review.seed, queue_id, text) < review.share]


def double_review(connection, queue_id: int) -> DoubleReview | None:
    row = connection.execute("SELECT double_share, double_seed, double_set_by, double_set_at FROM queue_review "
                             "WHERE queue_id = ?", (queue_id,)).fetchone()
    if row is None or row[0] is None:
        return None
    return DoubleReview(row[0], row[1], row[2], row[3] or "")


def decided_by(connection, queue_id: int, moderator: str) -> set[str]:
    """The texts of the queue that `moderator` has decided (a decision row of theirs, in any queue)."""
    return {text for text, in connection.execute(
        "SELECT DISTINCT d.text FROM queue_items q JOIN decisions d ON d.text = q.text "
        "WHERE q.queue_id = ? AND d.moderator = ? AND d.kind = 'decision'", (queue_id, moderator))}


def blind_texts(connection, queue_id: int | None, moderator: str, texts: Iterable[str] | None = None) -> set[str]:
    """The texts (of `texts`, or all the queue's) whose other decisions `moderator` may not see yet:
    drawn for the queue's double review and not decided by them."""
    if queue_id is None:
        return set()
    review = double_review(connection, queue_id)
    if review is None:
        return set()
    if texts is None:
        texts = [text for text, in connection.execute("SELECT text FROM queue_items WHERE queue_id = ?", (queue_id,))]
    return set(sampled(review, queue_id, texts)) - decided_by(connection, queue_id, moderator)
