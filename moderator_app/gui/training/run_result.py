"""The Run page's result bar: how a run ended (why, at which step, the best epoch's metrics, the
functional tests, where the model is) and what to do next: Resume a stopped run, Open in Review,
Show model folder."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle, QWidget

from moderator_app.core.training.events import FinishedEvent

REASONS = {"completed": "Training finished", "early_stopping": "Training finished early (validation loss "
           "stopped improving)", "stopped": "Training stopped"}


def escape(text: str) -> str:
    """`text` shown as it is in a rich-text label."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def finished_text(result: FinishedEvent, tests_summary: str = "") -> str:
    """The bar's sentence for a run that ended (rich text)."""
    text = f"<b>{REASONS.get(result.reason, 'Training ended')}</b> at step {result.global_step}"
    metrics = result.best_metrics or {}
    if result.best_epoch is not None:
        text += f" — best epoch {result.best_epoch}"
        shown = [f"{name} {metrics[key]:.4f}" for key, name in
                 (("val_loss", "validation loss"), ("accuracy", "accuracy"), ("f1", "F1"))
                 if isinstance(metrics.get(key), (int, float))]
        if shown:
            text += " (" + ", ".join(shown) + ")"
    if result.resumable:
        text += ". A checkpoint was saved; Resume continues from it."
    else:
        text += f". The model is in {result.output_dir}."
    if tests_summary and not result.resumable:
        text += f" Functional tests: {escape(tests_summary)}."
    if result.skipped_steps:
        text += f" {result.skipped_steps} fp16 steps were skipped (overflowing gradients)."
    return text


class RunResultBar(QFrame):
    open_in_review_clicked = Signal()
    show_folder_clicked = Signal()
    resume_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("resultBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        style = self.style()
        self.open_in_review_button = QPushButton("Open in Review")
        self.open_in_review_button.setToolTip("Review and label texts with the model this run produced.")
        self.show_folder_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon),
                                              "Show model folder")
        self.show_folder_button.setToolTip("Open the output folder in the file manager.")
        self.resume_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Resume")
        self.resume_button.setToolTip("Continue the stopped run from its checkpoint, exactly where it left off.")
        self.open_in_review_button.clicked.connect(self.open_in_review_clicked)
        self.show_folder_button.clicked.connect(self.show_folder_clicked)
        self.resume_button.clicked.connect(self.resume_clicked)
        bar = QHBoxLayout(self)
        bar.setContentsMargins(8, 4, 8, 4)
        bar.addWidget(self.result_label, 1)
        for button in (self.resume_button, self.open_in_review_button, self.show_folder_button):
            bar.addWidget(button)
        self.hide()

    def show_finished(self, result: FinishedEvent, review_available: bool, tests_summary: str = "") -> None:
        self.result_label.setText(finished_text(result, tests_summary))
        self.resume_button.setVisible(result.resumable)
        self.open_in_review_button.setVisible(review_available and not result.resumable)
        self.show_folder_button.setVisible(True)
        self.show()

    def show_failed(self, first_line: str) -> None:
        self.result_label.setText(f"<b>The run failed.</b> {escape(first_line)}")
        self.resume_button.hide()
        self.open_in_review_button.hide()
        self.show_folder_button.hide()
        self.show()
