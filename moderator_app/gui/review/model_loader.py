"""Loading the Review tab's model: in the background on the shared model's thread, shown in the
ModelPanel (loading, loaded, why not), the loaded model handed on to `on_loaded` (the tab gives it to
its workspace)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from moderator_app.core.inference.shared_model import ModelHandle
from moderator_app.gui.common.errors import describe
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.review.model_panel import ModelPanel
from moderator_app.gui.review.workers import load_model


class ModelLoader(QObject):
    status_message = Signal(str)
    failed = Signal(str)  # why the model could not be loaded

    def __init__(self, panel: ModelPanel, tasks: BackgroundTasks, on_loaded: Callable[[ModelHandle], None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.panel, self.tasks, self.on_loaded = panel, tasks, on_loaded
        panel.load_requested.connect(self.load)

    def open(self, name: str) -> None:
        """Load `name` as if chosen in the panel (the Training tab's "Open in Review")."""
        self.panel.set_name(name)
        self.load_as_chosen(name)

    def load_as_chosen(self, name: str) -> None:
        """Load `name` with the panel's choice about pickle weights (a queue's model, a compared one)."""
        self.load(name, self.panel.allow_pickle.isChecked())

    def load(self, name: str, allow_pickle: bool = False) -> None:
        self.panel.set_loading(name)
        self.status_message.emit(f"Loading the model {name}…")
        self.tasks.submit(load_model, name, allow_pickle, "auto", self.panel.precision_choice(), key="load",
                          on_done=lambda handle: self._loaded(handle, name), on_error=self._failed)

    def _loaded(self, handle: ModelHandle, name: str) -> None:
        self.panel.set_loaded(handle.info, name)
        self.status_message.emit(f"Model loaded: {handle.model_id}")
        self.on_loaded(handle)

    def _failed(self, error: BaseException) -> None:
        message = describe(error).message
        self.panel.set_failed(message)
        self.status_message.emit("The model could not be loaded.")
        self.failed.emit(message)
