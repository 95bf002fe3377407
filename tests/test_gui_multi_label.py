"""Issue 27 in the Training tab: the sources editor names the run's categories and, per source, how it labels
each one; the run monitor shows each category's F1 per epoch."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from moderator_app.gui.training.category_rules_editor import (AT_LEAST_ONE, COLUMN, LABEL_MAP, MAJORITY,  # noqa: E402
                                                              UNKNOWN, build_rule, rule_kind)
from test_gui_training import RUN_TIMEOUT_MS, private_settings, window  # noqa: E402,F401 (the same window and settings)
from test_multi_label_training import _three_sources  # noqa: E402
from tiny_models import CATEGORY_WORDS, build_tiny_roberta  # noqa: E402


def _set_rule(table, category, kind, column, total="", yes="", no=""):
    row = table.categories.index(category)
    widgets = [table.cellWidget(row, column_index) for column_index in range(1, 6)]
    how, chosen, total_choice, yes_edit, no_edit = widgets
    how.setCurrentIndex(how.findData(kind))
    assert chosen.findData(column) >= 0, [chosen.itemData(i) for i in range(chosen.count())]
    chosen.setCurrentIndex(chosen.findData(column))
    total_choice.setCurrentIndex(max(total_choice.findData(total), 0))
    yes_edit.setText(yes)
    no_edit.setText(no)
    how.activated.emit(how.currentIndex())


def test_rules_round_trip_between_the_table_and_the_configuration():
    for rule in ({"column": "is_offensive"}, {"votes": "hate_speech", "rule": "at_least_one"},
                 {"votes": "hate_speech", "total": "count", "rule": "majority"},
                 {"column": "label", "yes": ["hate"], "no": ["not-hate", "neutral"]}):
        kind = rule_kind(rule)
        column = rule.get("votes") or rule["column"]
        assert build_rule(kind, column, rule.get("total", ""), ", ".join(rule.get("yes", [])),
                          ", ".join(rule.get("no", []))) == rule
    assert rule_kind(None) == UNKNOWN and build_rule(UNKNOWN, "x", "", "", "") is None
    assert build_rule(COLUMN, "", "", "", "") is None  # no column chosen yet: not a rule


def test_a_multi_label_run_from_the_form(qtbot, window, tmp_path):
    tab = window.training_tab
    form, editor = tab.form, tab.form.sources_editor
    base = build_tiny_roberta(tmp_path / "base", extra_texts=[" ".join(words) for words in CATEGORY_WORDS] * 20)
    both, hate, offensive = _three_sources(tmp_path)
    form.set_values(dict(train_file="", model_name_or_path=str(base), output_dir=str(tmp_path / "out"), num_epochs=2,
                         train_batch_size=16, eval_batch_size=64, max_length=32, logging_steps=1, learning_rate=3e-3,
                         warmup_steps=2, early_stopping_patience=0, device="cpu", precision="fp32",
                         lr_scheduler="constant"))
    editor.categories_edit.setText("hate, offensive")
    editor.categories_edit.editingFinished.emit()
    for source in (both, hate, offensive):
        editor.add_source(source["path"])
        qtbot.waitUntil(lambda path=source["path"]: path in editor.columns_of, timeout=30_000)
        assert not editor.label_column.isVisible() and editor.category_rules.rowCount() == 2
    editor.list.setCurrentRow(0)
    editor.text_column.setCurrentIndex(editor.text_column.findData("tweet"))
    editor.text_column.activated.emit(editor.text_column.currentIndex())
    _set_rule(editor.category_rules, "hate", MAJORITY, "hate_speech", total="count")
    _set_rule(editor.category_rules, "offensive", AT_LEAST_ONE, "offensive_language")
    editor.list.setCurrentRow(1)
    _set_rule(editor.category_rules, "hate", LABEL_MAP, "label", yes="hateful", no="fine")
    editor.list.setCurrentRow(2)
    # a source that labels no category yet is named in the editor's message, and Start waits
    qtbot.waitUntil(lambda: "Source 3" in editor.message.text() and "labels none" in editor.message.text(),
                    timeout=30_000)
    assert not tab.start_button.isEnabled()
    _set_rule(editor.category_rules, "offensive", COLUMN, "is_offensive")
    values = form.values()
    assert values["categories"] == ["hate", "offensive"]
    assert [entry.get("categories") for entry in values["sources"]] == [source["categories"]
                                                                         for source in (both, hate, offensive)]
    assert values["sources"][0]["text_column"] == "tweet"
    qtbot.waitUntil(lambda: tab.start_button.isEnabled(), timeout=30_000)
    assert form.config().categories == ["hate", "offensive"]
    panel = tab.data_panel  # the Data page's report, read as the run will read the sources
    qtbot.waitUntil(lambda: form.report_state == "ok" and "categories (training and validation rows)"
                    in panel.report.toPlainText(), timeout=30_000)
    assert "hate yes 0 / no 0 / unknown 160" in panel.report.toPlainText()  # the offensive-only source

    failures = []
    tab.run_failed.connect(failures.append)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_running, timeout=RUN_TIMEOUT_MS)
    assert not failures and tab.last_result is not None
    table = tab.monitor.table
    headers = [table.horizontalHeaderItem(column).text() for column in range(table.columnCount())]
    assert headers[-2:] == ["F1 hate", "F1 offensive"]
    assert table.rowCount() >= 2 and all(table.item(0, column).text() not in ("", "–") for column in (7, 8))
    assert "known validation rows" in table.item(0, 7).toolTip() or table.item(0, 7).font().bold()
    # the metrics plot has a curve per category, a point per epoch, the F1 the epoch table shows
    curves = tab.monitor.metrics_plot.category_curves
    assert list(curves) == ["hate", "offensive"]
    for column, name in ((7, "hate"), (8, "offensive")):
        xs, ys = curves[name].getData()
        assert len(xs) == table.rowCount() and abs(ys[0] - float(table.item(0, column).text())) < 5e-4
