"""`moderator-app train`: fine-tune a classifier from the command line.

Settings come from the recipe's defaults, then `--config FILE`, then explicit flags. Every flag, its
help and its range come from the TrainingConfig field metadata; every failure leaves through
`report_failure` as one line (exit 2 for bad input)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from moderator_app.commands import train_launch
from moderator_app.commands.errors import EXIT_INTERRUPTED, EXIT_OK, flag_for, report_failure
from moderator_app.core.config import FIELD_SPECS, ConfigError, TrainingConfig
from moderator_app.core.sources import SourceFormError, parse_source_form
from moderator_app.core.training import distributed

# --source: a training source in its short form (core.sources.parse_source_form); `audit` takes it too
SOURCE_HELP = ("a training source needing a mapping or other options, as PATH;key=value;… with keys "
               "text_column, label_column, label_map (JSON, or a JSON file), score_threshold, weight, "
               "max_rows, validation_path, vote_columns (JSON: vote-count column → label) and votes (soft, "
               "drop_split or majority), categories (a multi-label run, JSON: category → rule, e.g. "
               "categories={\"hate\": {\"column\": \"label\", \"yes\": [\"hate\"], \"no\": [\"not-hate\"]}}), "
               "e.g. --source 'davidson.csv;text_column=tweet;label_column=class;"
               "label_map={\"0\": \"hate\", \"1\": \"not-hate\", \"2\": \"not-hate\"}'. Repeatable.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="training configuration (JSON) to start from")
    parser.add_argument("--resume", metavar="DIR",
                        help="continue a stopped run from its output folder (its saved configuration is used)")
    train_launch.add_arguments(parser)
    add_setting_arguments(parser)


def add_setting_arguments(parser: argparse.ArgumentParser, leave_out: frozenset[str] = frozenset()) -> None:
    """One flag per TrainingConfig setting the CLI offers (but those in `leave_out`), from its metadata;
    `tune-lr` takes the same ones as `train`."""
    for name, spec in FIELD_SPECS.items():
        if not spec["cli"] or name in leave_out:
            continue
        default = spec["default"]
        help_text = spec["help"] + (f" (default: {default})" if default != "" else "")
        if spec["choices"]:
            help_text += f" Choices: {', '.join(spec['choices'])}."
        if name == "sources":  # the short form, parsed in config_from_args
            parser.add_argument(flag_for(name), dest=name, action="append", default=argparse.SUPPRESS,
                                metavar="SPEC",
                                help=spec["help"] + " Here: " + SOURCE_HELP + " Added to the sources of --config.")
        elif name == "train_file":  # repeatable: the first is the training file, the others more sources
            parser.add_argument(flag_for(name), dest=name, action="append", default=argparse.SUPPRESS,
                                metavar="FILE", help=help_text + " Repeat it for more training files that need no "
                                "label map (each is a source, split for validation on its own).")
        elif name == "test_suites":  # repeatable, added to those of --config
            parser.add_argument(flag_for(name), dest=name, action="append", default=argparse.SUPPRESS,
                                metavar="SUITE", help=spec["help"] + " Repeat it for several suites.")
        elif name == "categories":  # a multi-label run: the categories, comma-separated
            parser.add_argument(flag_for(name), dest=name, type=category_list, default=argparse.SUPPRESS,
                                metavar="CAT,CAT", help=spec["help"] + " Here: comma-separated, e.g. "
                                "--categories hate,offensive; each --source then says how it labels them with "
                                "categories={…} (JSON).")
        elif spec["type"] is bool:
            parser.add_argument(flag_for(name), dest=name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            parser.add_argument(flag_for(name), dest=name, type=spec["type"], default=argparse.SUPPRESS,
                                help=help_text, metavar=name.split("_")[-1].upper())




def category_list(text: str) -> list[str]:
    """`--categories hate,offensive` as a list (spaces around the names dropped, empty parts refused)."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of category names")
    return names


