"""`moderator-app evaluate MODEL --tests SUITE [--compare OTHER]`: the functional test suites' part of
`evaluate` — running them, the per-functionality table, the failing cases and the comparison."""

from __future__ import annotations

import argparse
from typing import Any

from moderator_app.commands.label import positive_int

FAILURES_SHOWN = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tests", metavar="SUITE", action="append", default=[],
                        help="also run a functional test suite (CSV, TSV, JSON Lines or Parquet with the columns "
                             "text, label or expected, functionality; templates such as 'I hate {group}.' are "
                             "expanded over SUITE-name.lists.csv beside it) and print the pass rate per "
                             "functionality; repeat for several suites. DATA may then be left out. A multi-label "
                             "model's suite gives each case's expected categories in the label column, separated "
                             "by ';' (none or an empty cell: no category), or a yes/no column per category")
    parser.add_argument("--compare", metavar="OTHER_MODEL",
                        help="with --tests: run the suites on this model too (at its own operating point) and "
                             "show both pass rates per functionality and the cases that newly fail or pass")
    parser.add_argument("--failures", type=positive_int, default=FAILURES_SHOWN, metavar="N",
                        help=f"failing cases shown per suite (default: {FAILURES_SHOWN}; --json holds them all)")


def read_suites(paths: list[str]) -> list:
    """Every suite read and expanded before a model loads: a mistake in one is said at once (whether
    its expected values are labels or sets of categories is read once the model is known)."""
    from moderator_app.core.evaluation.suites import read_suite

    return [read_suite(path, multi_label=None) for path in paths]


def run_suites(classifier, suites: list, other, threshold: float | dict[str, float] | None,
               batch_size: int | None) -> list[dict]:
    """Each suite's result at `threshold` (None: the model's operating point; a multi-label model:
    category → threshold for those given), and with `other` that model's at its own operating point
    and the comparison."""
    from moderator_app.core.evaluation.suite_results import check_comparable, compare_results, run_suite

    if other is not None:
        check_comparable(classifier, other)
    runs = []
    for suite in suites:
        result, _ = run_suite(classifier, suite, threshold, batch_size)
        entry: dict[str, Any] = {"result": result}
        if other is not None:
            entry["other"], _ = run_suite(other, suite, None, batch_size)  # at its own operating point
            entry["comparison"] = compare_results(entry["other"], result)
        runs.append(entry)
    return runs


def runs_to_json(runs: list[dict]) -> list[dict]:
    entries = []
    for run in runs:
        entry = run["result"].to_dict()
        if "comparison" in run:
            entry["compared_with"] = run["other"].to_dict()
            entry["comparison"] = run["comparison"].to_dict()
        entries.append(entry)
    return entries


def format_runs(runs: list[dict], failures: int = FAILURES_SHOWN) -> str:
    return "\n\n".join(format_run(run, failures) for run in runs)


def format_run(run: dict, failures: int = FAILURES_SHOWN) -> str:
    result, comparison = run["result"], run.get("comparison")
    other = run.get("other")
    lines = [f"Tests: {result.suite.describe()}", f"Decision: {result.decision()}"]
    if other is not None:
        lines.append(f"Compared with: {other.model} ({other.decision()})")
    header = ["passed", "cases", "pass rate"] + (["other", "change"] if other is not None else [])
    lines += ["", _row("functionality", header)]
    changes = {row.name: row for row in comparison.rows} if comparison else {}
    for name, count in result.functionalities.items():
        cells = [str(count.passed), str(count.total), f"{count.rate:.1%}"]
        if name in changes:
            cells += [f"{changes[name].old.rate:.1%}", f"{changes[name].change * 100:+.1f}"]
        lines.append(_row(name, cells))
    total = [str(result.overall.passed), str(result.overall.total), f"{result.overall.rate:.1%}"]
    if other is not None:
        total += [f"{other.overall.rate:.1%}", f"{(result.overall.rate - other.overall.rate) * 100:+.1f}"]
    lines.append(_row("all", total))
    if result.multi_label:
        lines += ["", "Per category: the cases that expect it (yes) and how many flag it, the cases that do not "
                      "(no) and how many leave it unflagged:",
                  _row("category", ["yes cases", "flagged", "no cases", "unflagged"])]
        for name, sides in result.by_category.items():
            cells = []
            for side in ("yes", "no"):
                count = sides.get(side)
                cells += ["0", "–"] if count is None else [str(count.total), f"{count.passed} ({count.rate:.0%})"]
            lines.append(_row(name, cells))
    else:
        lines.append("By expected label: " + ", ".join(f"{label} {count.describe()}"
                                                       for label, count in result.by_label.items()))
    failing = result.failures
    if failing:
        shown = f"; the first {failures}" if len(failing) > failures else ""
        lines += ["", f"Failing cases ({len(failing)}{shown}):"]
        lines += [f"  [{item.case.functionality}] {item.case.text!r}: expected {item.case.expected}, got "
                  f"{item.predicted} ({_score(result, item)})" for item in failing[:failures]]
    else:
        lines += ["", "Every case passed."]
    if comparison is not None:
        lines += ["", f"Against {other.model}: {len(comparison.newly_failing)} cases newly fail, "
                      f"{len(comparison.newly_passing)} newly pass."]
        for title, pairs in (("newly failing", comparison.newly_failing), ("newly passing", comparison.newly_passing)):
            lines += [f"  {title}: [{new.case.functionality}] {new.case.text!r}: was {old.predicted}, now "
                      f"{new.predicted}" for old, new in pairs[:failures]]
    return "\n".join(lines)


def _score(result, item) -> str:
    if item.probabilities is not None:  # a multi-label case: every category's probability
        return ", ".join(f"P({name})={value:.3f}" for name, value in item.probabilities.items())
    label = result.positive_label or item.predicted
    return f"P({label})={item.score:.3f}"


def _row(name: str, cells) -> str:
    first = name if len(name) <= 32 else name[:31] + "…"
    return f"{first:<32}" + "".join(f"{cell:>11}" for cell in cells)
