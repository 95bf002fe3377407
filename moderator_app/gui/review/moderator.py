"""Who is deciding: the moderator's name, set once in the app (default: the operating-system user),
recorded with every decision and shown in the status bar."""

from __future__ import annotations

import getpass

from PySide6.QtWidgets import QInputDialog, QWidget

from moderator_app.gui.common import settings

MODERATOR_KEY = "review/moderator"


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (some containers): the log still needs a name
        return "moderator"


def moderator_name() -> str:
    return str(settings.load_value(MODERATOR_KEY) or "").strip() or os_user()


def set_moderator_name(name: str) -> str:
    name = name.strip() or os_user()
    settings.save_value(MODERATOR_KEY, name)
    return name


def ask_moderator_name(parent: QWidget) -> str | None:
    """Ask for the name; None when cancelled."""
    name, accepted = QInputDialog.getText(parent, "Moderator", "Your name, recorded with each of your decisions:",
                                          text=moderator_name())
    return set_moderator_name(name) if accepted else None
