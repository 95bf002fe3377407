"""A file's rows as the items of a review queue: the text column, and every other column kept beside
it (an id, an author, a URL) so the moderator can show them in the table and they travel with the
queue. Reads with core.files' sources (CSV/TSV, JSON Lines, Parquet, TXT one item per line)."""

from __future__ import annotations

from pathlib import Path

from moderator_app.core.files.previews import read_rows
from moderator_app.core.review.queues import QueueItems


def read_queue_items(path: str | Path, column: str | None, limit: int) -> QueueItems:
    """The items of `path` (text from `column`, or the guessed text column) with its other columns, at
    most `limit` of them (core.files.previews.read_rows refuses longer files and unreadable rows)."""
    return QueueItems(*read_rows(path, column, limit))
