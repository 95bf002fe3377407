"""`moderator-app decisions export|conflicts --output F`: the Review tab's decision log as files.

    moderator-app decisions export --output day.csv [--provenance] [--queue Q] [--moderator M]
                                   [--since 2026-11-30] [--until …] [--model M] [--store S]
    moderator-app decisions conflicts --output conflicts.csv [same filters]
    moderator-app decisions agreement [--queue Q] [--since D] [--until D] [--model M] [--json OUT]
    moderator-app decisions assign|double-review|disagreements|adjudicate …   (commands/decisions_team.py)

`export` writes the latest decision per text as a `text,label` training file (plus moderator,
decided_at, model, model_id and queue with --provenance), a multi-label model's decisions as `text`
and one yes/no column per category; `conflicts` the texts two moderators labelled differently, one row
per moderator (a multi-label decision's label is its set, "hate;offensive"); `agreement` how often the
moderators agree (Cohen's kappa per pair, Krippendorff's alpha over all, each against the model) with
counts and intervals, and for multi-label decisions the same per category plus the model's precision,
recall and F1 per category against the moderators."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from moderator_app.commands.decisions_team import TEAM_ACTIONS, add_team_actions, run_team_action
from moderator_app.commands.errors import EXIT_INTERRUPTED, EXIT_OK, report_failure
from moderator_app.commands.label import add_excel_safe_argument, terminate_as_interrupt


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="the latest decision per text as a training CSV")
    export.add_argument("--provenance", action="store_true",
                        help="add moderator, decided_at, model, model_id and queue columns")
    conflicts = actions.add_parser("conflicts", help="texts that two moderators labelled differently")
    agreement = actions.add_parser(
        "agreement", help="how often moderators agree: Cohen's kappa per pair, Krippendorff's alpha, vs the model",
        description="Agreement between the moderators' current decisions of the same texts: Cohen's kappa for "
                    "each pair (scikit-learn), Krippendorff's alpha over all (nominal, the krippendorff package), "
                    "and each moderator against the label the model showed them, each with the number of texts "
                    "it rests on and a bootstrap confidence interval over those texts (seeded).")
    agreement.add_argument("--json", metavar="OUT", help="also write every figure to this JSON file")
    agreement.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    agreement.add_argument("--resamples", type=int, default=1000, metavar="N",
                           help="bootstrap resamples for the 95%% intervals (default 1000; 0: no intervals)")
    for action in (export, conflicts, agreement):
        if action is not agreement:
            action.add_argument("--output", required=True, metavar="FILE", help="the CSV file to write")
            action.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
            add_excel_safe_argument(action)
        add_store_argument(action)
        filters = action.add_argument_group("filters")
        filters.add_argument("--queue", help="only decisions made in this queue")
        if action is not agreement:
            filters.add_argument("--moderator", help="only this moderator's decisions")
        filters.add_argument("--since", metavar="DATE", help="only decisions from this date (YYYY-MM-DD) on")
        filters.add_argument("--until", metavar="DATE", help="only decisions up to this date, inclusive")
        filters.add_argument("--model", help="only decisions made with this model (its folder or identity)")
    add_team_actions(actions, add_store_argument)


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="FILE|URL",
                        help="the decision store: an SQLite file (default: the app's, or "
                             "$MODERATOR_APP_DATA/decisions.sqlite3) or a team's PostgreSQL database, "
                             "postgresql://USER@HOST:PORT/DATABASE (the password from PGPASSWORD or ~/.pgpass)")


def run(args: argparse.Namespace) -> int:
    command = f"decisions {args.action}"
    try:
        with terminate_as_interrupt():  # SIGTERM like Ctrl-C: the hidden temporary file is removed
            return _run(args, command)
    except KeyboardInterrupt:
        print(f"moderator-app {command}: interrupted; no output was written.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace, command: str) -> int:
    try:
        from moderator_app.core.errors import DataError
        from moderator_app.core.review.export import ExportFilter, export_conflicts, export_decisions
        from moderator_app.core.review.store import DecisionStore, default_store_path, is_server_url

        store_path = args.store or default_store_path()
        if args.store and not is_server_url(args.store) and not Path(args.store).is_file():
            raise DataError(f"There is no decision store at {args.store}.", "Give the app's store with {store}.")
        if args.action in TEAM_ACTIONS:  # they write (but disagreements): the store opened as the app opens it
            if not is_server_url(str(store_path)) and not Path(store_path).is_file():  # never create one here
                raise DataError(f"There is no decision store at {store_path}.",
                                "Give the app's store with {store}; queues are made in the Review tab.")
            store = DecisionStore(store_path, read_only=args.action == "disagreements")
            try:
                run_team_action(args, store)
            finally:
                store.close()
            return EXIT_OK
        where = ExportFilter(args.queue, getattr(args, "moderator", None), args.since, args.until, args.model)
        output = None
        if args.action == "agreement" and args.json:
            from moderator_app.commands.evaluate import check_json_output

            output = check_json_output(args.json, args.overwrite)
        store = DecisionStore(store_path, read_only=True)  # exports and agreement only read
        try:
            if args.action == "agreement":
                report_agreement(store, where, args.resamples, output, args.overwrite)
            elif args.action == "export":
                summary = export_decisions(store, args.output, where, args.provenance, args.overwrite,
                                           args.excel_safe)
                undone = f"; {summary.undone:,} texts whose last decision was undone left out" if summary.undone else ""
                print(f"Wrote {summary.rows:,} decisions to {summary.path}{undone}.")
            else:
                summary = export_conflicts(store, args.output, where, args.overwrite, args.excel_safe)
                print(f"Wrote {summary.rows:,} texts labelled differently by two moderators to {summary.path}.")
        finally:
            store.close()
    except Exception as error:  # the boundary: one line, never a traceback
        return report_failure(command, error)
    sys.stdout.flush()
    return EXIT_OK


def report_agreement(store, where, resamples: int, output: Path | None, overwrite: bool) -> None:
    from moderator_app.core.review.agreement import measure_agreement

    report = measure_agreement(store, where, resamples=max(resamples, 0))
    scope = f" in queue '{where.queue}'" if where.queue else ""
    print(f"{report.items:,} texts decided{scope} by {len(report.moderators)} moderators "
          f"({', '.join(report.moderators) or 'none'}); {report.shared_items:,} decided by two or more.")
    interval = f" [{report.confidence:.0%} interval]" if resamples > 0 else ""
    print(f"Krippendorff's alpha (nominal){interval}: {report.alpha.describe()}")
    if report.pairs:
        print(f"Cohen's kappa per pair{interval}:")
        for pair in report.pairs:
            same = "" if pair.agreement is None else f", {pair.agreement:.0%} labelled alike"
            print(f"  {pair.first} – {pair.second}: {pair.kappa.describe()}{same}")
    if report.model:
        print(f"Each moderator against the model (the label it showed, at its threshold){interval}:")
        for entry in report.model:
            same = "" if entry.agreement is None else f", {entry.agreement:.0%} accepted"
            print(f"  {entry.moderator}: kappa {entry.kappa.describe()}{same}")
    by_category = report_category_agreement(store, where, resamples, interval)
    if output is not None:
        from moderator_app.commands.evaluate import write_json_atomically

        write_json_atomically(output, report.to_json() | ({"categories": by_category} if by_category else {}),
                              overwrite)
        print(f"Wrote {output}.")


def report_category_agreement(store, where, resamples: int, interval: str) -> dict:
    """A multi-label model's decisions, category by category (yes/no each): the moderators' agreement and
    the model against them; {} when no decision is multi-label."""
    from moderator_app.core.review.agreement import measure_category_agreement
    from moderator_app.core.review.category_figures import describe, store_category_figures

    reports = measure_category_agreement(store, where, resamples=max(resamples, 0))
    if not reports:
        return {}
    figures = {figure.category: figure for figure in store_category_figures(store, where)}
    print(f"Per category (each decision as yes or no for it; the figures above compare whole sets){interval}:")
    for category, report in reports.items():
        kappas = "; ".join(f"{pair.first} – {pair.second} kappa {pair.kappa.describe()}" for pair in report.pairs)
        print(f"  {category}: alpha {report.alpha.describe()}" + (f"; {kappas}" if kappas else ""))
        if category in figures:
            print(f"    the model against the moderators' current decisions: {describe(figures[category])}")
    return {category: report.to_json() | ({"model": figures[category].to_json()} if category in figures else {})
            for category, report in reports.items()}
