"""Training sources: the files of one run, each with its own columns, label map, weight and cap.

A source is a JSON object in the configuration's `sources` list (`TrainingConfig.sources`):

    {"path": "davidson.csv", "text_column": "tweet", "label_column": "class",
     "label_map": {"0": "hate", "1": "not-hate", "2": "not-hate"}, "weight": 1.0, "max_rows": 3000}

Only `path` is required. `vote_columns` and `votes` train on annotators' vote counts
(`core/training/votes`). A source with a `validation_path` (read with the same columns and map) is
validated on that file instead of a stratified split of its own rows. The single `train_file` of a configuration is one more source (the first),
read with the configuration's `text_column` and `label_column`. A source's short form on one line
(`PATH;label_map={…};text_column=tweet`, what the command line takes) is parsed here too, so every
front end agrees.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moderator_app.core.errors import UserError, shown
from moderator_app.core.evaluation.category_rules import category_rules_problem
from moderator_app.core.evaluation.label_map import parse_label_map

VOTE_MODES = ("soft", "drop_split", "majority")
SOURCE_KEYS = ("path", "text_column", "label_column", "label_map", "score_threshold", "weight", "max_rows",
               "validation_path", "vote_columns", "votes", "categories")
# A multi-label run (TrainingConfig.categories): how a source labels each category (core/evaluation/category_rules)
MAX_CATEGORIES = 50
# single-label settings of a source that a multi-label run does not read (its categories rules say it all)
SINGLE_LABEL_KEYS = ("label_map", "vote_columns", "votes")


@dataclass(frozen=True)
class Source:
    """One training file and how to read it. `label_map` is the raw map (dict, JSON text or a file)."""

    path: str
    text_column: str = ""
    label_column: str = ""
    label_map: Any = None
    score_threshold: float = 0.5
    weight: float = 1.0
    max_rows: int | None = None
    validation_path: str = ""
    vote_columns: Any = None  # {column: label or null}, or its JSON text (core/training/votes)
    votes: str = ""  # soft, drop_split or majority; "" is soft when there are vote columns
    categories: Any = None  # a multi-label run: {category: rule} (core/training/category_data)
    name: str = field(default="", compare=False)  # how reports and metrics name it (the file's name)

    def to_dict(self) -> dict[str, Any]:
        data = {key: getattr(self, key) for key in SOURCE_KEYS}
        return {key: value for key, value in data.items() if value not in ("", None)}


def source_problem(entry: Any, position: int) -> str | None:
    """What is wrong with one entry of the sources list (1-based `position`), or None."""
    where = f"source {position}"
    if not isinstance(entry, dict):
        return f"{where} must be an object with a 'path', got {shown(entry)}"
    unknown = sorted(set(entry) - set(SOURCE_KEYS))
    if unknown:
        return f"{where} has the key '{unknown[0]}', which is none of {', '.join(SOURCE_KEYS)}"
    path = entry.get("path")
    if not isinstance(path, str) or not path.strip():
        return f"{where} needs a 'path' (a data file)"
    for key in ("text_column", "label_column", "validation_path"):
        if not isinstance(entry.get(key, ""), str):
            return f"{where} ({path}): '{key}' must be a column name, got {shown(entry[key])}"
    threshold = entry.get("score_threshold", 0.5)
    if not _is_number(threshold) or not 0.0 < threshold < 1.0:
        return f"{where} ({path}): 'score_threshold' must be a number between 0 and 1, got {shown(threshold)}"
    weight = entry.get("weight", 1.0)
    if not _is_number(weight) or not 0.0 < weight <= 100.0:
        return f"{where} ({path}): 'weight' must be a number above 0 and at most 100, got {shown(weight)}"
    max_rows = entry.get("max_rows")
    if max_rows is not None and (not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 2):
        return f"{where} ({path}): 'max_rows' must be a whole number of at least 2, got {shown(max_rows)}"
    problem = vote_problem(entry) or category_rules_problem(entry.get("categories"))
    if problem:
        return f"{where} ({path}): {problem}"
    label_map = entry.get("label_map")
    if label_map not in (None, ""):
        try:
            parse_label_map(label_map)
        except UserError as error:
            return f"{where} ({path}): {str(error).rstrip('.')}"
    return None


def parse_vote_columns(value: Any) -> dict[str, str | None]:
    """The `vote_columns` of a source (an object, or its JSON text from the command line's short form)
    as {column: label or None}; raises ValueError saying what is wrong."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"'vote_columns' is not a JSON object: {value!r}") from None
    if not isinstance(value, dict) or not value:
        raise ValueError(f"'vote_columns' must map vote-count columns to labels, got {value!r}")
    for column, label in value.items():
        if not isinstance(column, str) or not (label is None or isinstance(label, str) and label.strip()):
            raise ValueError(f"'vote_columns' must map column names to a label or null, got {column!r}: {label!r}")
    if all(label is None for label in value.values()):
        raise ValueError("'vote_columns' maps every column to null; name the label each one counts for")
    return {column: label if label is None else label.strip() for column, label in value.items()}


def vote_problem(entry: dict) -> str | None:
    """What is wrong with a source's vote settings, or None."""
    mode = entry.get("votes")
    if mode is not None and mode not in VOTE_MODES:
        return f"'votes' must be one of {', '.join(VOTE_MODES)}, got {mode!r}"
    if entry.get("vote_columns") in (None, "", {}):
        # a source with category rules is a multi-label run's: categories_problem says what 'votes' is there
        return "'votes' needs 'vote_columns' (the vote-count columns and their labels)" \
            if mode and not entry.get("categories") else None
    try:
        parse_vote_columns(entry["vote_columns"])
    except ValueError as error:
        return str(error)
    return None


def category_names_problem(value: Any) -> str | None:
    """What is wrong with a configuration's `categories` list, or None."""
    if not isinstance(value, list):
        return f"expected a list of category names, got {shown(value)}"
    if len(value) > MAX_CATEGORIES:
        return f"at most {MAX_CATEGORIES} categories, got {len(value)}"
    for name in value:
        if not isinstance(name, str) or not name.strip() or name != name.strip() or ";" in name:
            return f"each category must be a name without ';' or spaces around it, got {shown(name)}"
    repeated = sorted({name for name in value if value.count(name) > 1})
    if repeated:
        return f"the category '{repeated[0]}' is named twice"
    if len(value) == 1:
        return ("a multi-label run needs at least two categories; for one, train a single-label model "
                f"('{value[0]}' or not)")
    return None


def categories_problem(categories: list, sources: list[Source]) -> tuple[str, str] | None:
    """(setting, what is wrong) when the run's categories and its sources' category rules do not fit
    together, or None: a rule for a category the run does not have, a source of a multi-label run that
    labels none (or carries single-label settings it would not read), a category no source labels."""
    if not categories:
        labelled = next((position for position, source in enumerate(sources, start=1) if source.categories), None)
        if labelled is not None:
            return ("categories", f"source {labelled} ({sources[labelled - 1].path}) has category rules, but the run "
                                  "has no categories; name them (e.g. hate, offensive) to train a multi-label model")
        return None
    for position, source in enumerate(sources, start=1):
        where = f"source {position} ({source.path})"
        if not source.categories:
            return ("sources", f"{where} labels none of the categories ({', '.join(categories)}); give it "
                               "'categories' rules (a multi-label run reads every file as a source with them)")
        stray = [name for name in source.categories if name not in categories]
        if stray:
            return ("sources", f"{where}: category '{stray[0]}' is not one of the run's categories "
                               f"({', '.join(categories)})")
        single = [key for key in SINGLE_LABEL_KEYS if getattr(source, key) not in (None, "", {})]
        if single and single[0] in ("vote_columns", "votes"):  # soft targets are a single-label loss's
            return ("sources", f"{where}: '{single[0]}' (vote shares as soft targets) is for single-label runs; a "
                               "multi-label run reads votes as yes/no per category: a rule {\"votes\": COLUMN, "
                               "\"rule\": \"at_least_one\"} or {\"votes\": COLUMN, \"total\": COLUMN, \"rule\": "
                               "\"majority\"} in the source's 'categories'")
        if single:
            return ("sources", f"{where}: '{single[0]}' is a single-label setting that a multi-label run does not "
                               "read; say how the source labels each category in its 'categories' rules")
    unlabelled = [name for name in categories if not any(name in (source.categories or {}) for source in sources)]
    if unlabelled:
        return ("categories", f"no source labels the category '{unlabelled[0]}'; give a source a rule for it "
                              "or leave it out")
    return None


def sources_problem(value: Any) -> str | None:
    """What is wrong with a configuration's `sources` list, or None."""
    if not isinstance(value, list):
        return f"expected a list of sources, got {shown(value)}"
    for position, entry in enumerate(value, start=1):
        problem = source_problem(entry, position)
        if problem:
            return problem
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def training_sources(config) -> list[Source]:
    """Every source of a configuration, the `train_file` first, named uniquely by their file names."""
    entries = []
    if config.train_file.strip():
        entries.append(dict(path=config.train_file, text_column=config.text_column,
                            label_column=config.label_column))
    for entry in config.sources:
        entry = dict(entry)
        entry.setdefault("text_column", config.text_column)
        entry.setdefault("label_column", config.label_column)
        entries.append(entry)
    names = _unique_names([str(entry["path"]) for entry in entries])
    return [Source(path=str(entry["path"]), text_column=entry.get("text_column") or "",
                   label_column=entry.get("label_column") or "", label_map=entry.get("label_map"),
                   score_threshold=float(entry.get("score_threshold", 0.5)), weight=float(entry.get("weight", 1.0)),
                   max_rows=entry.get("max_rows"), validation_path=entry.get("validation_path") or "",
                   vote_columns=entry.get("vote_columns") or None, votes=entry.get("votes") or "",
                   categories=entry.get("categories") or None, name=name)
            for entry, name in zip(entries, names)]


def repeated_source(sources: list[Source]) -> str | None:
    """The same file as two sources (`--data X --data X`, a path written two ways, a link) would train
    every row of it twice without a word; a user who wants that gives it weight 2. Says which, or None."""
    seen: list[tuple[str, int]] = []
    for position, source in enumerate(sources, start=1):
        for other, other_position in seen:
            if _same_file(other, source.path):
                return (f"{source.path} is given twice as a training source (sources {other_position} and "
                        f"{position}); every row of it would be trained twice")
        seen.append((source.path, position))
    return None


def _same_file(one: str, other: str) -> bool:
    first, second = Path(one).expanduser(), Path(other).expanduser()
    try:
        return os.path.samefile(first, second)
    except OSError:  # not both files on disk (a hub id, a missing file): the same name is the same source
        return one.strip() == other.strip()


def _unique_names(paths: list[str]) -> list[str]:
    """A short name per path: the file's stem, with its folder (or a number) where two would collide."""
    stems = [Path(path).stem or path for path in paths]
    names = []
    for index, (path, stem) in enumerate(zip(paths, stems)):
        if stems.count(stem) == 1:
            names.append(stem)
        else:
            parent = Path(path).parent.name
            names.append(f"{parent}/{stem}" if parent else f"{stem}-{index + 1}")
    return names


# ------------------------------------------------------------------------------------------------
# The short form of a source: PATH;key=value;… on one line
# ------------------------------------------------------------------------------------------------
class SourceFormError(ValueError):
    """A source's short form that does not parse; the message says which part and why."""


def parse_source_form(text: str) -> dict[str, Any]:
    """`PATH;key=value;…` as a source object. A `;` inside a JSON label map is allowed: the map's value
    runs to its closing brace."""
    parts = _split_form(text)
    if not parts or not parts[0].strip():
        raise SourceFormError(f"{text!r} names no file; write PATH;key=value;…")
    entry: dict[str, Any] = {"path": parts[0].strip()}
    for part in parts[1:]:
        if not part.strip():
            continue
        key, equals, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or key not in SOURCE_KEYS[1:]:
            raise SourceFormError(f"{part.strip()!r} in {text!r} is not key=value with a key among "
                                  f"{', '.join(SOURCE_KEYS[1:])}")
        if key in ("label_map", "vote_columns"):
            entry[key] = value
        elif key == "categories":
            try:
                entry[key] = json.loads(value)
            except ValueError:
                raise SourceFormError(f"categories={value!r} in {text!r} is not a JSON object of category rules") \
                    from None
        elif key in ("score_threshold", "weight"):
            entry[key] = _number(value, key, text, float)
        elif key == "max_rows":
            entry[key] = _number(value, key, text, int)
        else:
            entry[key] = value
    return entry


def _number(value: str, key: str, text: str, kind: type) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise SourceFormError(f"{key}={value!r} in {text!r} is not a {'whole ' if kind is int else ''}number") \
            from None


def _split_form(text: str) -> list[str]:
    """Split at `;` outside JSON braces and quotes."""
    parts, current, depth, quoted = [], [], 0, False
    for character in text:
        if character == '"' and depth:
            quoted = not quoted
        elif not quoted and character == "{":
            depth += 1
        elif not quoted and character == "}":
            depth = max(depth - 1, 0)
        if character == ";" and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(character)
    parts.append("".join(current))
    return parts


def describe_label_map(label_map: Any) -> str:
    """A label map as one line for reports and the model card."""
    if label_map in (None, ""):
        return "labels as they are"
    return json.dumps(parse_label_map(label_map).mapping, ensure_ascii=False)
