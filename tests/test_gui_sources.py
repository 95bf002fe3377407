"""The Training tab's "More sources" editor (issue 13, point 1): sources added and removed, their columns
and label maps edited in a table of the file's values with counts, saved and opened with the
configuration, reported on the Data page, and trained on."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from moderator_app.gui.training.sources_editor import DROP, KEEP  # noqa: E402
from test_gui_training import RUN_TIMEOUT_MS, private_settings, window  # noqa: E402,F401 (the same window and settings)
from tiny_models import synthetic_rows, write_csv  # noqa: E402


def _davidson_like(path):
    """class 0 hate, 1 offensive, 2 neither, in a `tweet` column."""
    rows = [(text, 0 if label == "hate" else 1 + index % 2) for index, (text, label) in
            enumerate(synthetic_rows(60, seed=1))]
    return write_csv(path, rows, header=("tweet", "class"))


def _stormfront_like(path):
    rows = [(text, "hate" if label == "hate" else "noHate") for text, label in synthetic_rows(60, seed=2)]
    return write_csv(path, rows)


def _table(editor) -> dict[str, tuple[str, str]]:
    """value -> (rows, what it maps to) as the label-map table shows them."""
    table = editor.map_table
    return {table.item(row, 0).text(): (table.item(row, 1).text(), table.cellWidget(row, 2).currentText())
            for row in range(table.rowCount())}


def _map(qtbot, editor, value: str, target: str) -> None:
    table = editor.map_table
    row = next(row for row in range(table.rowCount()) if table.item(row, 0).text() == value)
    combo = table.cellWidget(row, 2)
    index = combo.findText(target)
    assert index >= 0, (value, target, [combo.itemText(i) for i in range(combo.count())])
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def _settings(model_dir, train_csv, output, **overrides):
    values = dict(train_file=str(train_csv), model_name_or_path=str(model_dir), output_dir=str(output),
                  num_epochs=1, train_batch_size=32, eval_batch_size=64, max_length=32, logging_steps=1,
                  learning_rate=1e-3, warmup_steps=2, early_stopping_patience=0, device="cpu", precision="fp32")
    values.update(overrides)
    return values


def _add_mapped_sources(qtbot, form, tmp_path):
    editor = form.sources_editor
    davidson, stormfront = _davidson_like(tmp_path / "davidson.csv"), _stormfront_like(tmp_path / "stormfront.csv")
    qtbot.waitUntil(lambda: editor.run_labels == ["not-hate", "hate"] or editor.run_labels == ["hate", "not-hate"],
                    timeout=30_000)
    editor.add_source(str(davidson))
    qtbot.waitUntil(lambda: editor.map_table.rowCount() == 3, timeout=30_000)
    counts = _table(editor)
    expected = {value: sum(1 for index, (_, label) in enumerate(synthetic_rows(60, seed=1))
                           if (0 if label == "hate" else 1 + index % 2) == int(value)) for value in "012"}
    assert {value: rows for value, (rows, _) in counts.items()} == {value: str(n) for value, n in expected.items()}
    assert {target for _, target in counts.values()} == {KEEP}
    assert editor.text_column.currentText() == "tweet" and editor.label_column.currentText() == "class"
    _map(qtbot, editor, "0", "hate")
    _map(qtbot, editor, "1", "not-hate")
    _map(qtbot, editor, "2", DROP)
    editor.add_source(str(stormfront))
    qtbot.waitUntil(lambda: set(_table(editor)) == {"hate", "noHate"}, timeout=30_000)
    _map(qtbot, editor, "noHate", "not-hate")
    editor.max_rows.setValue(40)
    editor.weight.setValue(2.0)
    return [{"path": str(davidson), "text_column": "tweet", "label_column": "class",
             "label_map": {"0": "hate", "1": "not-hate", "2": None}},
            {"path": str(stormfront), "text_column": "text", "label_column": "label",
             "label_map": {"noHate": "not-hate"}, "max_rows": 40, "weight": 2.0}]


def test_two_sources_with_label_maps_make_the_configuration(qtbot, window, tiny_model_dir, synthetic_csv, tmp_path):
    form = window.training_tab.form
    form.set_values(_settings(tiny_model_dir, synthetic_csv, tmp_path / "out"))
    expected = _add_mapped_sources(qtbot, form, tmp_path)
    assert form.config_for_saving().sources == expected
    assert form.values()["sources"] == expected
    qtbot.waitUntil(lambda: window.training_tab.start_button.isEnabled(), timeout=30_000)
    config = form.config()
    assert config.sources == expected and config.problems() == {}
    panel = window.training_tab.data_panel
    qtbot.waitUntil(lambda: form.report_state == "ok" and "source davidson" in panel.report.toPlainText(),
                    timeout=30_000)
    report = panel.report.toPlainText()
    assert "source stormfront" in report and "rows read" in report

    form.sources_editor.list.setCurrentRow(0)  # back to the first: its map is shown as chosen
    assert {value: target for value, (_, target) in _table(form.sources_editor).items()} == \
        {"0": "hate", "1": "not-hate", "2": DROP}
    form.sources_editor.remove_selected()
    assert [entry["path"] for entry in form.config_for_saving().sources] == [expected[1]["path"]]


def test_a_bad_source_blocks_start_with_a_message(qtbot, window, tiny_model_dir, synthetic_csv, tmp_path):
    tab = window.training_tab
    tab.form.set_values(_settings(tiny_model_dir, synthetic_csv, tmp_path / "out", sources=[{"path": "x.csv",
                                                                                          "weight": -1}]))
    qtbot.waitUntil(lambda: "weight" in tab.form.sources_editor.message.text(), timeout=30_000)
    assert not tab.start_button.isEnabled() and "More sources" in tab.form.problem_summary


def test_an_opened_configuration_shows_its_sources_and_saves_them_back(qtbot, window, tmp_path):
    davidson = _davidson_like(tmp_path / "davidson.csv")
    sources = [{"path": str(davidson), "text_column": "tweet", "label_column": "class",
                "label_map": {"0": "hate", "1": "not-hate", "2": None}, "max_rows": 30},
               {"path": str(tmp_path / "other.csv"), "weight": 0.5}]
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"train_file": "", "sources": sources}), encoding="utf-8")
    assert window.open_config(str(path))
    editor = window.training_tab.form.sources_editor
    assert [editor.list.item(row).text() for row in range(editor.list.count())] == ["davidson.csv", "other.csv"]
    qtbot.waitUntil(lambda: editor.map_table.rowCount() == 3, timeout=30_000)
    assert editor.text_column.currentText() == "tweet" and editor.max_rows.value() == 30
    assert _table(editor)["2"][1] == DROP
    saved = tmp_path / "saved.json"
    assert window.save_config(str(saved))
    assert json.loads(saved.read_text(encoding="utf-8"))["sources"] == sources


def test_start_trains_on_the_sources_and_the_run_page_switches_between_them(qtbot, window, tiny_model_dir,
                                                                            synthetic_csv, tmp_path):
    tab = window.training_tab
    tab.form.set_values(_settings(tiny_model_dir, synthetic_csv, tmp_path / "out"))
    _add_mapped_sources(qtbot, tab.form, tmp_path)
    qtbot.waitUntil(lambda: tab.start_button.isEnabled(), timeout=30_000)
    failures = []
    tab.run_failed.connect(failures.append)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_running, timeout=RUN_TIMEOUT_MS)
    assert not failures and tab.last_result is not None
    choice = tab.monitor.source_choice
    offered = [choice.itemText(index) for index in range(choice.count())]
    assert not choice.isHidden()
    assert any("davidson" in text for text in offered) and any("stormfront" in text for text in offered)


def test_a_score_column_is_cut_at_the_sources_threshold(qtbot, window, tmp_path):
    rows = [(f"text {index}", score) for index, score in enumerate([0.1, 0.3, 0.6, 0.8, 0.95])]
    ethos = write_csv(tmp_path / "ethos.csv", rows, header=("comment", "isHate"))
    editor = window.training_tab.form.sources_editor
    editor.add_source(str(ethos))
    qtbot.waitUntil(lambda: editor.map_table.rowCount() == 2, timeout=30_000)
    assert {value: rows for value, (rows, _) in _table(editor).items()} == {"1": "3", "0": "2"}
    editor.score_threshold.setValue(0.9)
    qtbot.waitUntil(lambda: {value: rows for value, (rows, _) in _table(editor).items()} == {"1": "1", "0": "4"},
                    timeout=30_000)
    assert window.training_tab.form.sources[0]["score_threshold"] == 0.9
