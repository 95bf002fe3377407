"""`moderator-app train`: fine-tune a classifier from the command line.

Settings come from the recipe's defaults, then `--config FILE`, then explicit flags."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import fields

from moderator_app.core.config import FIELD_HELP, ConfigError, TrainingConfig

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130

# Friendlier names for the most used settings; every other field gets --field-name.
FLAG_NAMES = {"train_file": "--data", "validation_file": "--validation", "model_name_or_path": "--model",
              "output_dir": "--output", "num_epochs": "--epochs"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="training configuration (JSON) to start from")
    parser.add_argument("--resume", metavar="DIR",
                        help="continue a stopped run from its output folder (its saved configuration is used)")
    defaults = TrainingConfig()
    for field in fields(TrainingConfig):
        flag = FLAG_NAMES.get(field.name, "--" + field.name.replace("_", "-"))
        default = getattr(defaults, field.name)
        help_text = FIELD_HELP.get(field.name, "") + (f" (default: {default})" if default != "" else "")
        kind = {"str": str, "int": int, "float": float, "bool": bool}[field.type]
        if kind is bool:
            parser.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            parser.add_argument(flag, dest=field.name, type=kind, default=argparse.SUPPRESS, help=help_text,
                                metavar=field.name.split("_")[-1].upper())


def config_from_args(args: argparse.Namespace) -> TrainingConfig:
    config = TrainingConfig.load(args.config) if args.config else TrainingConfig()
    for field in fields(TrainingConfig):
        if hasattr(args, field.name):
            setattr(config, field.name, getattr(args, field.name))
    return config.validate()


def run(args: argparse.Namespace) -> int:
    try:
        config = None if args.resume else config_from_args(args)
    except ConfigError as error:
        flag = FLAG_NAMES.get(error.field, "--" + error.field.replace("_", "-"))
        print(f"moderator-app train: {flag}: {error.message}", file=sys.stderr)
        return EXIT_BAD_INPUT

    from moderator_app.commands.train_progress import ConsoleProgress
    from moderator_app.core.training.engine import TrainingError, train

    stop = threading.Event()
    interrupted = []

    def on_interrupt(signum, frame):
        if stop.is_set():  # a second Ctrl-C: the user really wants out now
            raise KeyboardInterrupt
        interrupted.append(True)
        stop.set()
        print("\nStopping after the current step (press Ctrl-C again to abort without a checkpoint)…",
              file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_interrupt) if threading.current_thread() is threading.main_thread() else None
    progress = ConsoleProgress()
    try:
        if config is not None:
            print(f"Base model: {config.model_name_or_path}   output: {config.output_dir}")
        result = train(config or TrainingConfig(), progress.on_event, stop, resume_from=args.resume)
    except TrainingError as error:
        progress.close()
        print(f"moderator-app train: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT if error.bad_input else EXIT_FAILED
    except KeyboardInterrupt:
        progress.close()
        print("moderator-app train: aborted; no checkpoint was written for the last steps.", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    progress.close()
    if result.reason == "stopped":
        print(f"Stopped at step {result.global_step}. Resume with:\n"
              f"  moderator-app train --resume {result.output_dir}")
        return EXIT_INTERRUPTED if interrupted else 0
    best = result.best_metrics
    print(f"Best epoch {result.best_epoch}: validation loss {best['val_loss']:.4f}, accuracy "
          f"{best['accuracy']:.4f}, F1 {best['f1']:.4f}"
          + (f"; {result.skipped_steps} fp16 steps skipped on overflow" if result.skipped_steps else ""))
    print(f"Model saved to {result.output_dir}")
    return 0
