"""Checks the training form runs off the GUI thread. Each is a plain function: the form hands it
to BackgroundTasks, which calls it on a pool thread. They import torch/datasets/huggingface_hub
lazily, here, never on the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from moderator_app.core.config import TrainingConfig
from moderator_app.core.precision import Hardware, detect_hardware
from moderator_app.gui.common import libraries


@dataclass
class DeviceInfo:
    choices: list[tuple[str, str]]  # (device id, description), "auto" first
    auto_resolves_to: str
    hardware: Hardware  # what the precision rule needs to know (native bf16 on the CPU, on the GPU)
    gpu_count: int = 0  # CUDA GPUs: more than one offers data-parallel training

    def describe(self, device: str) -> str:
        return dict(self.choices).get(device, device)


def probe_devices() -> DeviceInfo:
    libraries.import_model_libraries()
    from moderator_app.core.devices import available_devices, resolve_device

    import torch

    return DeviceInfo(choices=available_devices(), auto_resolves_to=resolve_device("auto"),
                      hardware=detect_hardware(),
                      gpu_count=torch.cuda.device_count() if torch.cuda.is_available() else 0)


@dataclass
class ModelCheck:
    name: str
    problem: str | None  # None: usable
    is_local: bool
    allow_pickle: bool = False  # the setting the check was made with


def check_model(name: str, allow_pickle: bool = False, name_setting=None) -> ModelCheck:
    """Whether the base model can be loaded now: available, and its weights loadable under `allow_pickle`
    (settings in the problem named by `name_setting`)."""
    from moderator_app.core.errors import ModelNotUsableError
    from moderator_app.core.hub import check_model_available
    from moderator_app.core.training.base_model import check_weight_files

    problem = check_model_available(name)
    if problem is None:
        try:
            check_weight_files(name, allow_pickle)
        except ModelNotUsableError as error:
            problem = error.render(name_setting) if name_setting else error.render()
    return ModelCheck(name=name, problem=problem, is_local=Path(name).expanduser().is_dir(),
                      allow_pickle=allow_pickle)


def default_base_model(recipe_model: str) -> tuple[str, str]:
    """(model, why it is not the recipe's): asks the hub, so it runs here, off the GUI thread."""
    from moderator_app.core.hub import default_base_model as choose

    return choose(recipe_model)


def local_models() -> list[tuple[str, str]]:
    from moderator_app.core.hub import local_model_choices

    return local_model_choices()


@dataclass
class Preview:
    path: str
    columns: list[str]
    rows: list[list[str]]
    guessed_text: str | None
    guessed_label: str | None


def preview(path: str, rows: int = 20) -> Preview:
    from moderator_app.core.training.data import guess_columns, preview_file

    columns, first_rows = preview_file(path, rows=rows)
    text, label = guess_columns(columns)
    return Preview(path=path, columns=list(columns), rows=[list(row) for row in first_rows],
                   guessed_text=text, guessed_label=label)


@dataclass
class DataSummary:
    text: str


def data_report(config: TrainingConfig) -> DataSummary:
    """Read the data the way training will, and describe it (rows, dropped rows and why, labels)."""
    libraries.import_model_libraries()
    from moderator_app.core.training.data import load_training_data

    data = load_training_data(config)
    text = data.report.summary()
    suites = [path for path in config.test_suites if Path(path).expanduser().is_file()]  # a missing one: its field
    if suites:  # checked as the run will: the run's labels (or categories), and none of their cases a training row
        from moderator_app.core.training.suites_at_end import read_run_suites

        found = read_run_suites(suites, data.label_names, (data.train["text"], data.validation["text"]),
                                bool(config.categories))
        text += "".join(f"\nTest suite {suite.describe()}; no case is a training or validation row."
                        for suite in found)
    return DataSummary(text=text)


def version_info() -> list[tuple[str, str]]:
    """(component, version) for the About box; imports torch and transformers."""
    import platform
    import sys

    import PySide6
    from PySide6.QtCore import qVersion

    from moderator_app import __version__

    libraries.import_model_libraries()
    rows = [("moderator-app", __version__), ("Python", f"{platform.python_version()} ({sys.executable})"),
            ("Qt", qVersion()), ("PySide6", PySide6.__version__)]
    for module in ("pyqtgraph", "torch", "transformers", "datasets"):
        try:
            rows.append((module, __import__(module).__version__))
        except Exception as error:  # a broken install should still show the rest
            rows.append((module, f"not available ({type(error).__name__})"))
    try:
        from moderator_app.core.devices import describe, resolve_device

        rows.append(("Compute device", describe(resolve_device("auto"))))
    except Exception as error:
        rows.append(("Compute device", f"unknown ({error})"))
    return rows
