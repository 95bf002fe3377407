"""The files that ship with the app (icons, desktop entry, AppStream metainfo), found with
importlib.resources wherever the package lives: a wheel, an editable install or a PyInstaller
bundle. `resources/` in the source tree is the package `moderator_app.assets` (pyproject.toml).

Importing this module does not import Qt; `app_icon()` and `apply_app_identity()` do.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from moderator_app import __version__

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

ASSETS_PACKAGE = "moderator_app.assets"
# One id for the AppStream component, the desktop entry's file name (without .desktop), the icon's
# name in the icon theme and QGuiApplication.desktopFileName() (Wayland's app id), as the specs ask.
APP_ID = "io.github.moderator_app.Moderator"
DISPLAY_NAME = "Moderator"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

_extracted = contextlib.ExitStack()  # files that had to be copied out of a zip import; removed at exit
atexit.register(_extracted.close)


def asset(*parts: str) -> Path:
    """A file of `moderator_app.assets` as a real path (what Qt and desktop tools need)."""
    traversable = resources.files(ASSETS_PACKAGE).joinpath(*parts)
    if not traversable.is_file():
        raise FileNotFoundError(f"{'/'.join(parts)} is not in the {ASSETS_PACKAGE} package data")
    if isinstance(traversable, Path):
        return traversable
    return _extracted.enter_context(resources.as_file(traversable))  # zipped package: a temporary copy


def icon_path() -> Path:
    """The scalable application icon (SVG)."""
    return asset("icons", "moderator-app.svg")


def app_icon_file(size: int | None = None) -> Path:
    """The application icon as a PNG of `size` pixels (one of ICON_SIZES); the SVG when size is None."""
    if size is None:
        return icon_path()
    if size not in ICON_SIZES:
        raise ValueError(f"no {size}px icon; sizes: {', '.join(map(str, ICON_SIZES))}")
    return asset("icons", f"moderator-app-{size}.png")


def desktop_entry_file() -> Path:
    return asset(f"{APP_ID}.desktop")


def metainfo_file() -> Path:
    return asset(f"{APP_ID}.metainfo.xml")


def app_icon() -> QIcon:
    """A QIcon with every PNG size, so that no size is scaled from another and no SVG plugin is needed."""
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(app_icon_file(size)))
    return icon


def apply_app_identity(app: QApplication) -> None:
    """Names, version, desktop entry and window icon of the application.

    The organization and application names are those of moderator_app.gui.common.settings, so that QSettings
    keeps finding the user's settings where it always has."""
    from moderator_app.gui.common import settings

    app.setOrganizationName(settings.ORGANIZATION)
    app.setApplicationName(settings.APPLICATION)
    app.setApplicationDisplayName(DISPLAY_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # Wayland's app id; lets the shell match the window to the entry
    app.setWindowIcon(app_icon())
    if sys.platform == "win32":  # the taskbar groups and shows the icon by this id, not python.exe's
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(APP_ID)


def _exec_quote(command: str) -> str:
    """`command` as the Exec key of a desktop entry wants it (quoted if needed, % doubled)."""
    if any(char in command for char in " \t\n\"'\\><~|&;$*?#()`"):
        command = '"' + "".join("\\" + c if c in '"`$\\' else c for c in command) + '"'
    return command.replace("\\", "\\\\").replace("%", "%%")  # then the string escapes of every value


def install_desktop_entry(command: str, data_home: str | Path | None = None) -> list[Path]:
    """Put the menu entry, the icons and the metainfo under `data_home` (default: $XDG_DATA_HOME or
    ~/.local/share), launching `command` (absolute path of moderator-app-gui, or of a bundle's
    executable). Returns the files written. Linux and other freedesktop systems only."""
    home = Path(data_home or os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    written = []

    def write(target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)

    entry = []
    for line in desktop_entry_file().read_text(encoding="utf-8").splitlines():
        key = line.split("=", 1)[0]
        if key == "Exec":
            line = f"Exec={_exec_quote(command)}"
        elif key == "TryExec":
            line = "TryExec=" + command.replace("\\", "\\\\")
        entry.append(line)
    write(home / "applications" / f"{APP_ID}.desktop", ("\n".join(entry) + "\n").encode("utf-8"))
    for size in ICON_SIZES:
        write(home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png",
              app_icon_file(size).read_bytes())
    write(home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg", icon_path().read_bytes())
    write(home / "metainfo" / f"{APP_ID}.metainfo.xml", metainfo_file().read_bytes())
    if shutil.which("update-desktop-database"):  # refreshes the menu's cache where there is one
        subprocess.run(["update-desktop-database", str(home / "applications")], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return written


if __name__ == "__main__":  # python -m moderator_app.resources install-desktop-entry [COMMAND]
    import argparse

    parser = argparse.ArgumentParser(prog="python -m moderator_app.resources")
    sub = parser.add_subparsers(dest="action", required=True)
    install = sub.add_parser("install-desktop-entry", help="add Moderator to this user's application menu")
    install.add_argument("command", nargs="?", help="what the entry launches (default: moderator-app-gui "
                                                    "next to this Python)")
    install.add_argument("--data-home", help="instead of $XDG_DATA_HOME or ~/.local/share")
    args = parser.parse_args()
    command = args.command or str(Path(sys.executable).with_name("moderator-app-gui"))
    if not os.access(command, os.X_OK):
        parser.error(f"{command} is not an executable; name the launcher to use")
    for path in install_desktop_entry(command, args.data_home):
        print(path)