def config_from_args(args: argparse.Namespace, validate: bool = True) -> TrainingConfig:
    """The recipe, then `--config`, then the flags; validated unless `validate` is False (a caller that
    needs not every setting, such as `tune-lr` without an output folder, checks what it needs)."""
    config = TrainingConfig.load(args.config) if args.config else TrainingConfig()
    for name in FIELD_SPECS:
        if hasattr(args, name) and name not in ("train_file", "sources", "test_suites"):
            setattr(config, name, getattr(args, name))
    config.test_suites = list(config.test_suites) + list(getattr(args, "test_suites", []))
    if hasattr(args, "train_file"):
        config.train_file, *more = args.train_file
        config.sources = list(config.sources) + [{"path": path} for path in more]
    for form in getattr(args, "sources", []):
        try:
            config.sources = list(config.sources) + [parse_source_form(form)]
        except SourceFormError as error:
            raise ConfigError("sources", str(error)) from None
    return config.validate() if validate else config


def run(args: argparse.Namespace) -> int:
    from moderator_app.commands.train_progress import ConsoleProgress

    if train_launch.wants_launch(args):  # --nproc N: start N processes, each running this command
        try:
            config = None if args.resume else config_from_args(args)
        except Exception as error:  # noqa: BLE001 - one line, as below
            return report_failure("train", error)
        return train_launch.launch(args, config)
    process = distributed.process_label()  # "process 2 of 4" under torchrun, else ""
    if not distributed.is_main_process():  # process 0 shows the progress and the results
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
    stop = threading.Event()
    interrupted = []

    def on_interrupt(signum, frame):
        if stop.is_set():  # a second Ctrl-C: the user really wants out now
            if process:  # torchrun forwards signals too, and kills what has not ended after its timeout
                return
            raise KeyboardInterrupt
        interrupted.append(signum)
        stop.set()
        print("\nStopping after the current step (press Ctrl-C again to abort without a checkpoint)…",
              file=sys.stderr)

    # SIGTERM (a scheduler, `kill`, a closing terminal session) is handled like Ctrl-C: checkpoint and stop.
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {number: signal.signal(number, on_interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    progress = ConsoleProgress()
    try:
        config = None if args.resume else config_from_args(args)
        from moderator_app.core.training.engine import train

        if config is not None:
            from moderator_app.core.training.run_folder import RunFolder

            if distributed.is_main_process():  # refuse an unusable output folder before saying anything
                RunFolder(config.output_dir).check_new_run(config.model_name_or_path, config.overwrite)
            print(f"Base model: {config.model_name_or_path}   output: {config.output_dir}")
            print(describe_precision(config))
        result = train(config or TrainingConfig(), progress.on_event, stop, resume_from=args.resume)
    except KeyboardInterrupt:
        progress.close()
        print("moderator-app train: aborted; no checkpoint was written for the last steps.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the command's one error boundary: one line, never a traceback
        progress.close()
        if process:  # say which process; leave the line where torchrun (and --nproc) reads it
            return train_launch.report_process_failure(error, process)
        return report_failure("train", error)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    progress.close()
    for warning in progress.data_warnings:  # said in the data report too, long since scrolled away
        print(f"moderator-app train: warning: {warning}", file=sys.stderr)
    if result.reason == "stopped":
        print(f"Stopped at step {result.global_step}. Resume with:\n"
              f"  moderator-app train --resume {result.output_dir}"
              + (f" --nproc {os.environ['WORLD_SIZE']}" if process else ""))
        return EXIT_INTERRUPTED if interrupted else EXIT_OK
    best = result.best_metrics
    if result.warning:
        print(f"moderator-app train: warning: the best epoch's model is not usable as it is. {result.warning}",
              file=sys.stderr)
    print(f"Best epoch {result.best_epoch}: validation loss {best['val_loss']:.4f}, accuracy "
          f"{best['accuracy']:.4f} (majority baseline {best.get('majority_baseline', 0):.4f}), F1 {best['f1']:.4f}"
          + (f"; {result.skipped_steps} fp16 steps skipped on overflow" if result.skipped_steps else ""))
    print(f"Model saved to {result.output_dir}")
    return EXIT_OK


def describe_precision(config: TrainingConfig) -> str:
    """"Precision: bf16, chosen by auto: …": what the engine will run in and why (the same core rule)."""
    from moderator_app.core.devices import resolve_device
    from moderator_app.core.errors import UserError
    from moderator_app.core.precision import training_precision

    try:
        return f"Precision: {training_precision(config.precision, resolve_device(config.device)).describe()}"
    except (RuntimeError, UserError) as error:  # the engine reports it as the run's failure
        return f"Precision: {config.precision} ({error})"
