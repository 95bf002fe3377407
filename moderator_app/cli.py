"""Command line: `moderator-app` opens the desktop app; subcommands drive the same core headless.

    moderator-app                      open the desktop app
    moderator-app train --data F ...   fine-tune a classifier
    moderator-app tune-lr --data F ... find a learning rate for it
    moderator-app label FILE --model M label a CSV/TSV/JSON Lines/Parquet file
    moderator-app classify TEXT --model M

Each subcommand lives in moderator_app/commands/ and is imported only when used, so that
`--help` and the GUI's start do not wait for torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from moderator_app import __version__

# subcommand name -> module in moderator_app.commands with add_arguments(parser) and run(args) -> int
SUBCOMMANDS = {
    "train": ("train", "fine-tune a classifier on a labelled data file"),
    "tune-lr": ("tune_lr", "find a learning rate: short seeded trials over a range, validation loss for each"),
    "label": ("label", "batch-label a data file with a trained model"),
    "classify": ("classify", "classify texts given as arguments or on standard input"),
    "evaluate": ("evaluate", "measure a model on a labelled data file (metrics beside the majority baseline)"),
    "audit": ("audit", "find likely label errors, duplicates and train/validation leaks in training data"),
    "decisions": ("decisions", "the Review tab's decisions: export, conflicts, agreement, assign, adjudicate…"),
}


class OneLineParser(argparse.ArgumentParser):
    """A usage mistake is bad input like any other: one line naming the flag, exit 2 (argparse would
    print the whole usage first). `--help` still shows the usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with `only` the parser for one subcommand (imports just its module)."""
    parser = OneLineParser(
        prog="moderator-app",
        description="Fine-tune transformer hate-speech classifiers and review or label text with them. "
                    "Without a subcommand, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"moderator-app {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if only and name != only:
            subparsers.add_parser(name, help=help_text)
            continue
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        command_module(module_name).add_arguments(sub)
    return parser


def command_module(name: str):
    return importlib.import_module(f"moderator_app.commands.{name}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    args = build_parser(only=command).parse_args(argv)
    if args.command is None:
        from moderator_app.gui.app import run_app

        return run_app()
    return command_module(SUBCOMMANDS[args.command][0]).run(args)


if __name__ == "__main__":
    sys.exit(main())
