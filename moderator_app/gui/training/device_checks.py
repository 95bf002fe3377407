"""The training form's device checks: which devices this computer has (probed off the GUI thread,
since it imports torch) offered in the Device field, how many GPUs "GPUs to use" may choose from, and
what the chosen device and precision mean (core.precision's one rule) as the messages under those
fields. `changed` asks the form to revalidate."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from moderator_app.core.config import FIELD_SPECS
from moderator_app.core.errors import UserError
from moderator_app.core.precision import training_precision
from moderator_app.gui.common import checks
from moderator_app.gui.common.errors import setting_label_for_gui
from moderator_app.gui.common.fields import ChoiceField, FieldEditor
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.training.gpu_count import GpuCountField

DEVICE_LABELS = {"auto": "Auto (detecting…)", **{key: value for key, value in
                                                  FIELD_SPECS["device"]["choices"].items() if key != "auto"}}


class DeviceChecks(QObject):
    changed = Signal()
    detected = Signal(object)  # checks.DeviceInfo

    def __init__(self, tasks: BackgroundTasks, fields: dict[str, FieldEditor], gpu_count: GpuCountField,
                 parent: QObject):
        super().__init__(parent)
        self.tasks, self.gpu_count = tasks, gpu_count
        self.field: ChoiceField = fields["device"]  # type: ignore[assignment]
        self.info: checks.DeviceInfo | None = None
        self.field.set_choices(list(DEVICE_LABELS.items()))

    def detect(self) -> None:
        """Fill the device list from a background thread (it imports torch)."""
        self.tasks.submit(checks.probe_devices, on_done=self.ready, on_error=self.failed, key="devices")

    def ready(self, info: checks.DeviceInfo) -> None:
        self.info = info
        current = self.field.value()
        choices = list(info.choices)
        if current not in dict(choices):
            choices.append((current, f"{DEVICE_LABELS.get(current, current)} (not available)"))
        self.field.set_choices(choices)
        self.field.set_value(current)
        self.gpu_count.set_gpu_count(info.gpu_count)
        self.detected.emit(info)
        self.changed.emit()

    def failed(self, error: BaseException) -> None:
        self.field.set_message(f"Could not detect devices: {error}", "warning")

    def messages(self, values: dict[str, Any]) -> dict[str, tuple[str, str]]:
        """(kind, message) for the device and precision fields, once the devices are known."""
        info = self.info
        device, precision = values.get("device"), values.get("precision")
        if info is None:
            return {}
        if device not in [choice for choice, _ in info.choices]:
            return {"device": ("error", f"{DEVICE_LABELS.get(device, device)} is not available on this "
                                        "computer; choose Auto or the CPU.")}
        real = info.auto_resolves_to if device == "auto" else device
        try:
            chosen = training_precision(precision, real, info.hardware)  # core.precision: the one rule
        except UserError as error:
            return {"precision": ("error", error.render(setting_label_for_gui))}
        return {"precision": ("hint", f"{info.describe(real)}: {chosen.describe()}.")}
