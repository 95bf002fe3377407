#!/usr/bin/env bash
# Wheel smoke test (CI runs it): `python -m build` makes the wheel and the sdist, the wheel goes into a
# fresh virtual environment (with the CPU torch), and the installed entry points run from outside the
# source tree: `moderator-app --version`, `--help`, `moderator-app-gui` opened offscreen until its
# window has shown, and the window's icon and names checked in a second, in-process start.
#
#   packaging/check_wheel.sh [WORK_DIR]      WORK_DIR (default: a temporary folder, removed at the end)
#
# Env: PYTHON (default python3), TORCH_SPEC (default torch==2.13.0: the CPU build on this machine).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
if [[ $# -ge 1 ]]; then
    WORK=$(mkdir -p "$1" && cd "$1" && pwd)
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
START=$SECONDS
step() { printf '[check_wheel %3ds] %s\n' $((SECONDS - START)) "$*"; }
fail() { echo "check_wheel: FAILED: $*" >&2; exit 1; }
quiet() { "$@" >>"$WORK/install.log" 2>&1 || { tail -40 "$WORK/install.log"; fail "$*"; }; }  # pip is chatty

VERSION=$("$PYTHON" -c "import re,sys; print(re.search(r'__version__ = \"(.+)\"', open(sys.argv[1]).read())[1])" \
          moderator_app/__init__.py)

step "python -m build (wheel and sdist of moderator-app $VERSION)"
rm -rf "$WORK/tools" "$WORK/dist" "$WORK/venv" "$WORK/install.log"
"$PYTHON" -m venv "$WORK/tools"
quiet "$WORK/tools/bin/python" -m pip install -q "build>=1.2"
quiet "$WORK/tools/bin/python" -m build --outdir "$WORK/dist" "$ROOT"
WHEEL=$(ls "$WORK"/dist/moderator_app-"$VERSION"-py3-none-any.whl)
SDIST=$(ls "$WORK"/dist/moderator_app-"$VERSION".tar.gz)
ls -l "$WORK"/dist

step "the wheel and the sdist carry the resources"
"$WORK/tools/bin/python" - "$WHEEL" "$SDIST" <<'EOF'
import sys, tarfile, zipfile
wheel, sdist = sys.argv[1:]
names = set(zipfile.ZipFile(wheel).namelist())
need = ["moderator_app/assets/__init__.py", "moderator_app/assets/icons/moderator-app.svg",
        "moderator_app/assets/io.github.moderator_app.Moderator.desktop",
        "moderator_app/assets/io.github.moderator_app.Moderator.metainfo.xml", "moderator_app/resources.py"]
need += [f"moderator_app/assets/icons/moderator-app-{s}.png" for s in (16, 24, 32, 48, 64, 128, 256, 512)]
missing = [n for n in need if n not in names]
entry_points = next(zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith("entry_points.txt"))
assert not missing, f"missing from the wheel: {missing}"
assert "[gui_scripts]\nmoderator-app-gui = " in entry_points, entry_points
assert not [n for n in names if n.startswith(("tests/", "packaging/", "benchmarks/"))], "dev files in the wheel"
snames = tarfile.open(sdist).getnames()
assert any(n.endswith("resources/icons/moderator-app-512.png") for n in snames), "icons missing from the sdist"
assert any(n.endswith("resources/io.github.moderator_app.Moderator.desktop") for n in snames)
print(f"wheel: {len(names)} files; sdist: {len(snames)} entries")
EOF

step "fresh virtual environment: $TORCH_SPEC, then the wheel"
"$PYTHON" -m venv "$WORK/venv"
quiet "$WORK/venv/bin/python" -m pip install -q "$TORCH_SPEC"
quiet "$WORK/venv/bin/python" -m pip install -q "$WHEEL"
quiet "$WORK/venv/bin/python" -m pip check

# From here on, nothing may come from the source tree: run in an empty folder.
mkdir -p "$WORK/run" && cd "$WORK/run"
BIN=$WORK/venv/bin
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
export MODERATOR_APP_SETTINGS_FILE=$WORK/run/settings.ini   # never the user's own settings

step "moderator-app --version / --help"
[[ "$("$BIN/moderator-app" --version)" == "moderator-app $VERSION" ]] || fail "--version"
HELP=$("$BIN/moderator-app" --help)
grep -q "^usage: moderator-app" <<<"$HELP" && grep -q "train" <<<"$HELP" || { echo "$HELP"; fail "--help"; }
"$BIN/moderator-app" train --help >/dev/null || fail "train --help"

step "moderator-app-gui opens its window offscreen and quits"
OUTPUT=$(MODERATOR_APP_QUIT_WHEN_SHOWN=1 timeout 120 "$BIN/moderator-app-gui" 2>&1) \
    || { echo "$OUTPUT"; fail "moderator-app-gui exited with an error"; }
grep -q "^window-shown" <<<"$OUTPUT" || { echo "$OUTPUT"; fail "the window did not show"; }

step "in-process: the installed package, its resources, the window's icon and names; closed cleanly"
timeout 120 "$BIN/python" - "$WORK/venv" <<'EOF'
import os, sys
from pathlib import Path

import moderator_app
from moderator_app import resources

venv = Path(sys.argv[1]).resolve()
for path in (Path(moderator_app.__file__), resources.icon_path(), resources.desktop_entry_file()):
    assert venv in path.resolve().parents, f"{path} is not from the installed wheel"

from PySide6.QtCore import QTimer
from moderator_app.gui.common import settings
from moderator_app.gui.app import create_application
from moderator_app.gui.main_window import MainWindow

settings.use_settings_file(os.environ["MODERATOR_APP_SETTINGS_FILE"])
app = create_application([])
assert not app.windowIcon().isNull(), "create_application() sets no window icon (apply_app_identity not called)"
assert app.desktopFileName() == resources.APP_ID, app.desktopFileName()
assert (app.organizationName(), app.applicationName()) == (settings.ORGANIZATION, settings.APPLICATION)
window = MainWindow()
shown = []
window.first_shown.connect(lambda: (shown.append(True), QTimer.singleShot(0, window.close)))
QTimer.singleShot(60_000, app.quit)  # a safety net: fails below instead of hanging
window.show()
app.exec()
sizes = sorted(s.width() for s in window.windowIcon().availableSizes())
assert shown and not window.isVisible(), "the window did not show and close"
assert sizes == list(resources.ICON_SIZES), sizes
print(f"window shown and closed; icon sizes {sizes}; title {window.windowTitle()!r}")
EOF
step "passed"
