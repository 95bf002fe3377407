"""A file's rows as the items of a review queue: the text column, and every other column kept beside
it (an id, an author, a URL) so the moderator can show them in the table and they travel with the
queue. Reads with core.files' sources (CSV/TSV, JSON Lines, Parquet, TXT one item per line)."""

from __future__ import annotations

from pathlib import Path

from moderator_app.core.review.queues import QueueItems

CHUNK_ROWS = 1024


def read_queue_items(path: str | Path, column: str | None, limit: int) -> QueueItems:
    """The items of `path` (text from `column`, or the guessed text column) with its other columns, at
    most `limit` of them: a longer file is refused (it is for batch labelling), and so is a file with
    rows that cannot be read (none is dropped silently)."""
    from moderator_app.core.files.columns import resolve_text_column
    from moderator_app.core.files.formats import DataFileError, detect_format
    from moderator_app.core.files.previews import as_cell
    from moderator_app.core.files.readers import describe_bad_rows, open_source

    fmt = detect_format(path)
    source = open_source(fmt, CHUNK_ROWS)
    position = resolve_text_column(source.columns, column or None, fmt.path)
    others = [index for index in range(len(source.columns)) if index != position]
    texts: list[str] = []
    extras: list[list[str]] = []
    for chunk in source.chunks():
        chunk_texts = [as_cell(value) for value in source.texts(chunk, position)]
        columns = [source.texts(chunk, index) for index in others]
        texts.extend(chunk_texts)
        extras.extend([as_cell(values[row]) for values in columns] for row in range(len(chunk_texts)))
        if len(texts) > limit:
            raise DataFileError(f"{path}: has more than {limit:,} rows, too many for the table.",
                                "Batch-label it to a file instead.")
    if source.bad_rows:
        raise DataFileError(f"{path}: {len(source.bad_rows):,} rows cannot be read: "
                            f"{describe_bad_rows(source.bad_rows)}.", "Fix them and try again.")
    return QueueItems(texts, extras, [str(source.columns[index]) for index in others])
