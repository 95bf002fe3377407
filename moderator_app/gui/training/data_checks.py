"""The training form's data checks, off the GUI thread: a preview of each data file (its columns fill
the column drop-downs) and the data report, read exactly as training will read it. What they find
becomes messages under the file fields and, for a report that fails, a problem that blocks Start."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import describe_failure
from moderator_app.core.hub import looks_like_hub_id
from moderator_app.gui.common import checks
from moderator_app.gui.common.fields import FieldEditor
from moderator_app.gui.common.tasks import BackgroundTasks

ROLES = {"train": "train_file", "validation": "validation_file"}
REPORT_INPUTS = ("train_file", "validation_file", "text_column", "label_column", "validation_split", "seed",
                 "test_suites")  # the run's suites are checked against its rows too


class DataChecks(QObject):
    # role ("train" or "validation"), checks.Preview or None, message ("" when none)
    preview_changed = Signal(str, object, str)
    # state ("empty", "pending", "ok", "error"), text
    report_changed = Signal(str, str)
    changed = Signal()  # field messages or the data problem changed: the form revalidates

    def __init__(self, tasks: BackgroundTasks, fields: dict[str, FieldEditor], name_setting, parent: QObject,
                 sources=list, categories=list):
        super().__init__(parent)
        self.sources = sources  # () -> the configuration's `sources` list: the report covers them too
        self.categories = categories  # () -> a multi-label run's categories: its sources are then all its data
        self.tasks = tasks
        self.fields = fields
        self.name_setting = name_setting
        self.field_messages: dict[str, tuple[str, str]] = {}  # field -> (kind, message)
        self.data_error = ""
        self.report_state = "empty"
        self._report_key: tuple | None = None
        self._preview_timers = {role: single_shot(self, 300, lambda role=role: self._load_preview(role))
                                for role in ROLES}
        self._report_timer = single_shot(self, 500, self._load_report)
        for role, name in ROLES.items():
            fields[name].edited.connect(self._preview_timers[role].start)

    # ------------------------------------------------------------------------ previews
    def _load_preview(self, role: str) -> None:
        name = ROLES[role]
        path = self.fields[name].value()
        self.field_messages.pop(name, None)
        self.data_error = ""
        if not path:
            self.tasks.forget(f"preview-{role}")
            self.preview_changed.emit(role, None, "")
            self.changed.emit()
            return
        file = Path(path).expanduser()
        if not file.exists():
            if looks_like_hub_id(path):
                self.field_messages[name] = ("hint", "Not a local file: read as a Hugging Face hub dataset id.")
                self.preview_changed.emit(role, None, "")
            else:
                self.field_messages[name] = ("error", f"No such file: {path}")
                self.preview_changed.emit(role, None, f"No such file: {path}")
            self.tasks.forget(f"preview-{role}")
            self.changed.emit()
            self.schedule_report()
            return
        self.preview_changed.emit(role, None, "Reading…")
        self.tasks.submit(checks.preview, str(file), on_done=lambda result, role=role: self._preview_ready(role, result),
                          on_error=lambda error, role=role: self._preview_failed(role, error), key=f"preview-{role}")

    def _preview_ready(self, role: str, result: checks.Preview) -> None:
        if role == "train":
            self.fields["text_column"].set_columns(result.columns, result.guessed_text)  # type: ignore[attr-defined]
            self.fields["label_column"].set_columns(result.columns, result.guessed_label)  # type: ignore[attr-defined]
        self.preview_changed.emit(role, result, "")
        self.changed.emit()
        self.schedule_report()

    def _preview_failed(self, role: str, error: BaseException) -> None:
        message = describe_failure(error, self.name_setting).message
        self.field_messages[ROLES[role]] = ("error", message)
        self.preview_changed.emit(role, None, message)
        self.changed.emit()

    # ------------------------------------------------------------------------ report
    def _report_inputs(self) -> tuple | None:
        try:
            values = tuple(self.fields[name].value() for name in REPORT_INPUTS)
        except ValueError:
            return None
        values += (json.dumps(self.sources(), sort_keys=True), json.dumps(self.categories()))
        if not (values[0] or self.categories()) or any(self.field_messages.get(name, ("",))[0] == "error" for name in ROLES.values()):
            return None
        return values

    def schedule_report(self) -> None:
        inputs = self._report_inputs()
        if inputs != self._report_key or inputs is None:
            self._report_timer.start()

    def _load_report(self) -> None:
        inputs = self._report_inputs()
        if inputs == self._report_key and self.report_state in ("pending", "ok", "error"):
            return
        self._report_key = inputs
        self.data_error = ""
        if inputs is None:
            self.tasks.forget("report")
            self.report_state = "empty"
            self.report_changed.emit("empty", "")
            self.changed.emit()
            return
        self.report_state = "pending"
        self.report_changed.emit("pending", "Reading the data…")
        self.tasks.submit(checks.data_report, TrainingConfig(**dict(zip(REPORT_INPUTS, inputs)),
                                                         sources=json.loads(inputs[-2]),
                                                         categories=json.loads(inputs[-1])),
                          on_done=self._report_ready, on_error=self._report_failed, key="report")

    def _report_ready(self, summary: checks.DataSummary) -> None:
        self.report_state = "ok"
        self.data_error = ""
        self.report_changed.emit("ok", summary.text)
        self.changed.emit()

    def _report_failed(self, error: BaseException) -> None:
        self.report_state = "error"
        self.data_error = describe_failure(error, self.name_setting).message
        self.report_changed.emit("error", self.data_error)
        self.changed.emit()


def single_shot(parent: QObject, msecs: int, slot) -> QTimer:
    """A timer that calls `slot` once, `msecs` after its last start (restarting delays it)."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(msecs)
    timer.timeout.connect(slot)
    return timer
