"""A multi-label model's decision in the Review tab: a checkbox per category, number keys 1–9 toggling
the first nine, and the set they show recorded by the Review tab's usual accept (A or Ctrl+Enter).

The boxes show the set that would be recorded for the selected row: the moderator's set when it is
decided, else the categories the model flags (each at its threshold in use, which the Review tab's
category threshold control moves: category_threshold_control.py). Untouched on an undecided
row, recording them accepts the model's set, row by row when several are selected; once a box is
toggled (or on a decided row) the set shown is what every selected row gets. "Per category…" opens
the model against the moderators' sets per category (category_evaluation.py)."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QWidget

MAX_CATEGORY_KEYS = 9


class CategoryChoice(QWidget):
    evaluate_requested = Signal()  # the per-category view of the table's decisions

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.categories: list[str] = []
        self.boxes: list[QCheckBox] = []
        self.touched = False  # a box toggled since the row was selected
        self.model_set = True  # the boxes show the model's set of an undecided row
        self.caption = QLabel("Categories:")
        self.evaluate_button = QPushButton("Per category…")
        self.evaluate_button.setToolTip("Precision, recall and F1 of the model per category, against the "
                                        "moderators' decisions in this table")
        self.evaluate_button.clicked.connect(self.evaluate_requested)
        self.boxes_layout = QHBoxLayout()
        self.boxes_layout.setSpacing(6)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addLayout(self.boxes_layout)
        layout.addWidget(self.evaluate_button)
        self.hide()

    def set_categories(self, categories: Sequence[str], thresholds: dict[str, float] | None = None) -> None:
        """A box per category (none, and hidden, for a single-label model)."""
        for box in self.boxes:
            self.boxes_layout.removeWidget(box)
            box.deleteLater()
        self.categories, self.boxes = list(categories), []
        for number, name in enumerate(self.categories, start=1):
            key = str(number) if number <= MAX_CATEGORY_KEYS else ""
            box = QCheckBox(f"{key} {name}" if key else name)
            box.clicked.connect(self._on_clicked)
            self.boxes_layout.addWidget(box)
            self.boxes.append(box)
        self.show_thresholds(thresholds)
        self.setVisible(bool(self.categories))

    def show_thresholds(self, thresholds: dict[str, float] | None) -> None:
        """The boxes' tooltips say the threshold in use of each category."""
        for number, (name, box) in enumerate(zip(self.categories, self.boxes), start=1):
            key = f" (key {number})" if number <= MAX_CATEGORY_KEYS else ""
            at = (f"; the model flags it at a probability of at least {thresholds[name]:.2f}"
                  if thresholds and name in thresholds else "")
            box.setToolTip(f"Whether '{name}' applies to the selected rows{key}{at}")

    def follow_thresholds(self, session, items: Sequence[int]) -> None:
        """The thresholds in use moved: the tooltips say so, and boxes showing an undecided row's model set,
        untouched, show the set flagged now (a set the moderator ticked stays)."""
        self.show_thresholds(session.category_thresholds)
        if self.model_set and not self.touched:
            self.show_selected(session, items)

    def key_hint(self) -> str:
        keys = ", ".join(f"{number} {name}" for number, name in enumerate(self.categories[:MAX_CATEGORY_KEYS], 1))
        return (f"Keys: {keys} toggles a category; A or Ctrl+Enter records the categories ticked (untouched: the "
                "model's) for the selected rows; Space or J goes to the next undecided; Ctrl+Z undoes.")

    def show_set(self, categories: Sequence[str], model_set: bool) -> None:
        """Tick `categories` (the selected row's decided set, or with `model_set` the model's)."""
        chosen = set(categories)
        for name, box in zip(self.categories, self.boxes):
            box.setChecked(name in chosen)
        self.touched, self.model_set = False, model_set

    def toggle(self, index: int) -> bool:
        """Key `index + 1`: tick or untick that category; False when there is no such box."""
        if not 0 <= index < len(self.boxes) or not self.isEnabled():
            return False
        self.boxes[index].toggle()
        self.touched = True
        return True

    def chosen(self) -> tuple[str, ...]:
        return tuple(name for name, box in zip(self.categories, self.boxes) if box.isChecked())

    def decision(self) -> tuple[str, ...] | None:
        """What recording gives the selected rows: None (accept the model's sets, row by row) while the
        boxes show an undecided row's model set untouched; else the set ticked."""
        return None if self.model_set and not self.touched else self.chosen()

    def _on_clicked(self, _checked: bool) -> None:
        self.touched = True

    def show_selected(self, session, items: Sequence[int]) -> None:
        """The boxes for the selected `items` of `session` (a ReviewSession): the first one's decided set,
        else the categories the model flags for it."""
        if not session.multi_label:
            return
        decided = session.decided_categories(items[0]) if items else None
        flagged = session.flagged_categories(items[0]) if items else ()
        self.show_set(flagged if decided is None else decided, model_set=decided is None)

    def open_evaluation(self, session, handle=None, thresholds_moved=None):
        """The per-category view of `session`'s decisions, and of `handle`'s model on a labelled file and
        on test suites (category_evaluation.py; `thresholds_moved`: the Review tab's category thresholds moved)."""
        from moderator_app.gui.review.category_evaluation import CategoryEvaluationDialog

        self.evaluation = CategoryEvaluationDialog(session, handle, self.window(), thresholds_moved)
        self.evaluation.show()
        return self.evaluation
