"""Which column holds the text (and the label): one rule for training, labelling and the Review import,
so that the same file gets the same columns everywhere."""

from __future__ import annotations

from typing import Sequence

from moderator_app.core.files.formats import DataFileError

# In order of preference: a file with both `text` and `comment` columns gets `text`.
TEXT_COLUMN_NAMES = ("text", "tweet", "comment", "sentence", "content", "message", "body", "post")
LABEL_COLUMN_NAMES = ("label", "labels", "class", "ishate", "is_hate", "hate", "target", "category")


def _normalised(name: str) -> str:
    return str(name).strip().lower()


def guess_column(columns: Sequence[str], known_names: Sequence[str]) -> str | None:
    """The first of `known_names` (case and surrounding spaces ignored) that names exactly one
    column; None when a preferred name is shared by several columns (ambiguous) or none matches."""
    normalised = [_normalised(column) for column in columns]
    for candidate in known_names:
        matches = [column for column, name in zip(columns, normalised) if name == candidate]
        if len(matches) == 1:
            return matches[0]
        if matches:
            return None
    return None


def guess_text_column(columns: Sequence[str]) -> str | None:
    """The text column: the most preferred well-known name, else the only column, else None."""
    guess = guess_column(columns, TEXT_COLUMN_NAMES)
    if guess is None and len(columns) == 1:
        return columns[0]
    return guess


def guess_label_column(columns: Sequence[str]) -> str | None:
    return guess_column(columns, LABEL_COLUMN_NAMES)


def find_column(columns: Sequence[str], requested: str, source: object, setting: str) -> int:
    """Position of the column the user named: the exact name, else the only case-insensitive match.
    A name that several columns share is refused (which one would be meant?)."""
    listing = ", ".join(repr(column) for column in columns)
    matches = [index for index, column in enumerate(columns) if column == requested]
    if not matches:
        matches = [index for index, column in enumerate(columns) if _normalised(column) == _normalised(requested)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DataFileError(f"{source}: no column named {requested!r}; the columns are {listing}.",
                            f"Choose one with {{{setting}}}.", setting=setting)
    raise DataFileError(f"{source}: {len(matches)} columns are named {requested!r}.",
                        "Rename one of them so that each column has its own name.", setting=setting)


def resolve_column(columns: Sequence[str], requested: str | None, source: object, role: str = "text") -> int:
    """Position of the `role` ("text" or "label") column: the one asked for, else the guess. Raises
    DataFileError when the choice is ambiguous or nothing fits, naming the columns."""
    setting = f"{role}_column"
    if requested:
        return find_column(columns, requested, source, setting)
    known = TEXT_COLUMN_NAMES if role == "text" else LABEL_COLUMN_NAMES
    guess = guess_text_column(columns) if role == "text" else guess_label_column(columns)
    if guess is not None:
        return list(columns).index(guess)
    listing = ", ".join(repr(column) for column in columns)
    shared = [name for name in known if sum(_normalised(c) == name for c in columns) > 1]
    if shared:
        raise DataFileError(f"{source}: {sum(_normalised(c) == shared[0] for c in columns)} columns are named "
                            f"{shared[0]!r}; which column holds the {role}?",
                            f"Rename the columns so that each has its own name, or choose one with {{{setting}}}.",
                            setting=setting)
    examples = ", ".join(known[:3])
    raise DataFileError(f"{source}: which column holds the {role}? None is named {examples} …; "
                        f"the columns are {listing}.", f"Choose it with {{{setting}}}.", setting=setting)


def resolve_text_column(columns: Sequence[str], requested: str | None, source: object) -> int:
    return resolve_column(columns, requested, source, "text")
