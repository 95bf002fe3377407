"""Application start: `run_app()` is what `moderator-app` without a subcommand runs.

Before anything of Qt is imported, `display_check` makes sure Qt can open a window here (on Linux: the
system libraries its platform plugin links), so a missing library is one line naming the packages to
install and exit status 2, never Qt's abort; Qt is therefore imported inside the functions below.
Only Qt, pyqtgraph and the Qt-free core are imported before the window shows; torch, transformers
and datasets are imported later on background threads (device probe, data report, training)."""

from __future__ import annotations

import os
import sys
import time

from moderator_app import __version__
from moderator_app.gui import display_check

# Diagnostics for benchmarks/gui_responsiveness.py and the start-up test: print when the window has
# shown (and whether torch was imported by then), then quit.
QUIT_WHEN_SHOWN_ENV = "MODERATOR_APP_QUIT_WHEN_SHOWN"
SETTINGS_FILE_ENV = "MODERATOR_APP_SETTINGS_FILE"
EXIT_CANNOT_START = 2  # the computer lacks what the window needs: bad input, as for the command line


def create_application(argv: list[str] | None = None):
    """The QApplication (created once), named for QSettings, with the app's icon."""
    from PySide6.QtWidgets import QApplication

    from moderator_app.gui.common import settings
    from moderator_app.resources import apply_app_identity

    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    try:
        apply_app_identity(app)  # names (those QSettings uses), version, desktop file name, window icon
    except FileNotFoundError:  # a source tree without its assets: still run, without the icon
        app.setOrganizationName(settings.ORGANIZATION)
        app.setApplicationName(settings.APPLICATION)
        app.setApplicationVersion(__version__)
    return app


def run_app(argv: list[str] | None = None) -> int:
    problem = display_check.problem()
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_CANNOT_START
    from PySide6.QtCore import QTimer

    from moderator_app.gui.common import settings
    from moderator_app.gui.main_window import MainWindow
    from moderator_app.gui.review.window_links import add_review_tab

    if os.environ.get(SETTINGS_FILE_ENV):
        settings.use_settings_file(os.environ[SETTINGS_FILE_ENV])
    app = create_application(argv)
    window = MainWindow()
    add_review_tab(window)  # and "Open in Review" in the Training tab
    if os.environ.get(QUIT_WHEN_SHOWN_ENV):
        def report() -> None:
            print(f"window-shown {time.time():.6f} torch-imported={'torch' in sys.modules} "
                  f"transformers-imported={'transformers' in sys.modules}", flush=True)
            QTimer.singleShot(0, app.quit)

        window.first_shown.connect(report)
    window.show()
    return app.exec()
