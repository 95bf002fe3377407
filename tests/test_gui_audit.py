"""The Training tab's Audit page and "Review suspects", offscreen: the audit runs in the background
on the form's data with the tiny encoder, its tables fill, the suspects open as a Review queue with the
audit's columns, and the form takes the queue as its corrections; Cancel ends with nothing written."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from test_audit import flipped_file  # noqa: E402,F401 (fixture)
from test_gui_review import TIMEOUT_MS, close_window, private_places, tab, window  # noqa: E402,F401
from test_inference import tiny_classifier_dir  # noqa: E402,F401 (fixture)

from moderator_app.core.audit.review import AUDIT_COLUMNS, CATEGORY_AUDIT_COLUMNS  # noqa: E402


def fill_form(window, path, model) -> None:
    window.training_tab.form.set_values({"train_file": str(path), "model_name_or_path": str(model)})


def test_audit_then_review_the_suspects_in_the_review_tab(qtbot, tab, flipped_file, tiny_model_dir):
    window = tab.window()
    path, flipped = flipped_file
    fill_form(window, path, tiny_model_dir)
    training = window.training_tab
    panel = training.audit_panel
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT_MS) as outcome:
        training.data_panel.audit_button.click()
        assert training.pages.currentWidget() is panel and panel.running
    assert outcome.args == ["finished"], panel.status.text()
    result = panel.result
    assert panel.suspects.rowCount() == len(result.suspects) > 0
    assert panel.suspects.item(0, 1).text() == result.suspects[0].given
    assert panel.sources.rowCount() == 1 and "likely label errors" in panel.status.text()
    assert panel.review_button.isEnabled()

    with qtbot.waitSignal(tab.queue_opened, timeout=TIMEOUT_MS) as opened:
        panel.review_button.click()
    queue = opened.args[0]
    assert window.tabs.currentWidget() is tab
    assert queue.columns[:len(AUDIT_COLUMNS)] == list(AUDIT_COLUMNS) and queue.items == len(result.suspects)
    qtbot.waitUntil(lambda: tab.results.session.count == len(result.suspects), timeout=TIMEOUT_MS)
    shown = list(tab.results.session.texts)
    assert shown == [result.rows.texts[item.row] for item in sorted(result.suspects, key=lambda item: -item.score)]
    model = tab.results.table.model()
    headers = [model.headerData(column, Qt.Orientation.Horizontal) for column in range(model.columnCount())]
    assert "given label" in headers and "suggested label" in headers
    assert training.form.fields["corrections_queue"].value() == queue.name
    close_window(qtbot, window)


def test_cancel_leaves_nothing_behind(qtbot, window, flipped_file, tiny_model_dir):
    path, _ = flipped_file
    before = sorted(path.parent.rglob("*"))
    fill_form(window, path, tiny_model_dir)
    training = window.training_tab
    panel = training.audit_panel
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT_MS) as outcome:
        training.audit()
        panel.cancel_button.click()
    assert outcome.args == ["cancelled"] and "nothing was written" in panel.status.text()
    assert panel.result is None and not panel.review_button.isEnabled()
    assert sorted(path.parent.rglob("*")) == before


def test_a_form_without_data_says_so_instead_of_auditing(qtbot, window, monkeypatch):
    shown = []
    monkeypatch.setattr("moderator_app.gui.training.tab.show_failure", lambda parent, error, title: shown.append(title))
    window.training_tab.audit()
    assert shown == ["Cannot audit the data: fix this setting first"] and not window.training_tab.audit_panel.running


def test_a_multi_label_audit_shows_its_categories_and_opens_its_suspects_as_a_queue(qtbot, window, tiny_model_dir,
                                                                                  tmp_path):
    import test_audit_categories

    sources, _flipped, _unlabelled, _shared = test_audit_categories.category_sources.__wrapped__(tmp_path)
    training = window.training_tab
    training.form.set_values({"train_file": "", "categories": ["hate", "offensive"], "sources": sources,
                              "model_name_or_path": str(tiny_model_dir)})
    panel = training.audit_panel
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT_MS) as outcome:
        training.audit()
    assert outcome.args == ["finished"], panel.status.text()
    result = panel.result
    assert result.rows.categories == ["hate", "offensive"] and result.suspects
    assert not panel.suspects.isColumnHidden(3)
    assert panel.suspects.horizontalHeaderItem(3).text() == "Category"
    assert [panel.suspects.item(row, 3).text() for row in range(panel.suspects.rowCount())] == \
        [item.category for item in result.suspects]
    assert panel.suspects.item(0, 1).text() in ("yes", "no")
    assert "(hate " in panel.status.text() and "on offensive 0" in panel.status.text()
    groups = [panel.groups.item(row, 3).text() for row in range(panel.groups.rowCount())]
    assert "hate" in groups  # the conflicting category named
    assert panel.sources.horizontalHeaderItem(2).text().startswith("Per category")
    shares = panel.sources.item(1, 2).text()
    assert "offensive yes 0 / no 0 / unknown 101" in shares and shares.startswith("hate yes")
    assert panel.review_button.isEnabled() and "multi-label model" in panel.review_button.toolTip()
    with qtbot.waitSignal(window.review_tab.queue_opened, timeout=TIMEOUT_MS) as opened:
        panel.review_button.click()
    queue = opened.args[0]
    assert queue.columns[:len(CATEGORY_AUDIT_COLUMNS)] == list(CATEGORY_AUDIT_COLUMNS)
    assert queue.items == len({item.row for item in result.suspects})
    assert training.form.fields["corrections_queue"].value() == queue.name
    close_window(qtbot, window)
