"""The output folder of a training run: its layout, what it holds now, and the rules for writing into it.

A run writes only into a new or empty folder, or into a folder holding an earlier run of this app when
the user said to replace it; the earlier run is then removed *before* the new one writes, so a folder
never describes two runs. A folder with anything else in it (a user's README.md or config.json, a base
model) is never written to. Engine, CLI and form all ask this class, so the rule exists once."""

from __future__ import annotations

import errno
import json
import os
import shutil
from enum import Enum
from pathlib import Path

from moderator_app.core.errors import OutputNotWritableError, ResourceExhaustedError, is_disk_full
from moderator_app.core.training.checkpoint import CHECKPOINT_FOLDER, STATE_FILE
from moderator_app.core.training.events import TrainingEvent, event_from_dict

CONFIG_FILE = "training_config.json"
SUMMARY_FILE = "training_summary.json"
METRICS_FILE = "metrics.jsonl"
CARD_FILE = "README.md"  # the model card
OPERATING_POINT_FILE = "operating_point.json"  # core.inference.saved_operating_point's; named here so the form need not import numpy
# What a run of ours writes: the Hugging Face model and tokenizer files, and our own records.
MODEL_FILES = frozenset({"config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
                         "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json",
                         "merges.txt", "added_tokens.json", "sentencepiece.bpe.model", "spiece.model",
                         "chat_template.jinja"})
TEST_RESULTS_FILE = "test_results.json"  # the functional test suites' results (core.training.suites_at_end)
RECORD_FILES = frozenset({CONFIG_FILE, SUMMARY_FILE, METRICS_FILE, CARD_FILE, OPERATING_POINT_FILE,
                          TEST_RESULTS_FILE})
RUN_FOLDERS = frozenset({CHECKPOINT_FOLDER, CHECKPOINT_FOLDER + ".partial"})


class FolderState(str, Enum):
    NEW = "new"                    # does not exist yet: the run creates it
    EMPTY = "empty"
    FINISHED_RUN = "finished run"  # an earlier run of ours that ended (completed or stopped early)
    STOPPED_RUN = "stopped run"    # an earlier run of ours with a checkpoint: Resume continues it
    FOREIGN = "foreign"            # holds files that are not ours
    BASE_MODEL = "base model"      # the base model's own folder (or inside it)
    NOT_A_FOLDER = "not a folder"  # a file of that name
    UNREADABLE = "unreadable"


