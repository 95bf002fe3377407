"""Functional test suites: a team's own cases that every model must get right, read and expanded.

A suite is a table read by the one file rule (core/files: CSV, TSV, JSON Lines, Parquet), one case a row:
- the text (`text`, `test_case`, or the column the text-column rule finds),
- the expected label (`label`, `expected` or `label_gold`),
- the `functionality` it tests (what the pass rates are grouped by),
- optionally `case_id` and `notes`.

A suite for a multi-label model expects a *set* of categories (Suite.with_categories). With a label
column, its cell holds the categories separated by `;` or `,` (case aside; an empty cell or `none`: no
category). Without one, each of the model's categories has its own column (named like it, case aside)
holding yes/no (`yes`/`no`, `1`/`0`, `true`/`false`, `y`/`n`). The label column, when there is one, is
the rule; the category columns are then not read.

A text may be a *template*, as in CheckList: ``I hate {group}.`` is expanded over the values of the list
`group`, every placeholder of a row over its own list (several placeholders: every combination). The lists
live beside the suite in `<suite name>.lists.<ext>` (e.g. `policy.csv` and `policy.lists.csv`), read by the
same file rule: one column per list, its values down the column (empty cells are no values, so lists may
differ in length). ``{{`` and ``}}`` write a literal brace. Each expanded case keeps its functionality, its
template and what filled it. Every problem names the file, the row (1-based, the header not counted) and
the placeholder or column."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from moderator_app.core.messages import data_error
from moderator_app.core.files.columns import guess_text_column
from moderator_app.core.files.formats import FORMATS, detect_format, is_index_column
from moderator_app.core.files.readers import describe_bad_rows, is_missing, open_source
from moderator_app.core.labels import joined_categories

TEXT_COLUMNS = ("text", "test_case")
LABEL_COLUMNS = ("label", "expected", "label_gold")
FUNCTIONALITY_COLUMN = "functionality"
OPTIONAL_COLUMNS = ("case_id", "notes")
LISTS_INFIX = ".lists"
NO_CATEGORY = "none"  # a multi-label case's label cell: no category applies (as an empty cell)
CATEGORY_SEPARATORS = re.compile(r"[;,]")
YES_VALUES, NO_VALUES = frozenset({"yes", "y", "1", "true"}), frozenset({"no", "n", "0", "false"})
MAX_CASES = 200_000  # a template over lists this large is a mistake, not a test suite
# {name} is a placeholder; {{ and }} are literal braces; any other brace is text
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
SHOWN_ROWS = 5


@dataclass(frozen=True)
class SuiteCase:
    """One test case: what the model reads and what it must answer. `template` is the row's text when
    it had placeholders (None otherwise) and `fills` the values they took."""

    text: str
    expected: str
    functionality: str
    row: int  # the suite file's row (1-based, header not counted)
    case_id: str = ""
    notes: str = ""
    template: str | None = None
    fills: dict[str, str] = field(default_factory=dict)
    # a multi-label suite: the expected set, in the model's order (Suite.with_categories); None otherwise
    expected_categories: tuple[str, ...] | None = None
    # the row's other cells (a multi-label suite without a label column: a yes/no column per category)
    cells: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = {"case_id": self.case_id, "functionality": self.functionality, "text": self.text,
                "expected": self.expected, "row": self.row, "template": self.template, "fills": dict(self.fills),
                "notes": self.notes}
        if self.expected_categories is not None:
            data["expected_categories"] = list(self.expected_categories)
        return data


def category_set_text(categories: Sequence[str]) -> str:
    """How a set of categories is shown: joined with ';' as `label` writes them, 'none' for the empty set."""
    return joined_categories(categories) or NO_CATEGORY


@dataclass
class Suite:
    path: str
    cases: list[SuiteCase]
    lists_path: str | None = None
    templates: int = 0  # rows that were templates
    label_column: str | None = None  # None: a multi-label suite with a yes/no column per category

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def functionalities(self) -> list[str]:
        return list(dict.fromkeys(case.functionality for case in self.cases))

    def describe(self) -> str:
        rows = len({case.row for case in self.cases})
        text = (f"{self.name}: {len(self.cases):,} cases from {rows:,} rows, {len(self.functionalities):,} "
                f"functionalities")
        if self.templates:
            text += (f"; {self.templates:,} template{'s' if self.templates > 1 else ''} expanded over "
                     f"{Path(self.lists_path).name}")
        return text

    def with_labels(self, labels: Sequence[str]) -> "Suite":
        """This suite with every expected label spelled as one of a model's `labels` (the same word, case
        aside); a label the model does not have is an error naming the rows."""
        labels = [str(label) for label in labels]
        if self.label_column is None:
            raise data_error(f"{self.path}: no label column ({' or '.join(repr(name) for name in LABEL_COLUMNS)}).",
                             "A test suite needs the columns 'text', 'label' and 'functionality'.")
        empty = next((case for case in self.cases if not case.expected), None)
        if empty is not None:  # read for a model of either kind: only a multi-label suite may leave it empty
            raise data_error(f"{self.path}, row {empty.row}: the column '{self.label_column}' is empty.",
                             "Every case needs a text, its expected label and the functionality it tests.")
        by_lower: dict[str, list[str]] = {}
        for label in labels:
            by_lower.setdefault(label.lower(), []).append(label)
        spelled, unknown = [], {}
        for case in self.cases:
            if case.expected in labels:
                spelled.append(case)
                continue
            matches = by_lower.get(case.expected.lower(), [])
            if len(matches) == 1:
                spelled.append(_replace(case, expected=matches[0]))
            else:
                unknown.setdefault(case.expected, []).append(case.row)
        if unknown:
            value, rows = next(iter(unknown.items()))
            rows = sorted(set(rows))
            shown = ", ".join(map(str, rows[:SHOWN_ROWS])) + (", …" if len(rows) > SHOWN_ROWS else "")
            more = f" (and {len(unknown) - 1} other unknown labels)" if len(unknown) > 1 else ""
            raise data_error(f"{self.path}, row {shown}: the expected label '{value}' is not one of the model's "
                             f"labels ({', '.join(labels)}){more}.",
                             "Write one of the model's labels in the suite's label column.")
        return Suite(self.path, spelled, self.lists_path, self.templates, self.label_column)

    def with_categories(self, categories: Sequence[str]) -> "Suite":
        """This suite for a multi-label model with `categories`: every case's expected set (in the
        model's order), from the label column's cell (categories separated by ';' or ',', case aside;
        empty or 'none': no category), else from a yes/no column per category. A category the model
        does not have, or a missing or unreadable yes/no, is an error naming the file and the row."""
        categories = [str(name) for name in categories]
        by_lower = {name.lower(): name for name in categories}
        listing = ", ".join(categories)
        columns: dict[str, str] = {}
        if self.label_column is None:
            present = {name.strip().lower(): name for name in (self.cases[0].cells if self.cases else {})}
            missing = [name for name in categories if name.lower() not in present]
            if missing:
                raise data_error(f"{self.path}: no label column and no yes/no column for the categor"
                                 f"{'ies' if len(missing) > 1 else 'y'} {', '.join(missing)} (the model's "
                                 f"categories: {listing}).",
                                 f"Add a column '{LABEL_COLUMNS[0]}' holding each case's categories separated by ';' "
                                 "(none: no category), or a yes/no column named like each category.")
            columns = {name: present[name.lower()] for name in categories}
        decided: dict[int, tuple[str, ...]] = {}
        spelled = []
        for case in self.cases:
            if case.row not in decided:
                decided[case.row] = (self._cell_categories(case, categories, by_lower, listing)
                                     if self.label_column is not None
                                     else self._column_categories(case, columns))
            expected = decided[case.row]
            spelled.append(_replace(case, expected=category_set_text(expected), expected_categories=expected))
        return Suite(self.path, spelled, self.lists_path, self.templates, self.label_column)

    def _cell_categories(self, case: SuiteCase, categories: list[str], by_lower: dict[str, str],
                         listing: str) -> tuple[str, ...]:
        names = [part.strip() for part in CATEGORY_SEPARATORS.split(case.expected) if part.strip()]
        if len(names) == 1 and names[0].lower() == NO_CATEGORY and NO_CATEGORY not in by_lower:
            return ()
        chosen = set()
        for name in names:
            if name.lower() not in by_lower:
                raise data_error(f"{self.path}, row {case.row}: the category '{name}' is not one of the model's "
                                 f"categories ({listing}).",
                                 f"Write the model's categories in the column '{self.label_column}', separated by "
                                 f"';' ('{NO_CATEGORY}' or an empty cell: no category).")
            chosen.add(by_lower[name.lower()])
        return tuple(name for name in categories if name in chosen)

    def _column_categories(self, case: SuiteCase, columns: dict[str, str]) -> tuple[str, ...]:
        chosen = []
        for category, column in columns.items():
            value = case.cells.get(column, "").strip().lower()
            if value in YES_VALUES:
                chosen.append(category)
            elif value not in NO_VALUES:
                raise data_error(f"{self.path}, row {case.row}: the column '{column}' holds "
                                 f"{repr(case.cells.get(column, '')) if value else 'nothing'}, not yes or no.",
                                 "Write yes or no (1 or 0) in each category's column: a test case says whether "
                                 "every category applies.")
        return tuple(chosen)


def _replace(case: SuiteCase, **changes: Any) -> SuiteCase:
    from dataclasses import replace

    return replace(case, **changes)


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------
def read_suite(path: str | Path, multi_label: bool | None = False) -> Suite:
    """Read a suite file and its lists (when a template needs them), expanding every template.
    `multi_label`: for a multi-label model (True), whose cases may expect no category (an empty label
    cell) or name them in a yes/no column each; None: not known yet (the model is not loaded), both
    accepted until Suite.with_labels or with_categories reads the suite for the model."""
    path = Path(path).expanduser()
    columns, rows = _read_rows(path, "suite")
    text_column = _first_present(columns, TEXT_COLUMNS) or guess_text_column(columns)
    label_column = _first_present(columns, LABEL_COLUMNS)
    listing = ", ".join(f"'{name}'" for name in columns)
    if text_column is None:
        raise data_error(f"{path}: no text column (columns: {listing}).",
                         "A test suite needs the columns 'text', 'label' and 'functionality'.")
    functionality_column = _first_present(columns, (FUNCTIONALITY_COLUMN,))
    optional = {name: _first_present(columns, (name,)) for name in OPTIONAL_COLUMNS}
    known = {text_column, label_column, functionality_column, *optional.values()}
    other_columns = [name for name in columns if name not in known]
    # a multi-label suite may name its categories in a yes/no column each instead of a label column
    label_optional = multi_label is not False and bool(other_columns)
    for role, found, names in (("label", label_column or label_optional, LABEL_COLUMNS),
                               ("functionality", functionality_column, (FUNCTIONALITY_COLUMN,))):
        if not found:
            raise data_error(f"{path}: no {role} column ({' or '.join(repr(name) for name in names)}); the file has "
                             f"{listing}.", "A test suite needs the columns 'text', 'label' and 'functionality'.")
    lists_path = find_lists_file(path)
    lists: dict[str, list[str]] | None = None
    cases: list[SuiteCase] = []
    templates = 0
    for number, record in enumerate(rows, start=1):
        text = _cell(record.get(text_column))
        expected = _cell(record.get(label_column)) if label_column else ""
        functionality = _cell(record.get(functionality_column))
        # an empty label cell is a multi-label case expecting no category
        required = [(text, text_column), (functionality, functionality_column)]
        if multi_label is False:
            required.insert(1, (expected, label_column))
        for value, column in required:
            if not value:
                raise data_error(f"{path}, row {number}: the column '{column}' is empty.",
                                 "Every case needs a text, its expected label and the functionality it tests.")
        extra: dict[str, Any] = {name: _cell(record.get(column)) for name, column in optional.items()}
        if label_column is None:
            extra["cells"] = {name: _cell(record.get(name)) for name in other_columns}
        names = placeholders(text)
        if not names:
            cases.append(SuiteCase(_unescape(text), expected, functionality, number, **extra))
            continue
        if lists is None:
            lists = read_lists(lists_path) if lists_path else {}
        templates += 1
        for expansion, fills in expand(text, lists, path, number, lists_path):
            cases.append(SuiteCase(expansion, expected, functionality, number, template=text, fills=fills, **extra))
        if len(cases) > MAX_CASES:
            raise data_error(f"{path}, row {number}: the templates expand to more than {MAX_CASES:,} cases.",
                             "Use shorter lists, or fewer placeholders in one text.")
    if not cases:
        raise data_error(f"{path}: the suite has no cases.")
    return Suite(str(path), cases, str(lists_path) if lists_path and templates else None, templates, label_column)


def placeholders(text: str) -> list[str]:
    """The distinct placeholder names of a text, in order of first appearance."""
    return list(dict.fromkeys(match.group(1) for match in _PLACEHOLDER.finditer(text) if match.group(1)))


def expand(template: str, lists: dict[str, list[str]], path: Path, row: int,
           lists_path: Path | None) -> list[tuple[str, dict[str, str]]]:
    """Every text `template` stands for, with the values that filled it: each placeholder over its
    list, several placeholders over every combination (in the lists' order)."""
    names = placeholders(template)
    for name in names:
        if name not in lists:
            where = (f"{lists_path.name} has the lists {', '.join(repr(key) for key in lists) or '(none)'}"
                     if lists_path else f"there is no lists file beside it ({path.stem}{LISTS_INFIX}.csv)")
            raise data_error(f"{path}, row {row}: unknown placeholder {{{name}}}: {where}.",
                             f"Add a column '{name}' to the lists file, its values down the column.")
        if not lists[name]:
            raise data_error(f"{path}, row {row}: the placeholder {{{name}}} has an empty list in {lists_path}.",
                             f"Write its values down the column '{name}' of {lists_path.name}.")
    result = []
    for values in itertools.product(*(lists[name] for name in names)):
        fills = dict(zip(names, values))

        def fill(match: re.Match) -> str:
            return fills[match.group(1)] if match.group(1) else match.group(0)[0]

        result.append((_PLACEHOLDER.sub(fill, template), fills))
    return result


def find_lists_file(path: Path) -> Path | None:
    """`<stem>.lists.<ext>` beside the suite, in any format of the file rule; two of them is an error."""
    candidates = {path.with_name(path.stem + LISTS_INFIX + extension) for extension, kind in FORMATS.items()
                  if kind != "lines"}
    found = sorted(candidate for candidate in candidates if candidate.is_file())
    if len(found) > 1:
        raise data_error(f"{path}: {len(found)} lists files beside it ({', '.join(item.name for item in found)}).",
                         "Keep one.")
    return found[0] if found else None


def read_lists(path: Path) -> dict[str, list[str]]:
    """One list per column: the column's non-empty cells, in order."""
    columns, rows = _read_rows(path, "lists")
    return {name: [_cell(record.get(name)) for record in rows if _cell(record.get(name))] for name in columns}


def _read_rows(path: Path, what: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows (dicts) of a table, read by the shared readers."""
    fmt = detect_format(path)
    if fmt.kind == "lines":
        raise data_error(f"{path}: a .txt file holds only texts; a test suite needs columns (text, label, "
                         "functionality).", "Save it as CSV, TSV, JSON Lines or Parquet.")
    source = open_source(fmt)
    kept = [(position, name) for position, name in enumerate(source.columns) if not is_index_column(name)]
    names = [name for _, name in kept]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise data_error(f"{path}: two columns are named '{duplicated[0]}'.", "Give each column its own name.")
    rows: list[dict[str, Any]] = []
    for chunk in source.chunks():
        columns = [source.values(chunk, position) for position, _ in kept]
        rows.extend(dict(zip(names, values)) for values in zip(*columns))
    if source.bad_rows:
        raise data_error(f"{path}: {len(source.bad_rows):,} rows cannot be read: {describe_bad_rows(source.bad_rows)}.",
                         "Fix them and try again.")
    if not rows:
        raise data_error(f"{path}: the {what} file has no rows.")
    return names, rows


def _first_present(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lowered = {column.strip().lower(): column for column in columns}
    return next((lowered[name] for name in names if name in lowered), None)


def _cell(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a label 1 read from Parquet as 1.0
    return str(value).strip()


def _unescape(text: str) -> str:
    return text.replace("{{", "{").replace("}}", "}")


def normalised_text(text: str) -> str:
    """How a suite case and a training row are compared: case and runs of whitespace aside."""
    return " ".join(str(text).casefold().split())
