"""PyInstaller's entry script (packaging/moderator-app.spec): the same as the `moderator-app` command,
the window without a subcommand."""

import multiprocessing
import sys

from moderator_app.cli import main

if __name__ == "__main__":
    # The training process is spawned from this executable (core/training_process.py) on every
    # platform: started with --multiprocessing-fork it must become that process, not a second app.
    multiprocessing.freeze_support()
    sys.exit(main())
