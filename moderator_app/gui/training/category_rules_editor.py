"""A multi-label run's rules for one training source (issue 27), in the sources editor: a row per run
category saying how the source labels it — not at all (unknown for its rows), a yes/no column, a vote-count
column (at least one vote, or a majority of a total column) or a label map (the values meaning yes and no).
Edits the source's `categories` object of core/sources, which the form's validation checks."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHeaderView, QLineEdit, QTableWidget, QWidget

UNKNOWN, COLUMN, AT_LEAST_ONE, MAJORITY, LABEL_MAP = "unknown", "column", "at_least_one", "majority", "map"
KINDS = ((UNKNOWN, "Not labelled (unknown)"), (COLUMN, "Yes/no column"), (AT_LEAST_ONE, "Votes: at least one"),
         (MAJORITY, "Votes: a majority of the total"), (LABEL_MAP, "Label map (values for yes / no)"))
HEADERS = ("Category", "How", "Column", "Total votes", "Yes values", "No values")


def rule_kind(rule: dict[str, Any] | None) -> str:
    if not rule:
        return UNKNOWN
    if "votes" in rule:
        return MAJORITY if rule.get("rule") == "majority" else AT_LEAST_ONE
    return LABEL_MAP if ("yes" in rule or "no" in rule) else COLUMN


def build_rule(kind: str, column: str, total: str, yes: str, no: str) -> dict[str, Any] | None:
    """The rule a row's choices describe (None: the category is not labelled by this source)."""
    if kind == UNKNOWN or not column:
        return None
    if kind == COLUMN:
        return {"column": column}
    if kind in (AT_LEAST_ONE, MAJORITY):
        rule = {"votes": column, "rule": kind}
        return dict(rule, total=total) if total else rule
    return {"column": column, "yes": _values(yes), "no": _values(no)}


def _values(text: str) -> list[str]:
    return [value.strip() for value in text.split(",") if value.strip()]


class CategoryRulesTable(QTableWidget):
    rules_changed = Signal(object)  # the source's new `categories` object (None when it labels none)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().hide()
        self.setToolTip("How this source labels each category of the run. A category it does not label is unknown "
                        "for its rows: left out of the loss and of that category's metrics, never taken as 'no'.")
        self.categories: list[str] = []
        self._filling = False

    def set_rules(self, categories: list[str], columns: list[str], rules: dict[str, Any] | None) -> None:
        """Show a row per category with the source's rule for it; `columns` are the file's (offered)."""
        self._filling = True
        self.categories = list(categories)
        rules = rules if isinstance(rules, dict) else {}
        self.setRowCount(len(categories))
        for row, name in enumerate(categories):
            rule = rules.get(name) if isinstance(rules.get(name), dict) else None
            self.setCellWidget(row, 0, _label(name))
            kind = QComboBox()
            for value, text in KINDS:
                kind.addItem(text, value)
            kind.setCurrentIndex(max(kind.findData(rule_kind(rule)), 0))
            self.setCellWidget(row, 1, kind)
            chosen = (rule or {}).get("votes") or (rule or {}).get("column") or ""
            self.setCellWidget(row, 2, _column_choice(columns, chosen))
            self.setCellWidget(row, 3, _column_choice(columns, (rule or {}).get("total") or "", blank="(none)"))
            for column, key in ((4, "yes"), (5, "no")):
                edit = QLineEdit(", ".join(str(value) for value in (rule or {}).get(key, [])))
                edit.setPlaceholderText("comma-separated values")
                edit.editingFinished.connect(self._emit)
                self.setCellWidget(row, column, edit)
            kind.activated.connect(self._emit)
            for column in (2, 3):
                self.cellWidget(row, column).activated.connect(self._emit)
            self._enable(row)
        self._filling = False

    def rules(self) -> dict[str, Any] | None:
        """The rules the rows say, in the run's category order; None when the source labels no category."""
        found = {}
        for row, name in enumerate(self.categories):
            rule = build_rule(self.cellWidget(row, 1).currentData(), self.cellWidget(row, 2).currentData() or "",
                              self.cellWidget(row, 3).currentData() or "", self.cellWidget(row, 4).text(),
                              self.cellWidget(row, 5).text())
            if rule is not None:
                found[name] = rule
        return found or None

    def _enable(self, row: int) -> None:
        kind = self.cellWidget(row, 1).currentData()
        self.cellWidget(row, 2).setEnabled(kind != UNKNOWN)
        self.cellWidget(row, 3).setEnabled(kind in (AT_LEAST_ONE, MAJORITY))
        for column in (4, 5):
            self.cellWidget(row, column).setEnabled(kind == LABEL_MAP)

    def _emit(self, *_args) -> None:
        if self._filling:
            return
        for row in range(self.rowCount()):
            self._enable(row)
        self.rules_changed.emit(self.rules())


def _label(text: str) -> QLineEdit:
    label = QLineEdit(text)
    label.setReadOnly(True)
    label.setFrame(False)
    return label


def _column_choice(columns: list[str], chosen: str, blank: str = "(choose a column)") -> QComboBox:
    combo = QComboBox()
    combo.addItem(blank, "")
    for column in [*columns, *([chosen] if chosen and chosen not in columns else [])]:
        combo.addItem(column, column)
    combo.setCurrentIndex(max(combo.findData(chosen), 0))
    return combo
