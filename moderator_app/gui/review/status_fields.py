"""The status bar's review fields: who is deciding (click to change), the queue's progress, the
review rate and the disagreement with the model. Compact and elided to a fixed width, with the whole
text in their tooltips: the status bar's messages use the room left of the permanent fields, and a
long message must still be read whole in a 1440-pixel window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton
from superqt import QElidingLabel

STATS_MAX_WIDTH, MODERATOR_MAX_WIDTH = 340, 200  # pixels


def add_review_status(window, tab) -> None:
    """The status bar's review part: who is deciding (click to change), the queue's progress, the
    review rate and the disagreement with the model."""
    from moderator_app.gui.review.moderator import ask_moderator_name

    stats = QElidingLabel()
    stats.setObjectName("review-stats")
    stats.setMaximumWidth(STATS_MAX_WIDTH)
    moderator = QToolButton()
    moderator.setObjectName("moderator-button")
    moderator.setAutoRaise(True)
    moderator.setMaximumWidth(MODERATOR_MAX_WIDTH)

    def show_moderator() -> None:
        full = f"Moderator: {tab.decisions.moderator}"
        metrics = moderator.fontMetrics()
        moderator.setText(metrics.elidedText(full, Qt.TextElideMode.ElideMiddle, MODERATOR_MAX_WIDTH - 16))
        moderator.setToolTip(f"{full}: the name recorded with each of your decisions; click to change it")

    def show_stats(line: str) -> None:
        stats.setText(line.partition(" · ")[2])
        stats.setToolTip(line.partition(" · ")[2])

    def change_moderator() -> None:
        name = ask_moderator_name(window)
        if name:
            tab.set_moderator(name)
            show_moderator()

    moderator.clicked.connect(change_moderator)
    tab.stats_changed.connect(show_stats)
    tab.stats_changed.connect(lambda _line: show_moderator())  # also after set_moderator()
    window.statusBar().insertPermanentWidget(0, stats)
    window.statusBar().insertPermanentWidget(1, moderator)
    window.moderator_button, window.review_stats = moderator, stats
    show_moderator()
    tab.update_stats()
