"""The training form: every TrainingConfig field, with the recipe's defaults, a tooltip each and an
inline message under any invalid value. `is_valid` (and `validity_changed`) gate the Start button.

Checks that need files, the network or torch run on BackgroundTasks: previews of the data files,
the data report, whether the base model can be loaded, the available devices."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from moderator_app.core.config import SCHEDULERS, ConfigError, TrainingConfig
from moderator_app.gui.common import checks
from moderator_app.gui.common.fields import (BoolField, ChoiceField, ColumnField, FieldEditor, FloatField, IntField,
                                      ModelField, PathField, TextField, connect_all)
from moderator_app.gui.common.tasks import BackgroundTasks

DEFAULTS = TrainingConfig()
CONFIG_FIELDS = [f.name for f in dataclass_fields(TrainingConfig)]
REQUIRED_HINTS = {"train_file", "output_dir"}  # empty at first: a grey hint, not a red error

DEVICE_LABELS = {"auto": "Auto (detecting…)", "cuda": "CUDA GPU", "mps": "Apple MPS", "cpu": "CPU"}
PRECISION_LABELS = [("auto", "Auto (fp16 on CUDA, fp32 elsewhere)"), ("fp16", "fp16 mixed precision (CUDA)"),
                    ("bf16", "bf16 mixed precision"), ("fp32", "fp32 (full precision)")]
SCHEDULER_LABELS = {"linear": "Linear decay (recipe)", "cosine": "Cosine decay",
                    "constant_with_warmup": "Constant after warm-up", "constant": "Constant (no warm-up)"}


class TrainingForm(QWidget):
    validity_changed = Signal(bool)
    values_changed = Signal()
    # role ("train" or "validation"), checks.Preview or None, error message ("" when none)
    preview_changed = Signal(str, object, str)
    # state ("empty", "pending", "ok", "error"), text
    report_changed = Signal(str, str)
    devices_detected = Signal(object)  # checks.DeviceInfo

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.fields: dict[str, FieldEditor] = {}
        self.device_info: checks.DeviceInfo | None = None
        self.errors: dict[str, str] = {}
        self.problem_summary = ""
        self._valid = False
        self._async_errors: dict[str, tuple[str, str]] = {}  # field -> (kind, message)
        self._model_check: checks.ModelCheck | None = None
        self._previews: dict[str, checks.Preview | None] = {"train": None, "validation": None}
        self._data_error = ""
        self._report_key: tuple | None = None
        self._report_state = "empty"

        f = self.fields
        f["train_file"] = PathField("train_file", "Training file", "file", "data", "CSV, TSV, JSON Lines or Parquet",
                                    "Choose the training data")
        f["validation_file"] = PathField("validation_file", "Validation file", "file", "data",
                                         "optional: a split of the training data otherwise",
                                         "Choose the validation data")
        f["text_column"] = ColumnField("text_column", "Text column")
        f["label_column"] = ColumnField("label_column", "Label column")
        f["validation_split"] = FloatField("validation_split", "Validation split")
        f["treat_na_labels_as_missing"] = BoolField("treat_na_labels_as_missing", "Missing labels",
                                                    "Labels NaN, null, None, N/A count as missing")
        f["model_name_or_path"] = ModelField("model_name_or_path", "Base model")
        f["max_length"] = IntField("max_length", "Max length", 1, 8192, " tokens")
        f["num_epochs"] = IntField("num_epochs", "Epochs (at most)", 1, 10_000)
        f["train_batch_size"] = IntField("train_batch_size", "Batch size", 1, 65_536)
        f["eval_batch_size"] = IntField("eval_batch_size", "Evaluation batch size", 1, 65_536)
        f["learning_rate"] = FloatField("learning_rate", "Learning rate")
        f["lr_scheduler"] = ChoiceField("lr_scheduler", "Schedule",
                                        [(name, SCHEDULER_LABELS.get(name, name)) for name in SCHEDULERS])
        f["warmup_steps"] = IntField("warmup_steps", "Warm-up steps", 0, 10_000_000)
        f["early_stopping_patience"] = IntField("early_stopping_patience", "Early-stopping patience", 0, 10_000,
                                                " epochs")
        f["early_stopping_patience"].spin.setSpecialValueText("off")
        f["seed"] = IntField("seed", "Seed", 0, 2**31 - 1)
        f["threshold_rule"] = TextField("threshold_rule", "Threshold rule", "best_f1, precision>=0.9 or recall>=0.8")
        f["device"] = ChoiceField("device", "Device", list(DEVICE_LABELS.items()))
        f["precision"] = ChoiceField("precision", "Precision", PRECISION_LABELS)
        f["output_dir"] = PathField("output_dir", "Output folder", "folder", "output",
                                    "folder for the trained model", "Choose the output folder")
        f["adam_beta1"] = FloatField("adam_beta1", "Adam β1")
        f["adam_beta2"] = FloatField("adam_beta2", "Adam β2")
        f["adam_epsilon"] = FloatField("adam_epsilon", "Adam ε")
        f["weight_decay"] = FloatField("weight_decay", "Weight decay")
        f["max_grad_norm"] = FloatField("max_grad_norm", "Max gradient norm")
        f["group_by_length"] = BoolField("group_by_length", "Batching", "Group texts of similar length")
        f["logging_steps"] = IntField("logging_steps", "Read losses every", 1, 1_000_000, " steps")
        f["save_checkpoint_every_epoch"] = BoolField("save_checkpoint_every_epoch", "Checkpoints",
                                                     "Write a checkpoint every epoch")
        assert set(f) == set(CONFIG_FIELDS), set(CONFIG_FIELDS) ^ set(f)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self._group("Data", ["train_file", "validation_file", "text_column", "label_column",
                                              "treat_na_labels_as_missing", "validation_split"]))
        layout.addWidget(self._group("Model", ["model_name_or_path", "max_length"]))
        layout.addWidget(self._group("Training", ["num_epochs", "train_batch_size", "learning_rate",
                                                  "lr_scheduler", "warmup_steps", "early_stopping_patience",
                                                  "seed", "threshold_rule"]))
        layout.addWidget(self._group("Hardware", ["device", "precision"]))
        layout.addWidget(self._group("Output", ["output_dir"]))
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced settings")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced = self._group("", ["eval_batch_size", "adam_beta1", "adam_beta2", "adam_epsilon",
                                         "weight_decay", "max_grad_norm", "group_by_length", "logging_steps",
                                         "save_checkpoint_every_epoch"])
        self.advanced.hide()
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        layout.addWidget(self.advanced_toggle)
        layout.addWidget(self.advanced)
        layout.addStretch(1)

        self._revalidate_timer = _single_shot(self, 0, self._revalidate)
        self._model_timer = _single_shot(self, 400, self._check_model)
        self._preview_timers = {role: _single_shot(self, 300, lambda role=role: self._load_preview(role))
                                for role in self._previews}
        self._report_timer = _single_shot(self, 500, self._load_report)

        self.set_config(TrainingConfig())
        connect_all(list(f.values()), self._on_edited)
        f["model_name_or_path"].edited.connect(self._model_timer.start)
        f["train_file"].edited.connect(self._preview_timers["train"].start)
        f["validation_file"].edited.connect(self._preview_timers["validation"].start)
        f["validation_file"].edited.connect(self._update_split_enabled)
        self._model_timer.start()
        self._revalidate()

    # --------------------------------------------------------------------------------- layout
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

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _update_split_enabled(self) -> None:
        has_validation = bool(self.fields["validation_file"].value())
        self.fields["validation_split"].editor.setEnabled(not has_validation)

    # --------------------------------------------------------------------------------- values
    def values(self) -> dict[str, Any]:
        """Every field whose text parses (invalid values included), for saving the form as it is."""
        result = {}
        for name, field in self.fields.items():
            try:
                result[name] = field.value()
            except ValueError:
                pass
        return result

    def set_values(self, values: dict[str, Any]) -> None:
        """Fill the form from a (possibly partial, possibly stale) dict of config values."""
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

    def config(self) -> TrainingConfig:
        """The form's configuration; raises ConfigError naming the first invalid field."""
        for name, field in self.fields.items():
            try:
                field.value()
            except ValueError as error:
                raise ConfigError(name, str(error)) from None
        config = TrainingConfig(**self.values())
        config.validate()
        for name, message in self.errors.items():
            raise ConfigError(name, message)
        if self._data_error:
            raise ConfigError("train_file", self._data_error)
        return config

    def config_for_saving(self) -> TrainingConfig:
        """The values as they are, for File › Save; raises ConfigError for one that does not parse."""
        for name, field in self.fields.items():
            try:
                field.value()
            except ValueError as error:
                raise ConfigError(name, str(error)) from None
        return TrainingConfig(**self.values())

    @property
    def is_valid(self) -> bool:
        return self._valid

    def field_error(self, name: str) -> str | None:
        return self.errors.get(name)

    # --------------------------------------------------------------------------------- validation
    def _on_edited(self) -> None:
        self.values_changed.emit()
        self._revalidate_timer.start()
        self._schedule_report()

    def _revalidate(self) -> None:
        errors: dict[str, str] = {}
        hints: dict[str, tuple[str, str]] = {}
        values = {}
        for name, field in self.fields.items():
            try:
                values[name] = field.value()
            except ValueError as error:
                errors[name] = str(error)
        config = TrainingConfig(**values)
        # validate() stops at the first invalid field: neutralise it and go on, to mark them all
        for _ in range(len(self.fields) + 1):
            try:
                config.validate()
                break
            except ConfigError as error:
                if error.field not in self.fields or error.field in errors or error.field in hints:
                    break
                if error.field in REQUIRED_HINTS and not str(getattr(config, error.field)).strip():
                    hints[error.field] = ("hint", error.message[0].upper() + error.message[1:] + ".")
                else:
                    errors[error.field] = error.message
                setattr(config, error.field, "x" if error.field in REQUIRED_HINTS or
                        error.field == "model_name_or_path" else getattr(DEFAULTS, error.field))
        # what the background checks found
        for name, (kind, message) in self._async_errors.items():
            if name in errors or name in hints:
                continue
            if kind == "error":
                errors[name] = message
            else:
                hints[name] = (kind, message)
        output_message = _output_folder_message(values.get("output_dir", ""))
        if output_message and "output_dir" not in errors:
            if output_message[0] == "error":
                errors["output_dir"] = output_message[1]
            else:
                hints.setdefault("output_dir", output_message)
        for name, (kind, message) in self._device_messages(values).items():
            if name not in errors:
                if kind == "error":
                    errors[name] = message
                else:
                    hints.setdefault(name, (kind, message))
        model_pending = self._model_check is None or self._model_check.name != values.get("model_name_or_path")
        if model_pending and "model_name_or_path" not in errors and values.get("model_name_or_path"):
            hints["model_name_or_path"] = ("hint", "Checking that the model can be loaded…")

        for name, field in self.fields.items():
            if name in errors:
                field.set_message(errors[name], "error")
            elif name in hints:
                field.set_message(hints[name][1], hints[name][0])
            else:
                field.set_message(None)
        self.errors = errors
        missing = [name for name in ("train_file", "output_dir") if not values.get(name)]
        blocking = bool(errors) or bool(missing) or bool(self._data_error) or model_pending
        if errors:
            names = [self.fields[name].label.text() for name in errors]
            self.problem_summary = ("Fix the marked field: " if len(names) == 1 else "Fix the marked fields: ") \
                + ", ".join(names) + "."
        elif missing:
            self.problem_summary = "Choose a training data file." if missing[0] == "train_file" else \
                "Choose an output folder."
        elif self._data_error:
            self.problem_summary = "Fix the data problem shown in the data report."
        elif model_pending:
            self.problem_summary = "Checking the base model…"
        else:
            self.problem_summary = ""
        valid = not blocking
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)
        elif not valid:
            self.validity_changed.emit(valid)  # the summary may have changed

    def _device_messages(self, values: dict[str, Any]) -> dict[str, tuple[str, str]]:
        messages: dict[str, tuple[str, str]] = {}
        info = self.device_info
        device, precision = values.get("device"), values.get("precision")
        if info is None:
            return messages
        available = [choice for choice, _ in info.choices]
        if device not in available:
            messages["device"] = ("error", f"{DEVICE_LABELS.get(device, device)} is not available on this "
                                           f"computer; choose Auto or the CPU.")
            return messages
        real = info.auto_resolves_to if device == "auto" else device
        if precision == "fp16" and real != "cuda":
            messages["precision"] = ("error", "fp16 needs a CUDA GPU; choose Auto, fp32 or bf16.")
        elif precision == "bf16" and not info.bf16.get(device, False):
            messages["precision"] = ("error", "This device does not support bf16; choose Auto or fp32.")
        elif precision == "auto":
            resolved = "fp16 mixed precision" if real == "cuda" else "fp32"
            messages["precision"] = ("hint", f"Auto uses {resolved} on {info.describe(real)}.")
        return messages

    # --------------------------------------------------------------------------------- devices
    def detect_devices(self) -> None:
        """Fill the device list from a background thread (it imports torch)."""
        self.tasks.submit(checks.probe_devices, on_done=self._devices_ready, on_error=self._devices_failed,
                          key="devices")

    def _devices_ready(self, info: checks.DeviceInfo) -> None:
        self.device_info = info
        field: ChoiceField = self.fields["device"]  # type: ignore[assignment]
        current = field.value()
        choices = list(info.choices)
        if current not in dict(choices):
            choices.append((current, f"{DEVICE_LABELS.get(current, current)} (not available)"))
        field.set_choices(choices)
        field.set_value(current)
        self.devices_detected.emit(info)
        self._revalidate()

    def _devices_failed(self, error: BaseException) -> None:
        self.fields["device"].set_message(f"Could not detect devices: {error}", "warning")

    # --------------------------------------------------------------------------------- model
    def find_local_models(self) -> None:
        self.tasks.submit(checks.local_models, on_done=self._local_models_ready,
                          on_error=lambda error: self._local_models_ready([]), key="local-models")

    def _local_models_ready(self, choices: list[tuple[str, str]]) -> None:
        self.fields["model_name_or_path"].set_local_choices(choices)  # type: ignore[attr-defined]
        if self._model_check and self._model_check.problem:
            self._model_checked(self._model_check)

    def _check_model(self) -> None:
        name = self.fields["model_name_or_path"].value()
        self._async_errors.pop("model_name_or_path", None)
        if not name:
            self._model_check = None
            self._revalidate()
            return
        self.tasks.submit(checks.check_model, name, on_done=self._model_checked,
                          on_error=lambda error, name=name: self._model_checked(
                              checks.ModelCheck(name, f"Could not check the model: {error}", False)),
                          key="model")
        self._revalidate()

    def _model_checked(self, result: checks.ModelCheck) -> None:
        if result.name != self.fields["model_name_or_path"].value():
            return  # the field changed since; a newer check is on its way
        self._model_check = result
        if result.problem:
            message = result.problem
            local = self.fields["model_name_or_path"].local_choices  # type: ignore[attr-defined]
            if local:
                message += " Models available offline are under “Local models”: " + \
                    ", ".join(label for label, _ in local[:3]) + ("…" if len(local) > 3 else "") + "."
            self._async_errors["model_name_or_path"] = ("error", message)
        else:
            self._async_errors["model_name_or_path"] = (
                "hint", "Local model folder." if result.is_local else "Hugging Face hub model.")
        self._revalidate()

    # --------------------------------------------------------------------------------- data
    def _load_preview(self, role: str) -> None:
        name = "train_file" if role == "train" else "validation_file"
        path = self.fields[name].value()
        self._async_errors.pop(name, None)
        self._previews[role] = None
        self._data_error = ""
        if not path:
            self.tasks.forget(f"preview-{role}")
            self.preview_changed.emit(role, None, "")
            self._revalidate()
            return
        file = Path(path).expanduser()
        if not file.exists():
            if _looks_like_path(path):
                self._async_errors[name] = ("error", f"No such file: {path}")
                self.preview_changed.emit(role, None, f"No such file: {path}")
            else:
                self._async_errors[name] = ("hint", "Not a local file: read as a Hugging Face hub dataset id.")
                self.preview_changed.emit(role, None, "")
            self.tasks.forget(f"preview-{role}")
            self._revalidate()
            self._schedule_report()
            return
        self.preview_changed.emit(role, None, "Reading…")
        self.tasks.submit(checks.preview, str(file), on_done=lambda result, role=role: self._preview_ready(role, result),
                          on_error=lambda error, role=role: self._preview_failed(role, error), key=f"preview-{role}")

    def _preview_ready(self, role: str, result: checks.Preview) -> None:
        self._previews[role] = result
        if role == "train":
            self.fields["text_column"].set_columns(result.columns, result.guessed_text)  # type: ignore[attr-defined]
            self.fields["label_column"].set_columns(result.columns, result.guessed_label)  # type: ignore[attr-defined]
        self.preview_changed.emit(role, result, "")
        self._revalidate()
        self._schedule_report()

    def _preview_failed(self, role: str, error: BaseException) -> None:
        name = "train_file" if role == "train" else "validation_file"
        self._async_errors[name] = ("error", str(error))
        self.preview_changed.emit(role, None, str(error))
        self._revalidate()

    def _report_inputs(self) -> tuple | None:
        names = ("train_file", "validation_file", "text_column", "label_column", "validation_split", "seed")
        try:
            values = tuple(self.fields[name].value() for name in names)
        except ValueError:
            return None
        if not values[0] or any(self._async_errors.get(name, ("",))[0] == "error"
                                for name in ("train_file", "validation_file")):
            return None
        return values

    def _schedule_report(self) -> None:
        inputs = self._report_inputs()
        if inputs != self._report_key or inputs is None:
            self._report_timer.start()

    def _load_report(self) -> None:
        inputs = self._report_inputs()
        if inputs == self._report_key and self._report_state in ("pending", "ok", "error"):
            return
        self._report_key = inputs
        self._data_error = ""
        if inputs is None:
            self.tasks.forget("report")
            self._report_state = "empty"
            self.report_changed.emit("empty", "")
            self._revalidate()
            return
        names = ("train_file", "validation_file", "text_column", "label_column", "validation_split", "seed")
        config = TrainingConfig(**dict(zip(names, inputs)))
        self._report_state = "pending"
        self.report_changed.emit("pending", "Reading the data…")
        self.tasks.submit(checks.data_report, config, on_done=self._report_ready, on_error=self._report_failed,
                          key="report")

    def _report_ready(self, summary: checks.DataSummary) -> None:
        self._report_state = "ok"
        self._data_error = ""
        self.report_changed.emit("ok", summary.text)
        self._revalidate()

    def _report_failed(self, error: BaseException) -> None:
        self._report_state = "error"
        self._data_error = str(error) or type(error).__name__
        self.report_changed.emit("error", self._data_error)
        self._revalidate()

    @property
    def report_state(self) -> str:
        return self._report_state

    def refresh_data(self) -> None:
        """Read the files again (they may have changed on disk)."""
        self._report_key = None
        for timer in self._preview_timers.values():
            timer.start()


