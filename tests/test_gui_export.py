"""The Export decisions dialog offers the Excel-safe option that `decisions export --excel-safe` has."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from moderator_app.gui.review.export_dialog import ExportDialog  # noqa: E402


def test_the_export_dialog_passes_the_excel_safe_choice(qtbot):
    dialog = ExportDialog("Monday", "ann")
    qtbot.addWidget(dialog)
    dialog.excel_safe.setChecked(True)
    with qtbot.waitSignal(dialog.export_requested) as requested:
        dialog.accept()
    path, where, provenance, excel_safe = requested.args
    assert path == "" and where.queue == "Monday" and provenance is False and excel_safe is True
