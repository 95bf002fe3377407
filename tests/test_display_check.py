"""The launcher's check that Qt can open a window (issue 22): run before Qt is imported, with the
library lookup mocked both ways; a missing library is one line naming both distributions' packages and
exit status 2, never Qt's abort."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from moderator_app.gui import display_check

ROOT = Path(__file__).resolve().parents[1]
X11_DESKTOP = {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}
CLEAN_DEBIAN_LACKS = {"libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"}


def lookup(missing: set[str], asked: list[str] | None = None):
    def is_loadable(soname: str) -> bool:
        if asked is not None:
            asked.append(soname)
        return soname not in missing
    return is_loadable


def test_nothing_is_said_when_every_library_is_found():
    assert display_check.problem(X11_DESKTOP, lookup(set()), system="linux") is None


def test_missing_xcb_libraries_are_one_line_naming_the_packages_of_both_distributions():
    message = display_check.problem(X11_DESKTOP, lookup(CLEAN_DEBIAN_LACKS), system="linux")
    assert message and "\n" not in message
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1`" in message
    assert "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms`" in message
    assert "Debian" in message and "Fedora" in message and "libxcb-cursor.so.0" in message


def test_x11_libraries_are_asked_only_where_qt_will_use_x11():
    for environ in ({"QT_QPA_PLATFORM": "offscreen"}, {"QT_QPA_PLATFORM": "minimal"},
                    {"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"},
                    {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}):
        asked: list[str] = []
        assert display_check.problem(environ, lookup(CLEAN_DEBIAN_LACKS, asked), system="linux") is None
        assert asked == list(display_check.QT_GUI_LIBRARIES), environ  # what QtGui itself links
    for environ in ({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1"}, {"QT_QPA_PLATFORM": "xcb:nograb;wayland"},
                    {"DISPLAY": ":0"}):
        assert display_check.problem(environ, lookup(CLEAN_DEBIAN_LACKS), system="linux"), environ


def test_a_missing_qt_gui_library_is_named_on_any_platform():
    message = display_check.problem({"QT_QPA_PLATFORM": "offscreen"}, lookup({"libEGL.so.1"}), system="linux")
    assert "libEGL.so.1" in message and "apt install libegl1`" in message and "dnf install libglvnd-egl`" in message


def test_no_display_is_one_line_too_and_other_systems_are_not_checked():
    message = display_check.problem({}, lookup(set()), system="linux")
    assert message and "DISPLAY" in message and "\n" not in message
    assert display_check.problem({}, lookup(CLEAN_DEBIAN_LACKS), system="win32") is None
    assert display_check.problem({}, lookup(CLEAN_DEBIAN_LACKS), system="darwin") is None


def test_the_real_lookup_finds_a_library_that_is_there_and_not_one_that_is_not():
    assert display_check.loadable("libc.so.6")
    assert not display_check.loadable("libmoderator-app-no-such-library.so.0")


@pytest.mark.parametrize("entry", [
    "from moderator_app.cli import main; code = main([])",
    "from moderator_app.gui.app import run_app; code = run_app([])",
])
def test_the_launchers_check_before_qt_is_imported_and_exit_2(tmp_path, entry):
    script = ("import sys\nfrom moderator_app.gui import display_check\n"
              f"display_check.loadable = lambda soname: soname not in {sorted(CLEAN_DEBIAN_LACKS)!r}\n"
              f"{entry}\n"
              "print('qt-imported' if any(name.startswith('PySide6') for name in sys.modules) else 'no-qt')\n"
              "sys.exit(code)\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DISPLAY": ":0", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stdout.strip() == "no-qt"
    assert len(done.stderr.splitlines()) == 1 and "apt install libxcb-cursor0" in done.stderr


def plugin_links() -> set[str]:
    """Every system library PySide6's X11 plugin and its integration library name (objdump's NEEDED)."""
    qt = Path(pytest.importorskip("PySide6").__file__).parent / "Qt"
    files = [qt / "plugins" / "platforms" / "libqxcb.so", *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1]]
    if not all(path.exists() for path in files):
        pytest.skip("PySide6 without its X11 plugin (not Linux)")
    tool = shutil.which("objdump")
    if tool is None:
        pytest.skip("objdump is not installed")
    names = set()
    for path in files:
        out = subprocess.run([tool, "-p", str(path)], capture_output=True, text=True, check=True).stdout
        names |= {line.split()[1] for line in out.splitlines() if line.strip().startswith("NEEDED")}
    return names


def test_the_table_covers_every_library_the_installed_x11_plugin_links():
    basic = {"libstdc++.so.6", "libm.so.6", "libgcc_s.so.1", "libc.so.6", "libgthread-2.0.so.0"}
    linked = {name for name in plugin_links() if "Qt6" not in name} - basic
    known = set(display_check.XCB_LIBRARIES) | set(display_check.QT_GUI_LIBRARIES)
    assert linked <= known, f"PySide6's X11 plugin links libraries the check does not know: {linked - known}"