class RunFolder:
    """One run's output folder. Paths of its parts, its state, its events."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()

    # ------------------------------------------------------------------ layout
    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def summary_file(self) -> Path:
        return self.path / SUMMARY_FILE

    @property
    def card_file(self) -> Path:
        return self.path / CARD_FILE

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT_FOLDER

    @property
    def is_resumable(self) -> bool:
        return (self.checkpoint / STATE_FILE).is_file() and self.config_file.is_file()

    # ------------------------------------------------------------------ state
    def state(self, base_model: str = "") -> FolderState:
        if base_model and _is_inside(self.path, base_model):
            return FolderState.BASE_MODEL
        if not self.path.exists():
            return FolderState.NEW
        if not self.path.is_dir():
            return FolderState.NOT_A_FOLDER
        try:
            names = {child.name for child in self.path.iterdir()}
        except OSError:
            return FolderState.UNREADABLE
        if not names:
            return FolderState.EMPTY
        if CONFIG_FILE not in names or names - MODEL_FILES - RECORD_FILES - RUN_FOLDERS:
            has_model = "config.json" in names and CONFIG_FILE not in names
            return FolderState.BASE_MODEL if has_model and names & {"model.safetensors", "pytorch_model.bin"} \
                else FolderState.FOREIGN
        return FolderState.STOPPED_RUN if self.is_resumable else FolderState.FINISHED_RUN

    def new_run_problem(self, base_model: str = "", overwrite: bool = False) -> str | None:
        """None when a new run may write here (with `overwrite` for an earlier run); otherwise why not,
        in a sentence that names the folder. Hints name settings as ``{field}``."""
        state = self.state(base_model)
        folder = _literal(str(self.path))
        if state in (FolderState.NEW, FolderState.EMPTY):
            return self._writable_problem()
        if state in (FolderState.FINISHED_RUN, FolderState.STOPPED_RUN):
            if overwrite:
                return self._writable_problem()
            what = "a stopped run (resume it, or replace it)" if state is FolderState.STOPPED_RUN \
                else "an earlier run"
            return (f"{folder} holds {what}. Choose another {{output_dir}}, or replace the earlier run "
                    "with {overwrite}.")
        if state is FolderState.BASE_MODEL:
            return (f"{folder} is the base model's folder (or inside it); a run never writes there. "
                    "Choose another {output_dir}.")
        if state is FolderState.NOT_A_FOLDER:
            return f"{folder} is a file, not a folder. Choose another {{output_dir}}."
        if state is FolderState.UNREADABLE:
            return f"{folder} cannot be read. Choose another {{output_dir}}."
        others = ", ".join(sorted(self._foreign_names())[:5])
        return (f"{folder} already holds files that are not an earlier run of this app ({_literal(others)}); "
                "training writes only into a new or empty folder. Choose another {output_dir}.")

    def check_new_run(self, base_model: str = "", overwrite: bool = False) -> None:
        problem = self.new_run_problem(base_model, overwrite)
        if problem:
            raise OutputNotWritableError(problem, setting="output_dir")

    def _foreign_names(self) -> set[str]:
        names = {child.name for child in self.path.iterdir()}
        strange = names - MODEL_FILES - RECORD_FILES - RUN_FOLDERS
        return strange or names

    def _writable_problem(self) -> str | None:
        existing = self.path if self.path.exists() else next(
            (parent for parent in self.path.parents if parent.exists()), None)
        if existing is None or not existing.is_dir():
            return f"{_literal(str(self.path))}: a part of this path is a file. Choose another {{output_dir}}."
        if not os.access(existing, os.W_OK | os.X_OK):
            return (f"{_literal(str(existing))} is not writable (read-only or not yours). "
                    "Choose another {output_dir}.")
        return None

    # ------------------------------------------------------------------ writing
    def claim(self, base_model: str = "", overwrite: bool = False) -> bool:
        """Make the folder this run's: create it, or remove the earlier run first (with `overwrite`).
        Returns whether the folder itself was created (so that a failed first epoch can remove it).
        Raises OutputNotWritableError when the folder may not or cannot be used."""
        self.check_new_run(base_model, overwrite)
        created = not self.path.exists()
        try:
            if created:
                self.path.mkdir(parents=True)
            elif self.state(base_model) in (FolderState.FINISHED_RUN, FolderState.STOPPED_RUN):
                self.remove_run_files()
        except FileExistsError:
            raise OutputNotWritableError(f"{_literal(str(self.path))} was created by someone else just now. "
                                         "Choose another {output_dir}.", setting="output_dir") from None
        except OSError as error:
            raise self.write_error(error) from None
        return created

    def remove_run_files(self) -> None:
        """Remove what a run of ours wrote here (only our file names; anything else stays)."""
        for name in MODEL_FILES | RECORD_FILES:
            (self.path / name).unlink(missing_ok=True)
        for name in RUN_FOLDERS:
            shutil.rmtree(self.path / name, ignore_errors=True)

    def discard(self, created: bool) -> None:
        """Undo a run that failed before leaving anything usable: the folder if it made it, else its files."""
        if created:
            shutil.rmtree(self.path, ignore_errors=True)
        elif self.path.is_dir():
            self.remove_run_files()

    def write_error(self, error: BaseException) -> BaseException:
        """A write failure as one sentence naming this folder (library errors often name no file): an
        OSError, or a library's own error for a full disk (safetensors' SafetensorError)."""
        folder = _literal(str(self.path))
        if is_disk_full(error):
            return ResourceExhaustedError(f"No space left on the disk while writing into {folder}.",
                                          "Free some space or choose another {output_dir}.", setting="output_dir")
        if isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return OutputNotWritableError(f"Cannot write into {folder}: {error.strerror or 'permission denied'}.",
                                          "Choose another {output_dir}.", setting="output_dir")
        return error

    # ------------------------------------------------------------------ reading
    def read_events(self) -> list[TrainingEvent]:
        """The run's events as logged in metrics.jsonl, for replaying through a live event handler."""
        return read_events(self.metrics_file)


def read_events(metrics_file: Path) -> list[TrainingEvent]:
    """The events a metrics.jsonl holds. Lines that are not events (one cut short by a crash) are skipped."""
    events: list[TrainingEvent] = []
    try:
        lines = Path(metrics_file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return events
    for line in lines:
        try:
            events.append(event_from_dict(json.loads(line)))
        except (ValueError, TypeError, AttributeError):
            continue
    return events


def _is_inside(path: Path, base_model: str) -> bool:
    model = Path(base_model).expanduser()
    if not (model / "config.json").is_file():  # not a model folder: loading it fails first, and says why
        return False
    try:
        return path.resolve().is_relative_to(model.resolve())
    except OSError:
        return False


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")
