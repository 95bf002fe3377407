"""Label maps: how a data file's label values become a model's labels.

A label map is a JSON object from a file's value to a label, or to null to leave those rows out:
Davidson's classes ``{"0": "hate", "1": "not-hate", "2": "not-hate"}``, Stormfront's
``{"noHate": "not-hate"}``. Values the map does not name are taken as they are. A column is read
one way throughout: text labels, integer classes (``1``, ``"1"``, ``1.0`` are all ``"1"``) or 0–1
scores, which become ``"1"`` at or above the score threshold and ``"0"`` below it before the map
applies (ETHOS's ``isHate``: ``{"1": "hate", "0": "not-hate"}``).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from moderator_app.core.messages import data_error, settings_error
from moderator_app.core.files.readers import is_missing  # noqa: F401 (labelled_data imports it from here)


DEFAULT_SCORE_THRESHOLD = 0.5
DROPPED_BY_MAP = "mapped to null by the label map"
MISSING_LABEL = "missing label"
EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class LabelMap:
    """File value → label (None: leave the row out). `origin` names where the map came from."""

    mapping: dict[str, str | None] = field(default_factory=dict)
    origin: str = "the label map"

    def __bool__(self) -> bool:
        return bool(self.mapping)


def parse_label_map(value: str | Mapping[str, Any] | None, setting: str = "label_map") -> LabelMap:
    """A label map from a dict, a JSON object's text, or the path of a JSON file holding one.
    None or "" is the empty map. A malformed map is a SettingsError naming where it came from."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return LabelMap()
    origin = "the label map"
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith(("{", "[")):
            path = Path(text).expanduser()
            origin = f"label map file {path}"
            try:
                text = path.read_text(encoding="utf-8-sig")
            except FileNotFoundError:
                raise settings_error(f"The label map {value!r} is neither a JSON object nor an existing file.",
                                    "Give {" + setting + "} as JSON, e.g. {{\"0\": \"hate\", \"1\": null}}, "
                                    "or the path of a file holding it.", setting=setting) from None
            except (OSError, UnicodeError) as error:
                raise settings_error(f"Cannot read {origin}: {error}.", setting=setting) from None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise settings_error(f"{_capitalised(origin)} is not valid JSON (line {error.lineno}, column "
                                f"{error.colno}): {error.msg}.", "Fix {" + setting + "}.", setting=setting) from None
        except RecursionError:
            raise settings_error(f"{_capitalised(origin)} is nested too deeply to be a label map (a label map is "
                                "one object from a value to a label).", "Fix {" + setting + "}.",
                                setting=setting) from None
    if not isinstance(value, Mapping):
        raise settings_error(f"{_capitalised(origin)} must be a JSON object from a file's value to a label, "
                            f"not {type(value).__name__}.", "Fix {" + setting + "}.", setting=setting)
    mapping: dict[str, str | None] = {}
    for key, target in value.items():
        if isinstance(target, (dict, list)):  # repr() of a deeply nested value would itself overflow
            raise settings_error(f"{_capitalised(origin)} maps {key!r} to a JSON {type(target).__name__}; a label "
                                "must be a text or null (to leave those rows out).", "Fix {" + setting + "}.",
                                setting=setting)
        if target is not None and not isinstance(target, (str, int)) or isinstance(target, bool):
            raise settings_error(f"{_capitalised(origin)} maps {key!r} to {target!r}; a label must be a text or "
                                "null (to leave those rows out).", "Fix {" + setting + "}.", setting=setting)
        normalised = normalise_value(key)
        if normalised in mapping and mapping[normalised] != _target(target):
            raise settings_error(f"{_capitalised(origin)} maps {normalised!r} twice, to different labels.",
                                "Fix {" + setting + "}.", setting=setting)
        mapping[normalised] = _target(target)
    return LabelMap(mapping, origin)