def _output_folder_message(folder: str) -> tuple[str, str] | None:
    """What an existing output folder means for a new run (the engine refuses folders of other files)."""
    if not folder:
        return None
    path = Path(folder).expanduser()
    if path.exists() and not path.is_dir():
        return "error", f"{folder} is a file; choose a folder."
    if not path.is_dir():
        return "hint", "A new folder will be created."
    try:
        names = {child.name for child in path.iterdir()}
    except OSError as error:
        return "error", f"Cannot read {folder}: {error.strerror}."
    if not names:
        return None
    if (path / "checkpoint" / "trainer_state.json").is_file():
        return "warning", "Holds a stopped run: Resume continues it; Start trains afresh and replaces it."
    if "training_config.json" in names:
        return "warning", "Holds an earlier run; Start replaces it."
    return "warning", "This folder is not empty; training only writes into an empty folder or an earlier run's."


def _looks_like_path(text: str) -> bool:
    """Not a hub dataset id ("name" or "owner/name", no extension): then a missing local file."""
    parts = text.split("/")
    hub_id = 1 <= len(parts) <= 2 and all(parts) and not Path(text).suffix and not text.startswith((".", "~")) \
        and "\\" not in text
    return not hub_id


def _single_shot(parent: QWidget, msecs: int, slot) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(msecs)
    timer.timeout.connect(slot)
    return timer
