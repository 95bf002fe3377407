"""The Review tab's filter drop-down for a model's labels: all items, the flagged ones (a binary
model's positive label; a multi-label model's items with any category flagged), one label (a
multi-label model: one category), and by decision."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from moderator_app.core.review.session import (FILTER_ALL, FILTER_CATEGORY, FILTER_DECIDED, FILTER_FLAGGED,
                                               FILTER_LABEL, FILTER_RELABELLED, FILTER_UNDECIDED)


def filter_key(mode: str, label: str = "") -> str:
    """The filter drop-down's item data: "flagged", "label:hate", "category:offensive", …"""
    return f"{mode}:{label}" if label else mode


def fill_filters(combo: QComboBox, labels: list[str], flagged_label: str | None, multi_label: bool) -> None:
    """The choices for `labels` (`flagged_label`: a binary model's positive one), keeping the one chosen
    when it is still there; no signal while filling."""
    combo.blockSignals(True)
    current = combo.currentData()
    combo.clear()
    combo.addItem("All items", filter_key(FILTER_ALL))
    if flagged_label is not None:
        combo.addItem(f"Flagged ({flagged_label})", filter_key(FILTER_FLAGGED))
    if multi_label:
        combo.addItem("Flagged (any category)", filter_key(FILTER_FLAGGED))
    for label in labels:
        combo.addItem(f"Category: {label}" if multi_label else f"Label: {label}",
                      filter_key(FILTER_CATEGORY if multi_label else FILTER_LABEL, label))
    combo.addItem("Not decided yet", filter_key(FILTER_UNDECIDED))
    combo.addItem("Decided", filter_key(FILTER_DECIDED))
    combo.addItem("Relabelled by a moderator", filter_key(FILTER_RELABELLED))
    combo.setCurrentIndex(max(combo.findData(current) if current is not None else 0, 0))
    combo.blockSignals(False)