def normalise_value(value: Any) -> str:
    """A label value as the map sees it: text stripped, integer-valued numbers without decimals."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if math.isfinite(number) and number.is_integer() else text


def _target(target: str | int | None) -> str | None:
    return None if target is None else str(target).strip()


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------------------------------------
# Applying a map to a column
# ------------------------------------------------------------------------------------------------
@dataclass
class MappedLabels:
    """One entry per row: the label, or None for a row left out. `dropped` counts the rows left
    out per reason (`examples`: their first 1-based row numbers); `unknown` counts, per value, rows
    whose label is not one of the known labels (also None in `labels`)."""

    labels: list[str | None]
    kind: str
    dropped: Counter = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=dict)
    unknown: Counter = field(default_factory=Counter)

    @property
    def kept(self) -> int:
        return sum(label is not None for label in self.labels)

    def leave_out(self, row: int, reason: str) -> None:
        self.dropped[reason] += 1
        if len(self.examples.setdefault(reason, [])) < EXAMPLE_ROWS:
            self.examples[reason].append(row)


def map_labels(values: Sequence[Any], label_map: LabelMap, known_labels: Iterable[str] | None, source: str,
               column: str, score_threshold: float = DEFAULT_SCORE_THRESHOLD,
               row_numbers: Sequence[int] | None = None) -> MappedLabels:
    """Apply `label_map` to a column's `values` (a file's raw cells; `row_numbers`: their 1-based
    rows in the file, for messages, by default 1, 2, …).

    Missing values and values mapped to null leave their rows out, counted. With a map, a value that
    the map does not name and that is not one of `known_labels` is a DataError naming the source and
    the value (a map is meant to cover the file). Without one, such rows are counted in `unknown`;
    a DataError only when no row at all has a known label. `known_labels` None (training, where the
    labels are whatever the sources' maps give) keeps every value."""
    known = None if known_labels is None else [str(label) for label in known_labels]
    kind, read = label_reader(values, column, source, score_threshold)
    result = MappedLabels([None] * len(values), kind)
    targets = {target for target in label_map.mapping.values() if target is not None}
    foreign = sorted(targets - set(known)) if known is not None else []
    if foreign:
        raise data_error(f"{_capitalised(label_map.origin)} maps to {', '.join(map(repr, foreign))}, which is not "
                        f"one of the labels ({', '.join(known)}).", "Fix {label_map}.", setting="label_map")
    for index, (row, raw) in enumerate(zip(row_numbers or range(1, len(values) + 1), values)):
        if is_missing(raw):
            result.leave_out(row, MISSING_LABEL)
            continue
        value = read(raw)
        label = label_map.mapping.get(value, value)
        if value in label_map.mapping and label is None:
            result.leave_out(row, DROPPED_BY_MAP)
        elif known is None or label in known:
            result.labels[index] = label
        elif label_map:
            raise data_error(f"{source}: label {value!r} in column '{column}' (row {row}) is not in "
                            f"{label_map.origin} and is not one of the labels ({', '.join(known)}).",
                            "Map it to a label, or to null to leave those rows out, in {label_map}.",
                            setting="label_map")
        else:
            result.unknown[label] += 1
    if result.kept == 0 and result.unknown:
        values_found = ", ".join(f"{value!r}" for value, _ in result.unknown.most_common(5))
        raise data_error(f"{source}: no label in column '{column}' is one of the labels ({', '.join(known)}); "
                        f"the column holds {values_found}.",
                        "Give a {label_map} from these values to the labels, or choose another {label_column}.",
                        setting="label_map")
    return result


def label_reader(values: Sequence[Any], column: str, source: str, score_threshold: float = DEFAULT_SCORE_THRESHOLD):
    """(kind, read) for a column, decided once from all its values: "strings", "integers" or a
    0–1 score cut at `score_threshold` into "1" and "0"."""
    present = [value for value in values if not is_missing(value)]
    if not present:
        raise data_error(f"{source}: column '{column}' holds no labels at all.",
                        "Choose the column that holds them with {label_column}.", setting="label_column")
    numbers = _numbers(present)
    if numbers is None:
        return "strings", normalise_value
    if all(number.is_integer() for number in numbers):
        return "integers", normalise_value
    if all(0.0 <= number <= 1.0 for number in numbers):
        return (f"0–1 score (≥ {score_threshold:g} is 1)",
                lambda value: "1" if float(value) >= score_threshold else "0")
    example = next(value for value, number in zip(present, numbers)
                   if not number.is_integer() and not 0.0 <= number <= 1.0)
    raise data_error(f"{source}: column '{column}' holds numbers such as {example!r} that are neither integer "
                    "classes nor 0–1 scores.", "Choose the label column with {label_column}.",
                    setting="label_column")


def _numbers(values: list[Any]) -> list[float] | None:
    numbers = []
    for value in values:
        if isinstance(value, bool):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number):
            return None
        numbers.append(number)
    return numbers


