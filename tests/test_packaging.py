"""Packaging: the resources are found through importlib.resources, the desktop entry and the
AppStream metainfo validate, the package list in pyproject.toml is complete, and the application's
identity (names, desktop file name, window icon) is set. The wheel itself is built and smoke-tested
by packaging/check_wheel.sh (in CI), which takes minutes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import moderator_app
from moderator_app import resources

ROOT = Path(__file__).resolve().parents[1]


def test_resources_are_found_through_importlib_resources_without_qt():
    # importing the module must not import Qt (the CLI uses it too)
    code = ("import sys; from moderator_app import resources as r; "
            "print(r.icon_path().is_file(), all(r.app_icon_file(s).is_file() for s in r.ICON_SIZES), "
            "r.desktop_entry_file().is_file(), r.metainfo_file().is_file(), 'PySide6' in sys.modules)")
    # from another working directory: nothing may depend on the current one
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(resources.__file__).anchor,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True", "True", "False"]


def test_every_icon_file_has_its_size():
    for size in resources.ICON_SIZES:
        data = resources.app_icon_file(size).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (size, size)
    assert resources.app_icon_file(None) == resources.icon_path()
    assert resources.icon_path().read_text(encoding="utf-8").lstrip().startswith("<svg")
    with pytest.raises(ValueError, match="no 20px icon"):
        resources.app_icon_file(20)


def test_pyproject_lists_every_package_and_ships_the_resources():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = config["tool"]["setuptools"]
    on_disk = {".".join(path.parent.relative_to(ROOT).parts) for path in ROOT.glob("moderator_app/**/__init__.py")}
    listed = set(tool["packages"])
    assert on_disk <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(on_disk - listed)}"
    assert tool["package-dir"] == {"moderator_app.assets": "resources"}
    assert config["project"]["gui-scripts"] == {"moderator-app-gui": "moderator_app.gui.app:run_app"}
    assert "build" in " ".join(config["project"]["optional-dependencies"]["package"])
    # every file in resources/ matches a package-data pattern, so that it ships in the wheel
    data = tool["package-data"]
    for path in (ROOT / "resources").rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            package = ".".join(("moderator_app.assets", *path.parent.relative_to(ROOT / "resources").parts))
            assert any(fnmatch(path.name, pattern) for pattern in data.get(package, [])), \
                f"{path.relative_to(ROOT)} would not ship in the wheel"


def test_the_ids_agree():
    entry = resources.desktop_entry_file()
    assert entry.name == f"{resources.APP_ID}.desktop"
    lines = dict(line.split("=", 1) for line in entry.read_text(encoding="utf-8").splitlines() if "=" in line)
    assert lines["Icon"] == resources.APP_ID
    assert lines["Exec"] == "moderator-app-gui" and lines["Name"] == resources.DISPLAY_NAME
    metainfo = ET.parse(resources.metainfo_file()).getroot()
    assert metainfo.findtext("id") == resources.APP_ID
    assert metainfo.findtext("launchable") == entry.name
    assert metainfo.findtext("name") == resources.DISPLAY_NAME
    # the newest release in the metainfo is this version: bump both together
    assert metainfo.find("releases/release").get("version") == moderator_app.__version__


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils is not installed")
def test_desktop_entry_validates(tmp_path):
    done = subprocess.run(["desktop-file-validate", str(resources.desktop_entry_file())],
                          capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="appstream is not installed")
def test_metainfo_validates():
    done = subprocess.run(["appstreamcli", "validate", "--no-net", str(resources.metainfo_file())],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_install_desktop_entry_writes_a_valid_entry_that_launches_the_command(tmp_path):
    command = str(tmp_path / "My Apps" / "moderator-app-gui")
    written = resources.install_desktop_entry(command, data_home=tmp_path / "share")
    installed = tmp_path / "share" / "applications" / f"{resources.APP_ID}.desktop"
    assert installed in written
    assert tmp_path / "share" / "icons" / "hicolor" / "256x256" / "apps" / f"{resources.APP_ID}.png" in written
    assert tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / f"{resources.APP_ID}.svg" in written
    assert tmp_path / "share" / "metainfo" / f"{resources.APP_ID}.metainfo.xml" in written
    text = installed.read_text(encoding="utf-8")
    assert f'Exec="{command}"\n' in text and f"TryExec={command}\n" in text
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(["desktop-file-validate", str(installed)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout
    assert resources._exec_quote("/opt/moderator/moderator-app") == "/opt/moderator/moderator-app"
    assert resources._exec_quote('/a b/$x"%') == '"/a b/\\\\$x\\\\"%%"'


def test_bundle_trimming_drops_tests_gpu_runtimes_and_unused_qt_but_keeps_what_the_app_loads():
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import bundle_trim
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    dropped = ["torch/test/atest", "torch/bin/protoc", "torch/lib/libtorchbind_test.so", "libcudart.so",
               "cudart64_12.dll", "pyarrow/libarrow_flight.so.2600", "PySide6/Qt/lib/libQt6Network.so.6",
               "libQt6Network.so.6", "Qt6Network.dll", "PySide6/Qt/translations/qtbase_de.qm",
               "PySide6/Qt/plugins/platforms/libqvnc.so", "PySide6\\plugins\\imageformats\\qtiff.dll",
               "torch/include/ATen/ATen.h"]
    kept = ["torch/lib/libtorch_cpu.so", "torch/bin/torch_shm_manager", "pyarrow/libarrow.so.2600",
            "pyarrow/libparquet.so.2600", "PySide6/Qt/lib/libQt6OpenGL.so.6", "libQt6OpenGLWidgets.so.6",
            "PySide6/Qt/lib/libQt6DBus.so.6", "PySide6/Qt/plugins/platforms/libqxcb.so",
            "PySide6/Qt/plugins/platforms/libqwayland.so", "PySide6/Qt/plugins/platforms/libqoffscreen.so",
            "PySide6\\plugins\\platforms\\qwindows.dll", "PySide6/Qt/plugins/imageformats/libqsvg.so",
            "torch/_inductor/codegen/cuda_combined_scheduling.py", "moderator_app/assets/icons/moderator-app-16.png"]
    assert [path for path in dropped if not bundle_trim.unused(path)] == []
    assert [path for path in kept if bundle_trim.unused(path)] == []
    # pyqtgraph imports these at start-up; training imports torch.testing._internal
    needed_qt = {"QtCore", "QtGui", "QtWidgets", "QtOpenGL", "QtOpenGLWidgets", "QtSvg"}
    assert not needed_qt & set(bundle_trim.UNUSED_QT_MODULES)
    assert not [m for m in bundle_trim.UNUSED_PYTHON if m.startswith(("torch.testing", "pyarrow.parquet"))]


def test_apply_app_identity_sets_names_and_every_icon_size(qapp):
    from moderator_app.gui.common import settings

    before = (qapp.organizationName(), qapp.applicationName(), qapp.applicationDisplayName(),
              qapp.desktopFileName(), qapp.windowIcon())
    try:
        resources.apply_app_identity(qapp)
        # the names that QSettings uses stay those of gui/settings.py (and of gui/app.py)
        assert (qapp.organizationName(), qapp.applicationName()) == (settings.ORGANIZATION, settings.APPLICATION)
        assert qapp.applicationDisplayName() == "Moderator"
        assert qapp.applicationVersion() == moderator_app.__version__
        assert qapp.desktopFileName() == resources.APP_ID
        sizes = sorted(size.width() for size in qapp.windowIcon().availableSizes())
        assert sizes == list(resources.ICON_SIZES)
        from PySide6.QtWidgets import QWidget

        widget = QWidget()  # a window without its own icon shows the application's
        assert widget.windowIcon().cacheKey() == qapp.windowIcon().cacheKey()
        widget.deleteLater()
    finally:
        qapp.setOrganizationName(before[0])
        qapp.setApplicationName(before[1])
        qapp.setApplicationDisplayName(before[2])
        qapp.setDesktopFileName(before[3])
        qapp.setWindowIcon(before[4])
