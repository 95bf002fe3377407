"""The command line's error boundary: every failure becomes one line on stderr and an exit status,
never a traceback. Settings that core names as ``{field_name}`` are rendered as this CLI's flags."""

from __future__ import annotations

import sys

from moderator_app.core.errors import describe_failure

EXIT_OK = 0
EXIT_FAILED = 1        # a fault of ours (a bug): one line, and the traceback only with MODERATOR_APP_DEBUG=1
EXIT_BAD_INPUT = 2     # bad input the user can fix
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; partial outputs removed or a checkpoint written

# settings whose flag is not simply --field-name
FLAG_OVERRIDES: dict[str, str] = {
    "train_file": "--data",
    "sources": "--source",
    "validation_file": "--validation",
    "model_name_or_path": "--model",
    "output_dir": "--output",
    "num_epochs": "--epochs",
    "test_suites": "--tests",
}


def flag_for(field_name: str) -> str:
    """The CLI flag that sets a setting (core names settings by their field names)."""
    return FLAG_OVERRIDES.get(field_name, "--" + field_name.replace("_", "-"))


def report_failure(command: str, error: BaseException) -> int:
    """Print one line for `error` and return the exit status (2 for bad input, 1 for a fault of ours)."""
    import os

    failure = describe_failure(error, flag_for)
    print(f"moderator-app {command}: error: {failure.message}", file=sys.stderr)
    if not failure.is_user_error and os.environ.get("MODERATOR_APP_DEBUG"):
        print(failure.details, file=sys.stderr)
    return EXIT_BAD_INPUT if failure.is_user_error else EXIT_FAILED
