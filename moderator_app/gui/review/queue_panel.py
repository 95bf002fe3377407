"""The Review tab's "Queues" box: the review queues kept in the decision store, each with "N of M
reviewed" (what the queue's table shows this moderator); open one to switch to it, rename it, delete it
(asked first; its decisions stay in the log). A team's choice above the list: "Mine" (the queues
assigned to this moderator), "All", and "Needs a second look" (double-review items waiting for this
moderator's blind decision, disagreements not settled yet); *Assign…*, *Double review…* and
*Adjudicate…* act on the selected queue (core.review.team; any moderator may, and the store records
who did). Store calls run on the DecisionsPanel's store thread, in order with the decisions."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QInputDialog, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from moderator_app.core.review import team
from moderator_app.core.review.double_review import double_review
from moderator_app.core.review.queues import Queue
from moderator_app.gui.common import dialogs, settings
from moderator_app.gui.common.tasks import BackgroundTasks
from moderator_app.gui.review.adjudication_dialog import AdjudicationDialog
from moderator_app.gui.review.team_dialogs import AssignDialog, DoubleReviewDialog

VIEW_KEY = "review/queue_view"  # Mine / All / Needs a second look, as the moderator last chose it


class QueuePanel(QGroupBox):
    open_requested = Signal(int)  # queue id
    deleted = Signal(int)
    renamed = Signal(object)  # Queue
    refreshed = Signal()
    failed = Signal(object)  # the exception
    adjudicated = Signal(object)  # Decision: a final label recorded (the open table's decisions change)

    def __init__(self, store, tasks: BackgroundTasks, moderator=lambda: "", parent: QWidget | None = None):
        super().__init__("Queues", parent)
        self.store, self.tasks = store, tasks  # core.review.store.StoreAccess, the store thread
        self.moderator = moderator  # who looks (a callable: the tab's moderator now)
        self.queues: list[Queue] = []
        self.current_id: int | None = None
        self.dialog = None  # the team dialog open (assign, double review, adjudication)
        self.view = QComboBox()
        for key, title in team.VIEWS.items():
            self.view.addItem(title, key)
        remembered = settings.load_value(VIEW_KEY, team.ALL)
        self.view.setCurrentIndex(list(team.VIEWS).index(remembered if remembered in team.VIEWS else team.ALL))
        self.view.setToolTip("Mine: the queues assigned to you · All: every queue · Needs a second look: items of a "
                             "double review waiting for your blind decision, and disagreements not settled yet")
        self.view.currentIndexChanged.connect(lambda _index: self._view_chosen())
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
        self.assign_button = QPushButton("Assign…")
        self.assign_button.setToolTip("Assign the queue to moderators: it is theirs under 'Mine'")
        self.assign_button.clicked.connect(lambda: self.ask_assign())
        self.double_button = QPushButton("Double review…")
        self.double_button.setToolTip("Have a share of the queue reviewed blind by a second moderator")
        self.double_button.clicked.connect(lambda: self.ask_double_review())
        self.adjudicate_button = QPushButton("Adjudicate…")
        self.adjudicate_button.setToolTip("The queue's texts the moderators labelled differently: record the final "
                                          "label")
        self.adjudicate_button.clicked.connect(lambda: self.open_adjudication())
        buttons, team_buttons = QHBoxLayout(), QHBoxLayout()
        for button in (self.open_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        for button in (self.assign_button, self.double_button, self.adjudicate_button):
            team_buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addLayout(team_buttons)
        self._update_buttons()
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())

    def selected_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def queue(self, queue_id: int | None) -> Queue | None:
        return next((queue for queue in self.queues if queue.id == queue_id), None)

    def refresh(self) -> None:
        view, moderator = self.view.currentData(), self.moderator()
        self.tasks.submit(lambda: team.queue_view(self.store.store(), view, moderator), key="queues",
                          on_done=self._show, on_error=self.failed.emit)

    def _view_chosen(self) -> None:
        settings.save_value(VIEW_KEY, self.view.currentData())
        self.refresh()

    def _show(self, listed: list[tuple[Queue, str]]) -> None:
        self.queues = [queue for queue, _line in listed]
        self.list.blockSignals(True)
        self.list.clear()
        for queue, line in listed:
            mark = "▸ " if queue.id == self.current_id else ""
            item = QListWidgetItem(f"{mark}{queue.name} — {line}")
            item.setData(Qt.ItemDataRole.UserRole, queue.id)
            item.setToolTip(f"Created {queue.created_at[:16].replace('T', ' ')}"
                            + (f" from {queue.source}" if queue.source else "")
                            + (f"\nModel: {queue.state.model_name}" if queue.state.model_name else "")
                            + (f"\nAssigned to {', '.join(queue.assigned)}" if queue.assigned else ""))
            self.list.addItem(item)
            if queue.id == self.current_id:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._update_buttons()
        self.refreshed.emit()

    def moderator_changed(self) -> None:
        """Another moderator looks: their queues, their counts (not before a list was read: no store yet)."""
        if self.queues or self.view.currentData() != team.ALL:
            self.refresh()

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

    # ------------------------------------------------------------------------------ a team's queues
    def ask_assign(self, queue_id: int | None = None, moderators: list[str] | None = None) -> None:
        """Assign the queue to moderators (`moderators` given: without asking)."""
        queue = self.queue(queue_id if queue_id is not None else self.selected_id())
        if queue is None:
            return
        if moderators is None:
            self.dialog = AssignDialog(queue.name, queue.assigned, self)
            self.dialog.accepted.connect(lambda: self.ask_assign(queue.id, self.dialog.moderators()))
            self.dialog.open()
            return
        by = self.moderator()
        self.tasks.submit(lambda: team.assign(self.store.store(), queue.id, moderators, by=by),
                          on_done=lambda _queue: self.refresh(), on_error=self.failed.emit)

    def ask_double_review(self, queue_id: int | None = None, chosen: tuple[float | None, int] | None = None) -> None:
        """Set the share of the queue reviewed blind by a second moderator (`chosen` (share, seed): without
        asking; the dialog opens once the queue's current setting is read)."""
        queue = self.queue(queue_id if queue_id is not None else self.selected_id())
        if queue is None:
            return
        if chosen is None:
            def ask(current) -> None:
                self.dialog = DoubleReviewDialog(queue.name, current, self)
                self.dialog.accepted.connect(lambda: self.ask_double_review(queue.id, self.dialog.chosen()))
                self.dialog.open()

            self.tasks.submit(lambda: double_review(self.store.store().connection, queue.id), on_done=ask,
                              on_error=self.failed.emit)
            return
        share, seed = chosen
        by = self.moderator()
        self.tasks.submit(lambda: team.set_double_review(self.store.store(), queue.id, share, seed, by=by),
                          on_done=lambda _review: self.refresh(), on_error=self.failed.emit)

    def open_adjudication(self, queue_id: int | None = None) -> AdjudicationDialog:
        """The queue's disagreements (no queue selected: every queue's), to record final labels."""
        queue = self.queue(queue_id if queue_id is not None else self.selected_id())
        name = queue.name if queue is not None else None
        dialog = self.dialog = AdjudicationDialog(name, self)

        def read(with_settled: bool = False) -> None:
            settled = None if with_settled else False
            self.tasks.submit(lambda: team.disagreements(self.store.store(), name, settled=settled),
                              key="disagreements", on_done=dialog.show_disagreements, on_error=self.failed.emit)

        def record(text: str, label: str, note: str) -> None:
            by = self.moderator()

            def done(decision) -> None:
                self.adjudicated.emit(decision)
                read(dialog.show_settled.isChecked())
                self.refresh()

            self.tasks.submit(lambda: team.adjudicate(self.store.store(), text, label, by, name, note),
                              on_done=done, on_error=self.failed.emit)

        dialog.refresh_requested.connect(read)
        dialog.adjudicate_requested.connect(record)
        dialog.open()
        read()
        return dialog

    def _update_buttons(self) -> None:
        selected = self.list.currentItem() is not None
        for button in (self.open_button, self.rename_button, self.delete_button, self.assign_button,
                       self.double_button):
            button.setEnabled(selected)
