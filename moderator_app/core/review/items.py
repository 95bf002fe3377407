"""A file's rows as the items of a review queue: the text column, and every other column kept beside
it (an id, an author, a URL) so the moderator can show them in the table and they travel with the
queue. Reads with the labeller's sources (CSV/TSV, JSON Lines, Parquet); a TXT file is one item per
non-empty line."""

from __future__ import annotations

from pathlib import Path

from moderator_app.core.errors import DataError
from moderator_app.core.review.queues import QueueItems

CHUNK_ROWS = 1024


def cell_text(value) -> str:
    return "" if value is None else str(value)


def read_queue_items(path: str | Path, column: str | None, limit: int) -> QueueItems:
    """The items of `path` (text from `column`, or the guessed text column), at most `limit` of them:
    a longer file is refused (it is for batch labelling)."""
    too_many = DataError(f"{path}: has more than {limit:,} rows, too many for the table.",
                         "Batch-label it to a file instead.")
    if Path(path).suffix.lower() == ".txt":
        from moderator_app.core.files.formats import detect_encoding

        texts: list[str] = []
        with open(path, encoding=detect_encoding(Path(path)), errors="replace") as handle:
            for line in handle:
                if line.strip():
                    texts.append(line.rstrip("\r\n"))
                    if len(texts) > limit:
                        raise too_many
        return QueueItems(texts, [[] for _ in texts], [])

    from moderator_app.core.files.formats import detect_format
    from moderator_app.core.inference.labelling import SOURCES, resolve_text_column

    fmt = detect_format(path)
    source = SOURCES[fmt.kind](fmt, CHUNK_ROWS)
    position = resolve_text_column(source.columns, column or None, fmt.path)
    others = [index for index in range(len(source.columns)) if index != position]
    texts, extras = [], []
    for chunk in source.chunks():
        texts.extend(cell_text(value) for value in source.texts(chunk, position))
        columns = [source.texts(chunk, index) for index in others]
        extras.extend([cell_text(values[row]) for values in columns] for row in range(len(columns[0]) if columns else
                                                                                       len(texts) - len(extras)))
        if len(texts) > limit:
            raise too_many
    return QueueItems(texts, extras, [str(source.columns[index]) for index in others])
