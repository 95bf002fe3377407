"""The Review tab's "Queues" box: the review queues kept in the decision store, each with "N of M
reviewed"; open one to switch to it, rename it, delete it (asked first; its decisions stay in the
log). Store calls run on the DecisionsPanel's store thread, in order with the decisions."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QInputDialog, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from moderator_app.core.review.queues import Queue
from moderator_app.gui.common import dialogs
from moderator_app.gui.common.tasks import BackgroundTasks


class QueuePanel(QGroupBox):
    open_requested = Signal(int)  # queue id
    deleted = Signal(int)
    renamed = Signal(object)  # Queue
    refreshed = Signal()
    failed = Signal(object)  # the exception

    def __init__(self, store, tasks: BackgroundTasks, parent: QWidget | None = None):
        super().__init__("Queues", parent)
        self.store, self.tasks = store, tasks  # core.review.store.StoreAccess, the store thread
        self.queues: list[Queue] = []
        self.current_id: int | None = None
        self.list = QListWidget()
        self.list.setToolTip("Double-click a queue (or press Open) to review it")
        self.list.setMaximumHeight(130)
        self.list.itemActivated.connect(lambda item: self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self._open_selected)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(lambda: self.rename())
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setToolTip("Delete the queue's items and position; its decisions stay in the log")
        self.delete_button.clicked.connect(lambda: self.delete())
        buttons = QHBoxLayout()
        for button in (self.open_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self._update_buttons()
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())

    def selected_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def queue(self, queue_id: int | None) -> Queue | None:
        return next((queue for queue in self.queues if queue.id == queue_id), None)

    def refresh(self) -> None:
        self.tasks.submit(lambda: self.store.store().queues.all(), key="queues", on_done=self._show,
                          on_error=self.failed.emit)

    def _show(self, queues: list[Queue]) -> None:
        self.queues = queues
        self.list.blockSignals(True)
        self.list.clear()
        for queue in queues:
            mark = "▸ " if queue.id == self.current_id else ""
            item = QListWidgetItem(f"{mark}{queue.name} — {queue.progress}")
            item.setData(Qt.ItemDataRole.UserRole, queue.id)
            item.setToolTip(f"Created {queue.created_at[:16].replace('T', ' ')}"
                            + (f" from {queue.source}" if queue.source else "")
                            + (f"\nModel: {queue.state.model_name}" if queue.state.model_name else ""))
            self.list.addItem(item)
            if queue.id == self.current_id:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._update_buttons()
        self.refreshed.emit()

    def set_current(self, queue_id: int | None) -> None:
        self.current_id = queue_id
        self.refresh()

    def _open_selected(self) -> None:
        if (queue_id := self.selected_id()) is not None:
            self.open_requested.emit(queue_id)

    def rename(self, queue_id: int | None = None, name: str | None = None) -> None:
        queue = self.queue(queue_id if queue_id is not None else self.selected_id())
        if queue is None:
            return
        if name is None:
            name, accepted = QInputDialog.getText(self, "Rename the queue", "Name:", text=queue.name)
            if not accepted:
                return

        def done(renamed: Queue) -> None:
            self.renamed.emit(renamed)
            self.refresh()

        self.tasks.submit(lambda: self.store.store().queues.rename(queue.id, name), on_done=done,
                          on_error=self.failed.emit)

    def delete(self, queue_id: int | None = None) -> None:
        queue = self.queue(queue_id if queue_id is not None else self.selected_id())
        if queue is None:
            return
        if not dialogs.confirm(self, "Delete the queue", f"Delete the queue '{queue.name}' ({queue.progress})?\n\n"
                               "Its items and position go; every decision made in it stays in the decision log and "
                               "in exports.", "Delete the queue", "Keep it"):
            return

        def done(_result) -> None:
            self.deleted.emit(queue.id)
            self.refresh()

        self.tasks.submit(lambda: self.store.store().queues.delete(queue.id), on_done=done, on_error=self.failed.emit)

    def _update_buttons(self) -> None:
        selected = self.list.currentItem() is not None
        for button in (self.open_button, self.rename_button, self.delete_button):
            button.setEnabled(selected)
