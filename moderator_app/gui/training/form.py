"""The training form: every TrainingConfig field the form offers, built from the field metadata in
core.config (label, help, range, choices, section), with an inline message under any invalid value.
`is_valid` (and `validity_changed`) gate the Start button; `problem_summary` says why it waits.

Checks that need files, the network or torch run on BackgroundTasks: previews of the data files and
the data report (`DataChecks`), the base model (`ModelChecks`: which to start with, whether it can be
loaded, the local models), the available devices (`DeviceChecks`)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QSizePolicy, QVBoxLayout, QWidget

from moderator_app.core.config import FIELD_SPECS, ConfigError, TrainingConfig
from moderator_app.core.errors import UserError
from moderator_app.core.training.run_folder import FolderState, RunFolder
from moderator_app.gui.common import checks
from moderator_app.gui.common.disclosure import disclosure
from moderator_app.gui.common.errors import setting_label_for_gui
from moderator_app.gui.common.fields import FieldEditor
from moderator_app.gui.common.form_fields import connect_all, editor_for
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.training.data_checks import DataChecks, single_shot
from moderator_app.gui.training.device_checks import DeviceChecks
from moderator_app.gui.training.gpu_count import GpuCountField
from moderator_app.gui.training.lr_finder_dialog import LearningRateFinder
from moderator_app.gui.training.model_checks import ModelChecks
from moderator_app.gui.training.sources_editor import SourcesEditor

FORM_FIELDS = [name for name, spec in FIELD_SPECS.items() if spec["form"]]
SECTION_TITLES = {"data": "Data", "model": "Model", "training": "Training", "hardware": "Hardware",
                  "output": "Output", "advanced": ""}
# the order within a section where it differs from the dataclass's
SECTION_ORDER = {"training": ["num_epochs", "train_batch_size", "learning_rate", "lr_scheduler", "warmup_steps",
                              "early_stopping_patience", "seed", "threshold_rule"]}
REQUIRED_HINTS = {"train_file", "output_dir"}  # empty at first: a grey hint, not a red error


class TrainingForm(QWidget):
    validity_changed = Signal(bool)
    values_changed = Signal()
    preview_changed = Signal(str, object, str)  # see DataChecks
    report_changed = Signal(str, str)
    devices_detected = Signal(object)  # checks.DeviceInfo

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.fields: dict[str, FieldEditor] = {name: editor_for(name) for name in FORM_FIELDS}
        self.errors: dict[str, str] = {}
        # the run's training sources beyond the training file (issue 13)
        self.sources_editor = SourcesEditor(tasks)
        self.problem_summary = ""
        self.running = False
        self._valid = False
        self.lr_finder = LearningRateFinder(self)  # "Find learning rate…" beside the learning rate

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        for section, title in SECTION_TITLES.items():
            ordered = SECTION_ORDER.get(section, [])  # first; the section's other fields follow
            names = ordered + [name for name in FORM_FIELDS
                               if FIELD_SPECS[name]["section"] == section and name not in ordered]
            group = self._group(title, names)
            if section == "data":
                group.layout().addRow("More sources", self.sources_editor)
            if section == "hardware":
                self.gpu_count = GpuCountField()  # "GPUs to use", shown when more than one GPU is detected
                self.gpu_count.add_to(group.layout())
            if section == "advanced":
                self.advanced = group
                self.advanced_toggle = disclosure("Advanced settings", group)
                layout.addWidget(self.advanced_toggle)
            layout.addWidget(group)
        layout.addStretch(1)

        self.data = DataChecks(tasks, self.fields, setting_label_for_gui, self, self.sources_editor.sources,
                               self.sources_editor.categories)
        self.data.preview_changed.connect(self.preview_changed)
        self.data.report_changed.connect(self.report_changed)
        self.data.changed.connect(self._revalidate)
        self.model = ModelChecks(tasks, self.fields, self)
        self.model.changed.connect(self._revalidate)
        self.devices = DeviceChecks(tasks, self.fields, self.gpu_count, self)
        self.devices.changed.connect(self._revalidate)
        self.devices.detected.connect(self.devices_detected)
        self._revalidate_timer = single_shot(self, 0, self._revalidate)
        self._main_file_timer = single_shot(self, 300, self._read_run_labels)
        self._main_file: list[str] | None = None

        self.set_config(TrainingConfig())
        connect_all(list(self.fields.values()), self._on_edited)
        self.sources_editor.changed.connect(self._on_edited)
        self.fields["validation_file"].edited.connect(self._update_split_enabled)
        self.model.schedule_check()
        self._revalidate()

    def _group(self, title: str, names: list[str]) -> QWidget:
        box = QGroupBox(title) if title else QWidget()
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        for name in names:
            field = self.fields[name]
            field.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            form.addRow(field.label, field)
        return box

    @property
    def sources(self) -> list[dict[str, Any]]:
        """The training sources beyond the training file, as the configuration's `sources` list."""
        return self.sources_editor.sources()

    def _read_run_labels(self) -> None:
        try:
            names = [self.fields[name].value() for name in ("train_file", "text_column", "label_column")]
        except ValueError:
            return
        if names != self._main_file:
            self._main_file = names
            self.sources_editor.set_main_file(*names)

    def _update_split_enabled(self) -> None:
        self.fields["validation_split"].editor.setEnabled(not self.fields["validation_file"].value())

    # --------------------------------------------------------------------------------- values
    def values(self) -> dict[str, Any]:
        """Every field whose text parses (invalid values included), for saving the form as it is."""
        result = {}
        for name, field in self.fields.items():
            try:
                result[name] = field.value()
            except ValueError:
                pass
        result["sources"] = self.sources
        result["categories"] = self.sources_editor.categories()
        return result

    def set_values(self, values: dict[str, Any]) -> None:
        """Fill the form from a (possibly partial, possibly stale) dict of config values."""
        if "categories" in values and isinstance(values["categories"], list):
            self.sources_editor.set_categories(values["categories"])
        if "sources" in values and isinstance(values["sources"], list):
            self.sources_editor.set_sources(values["sources"])
        for name, value in values.items():
            field = self.fields.get(name)
            if field is None:
                continue
            try:
                field.set_value(value)
            except (TypeError, ValueError):
                continue
        self._update_split_enabled()
        self._on_edited()

    def set_config(self, config: TrainingConfig) -> None:
        self.set_values(config.to_dict())

    def config_for_saving(self) -> TrainingConfig:
        """The values as they are, for File › Save; raises ConfigError for one that does not parse."""
        for name, field in self.fields.items():
            try:
                field.value()
            except ValueError as error:
                raise ConfigError(name, str(error)) from None
        return TrainingConfig(**self.values())

    def processes(self) -> int:
        """How many processes (GPUs) a run started from this form trains on."""
        return self.gpu_count.processes(self.fields["device"].value())

    def config(self) -> TrainingConfig:
        """The form's configuration; raises a UserError (ConfigError naming every invalid field) when the
        form is not ready to start."""
        config = self.config_for_saving().validate()
        if self.errors:
            first = next(iter(self.errors))
            raise ConfigError(first, self.errors[first], problems=dict(self.errors))
        if self.data.data_error:
            raise UserError(self.data.data_error.replace("{", "{{").replace("}", "}}"), setting="train_file")
        return config

    @property
    def is_valid(self) -> bool:
        return self._valid

    @property
    def report_state(self) -> str:
        return self.data.report_state

    def set_running(self, running: bool) -> None:
        """During a run the form is read-only and the output folder's message speaks of the run; after it,
        every message is worked out afresh (the folder now holds the run)."""
        self.running = running
        self.setEnabled(not running)
        self._revalidate()

    # --------------------------------------------------------------------------------- validation
    def _on_edited(self) -> None:
        self.values_changed.emit()
        self._revalidate_timer.start()
        self._main_file_timer.start()
        self.data.schedule_report()

    def _revalidate(self) -> None:
        errors: dict[str, str] = {}
        hints: dict[str, tuple[str, str]] = {}
        values = {}
        for name, field in self.fields.items():
            try:
                values[name] = field.value()
            except ValueError as error:
                errors[name] = str(error)
        problems = TrainingConfig(**values, sources=self.sources, categories=self.sources_editor.categories()).problems()
        sources_problem = problems.pop("sources", "") or problems.pop("categories", "")
        if sources_problem:
            errors["sources"] = sources_problem
        self.sources_editor.set_message(sources_problem[:1].upper() + sources_problem[1:] if sources_problem else "")
        for name, problem in problems.items():
            if name in errors or name not in self.fields:
                continue
            if name in REQUIRED_HINTS and not values.get(name):
                hints[name] = ("hint", problem[0].upper() + problem[1:] + ".")
            else:
                errors[name] = problem
        found = dict(self.data.field_messages)
        if self.model.message:
            found["model_name_or_path"] = self.model.message
        if "output_dir" not in errors and values.get("output_dir"):
            found["output_dir"] = self._output_message(values)
        found.update(self.devices.messages(values))
        for name, (kind, message) in found.items():
            if name in errors or name in hints or not message:
                continue
            if kind == "error":
                errors[name] = message
            else:
                hints[name] = (kind, message)
        model_pending = self.model.pending(values.get("model_name_or_path"), values.get("allow_pickle"))
        if model_pending and "model_name_or_path" not in errors and values.get("model_name_or_path"):
            hints["model_name_or_path"] = ("hint", "Checking that the model can be loaded…")

        for name, field in self.fields.items():
            kind, message = ("error", errors[name]) if name in errors else hints.get(name, (None, None))
            field.set_message(message, kind)
        self.errors = errors
        self.problem_summary = self._summary(errors, values, model_pending)
        valid = not self.problem_summary
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)
        elif not valid:
            self.validity_changed.emit(valid)  # the summary may have changed

    def _summary(self, errors: dict[str, str], values: dict[str, Any], model_pending: bool) -> str:
        """Why Start waits, in one line ("" when it need not)."""
        if errors:
            names = [self.fields[name].label.text() if name in self.fields else "More sources" for name in errors]
            return ("Fix the marked field: " if len(names) == 1 else "Fix the marked fields: ") + ", ".join(names) + "."
        if not values.get("train_file") and not self.sources_editor.categories():  # multi-label: sources only
            return "Choose a training data file."
        if not values.get("output_dir"):
            return "Choose an output folder."
        if self.data.data_error:
            return "Fix the data problem shown in the data report."
        return "Checking the base model…" if model_pending else ""

    def _output_message(self, values: dict[str, Any]) -> tuple[str, str]:
        """What the output folder means for a new run: the RunFolder rule, worded for the form."""
        if self.running:
            return "hint", "This run writes into this folder."
        folder = RunFolder(values["output_dir"])
        state = folder.state(values.get("model_name_or_path", ""))
        if state is FolderState.NEW:
            return "hint", "A new folder will be created."
        if state is FolderState.STOPPED_RUN:
            return "warning", "Holds a stopped run: Resume continues it; Start asks before replacing it."
        if state is FolderState.FINISHED_RUN:
            return "warning", "Holds an earlier run; Start asks before replacing it."
        problem = folder.new_run_problem(values.get("model_name_or_path", ""))
        return ("error", UserError(problem).render(setting_label_for_gui)) if problem else ("", "")

    # --------------------------------------------------------------------------------- devices
    @property
    def device_info(self) -> checks.DeviceInfo | None:
        return self.devices.info

    def detect_devices(self) -> None:
        """Fill the device list from a background thread (it imports torch)."""
        self.devices.detect()

    def _devices_ready(self, info: checks.DeviceInfo) -> None:
        self.devices.ready(info)
