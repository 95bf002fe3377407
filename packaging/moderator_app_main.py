"""PyInstaller's entry script (packaging/moderator-app.spec): the same as the `moderator-app` command,
the window without a subcommand."""

import multiprocessing
import sys

from moderator_app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen Windows/macOS child process must not start the app again
    sys.exit(main())
