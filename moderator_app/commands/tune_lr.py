"""`moderator-app tune-lr`: short, seeded trials over a range of learning rates (core/training/lr_search.py),
printed as a table of learning rate → validation loss and accuracy, with the recipe's 2e-5 and the best
marked and a recommendation. It takes the data, model and training flags of `train` (and `--config`);
nothing is written but the `--json` file: the trials train in a temporary folder that is removed."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from moderator_app.commands import train
from moderator_app.commands.errors import EXIT_INTERRUPTED, EXIT_OK, report_failure
from moderator_app.core.training.lr_search import RECIPE_LEARNING_RATE, SearchSettings

COMMAND = "tune-lr"
DEFAULTS = SearchSettings()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="training configuration (JSON) to start from")
    parser.add_argument("--trials", type=int, default=DEFAULTS.trials, metavar="N",
                        help=f"learning rates to try, log-spaced over the range (default: {DEFAULTS.trials}), plus "
                             f"the recipe's {RECIPE_LEARNING_RATE:g} when it lies in the range")
    parser.add_argument("--min-lr", type=float, default=DEFAULTS.min_lr, metavar="LR",
                        help=f"lowest learning rate (default: {DEFAULTS.min_lr:g})")
    parser.add_argument("--max-lr", type=float, default=DEFAULTS.max_lr, metavar="LR",
                        help=f"highest learning rate (default: {DEFAULTS.max_lr:g})")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--steps", type=int, metavar="N",
                      help=f"optimiser steps per trial, on a stratified subset of the training split "
                           f"(default: {DEFAULTS.steps})")
    size.add_argument("--fraction", type=float, metavar="F",
                      help="instead of --steps: each trial trains on this fraction of an epoch (0–1)")
    parser.add_argument("--validation-rows", type=int, default=DEFAULTS.validation_rows, metavar="N",
                        help="each trial is scored on a stratified subset of this many validation rows "
                             f"(default: {DEFAULTS.validation_rows})")
    parser.add_argument("--json", metavar="OUT", help="also write every trial and the recommendation to this JSON file")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT when it exists")
    train.add_setting_arguments(parser, leave_out=frozenset({"output_dir", "overwrite", "learning_rate"}))


def run(args: argparse.Namespace) -> int:
    from moderator_app.commands.evaluate import check_json_output, write_json_atomically

    stop = threading.Event()
    progress = _Progress()

    def on_interrupt(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nCancelling after the current step (Ctrl-C again to abort)…", file=sys.stderr)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {number: signal.signal(number, on_interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        settings = SearchSettings(min_lr=args.min_lr, max_lr=args.max_lr, trials=args.trials,
                                  steps=args.steps if args.fraction is None else None, fraction=args.fraction,
                                  validation_rows=args.validation_rows)
        if settings.steps is None and settings.fraction is None:
            settings.steps = DEFAULTS.steps
        settings.check()  # before the data and the model are read
        output = check_json_output(args.json, args.overwrite) if args.json else None
        config = train.config_from_args(args, validate=False)
        from moderator_app.core.training.lr_search import search_learning_rates

        print(f"Base model: {config.model_name_or_path}   learning rates {settings.min_lr:g} … {settings.max_lr:g}, "
              f"{len(settings.learning_rates())} trials")
        print(train.describe_precision(config))
        result = search_learning_rates(config, settings, progress.on_progress, stop)
    except KeyboardInterrupt:
        progress.close()
        print(f"moderator-app {COMMAND}: aborted; the trials' temporary folder was removed.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the command's one error boundary: one line, never a traceback
        progress.close()
        return report_failure(COMMAND, error)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    progress.close()
    print(format_table(result))
    if output is not None:
        try:
            write_json_atomically(output, result.to_dict(), args.overwrite)
        except Exception as error:  # noqa: BLE001 - one line, as above
            return report_failure(COMMAND, error)
    if result.cancelled:
        print(f"moderator-app {COMMAND}: cancelled after {len(result.trials)} trials.", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def format_table(result) -> str:
    """learning rate | validation loss | accuracy | F1 | training loss, the recipe's and the best marked."""
    lines = [f"Each trial: {result.steps} steps on {result.train_rows:,} of {result.train_rows_total:,} training rows "
             f"({result.fraction_of_epoch:.0%} of an epoch), scored on {result.validation_rows:,} validation rows.",
             f"{'Learning rate':>13} | {'Val loss':>8} | {'Accuracy':>8} | {'F1':>6} | {'Train loss':>10}"]
    for trial in sorted(result.trials, key=lambda trial: trial.learning_rate):
        marks = [mark for mark, applies in (("recipe", trial.is_recipe), ("best", trial.learning_rate == result.best),
                                            ("recommended", trial.learning_rate == result.recommended)) if applies]
        train_loss = f"{trial.train_loss:>10.4f}" if trial.train_loss is not None else f"{'':>10}"
        if trial.diverged:
            scores = f"{'diverged':>8} | {'':>8} | {'':>6}"
        else:
            scores = f"{trial.val_loss:>8.4f} | {trial.accuracy:>8.4f} | {trial.f1:>6.4f}"
        lines.append(f"{trial.learning_rate:>13.2e} | {scores} | {train_loss}"
                     + (f"  ← {', '.join(marks)}" if marks else ""))
    if result.recommended is not None:
        lines.append(f"Recommended learning rate: {result.recommended:.2g} (--learning-rate {result.recommended:.2g}). "
                     f"{result.reason}")
    else:
        lines.append(result.reason)
    return "\n".join(lines)


class _Progress:
    """One tqdm bar over every trial's steps on stderr, and a line per finished trial."""

    def __init__(self):
        self.bar = None

    def on_progress(self, item) -> None:
        from tqdm import tqdm

        from moderator_app.core.training.lr_search import TrialProgress, TrialResult

        if isinstance(item, TrialProgress):
            if self.bar is None:
                self.bar = tqdm(total=item.trials * item.steps, unit="step", file=sys.stderr, dynamic_ncols=True)
            self.bar.update((item.trial - 1) * item.steps + item.step - self.bar.n)
            loss = f", loss {item.loss:.4f}" if item.loss is not None else ""
            self.bar.set_postfix_str(f"trial {item.trial}/{item.trials}, lr {item.learning_rate:.2e}{loss}",
                                     refresh=False)
        elif isinstance(item, TrialResult) and self.bar is not None:
            outcome = "diverged" if item.diverged else f"validation loss {item.val_loss:.4f}, accuracy {item.accuracy:.4f}"
            self.bar.write(f"lr {item.learning_rate:.2e}: {outcome} ({item.seconds:.1f} s)", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
