"""The Audit page of the Training tab: likely label errors, duplicates, leaks and per-source figures of
the data the form names, found by core/audit in the background (one ReportingWorker, with a progress
bar and Cancel), shown as tables; "Review suspects" hands the result to the Review tab as a queue. A multi-label
run's audit (categories) is per category: a Category column in the suspects table, the categories a duplicate
group conflicts on, yes / no / unknown per category and source; its suspects open as a queue of one item per
suspect row, decided as the set of categories that apply with a multi-label model loaded."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from moderator_app.core.audit.audit import AuditReport, run_audit
from moderator_app.core.audit.category_audit import describe_source_categories
from moderator_app.core.audit.embeddings import AuditCancelled
from moderator_app.gui.common.errors import describe
from moderator_app.gui.common.tasks import BackgroundTasks, ReportingWorker

REVIEW_TIP = ("Open the likely label errors, most suspicious first, as a queue in the Review tab, with the given "
              "and the suggested label beside each; keep or correct each. The next run takes the corrections "
              "(Corrections field).")
CATEGORY_REVIEW_TIP = ("Open the rows with a likely wrong yes or no, most suspicious first, as a queue in the Review "
                       "tab, with the categories each is suspect for and its given and suggested values; with a "
                       "multi-label model loaded, decide the set of categories that apply. The next run takes them "
                       "as the rows' yes / no per category (Corrections field).")
CATEGORY_COLUMN = 3  # of the suspects table
SHOWN_ROWS = 5000  # rows per table; the JSON of `moderator-app audit` holds everything
TEXT_CHARS = 160
# the settings an audit reads (a missing output folder does not stop it)
AUDIT_SETTINGS = ("train_file", "sources", "categories", "validation_file", "text_column", "label_column", "validation_split",
                  "treat_na_labels_as_missing", "model_name_or_path", "max_length", "allow_pickle", "seed",
                  "corrections_queue")


def audit_job(config, report, cancelled) -> AuditReport:
    """Job: the audit of `config`, reporting (stage, done, total)."""
    return run_audit(config, report=report, cancelled=cancelled)


class AuditPanel(QWidget):
    review_requested = Signal(object)  # AuditReport: open its suspects as a Review queue
    finished = Signal(str)  # "finished", "cancelled" or "failed"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = BackgroundTasks(self, max_threads=1)
        self.worker: ReportingWorker | None = None
        self.result: AuditReport | None = None
        self.status = QLabel("Audit the training data for likely label errors, duplicates and leaks between "
                             "training and validation: press Audit data… beside the data report.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel)
        self.review_button = QPushButton("Review suspects…")
        self.review_button.setToolTip(REVIEW_TIP)
        self.review_button.setEnabled(False)
        self.review_button.clicked.connect(lambda: self.result is not None and self.review_requested.emit(self.result))
        top = QHBoxLayout()
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel_button)
        top.addStretch(0)
        top.addWidget(self.review_button)
        self.tables = QTabWidget()
        self.suspects = _table(["Score", "Given", "Suggested", "Category", "Source", "Split", "Where", "Text"])
        self.suspects.setColumnHidden(CATEGORY_COLUMN, True)  # shown for a multi-label run's audit
        self.groups = _table(["Kind", "Rows", "Labels", "Conflict", "Leak", "Across sources", "Examples"])
        self.leaks = _table(["Kind", "Validation rows", "Training rows", "Labels", "Examples"])
        self.sources = _table(["Source", "Rows", "Label shares", "Median length", "Flagged",
                               "Shared with other sources", "Disagree there", "Split votes"])
        for table, title in ((self.suspects, "Likely label errors"), (self.groups, "Duplicate groups"),
                             (self.leaks, "Leaks"), (self.sources, "Per source")):
            self.tables.addTab(table, title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.status)
        layout.addLayout(top)
        layout.addWidget(self.tables, 1)

    # ------------------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self, config) -> None:
        if self.running:
            return
        self.result = None
        self.review_button.setEnabled(False)
        for table in (self.suspects, self.groups, self.leaks, self.sources):
            table.setRowCount(0)
        self.status.setText(f"Auditing {config.train_file or 'the sources'} with {config.model_name_or_path}…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.worker = ReportingWorker(audit_job, config)
        self.tasks.start(self.worker, on_done=self._show, on_error=self._failed, on_progress=self._on_progress,
                         on_finished=self._ended)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling after the current batch…")

    def wait(self, msecs: int) -> bool:
        return self.tasks.wait(msecs)

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        if total > 1:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"{stage}: {done:,} of {total:,}")
        else:
            self.progress.setRange(0, 0)
        self.status.setText(f"Auditing: {stage}…")

    def _ended(self) -> None:
        self.worker = None
        self.progress.hide()
        self.cancel_button.hide()

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, AuditCancelled):
            self.status.setText("The audit was cancelled; nothing was written.")
            self.finished.emit("cancelled")
            return
        failure = describe(error)
        self.status.setText(f"<span style='color:#b00020'>The audit failed: {failure.message}</span>")
        self.finished.emit("failed")

    # ------------------------------------------------------------------------------ showing
    def _show(self, result: AuditReport) -> None:
        self.result = result
        rows, counts = result.rows, result.counts()
        note = f" ({result.notes})" if result.notes else ""
        per_category = counts.get("suspects_per_category", {})
        if per_category:
            conflicts = counts["conflicting_groups_per_category"]
            note = (" (" + ", ".join(f"{name} {count:,}" for name, count in per_category.items()) + ")" + note)
        self.status.setText(
            f"{len(rows.texts):,} rows ({rows.splits.count('training'):,} training, "
            f"{rows.splits.count('validation'):,} validation): <b>{counts['suspects']:,}</b> likely label errors"
            f"{note}; <b>{counts['exact_groups']:,}</b> exact and <b>{counts['near_groups']:,}</b> near-duplicate "
            f"groups, {counts['conflicting_groups']:,} with conflicting labels"
            + ("" if not per_category else
               " (" + ", ".join(f"on {name} {count:,}" for name, count in conflicts.items()) + ")")
            + f"; <b>{counts['leaking_groups']:,}</b> "
            f"leaks between training and validation ({counts['leaking_validation_rows']:,} validation rows); "
            f"{counts['split_votes']:,} rows with split crowd votes. Took {sum(result.seconds.values()):.0f} s.")
        self.review_button.setEnabled(bool(result.suspects))
        self.review_button.setToolTip(CATEGORY_REVIEW_TIP if rows.categories else REVIEW_TIP)
        self.suspects.setColumnHidden(CATEGORY_COLUMN, not rows.categories)
        self.sources.setHorizontalHeaderItem(2, QTableWidgetItem(
            "Per category: yes / no / unknown, flagged" if rows.categories else "Label shares"))
        _fill(self.suspects, [(f"{item.score:.3f}", item.given, item.suggested, item.category,
                               rows.source_names[rows.sources[item.row]], rows.splits[item.row], rows.where(item.row),
                               _short(rows.texts[item.row])) for item in result.suspects])
        groups = sorted([*result.exact, *result.near], key=lambda group: (not group.conflict, not group.leak,
                                                                          -len(group.rows)))
        _fill(self.groups, [(group.kind, str(len(group.rows)), _labels(group),
                             ", ".join(group.conflict_categories) or _yes(group.conflict), _yes(group.leak),
                             _yes(group.cross_source), _examples(result, group)) for group in groups])
        _fill(self.leaks, [(group.kind, str(sum(rows.splits[row] == "validation" for row in group.rows)),
                            str(sum(rows.splits[row] == "training" for row in group.rows)), _labels(group),
                            _examples(result, group)) for group in result.leaks])
        votes = {figure["file"]: figure for figure in result.votes}
        _fill(self.sources, [(figure["source"], f"{figure['rows']:,}",
                              describe_source_categories(figure) if rows.categories else
                              ", ".join(f"{label} {share:.0%}" for label, share in figure["label_shares"].items()),
                              f"{figure['median_length']:g}", f"{figure['flagged']:,} ({figure['flagged_share']:.1%})",
                              f"{figure['rows_shared_with_other_sources']:,}",
                              "" if figure["disagreement_share"] is None else f"{figure['disagreement_share']:.0%}",
                              _votes(result, figure["source"], votes)) for figure in result.per_source])
        self.finished.emit("finished")


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
    return table


def _fill(table: QTableWidget, rows: list[tuple]) -> None:
    table.setSortingEnabled(False)
    table.setRowCount(min(len(rows), SHOWN_ROWS))
    for row, values in enumerate(rows[:SHOWN_ROWS]):
        for column, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(value if len(value) > 40 else "")
            table.setItem(row, column, item)
    table.resizeColumnsToContents()


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1] + "…"


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


def _labels(group) -> str:
    return ", ".join(f"{label} ×{count}" for label, count in group.labels.items())


def _examples(result: AuditReport, group) -> str:
    rows = result.rows
    return " | ".join(f"[{rows.label_text(row)}, {rows.splits[row]}, {rows.where(row)}] {_short(rows.texts[row])[:80]}"
                      for row in group.rows[:3])


def _votes(result: AuditReport, source: str, votes: dict) -> str:
    rows = result.rows
    index = rows.source_names.index(source)
    files = {rows.origin_files[file_index] for (file_index, _row), origin_source in zip(rows.origins, rows.sources)
             if origin_source == index}
    found = [votes[path] for path in files if path in votes]
    return ", ".join(f"{figure['split']:,} of {figure['rows']:,}" for figure in found)
