"""The "Agreement" dialog: how often the moderators agree on the same texts (core.review.agreement) —
Krippendorff's alpha over all, a heatmap of Cohen's kappa for each pair, and each moderator against
the label the model showed them — for a queue (or all) and a date range; for a multi-label model's
decisions, the same per category too (each decision as yes or no for it). The figures are computed on
the decision store's thread (the DecisionsPanel's `measure`), never on the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from moderator_app.core.review.agreement import AgreementReport, Figure
from moderator_app.core.review.export import ExportFilter


def kappa_color(value: float | None) -> QColor:
    """Red (≤ 0, no better than chance) through yellow to green (1, full agreement); grey: undefined."""
    if value is None:
        return QColor("#e0e0e0")
    share = max(0.0, min(1.0, value))
    return QColor.fromHsv(int(120 * share), 150, 235)


def figure_text(figure: Figure) -> str:
    return figure.describe()


class AgreementDialog(QDialog):
    measure_requested = Signal(object)  # ExportFilter

    def __init__(self, queue: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Agreement between moderators")
        self.resize(620, 520)
        self.queue = QLineEdit(queue)
        self.queue.setPlaceholderText("every queue")
        self.since = QLineEdit()
        self.since.setPlaceholderText("YYYY-MM-DD (from the start)")
        self.until = QLineEdit()
        self.until.setPlaceholderText("YYYY-MM-DD (up to now)")
        self.measure_button = QPushButton("Measure")
        self.measure_button.setDefault(True)
        self.measure_button.clicked.connect(self.request)
        form = QFormLayout()
        form.addRow("Queue", self.queue)
        form.addRow("Decided from", self.since)
        form.addRow("Decided until", self.until)
        self.summary = QLabel("Press Measure to compare the moderators' decisions of the same texts.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.heatmap = QTableWidget()
        self.heatmap.setToolTip("Cohen's kappa for each pair of moderators on the texts both decided: 1 full "
                                "agreement, 0 no better than chance; n: the texts it rests on")
        self.heatmap.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.model_table = QTableWidget(0, 3)
        self.model_table.setHorizontalHeaderLabels(["Moderator", "Kappa with the model", "Accepted"])
        self.model_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.model_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.category_table = QTableWidget(0, 3)  # a multi-label model's decisions, category by category
        self.category_table.setHorizontalHeaderLabels(["Category", "Krippendorff's alpha", "Cohen's kappa per pair"])
        self.category_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.category_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.category_caption = QLabel("Per category (each decision as yes or no for it; the figures above compare "
                                       "whole sets of categories)")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addLayout(form, 1)
        top.addWidget(self.measure_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel("Cohen's kappa per pair (95 % interval over the texts both decided)"))
        layout.addWidget(self.heatmap, 2)
        layout.addWidget(QLabel("Each moderator against the label the model showed them"))
        layout.addWidget(self.model_table, 1)
        layout.addWidget(self.category_caption)
        layout.addWidget(self.category_table, 1)
        layout.addWidget(buttons)
        self.show_categories({})

    def where(self) -> ExportFilter:
        def value(edit: QLineEdit) -> str | None:
            return edit.text().strip() or None

        return ExportFilter(queue=value(self.queue), since=value(self.since), until=value(self.until))

    def request(self) -> None:
        self.measure_button.setEnabled(False)
        self.summary.setText("Measuring…")
        self.measure_requested.emit(self.where())

    def show_failure(self, message: str) -> None:
        self.measure_button.setEnabled(True)
        self.summary.setText(message)

    def show_categories(self, by_category: dict[str, AgreementReport]) -> None:
        """Per category: alpha over all and each pair's kappa (shown only for multi-label decisions)."""
        self.category_table.setRowCount(len(by_category))
        for row, (category, report) in enumerate(by_category.items()):
            pairs = "; ".join(f"{pair.first} – {pair.second}: {figure_text(pair.kappa)}" for pair in report.pairs)
            for column, text in enumerate((category, figure_text(report.alpha), pairs or "—")):
                self.category_table.setItem(row, column, QTableWidgetItem(text))
        self.category_table.setVisible(bool(by_category))
        self.category_caption.setVisible(bool(by_category))

    def show_report(self, report: AgreementReport, by_category: dict[str, AgreementReport] | None = None) -> None:
        self.show_categories(by_category or {})
        self.measure_button.setEnabled(True)
        if len(report.moderators) < 2:
            self.summary.setText(f"{report.items:,} texts decided, by {len(report.moderators)} moderator(s): "
                                 "agreement needs two moderators deciding the same texts.")
        else:
            self.summary.setText(f"{report.items:,} texts decided by {len(report.moderators)} moderators, "
                                 f"{report.shared_items:,} of them by two or more. Krippendorff's alpha over "
                                 f"all: {figure_text(report.alpha)}.")
        names, matrix = report.moderators, report.kappa_matrix()
        pairs = {(pair.first, pair.second): pair for pair in report.pairs}
        self.heatmap.clear()
        self.heatmap.setRowCount(len(names))
        self.heatmap.setColumnCount(len(names))
        self.heatmap.setHorizontalHeaderLabels(names)
        self.heatmap.setVerticalHeaderLabels(names)
        for row, first in enumerate(names):
            for column, second in enumerate(names):
                pair = pairs.get((first, second)) or pairs.get((second, first))
                text = "" if pair is None else figure_text(pair.kappa).replace(" (", "\n(")
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(kappa_color(matrix[row][column]) if pair else QColor("#f5f5f5"))
                if pair is not None and pair.agreement is not None:
                    item.setToolTip(f"{first} and {second}: {pair.agreement:.0%} of {pair.kappa.items:,} common "
                                    "texts labelled alike")
                self.heatmap.setItem(row, column, item)
        self.heatmap.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.heatmap.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.model_table.setRowCount(len(report.model))
        for row, entry in enumerate(report.model):
            accepted = "—" if entry.agreement is None else f"{entry.agreement:.0%}"
            for column, text in enumerate((entry.moderator, figure_text(entry.kappa), accepted)):
                self.model_table.setItem(row, column, QTableWidgetItem(text))
