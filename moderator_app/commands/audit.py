"""`moderator-app audit DATA …`: likely label errors, duplicates and leaks in training data.

    moderator-app audit train.csv [more.csv …] [--validation V] [--config FILE] [--model BASE]
                        [--json OUT] [--queue NAME] [--corrections-queue QUEUE] [--views V,V…]
                        [--write-corrected OUT --corrections-from-store [QUEUE]]

The data is read as `train` would read it (the same flags and --config: sources, columns, label maps,
validation split and seed), audited by core/audit, and summarised: counts, the top suspects, duplicate
groups with three examples each, and the leaks between training and validation. --json writes
everything; --queue puts the suspects in a new Review queue; --write-corrected writes a copy of the
training file with the moderator's corrections from the decision store. A multi-label configuration
(`categories`) is audited per category on the rows that know it (core/audit/category_audit); its corrected
copy is refused before the slow part. Every output is written atomically to a new file. Bad input exits 2
with one line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from moderator_app.commands.errors import EXIT_INTERRUPTED, EXIT_OK, report_failure
from moderator_app.core.audit.label_issues import ALL_VIEWS, VIEWS
from moderator_app.core.config import ConfigError, TrainingConfig
from moderator_app.commands.train import SOURCE_HELP
from moderator_app.core.sources import SourceFormError, parse_source_form

COMMAND = "audit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA", nargs="*",
                        help="the training file (CSV, TSV, JSON Lines or Parquet); more files are more sources")
    parser.add_argument("--config", metavar="FILE", help="a training configuration (JSON): its data settings are used")
    parser.add_argument("--model", metavar="BASE",
                        help="the base encoder whose frozen embeddings the audit learns from (default: the "
                             "configuration's base model), e.g. the installed all-MiniLM-L6-v2 folder")
    parser.add_argument("--validation", metavar="FILE", help="a separate validation file (else the split)")
    parser.add_argument("--text-column", metavar="C", help="column holding the text (default: detected)")
    parser.add_argument("--label-column", metavar="L", help="column holding the label (default: detected)")
    parser.add_argument("--validation-split", type=float, metavar="F",
                        help="share held out for validation when there is no validation file (default: 0.1)")
    parser.add_argument("--seed", type=int, metavar="N", help="the seed of the split and the folds (default: 12345)")
    parser.add_argument("--source", action="append", default=[], metavar="SPEC", help=SOURCE_HELP)
    parser.add_argument("--corrections-queue", metavar="QUEUE",
                        help="read the labels with the moderator's corrections from this Review queue applied, as "
                             "`train --corrections-queue` does (the setting corrections_queue; '' for none)")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="also load a base model stored as a pickle (pytorch_model.bin), with weights_only")
    parser.add_argument("--views", metavar="V,V…",
                        help="the label-error views averaged, comma-separated, among " + ", ".join(ALL_VIEWS)
                             + " (default: " + ",".join(VIEWS) + "); margins is the area under the margin of a "
                             "small network trained per fold")
    parser.add_argument("--json", metavar="OUT", help="write everything found to this JSON file (a new file)")
    parser.add_argument("--top", type=int, default=10, metavar="N", help="suspects printed (default: 10)")
    parser.add_argument("--queue", metavar="NAME", nargs="?", const="",
                        help="also put the suspects, most suspicious first, in a new Review queue (default name: "
                             "'Audit suspects: SOURCES'), to keep or correct in the Review tab")
    parser.add_argument("--write-corrected", metavar="OUT",
                        help="write a copy of the training file with the moderator's corrected labels (a new file; "
                             "never the original). Needs --corrections-from-store")
    parser.add_argument("--corrections-from-store", metavar="QUEUE", nargs="?", const="",
                        help="the corrections: the latest decision per text in the decision store, in this Review "
                             "queue (default: every queue)")
    from moderator_app.commands.decisions import add_store_argument

    add_store_argument(parser)


def config_from_args(args: argparse.Namespace) -> TrainingConfig:
    config = TrainingConfig.load(args.config) if args.config else TrainingConfig()
    if args.data:
        config.train_file, *more = args.data
        config.sources = list(config.sources) + [{"path": path} for path in more]
    for name, value in (("validation_file", args.validation), ("text_column", args.text_column),
                        ("label_column", args.label_column), ("validation_split", args.validation_split),
                        ("seed", args.seed), ("model_name_or_path", args.model),
                        ("corrections_queue", args.corrections_queue)):
        if value is not None:
            setattr(config, name, value)
    if args.allow_pickle:
        config.allow_pickle = True
    for form in args.source:
        try:
            config.sources = list(config.sources) + [parse_source_form(form)]
        except SourceFormError as error:
            raise ConfigError("sources", str(error)) from None
    if not config.train_file and not config.sources:
        raise ConfigError("train_file", "no data to audit: give DATA or a --config with training data")
    return config.validate(require_data=False)


def run(args: argparse.Namespace) -> int:
    from moderator_app.commands.label import terminate_as_interrupt

    try:
        with terminate_as_interrupt():
            return _audit(args)
    except KeyboardInterrupt:
        print(f"moderator-app {COMMAND}: interrupted; nothing was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the one error boundary: one line, exit 2 for bad input
        return report_failure(COMMAND, error)


def _audit(args: argparse.Namespace) -> int:
    from moderator_app.core.audit.audit import COPY_REFUSED, check_single_label, run_audit, summary_lines
    from moderator_app.core.errors import OutputNotWritableError, SettingsError

    config = config_from_args(args)
    if args.write_corrected and args.corrections_from_store is None:
        raise SettingsError("--write-corrected needs the corrections: add --corrections-from-store [QUEUE].")
    for output in (args.json, args.write_corrected):  # refused before the slow part, not after it
        if output and Path(output).expanduser().exists():
            raise OutputNotWritableError(f"{output} exists already; the audit writes only new files.",
                                         "Choose a new file name.")
        if output and not Path(output).expanduser().resolve().parent.is_dir():
            raise OutputNotWritableError(f"The folder of {output} does not exist.")
    if args.write_corrected:  # before the slow part
        check_single_label(config.categories, COPY_REFUSED)
    views = _views(args.views)
    corrections = _corrections(args) if args.write_corrected else None
    quiet()
    progress = Progress()
    try:
        result = run_audit(config, report=progress, views=views)
    finally:
        progress.close()
    print("\n".join(summary_lines(result, top=args.top)))
    if args.json:
        from moderator_app.core.files.atomic import atomic_output

        with atomic_output(Path(args.json).expanduser()) as temporary:
            temporary.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"Wrote the audit to {args.json}.")
    if args.queue is not None:
        print(_open_queue(args, result))
    if args.write_corrected:
        from moderator_app.core.audit.review import write_corrected_copy

        written = write_corrected_copy(result, corrections, args.write_corrected)
        print(f"Wrote {written['path']}: {written['rows']:,} rows of {written['source']}, {written['relabelled']:,} "
              f"with the moderator's label, {written['confirmed']:,} confirmed as they were; no row left out.")
    return EXIT_OK


def _views(text: str | None) -> tuple[str, ...]:
    from moderator_app.core.errors import SettingsError

    if text is None:
        return VIEWS
    views = tuple(view.strip() for view in text.split(",") if view.strip())
    unknown = [view for view in views if view not in ALL_VIEWS]
    if unknown or not views:
        raise SettingsError(f"--views: unknown view {', '.join(unknown) or '(none given)'}; choose among "
                            f"{', '.join(ALL_VIEWS)}.")
    return views


def _corrections(args: argparse.Namespace) -> dict[str, str]:
    from moderator_app.core.training.corrections import store_corrections

    return store_corrections(args.corrections_from_store or "", args.store)


def _open_queue(args: argparse.Namespace, result) -> str:
    from moderator_app.core.audit.review import open_suspects_queue
    from moderator_app.core.review.store import DecisionStore

    store = DecisionStore(args.store)
    try:
        queue = open_suspects_queue(store, result, args.queue)
    finally:
        store.close()
    return f"Put {queue.items:,} suspects in the Review queue '{queue.name}' ({store.path})."


def quiet() -> None:
    from moderator_app.commands.label import quiet_transformers

    quiet_transformers()


class Progress:
    """One tqdm bar per stage on stderr (none when stderr is not a terminal)."""

    def __init__(self):
        self.bar, self.stage = None, ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, unit=" rows" if total > 1 else "", disable=None, file=sys.stderr,
                            dynamic_ncols=True, leave=False)
        if self.bar is not None:
            self.bar.n = done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
