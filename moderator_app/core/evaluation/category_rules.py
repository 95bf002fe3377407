"""A category rule: how a data file says, per row, whether a category applies. Shared by a multi-label
run's sources (`TrainingConfig.sources`' `categories`, core/training/category_data) and `evaluate`'s
multi-label data, so that a file reads the same in both. A rule is one of

- `{"column": COL}`: the column holds yes/no (1/0, true/false, yes/no); a blank cell is unknown;
- `{"votes": COL, "total": COL2, "rule": "at_least_one" | "majority"}`: a vote-count column, yes with at least one
  vote or with more than half of `total`; a cell that is not a count is unknown;
- `{"column": COL, "yes": [...], "no": [...]}`: a label map; a value in neither list is unknown (and counted).

Each row gets 1 (yes), 0 (no) or UNKNOWN (-1) per category."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from moderator_app.core.errors import DataError, shown
from moderator_app.core.evaluation.categories import UNKNOWN
# a cell or a rule's value as the one string they are compared by (1, 1.0 and "1" are the same): a label map's rule
from moderator_app.core.evaluation.label_map import normalise_value as category_value
from moderator_app.core.files.readers import is_missing

VOTE_RULES = ("at_least_one", "majority")
RULE_KEYS = ("column", "yes", "no", "votes", "total", "rule")
YES_WORDS = frozenset({"1", "true", "yes", "y"})
NO_WORDS = frozenset({"0", "false", "no", "n"})
# How spreadsheets and pandas spell a missing value: in a rule's column, a blank cell (unknown)
MISSING_WORDS = frozenset({"nan", "null", "none", "n/a", "na", "#n/a", "nil", "missing"})


def _literal(text: Any) -> str:
    return str(text).replace("{", "{{").replace("}", "}}")


def category_rules_problem(rules: Any) -> str | None:
    """What is wrong with a source's `categories` ({category: rule}), or None (also for none given)."""
    if rules is None:
        return None
    if not isinstance(rules, dict) or not rules:
        return f"'categories' must map categories to rules, got {shown(rules)}"
    for name, rule in rules.items():
        problem = _rule_problem(rule)
        if problem:
            return f"the rule of category '{name}' {problem}"
    return None


def _rule_problem(rule: Any) -> str | None:
    if not isinstance(rule, dict):
        return f"must be an object such as {{\"column\": \"COL\"}}, got {shown(rule)}"
    unknown = sorted(set(rule) - set(RULE_KEYS))
    if unknown:
        return f"has the key '{unknown[0]}', which is none of {', '.join(RULE_KEYS)}"
    if ("column" in rule) == ("votes" in rule):
        return "needs either 'column' (a yes/no column or one to map) or 'votes' (a vote-count column)"
    for key in ("column", "votes", "total"):
        if key in rule and (not isinstance(rule[key], str) or not rule[key].strip()):
            return f"needs a column name as '{key}', got {shown(rule[key])}"
    if "votes" in rule:
        if set(rule) & {"yes", "no"}:
            return "maps values with 'yes'/'no' only for a 'column', not for 'votes'"
        if rule.get("rule") not in VOTE_RULES:
            return f"needs 'rule': one of {', '.join(VOTE_RULES)}, got {shown(rule.get('rule'))}"
        if rule["rule"] == "majority" and "total" not in rule:
            return "needs 'total' (the column of the number of votes) for the rule majority"
        return None
    if set(rule) & {"total", "rule"}:
        return "takes 'total' and 'rule' only with 'votes'"
    if set(rule) & {"yes", "no"}:
        lists = [rule.get(key, []) for key in ("yes", "no")]
        if not all(isinstance(values, list) and all(isinstance(value, (str, int, float)) and not isinstance(value, bool)
                                                    for value in values) for values in lists):
            return "needs 'yes' and 'no' as lists of the column's values"
        if not any(lists):
            return "lists no value under 'yes' or 'no'"
        both = {category_value(value) for value in lists[0]} & {category_value(value) for value in lists[1]}
        if both:
            return f"lists {sorted(both)[0]!r} under both 'yes' and 'no'"
    return None


def rule_columns(rules: dict[str, dict[str, Any]], columns: list[str], file: str, hint: str) -> list[str]:
    """The columns `rules` read, each once; a column the file does not have is a DataError naming it."""
    needed = []
    for name, rule in rules.items():
        for key in ("column", "votes", "total"):
            column = rule.get(key)
            if column is None:
                continue
            if column not in columns:
                raise DataError(f"{_literal(file)}: no column '{_literal(column)}' (the '{key}' of category "
                                f"'{_literal(name)}'); the file has {_literal(', '.join(columns))}.", hint,
                                setting="sources" if "{sources}" in hint else None)
            if column not in needed:
                needed.append(column)
    return needed


def read_rule(rule: dict[str, Any], values: dict[str, list], name: str, file: str,
               unmapped: Counter) -> list[int]:
    if "votes" in rule:
        return _read_votes(values[rule["votes"]], values.get(rule.get("total")), rule["rule"])
    cells = values[rule["column"]]
    if "yes" in rule or "no" in rule:
        yes = {category_value(value) for value in rule.get("yes", [])}
        no = {category_value(value) for value in rule.get("no", [])}
        result = []
        for cell in cells:
            value = None if _blank(cell) else category_value(cell)
            if value is not None and value not in yes and value not in no:
                unmapped[value] += 1
            result.append(1 if value in yes else 0 if value in no else UNKNOWN)
        return result
    result = []
    for row, cell in enumerate(cells, start=1):
        if _blank(cell):
            result.append(UNKNOWN)
            continue
        word = category_value(cell).lower()
        if word not in YES_WORDS and word not in NO_WORDS:
            count = sum(1 for other in cells if not _blank(other) and category_value(other).lower() == word)
            raise DataError(f"{_literal(file)}: column '{_literal(rule['column'])}' (category '{_literal(name)}') "
                            f"holds {_literal(repr(str(cell)))} in row {row} ({count:,} rows), which is not yes/no "
                            "(1/0, true/false, yes/no).",
                            "Give the category a label map ('yes' and 'no' lists) in {sources}.", setting="sources")
        result.append(1 if word in YES_WORDS else 0)
    return result


def _read_votes(votes: list, totals: list | None, rule: str) -> list[int]:
    result = []
    for position, cell in enumerate(votes):
        count = _count(cell)
        total = _count(totals[position]) if totals is not None else None
        if count is None or (rule == "majority" and (total is None or total <= 0)):
            result.append(UNKNOWN)
        elif rule == "at_least_one":
            result.append(1 if count >= 1 else 0)
        else:
            result.append(1 if count > total / 2 else 0)
    return result


def _count(cell: Any) -> float | None:
    if _blank(cell) or isinstance(cell, bool):
        return None
    try:
        number = float(cell)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _blank(cell: Any) -> bool:
    return is_missing(cell) or (isinstance(cell, str) and cell.strip().lower() in MISSING_WORDS)
