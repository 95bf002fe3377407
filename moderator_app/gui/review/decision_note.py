"""The note and policy category a moderator attaches to the next decision: a small configurable list
of categories (QSettings review/policy-categories, edited in the app) and a free-text note."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QInputDialog, QLineEdit, QWidget

from moderator_app.gui.common import settings

CATEGORIES_KEY = "review/policy-categories"
DEFAULT_CATEGORIES = ["slur", "threat", "dehumanisation", "harassment", "spam", "other"]
EDIT_CATEGORIES = "\x00edit"  # the drop-down's last item: edit the list


def set_policy_categories(categories: list[str]) -> None:
    settings.save_value(CATEGORIES_KEY, [category.strip() for category in categories if category.strip()])


def policy_categories() -> list[str]:
    """The small list of policy categories a decision can carry (QSettings review/policy-categories)."""
    value = settings.load_value(CATEGORIES_KEY)
    if isinstance(value, str):
        value = [value]
    return [str(item) for item in value if str(item).strip()] if value else list(DEFAULT_CATEGORIES)


class DecisionNoteBar(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.category_combo = QComboBox()
        self.category_combo.setToolTip("A policy category recorded with the next decisions (the list is the "
                                       "review/policy-categories setting)")
        self.fill_categories()
        self.category_combo.activated.connect(self._on_category_chosen)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Note for the next decision…")
        self.note_edit.setToolTip("Recorded with the next decision, then cleared")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.category_combo)
        layout.addWidget(self.note_edit, 1)

    def fill_categories(self) -> None:
        combo = self.category_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("No category", "")
        for category in policy_categories():
            combo.addItem(category, category)
        combo.addItem("Edit the list…", EDIT_CATEGORIES)
        combo.setCurrentIndex(0)
        combo.blockSignals(False)

    def _on_category_chosen(self, index: int) -> None:
        if self.category_combo.itemData(index) != EDIT_CATEGORIES:
            return
        text, accepted = QInputDialog.getMultiLineText(self, "Policy categories", "One category per line:",
                                                       "\n".join(policy_categories()))
        if accepted:
            set_policy_categories(text.splitlines())
        self.fill_categories()

    def take_note(self) -> tuple[str, str]:
        """(note, category) for the decision being recorded; the note is cleared for the next one."""
        note, category = self.note_edit.text().strip(), self.category_combo.currentData() or ""
        self.note_edit.clear()
        return note, category
