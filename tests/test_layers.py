"""The architecture's first rule, checked at run time as well as by import-linter (`lint-imports` in
.ci/run): every module under moderator_app.core imports without loading Qt, pyqtgraph or a front end."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import moderator_app.core

FRONT_END_PREFIXES = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "moderator_app.gui", "moderator_app.commands",
                      "moderator_app.cli")


def core_modules() -> list[str]:
    return sorted(info.name for info in pkgutil.walk_packages(moderator_app.core.__path__, "moderator_app.core."))


def test_core_modules_are_found():
    names = core_modules()
    assert "moderator_app.core.config" in names and "moderator_app.core.training.engine" in names


def test_importing_all_of_core_loads_no_qt_and_no_front_end():
    script = ("import importlib, json, sys\n"
              f"for name in {core_modules()!r}: importlib.import_module(name)\n"
              "print(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                       check=True).stdout)
    offending = [name for name in loaded if name.startswith(FRONT_END_PREFIXES)]
    assert offending == []
