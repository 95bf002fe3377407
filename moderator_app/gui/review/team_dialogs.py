"""The queue list's team dialogs: who a queue is assigned to, and the share of it reviewed blind by a
second moderator (core.review.team). Each dialog only asks; the QueuePanel writes to the store on its
store thread."""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit,
                               QSpinBox, QVBoxLayout, QWidget)

from moderator_app.core.review.double_review import DoubleReview


class AssignDialog(QDialog):
    """The moderators a queue is assigned to, comma-separated (empty: nobody)."""

    def __init__(self, queue_name: str, assigned: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Assign the queue")
        self.names = QLineEdit(", ".join(assigned))
        self.names.setPlaceholderText("ann, bob (empty: assigned to nobody)")
        self.names.setToolTip("The moderators who see this queue under 'Mine'; any moderator may change it, and the "
                              "store records who did")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Assign '{queue_name}' to these moderators (comma-separated):"))
        layout.addWidget(self.names)
        layout.addWidget(buttons)

    def moderators(self) -> list[str]:
        return [name.strip() for name in self.names.text().split(",") if name.strip()]


class DoubleReviewDialog(QDialog):
    """The share of a queue a second moderator reviews blind, and the draw's seed; or none."""

    def __init__(self, queue_name: str, current: DoubleReview | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Double review")
        self.enabled = QCheckBox("Review a share of this queue twice, blind")
        self.enabled.setChecked(current is not None)
        self.share = QDoubleSpinBox()
        self.share.setRange(1, 100)
        self.share.setDecimals(0)
        self.share.setSuffix(" %")
        self.share.setValue(round(current.share * 100) if current is not None else 10)
        self.share.setToolTip("The share of the queue's items a second moderator decides without seeing the first "
                              "decision; the same items are drawn every time (a hash of the seed, queue and text)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2 ** 31 - 1)
        self.seed.setValue(current.seed if current is not None else 0)
        self.enabled.toggled.connect(self.share.setEnabled)
        self.enabled.toggled.connect(self.seed.setEnabled)
        self.share.setEnabled(self.enabled.isChecked())
        self.seed.setEnabled(self.enabled.isChecked())
        form = QFormLayout()
        form.addRow(self.enabled)
        form.addRow("Share of items", self.share)
        form.addRow("Seed of the draw", self.seed)
        note = QLabel(f"Queue '{queue_name}'. A moderator does not see the others' decisions of a drawn item (in the "
                      "table or its history) until they have decided it; the queue list's 'Needs a second look' "
                      "shows where items wait." + (f"\nSet by {current.set_by or 'someone'} "
                                                   f"{current.set_at[:16].replace('T', ' ')}." if current else ""))
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def chosen(self) -> tuple[float | None, int]:
        """(share, seed); share None: no double review."""
        return (self.share.value() / 100 if self.enabled.isChecked() else None), self.seed.value()
