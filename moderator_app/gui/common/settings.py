"""Persistent user settings (window geometry, last folders, last form values) via QSettings.

Values are stored as JSON strings so that every platform's backend (registry, plist, INI) returns
the same Python types. Tests, benchmarks and the screenshot script call `use_settings_file()` first
so that they never read or write the user's own settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "moderator-app"
APPLICATION = "Moderator"

_settings_file: str | None = None


def use_settings_file(path: str | Path | None) -> None:
    """Keep all settings in this INI file (None: back to the platform's normal location)."""
    global _settings_file
    _settings_file = None if path is None else str(path)


def open_settings() -> QSettings:
    if _settings_file is not None:
        return QSettings(_settings_file, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def load_value(key: str, default: Any = None) -> Any:
    raw = open_settings().value(key)
    if raw is None:
        return default
    try:
        return json.loads(str(raw))
    except (TypeError, ValueError):
        return default


def save_value(key: str, value: Any) -> None:
    settings = open_settings()
    settings.setValue(key, json.dumps(value))
    settings.sync()


def load_bytes(key: str) -> QByteArray | None:
    raw = open_settings().value(key)
    return raw if isinstance(raw, QByteArray) and not raw.isEmpty() else None


def save_bytes(key: str, value: QByteArray) -> None:
    settings = open_settings()
    settings.setValue(key, value)
    settings.sync()


def last_folder(kind: str) -> str:
    """The folder the user last picked for `kind` ("data", "model", "output", "config"), or ""."""
    folder = load_value(f"folders/{kind}", "")
    return folder if isinstance(folder, str) and Path(folder).is_dir() else ""


def remember_folder(kind: str, path: str | Path) -> None:
    path = Path(path)
    save_value(f"folders/{kind}", str(path if path.is_dir() else path.parent))
