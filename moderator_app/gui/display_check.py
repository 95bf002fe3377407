"""Whether Qt can open a window here, asked before Qt is imported.

On Linux, Qt loads its platform plugin when the application object is created; when a system library
that the plugin links is missing (on a clean Debian or Ubuntu desktop: libxcb-cursor0, libxcb-icccm4,
libxcb-keysyms1), Qt prints a paragraph about plugins and aborts the process. `problem()` finds that
out first, by asking the dynamic loader for the very libraries the plugin names (what `ldd` shows for
PySide6's platforms/libqxcb.so and lib/libQt6XcbQpa.so.6), and says in one line what to install.

This module imports no Qt: the launcher calls it before importing PySide6."""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Callable, Mapping

# soname: (Debian/Ubuntu package, Fedora package). QtGui links these whatever the platform plugin.
QT_GUI_LIBRARIES = {
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
}
# The X11 platform plugin (xcb) and its integration library link these.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
}


def loadable(soname: str) -> bool:
    """Whether the dynamic loader finds and loads `soname` (the search Qt's plugin load will make)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def platform(environ: Mapping[str, str]) -> str:
    """The platform plugin Qt will try first on Linux: QT_QPA_PLATFORM's first entry, else Wayland in a
    Wayland session (as Qt ≥ 6.5 chooses), else X11 (xcb)."""
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        return requested.split(";")[0].split(":")[0].strip().lower()
    if environ.get("XDG_SESSION_TYPE", "").lower() == "wayland" and environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb"


def problem(environ: Mapping[str, str] | None = None, is_loadable: Callable[[str], bool] | None = None,
            system: str | None = None) -> str | None:
    """None when Qt can start its platform here; otherwise one line saying what to install or set."""
    environ = os.environ if environ is None else environ
    is_loadable = is_loadable or loadable
    if not (system or sys.platform).startswith("linux"):
        return None  # Windows and macOS wheels bring everything their platform plugin needs
    chosen = platform(environ)
    needed = dict(QT_GUI_LIBRARIES)
    if chosen == "xcb":
        needed.update(XCB_LIBRARIES)
    missing = [soname for soname in needed if not is_loadable(soname)]
    if missing:
        debian = " ".join(dict.fromkeys(needed[soname][0] for soname in missing))
        fedora = " ".join(dict.fromkeys(needed[soname][1] for soname in missing))
        what = "Qt's X11 platform plugin (xcb)" if chosen == "xcb" else "Qt"
        return (f"moderator-app: cannot open the window: {what} needs system libraries that are not installed "
                f"({', '.join(missing)}); install them with `sudo apt install {debian}` (Debian, Ubuntu) or "
                f"`sudo dnf install {fedora}` (Fedora), then start moderator-app again.")
    if chosen == "xcb" and not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        return ("moderator-app: cannot open the window: no display (DISPLAY is not set); start it from a desktop "
                "session, or use the command line (moderator-app --help).")
    return None
