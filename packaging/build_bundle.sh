#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle (Linux, CPU torch) and launch it offscreen.
#
#   packaging/build_bundle.sh            -> build/bundle/dist/moderator-app/moderator-app
#   packaging/build_bundle.sh --no-build only the smoke test, of the bundle already built
#
# The build environment (build/bundle-venv: torch==2.13.0 and `pip install .[package]`) is made on the
# first run and reused; the project itself is reinstalled from this tree every time.
# Env: MODERATOR_BUNDLE_TRIM=0 builds without trimming; BUNDLE_VENV, TORCH_SPEC, PYTHON override.
# CI does not run this (several minutes of CPU); packaging/check_wheel.sh is CI's packaging check.
# Run heavy builds on shared machines under `flock /tmp/bench.lock`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
VENV=$(realpath -m "${BUNDLE_VENV:-build/bundle-venv}")
BUILD=yes
[[ ${1:-} == --no-build ]] && BUILD=no
OUT=build/bundle
APP=$ROOT/$OUT/dist/moderator-app/moderator-app
START=$SECONDS
step() { printf '[build_bundle %4ds] %s\n' $((SECONDS - START)) "$*"; }
fail() { echo "build_bundle: FAILED: $*" >&2; exit 1; }
mkdir -p "$OUT"
quiet() { "$@" >>"$OUT/install.log" 2>&1 || { tail -40 "$OUT/install.log"; fail "$*"; }; }

if [[ $BUILD == yes ]]; then
if [[ ! -x $VENV/bin/pyinstaller ]]; then
    step "build environment $VENV: $TORCH_SPEC, moderator-app[package]"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    quiet "$VENV/bin/python" -m pip install -q "$TORCH_SPEC"
    quiet "$VENV/bin/python" -m pip install -q ".[package]"
fi
step "moderator-app from this tree into $VENV"
quiet "$VENV/bin/python" -m pip install -q --no-deps --force-reinstall .
# a CPU bundle: the spec drops GPU runtimes, which would break a CUDA build of torch
GPU_CHECK="import importlib.util as u, sys; sys.exit(any(u.find_spec(m) for m in ('nvidia', 'triton')))"
"$VENV/bin/python" -c "$GPU_CHECK" || fail "$VENV has a CUDA build of torch (nvidia-*/triton): use the CPU build"

step "pyinstaller (trim: ${MODERATOR_BUNDLE_TRIM:-1})"
BUILD_START=$SECONDS
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$OUT/dist" --workpath "$OUT/work" packaging/moderator-app.spec
step "built in $((SECONDS - BUILD_START)) s"
cp packaging/install-desktop-entry.sh "$OUT/dist/moderator-app/"
fi
FILES=$(find "$OUT/dist/moderator-app" -type f | wc -l)
step "$(du -sh "$OUT/dist/moderator-app" | cut -f1) in $OUT/dist/moderator-app ($FILES files)"

step "smoke test: --version, --help, the window offscreen, a tiny training run (also as the GUI runs it, in a spawned process) and classification"
cd "$OUT"
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 OMP_NUM_THREADS=1
export MODERATOR_APP_SETTINGS_FILE=$PWD/smoke-settings.ini
VERSION=$("$APP" --version) && echo "$VERSION"
"$APP" --help | head -3
"$VENV/bin/python" "$ROOT/packaging/measure_launch.py" --runs 3 -- "$APP"
rm -rf smoke && mkdir smoke
"$VENV/bin/python" - "$ROOT/tests" smoke <<'EOF'
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tiny_models import build_tiny_roberta, synthetic_rows, write_csv  # the test suite's tiny model and data
folder = Path(sys.argv[2])
build_tiny_roberta(folder / "tiny-roberta")
write_csv(folder / "train.csv", synthetic_rows(160, seed=1))
EOF
"$APP" train --data smoke/train.csv --model smoke/tiny-roberta --output smoke/run --epochs 1 \
    --train-batch-size 16 > smoke/train.log 2>&1 || { tail -30 smoke/train.log; fail "training in the bundle"; }
tail -2 smoke/train.log
[[ -f smoke/run/config.json ]] || fail "the bundle's training run wrote no model"
"$VENV/bin/python" "$ROOT/packaging/check_bundle_spawn.py" "$APP" smoke \
    || fail "the desktop app's training process (multiprocessing spawn) in the bundle"
"$APP" classify --model smoke/run "they are vermin and scum" "lovely weather at the market" \
    || fail "classify in the bundle"
XDG_DATA_HOME=$PWD/smoke/share "$(dirname "$APP")/install-desktop-entry.sh"
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate smoke/share/applications/io.github.moderator_app.Moderator.desktop || fail "desktop entry"
fi
step "passed"
