"""The Review tab's store setting and, for a team's shared store, the refresh that shows the other
moderators' decisions.

The setting (`review/store` in the app's settings) is an SQLite file or a `postgresql://` URL; empty:
the app's own file. It is saved without any password (the password comes from PGPASSWORD or
~/.pgpass) and takes effect at the next start, so that an open queue never changes store under the
moderator. A shared store is polled: every POLL_S seconds while the app is active, and at once when its
window is activated again, the open table's decisions are looked up again (a refresh on focus plus a
short poll)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from moderator_app.core.review.store import is_server_url, store_location
from moderator_app.gui.common import dialogs, settings

STORE_KEY = "review/store"
POLL_S = 15


def saved_store() -> str | None:
    value = settings.load_value(STORE_KEY)
    return str(value).strip() or None if value else None


def ask_store(parent: QWidget, current: str) -> str | None:
    """Ask for the store; saves and returns the new setting (None: cancelled or unchanged)."""
    text, accepted = QInputDialog.getText(
        parent, "Decision store",
        "An SQLite file, or a team's PostgreSQL database as postgresql://USER@HOST:PORT/DATABASE\n"
        "(the password from PGPASSWORD or ~/.pgpass; it is never saved). Empty: the app's own file.\n"
        "Takes effect when the app starts again.", QLineEdit.EchoMode.Normal, current)
    if not accepted:
        return None
    text = text.strip()
    dropped = ""
    if is_server_url(text):
        try:
            shown = str(store_location(text))
        except Exception as error:  # noqa: BLE001 - SQLAlchemy's URL parser: any malformed URL
            dialogs.show_error(parent, "Decision store", f"'{text}' is not a database URL ({error}).")
            return None
        if shown != text:
            dropped = " The password was left out: put it in PGPASSWORD or ~/.pgpass."
        text = shown
    if text == current:
        return None
    settings.save_value(STORE_KEY, text)
    dialogs.show_info(parent, "Decision store", f"Decisions will be saved to {text or 'the app’s own file'} "
                                                f"from the next start of the app.{dropped}")
    return text


class StorePoll(QObject):
    """`due` every POLL_S seconds while the application is active, and when it becomes active again."""

    due = Signal()

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_S * 1000)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        application = QGuiApplication.instance()
        if application is not None:
            application.applicationStateChanged.connect(self._state_changed)

    def _tick(self) -> None:
        application = QGuiApplication.instance()
        if application is None or application.applicationState() == Qt.ApplicationState.ApplicationActive:
            self.due.emit()

    def _state_changed(self, state) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.due.emit()
