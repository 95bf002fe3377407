"""The sources editor's vote columns (issue 23, point 3): typed as JSON, chosen mode, saved in the
configuration, reported on the Data page; a bad value blocks Start with core's message."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from test_gui_sources import _settings  # noqa: E402
from test_gui_training import private_settings, window  # noqa: E402,F401 (the same window and settings)
from test_votes import LABEL_MAP, VOTE_COLUMNS, _davidson_with_votes  # noqa: E402


def test_vote_columns_and_mode_are_edited_saved_and_reported(qtbot, window, tiny_model_dir, synthetic_csv,
                                                             tmp_path):
    import json

    form = window.training_tab.form
    davidson = _davidson_with_votes(tmp_path / "davidson.csv")
    form.set_values(_settings(tiny_model_dir, synthetic_csv, tmp_path / "out", sources=[
        {"path": str(davidson), "text_column": "tweet", "label_column": "class", "label_map": LABEL_MAP}]))
    editor = form.sources_editor
    editor.list.setCurrentRow(0)
    editor.vote_columns.setText(json.dumps(VOTE_COLUMNS))
    editor.vote_columns.editingFinished.emit()
    editor.votes.setCurrentIndex(editor.votes.findData("drop_split"))
    editor.votes.activated.emit(editor.votes.currentIndex())
    source = form.config_for_saving().sources[0]
    assert source["vote_columns"] == VOTE_COLUMNS and source["votes"] == "drop_split"
    panel = window.training_tab.data_panel
    qtbot.waitUntil(lambda: "training rows with split votes left out" in panel.report.toPlainText(), timeout=30_000)
    qtbot.waitUntil(lambda: window.training_tab.start_button.isEnabled(), timeout=30_000)

    editor.vote_columns.setText('{"hate_speech": 3}')
    editor.vote_columns.editingFinished.emit()
    qtbot.waitUntil(lambda: "vote_columns" in editor.message.text(), timeout=30_000)
    assert not window.training_tab.start_button.isEnabled()
    editor.list.setCurrentRow(0)
    assert editor.vote_columns.text() == '{"hate_speech": 3}'  # kept as typed, to be corrected
