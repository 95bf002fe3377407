"""The Review tab's review loop, offscreen on the tiny classifier: a queue that survives closing and
reopening, decisions changed and undone (the log keeps every row), the history panel, importing into
a queue that holds work, an imported file's other columns, and decisions of an earlier model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from test_gui_review import (TEXTS, TIMEOUT_MS, cell, classify, close_window, open_window,  # noqa: E402,F401
                             private_places, select_rows, tab, window)
from test_inference import tiny_classifier_dir  # noqa: E402,F401 (fixture)

from moderator_app.core.review.session import FILTER_UNDECIDED, SORT_SCORE  # noqa: E402
from moderator_app.core.review.store import REVERT, DecisionStore  # noqa: E402
from moderator_app.gui.common import dialogs  # noqa: E402
from moderator_app.gui.review.results_panel import filter_key  # noqa: E402

DECISION_COLUMN = 6


def press(qtbot, tab, key, modifier=Qt.KeyboardModifier.NoModifier, signal="decisions_saved") -> None:
    with qtbot.waitSignal(getattr(tab, signal) if isinstance(signal, str) else signal, timeout=TIMEOUT_MS):
        qtbot.keyClick(tab.results.table, key, modifier)


def test_a_queue_survives_closing_and_reopening_with_its_position_threshold_and_model(qtbot, tiny_classifier_dir):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    classify(qtbot, tab, TEXTS, file_order=False)
    qtbot.waitUntil(lambda: tab.queue is not None, timeout=TIMEOUT_MS)
    tab.results.set_threshold(0.3)
    tab.results.sort_by(SORT_SCORE, True)
    select_rows(tab, [3])
    press(qtbot, tab, Qt.Key.Key_A)
    position = tab.results.selected_items()[0]  # moved on to the next row
    name, probabilities = tab.queue.name, tab.results.session.probabilities.copy()
    window.close()

    window, tab = open_window(qtbot)  # no model loaded by hand: the queue brings its own
    messages = []
    tab.status_message.connect(messages.append)
    classified = []
    tab.input.classify = lambda texts, source: classified.append(source)
    qtbot.waitUntil(lambda: tab.results.session.count == len(TEXTS) and tab.results.session.counts().decided == 1,
                    timeout=TIMEOUT_MS)
    assert classified == [] and "Opened 8 items with the scores this model gave them before" in " ".join(messages)
    assert (tab.results.session.probabilities == probabilities).all()  # kept with the queue, not classified again
    assert tab.queue.name == name and tab.handle.model_id == str(tiny_classifier_dir.resolve())
    assert tab.results.threshold_value() == 0.3 and tab.results.session.threshold == 0.3
    assert tab.results.session.sort_key == SORT_SCORE and tab.results.session.descending
    assert tab.results.selected_items() == [position]
    qtbot.waitUntil(lambda: "1 of 8 reviewed" in tab.queues.list.item(0).text(), timeout=TIMEOUT_MS)
    assert "1 of 8 reviewed" in window.review_stats.text()
    assert window.moderator_button.text().startswith("Moderator: ")
    close_window(qtbot, window)


def test_a_decision_changed_twice_leaves_three_rows_undo_reverts_and_history_shows_them(qtbot, tab):
    classify(qtbot, tab, TEXTS[:3])
    tab.set_moderator("ann")
    assert tab.window().moderator_button.text() == "Moderator: ann"
    select_rows(tab, [0])
    press(qtbot, tab, Qt.Key.Key_1)  # hate
    select_rows(tab, [0])
    tab.results.note_edit.setText("slur against neighbours")
    press(qtbot, tab, Qt.Key.Key_2)  # not-hate
    select_rows(tab, [0])
    press(qtbot, tab, Qt.Key.Key_1)  # hate again
    assert cell(tab, 0, DECISION_COLUMN).endswith("hate") and "not" not in cell(tab, 0, DECISION_COLUMN)
    rows = DecisionStore(tab.decisions.store.path).history(TEXTS[0])
    assert [row.moderator_label for row in rows] == ["hate", "not-hate", "hate"]
    assert rows[1].note == "slur against neighbours" and rows[2].note == ""  # a note goes with one decision
    assert all(row.moderator == "ann" and row.probabilities and row.queue == tab.queue.name for row in rows)

    press(qtbot, tab, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, signal=tab.decisions.undone)
    assert cell(tab, 0, DECISION_COLUMN).endswith("not-hate")  # back to the label before
    select_rows(tab, [0])
    qtbot.waitUntil(lambda: len(tab.history.entries()) == 4, timeout=TIMEOUT_MS)
    newest = tab.history.entries()[0]
    assert newest[1] == "ann" and newest[2] == "undo (back to not-hate)"
    rows = DecisionStore(tab.decisions.store.path).history(TEXTS[0])
    assert len(rows) == 4 and rows[-1].kind == REVERT  # nothing deleted

    tab.results.filter_combo.setCurrentIndex(tab.results.filter_combo.findData(filter_key(FILTER_UNDECIDED)))
    tab.results.filter_combo.setCurrentIndex(0)
    select_rows(tab, [0])
    qtbot.keyClick(tab.results.table, Qt.Key.Key_Space)  # next undecided
    assert tab.results.table.selected_rows() == [1]


def test_importing_into_a_queue_that_holds_work_asks_first(qtbot, tab, monkeypatch):
    classify(qtbot, tab, TEXTS[:3])
    qtbot.waitUntil(lambda: tab.queue is not None, timeout=TIMEOUT_MS)
    first = tab.queue
    select_rows(tab, [0])
    press(qtbot, tab, Qt.Key.Key_A)
    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda parent, title, question, yes, no="Cancel": asked.append(yes) or True)
    classify(qtbot, tab, TEXTS[3:5])
    assert asked == ["Add to this queue"]
    assert tab.results.session.texts == TEXTS[:5]
    qtbot.waitUntil(lambda: tab.results.session.counts().decided == 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: tab.queue.items == 5, timeout=TIMEOUT_MS)
    assert tab.queue.id == first.id

    monkeypatch.setattr(dialogs, "confirm", lambda *args, **kwargs: False)  # a new queue
    classify(qtbot, tab, TEXTS[5:])
    qtbot.waitUntil(lambda: tab.queue is not None and tab.queue.id != first.id, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: tab.queues.list.count() == 2, timeout=TIMEOUT_MS)
    assert tab.results.session.texts == TEXTS[5:]


def test_an_imported_files_other_columns_are_kept_and_can_be_shown(qtbot, tab, tmp_path):
    source = tmp_path / "comments.csv"
    source.write_text("id,text,author\n17,they are filth,@a\n18,lovely day,@b\n", encoding="utf-8")
    with qtbot.waitSignal(tab.results_changed, timeout=TIMEOUT_MS):
        tab.input.show_file_in_table(str(source), "text")
    qtbot.waitUntil(lambda: tab.queue is not None, timeout=TIMEOUT_MS)
    assert tab.queue.name == "comments" and tab.queue.columns == ["id", "author"]
    headers = [tab.results.model.headerData(c, Qt.Orientation.Horizontal) for c in range(tab.results.model.columnCount())]
    assert headers[-2:] == ["id", "author"]
    tab.results.sort_by(None)
    assert [cell(tab, row, len(headers) - 1) for row in range(2)] == ["@a", "@b"]
    id_action = tab.results.columns_button.menu().actions()[0]
    id_action.setChecked(False)  # hide the id column
    assert tab.results.model.headerData(len(headers) - 2, Qt.Orientation.Horizontal) == "author"


def test_decisions_of_an_earlier_model_show_as_decided_before(qtbot, tab, tiny_classifier_dir, tmp_path):
    classify(qtbot, tab, TEXTS[:2])
    select_rows(tab, [0])
    press(qtbot, tab, Qt.Key.Key_1)
    retrained = tmp_path / "retrained"
    shutil.copytree(tiny_classifier_dir, retrained)
    weights = retrained / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # other weights (a model retrained into a folder): another model
    weights.write_bytes(bytes(data))
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(retrained))
    qtbot.waitUntil(lambda: bool(tab.results.session.earlier), timeout=TIMEOUT_MS)
    assert tab.results.session.decisions == [None, None]  # not this model's decisions
    assert cell(tab, 0, DECISION_COLUMN) == f"before: hate ({tiny_classifier_dir.name})"


def test_retrain_from_decisions_fills_the_training_tab_and_offers_the_comparison(qtbot, window, tiny_classifier_dir,
                                                                                 tiny_model_dir, tmp_path):
    import json

    from tiny_models import synthetic_rows, write_csv

    tab = window.review_tab
    model = shutil.copytree(tiny_classifier_dir, tmp_path / "model")
    train = write_csv(tmp_path / "train.csv", synthetic_rows(20, seed=3))
    validation = write_csv(tmp_path / "val.csv", synthetic_rows(10, seed=4))
    (model / "training_config.json").write_text(json.dumps({
        "model_name_or_path": str(tiny_model_dir), "train_file": str(train), "validation_file": str(validation)}))
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(model))
    classify(qtbot, tab, TEXTS)
    qtbot.waitUntil(lambda: tab.queue is not None, timeout=TIMEOUT_MS)
    select_rows(tab, list(range(len(TEXTS))))
    press(qtbot, tab, Qt.Key.Key_A)
    with qtbot.waitSignal(tab.retrain_prepared, timeout=TIMEOUT_MS) as prepared:
        tab.model_panel.retrain_button.click()
    plan = prepared.args[0]
    assert window.tabs.currentWidget() is window.training_tab
    form = window.training_tab.form

    def form_is_valid() -> bool:  # the form checks the base model in the background
        from moderator_app.core.errors import UserError

        try:
            form.config()
        except (ValueError, UserError):
            return False
        return True

    qtbot.waitUntil(form_is_valid, timeout=TIMEOUT_MS)
    form_config = form.config()
    assert form_config.train_file == str(plan.train_file) and form_config.output_dir == plan.config.output_dir
    assert form_config.model_name_or_path == str(tiny_model_dir)

    shutil.copytree(model, plan.config.output_dir)  # what the run writes (training itself is tested elsewhere)
    with qtbot.waitSignal(tab.comparison_ready, timeout=TIMEOUT_MS) as compared:
        assert tab.offer_comparison(plan.config.output_dir)
    assert [c.rows for c in compared.args[0]] == [10]  # 8 decisions: too few to hold any out
    assert tab.comparison_dialog.values()[0][:3] == ["the original validation data (val.csv)", "10", "accuracy"]
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.comparison_dialog.switch_button.click()
    assert tab.handle.model_id == str(Path(plan.config.output_dir).resolve())


def test_queues_are_renamed_and_deleted_after_asking_and_their_decisions_stay(qtbot, tab, monkeypatch):
    classify(qtbot, tab, TEXTS[:2])
    qtbot.waitUntil(lambda: tab.queue is not None and tab.queues.list.count() == 1, timeout=TIMEOUT_MS)
    select_rows(tab, [0])
    press(qtbot, tab, Qt.Key.Key_A)
    queue_id = tab.queue.id
    with qtbot.waitSignal(tab.queues.renamed, timeout=TIMEOUT_MS):
        tab.queues.rename(queue_id, "Monday")
    qtbot.waitUntil(lambda: tab.queues.list.count() == 1 and "Monday — 1 of 2 reviewed" in tab.queues.list.item(0).text(),
                    timeout=TIMEOUT_MS)
    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda parent, title, question, yes, no="Cancel": asked.append(question))
    tab.queues.delete(queue_id)  # answered "Keep it"
    assert asked and "'Monday' (1 of 2 reviewed)" in asked[0]
    monkeypatch.setattr(dialogs, "confirm", lambda *args, **kwargs: True)
    with qtbot.waitSignal(tab.queues.deleted, timeout=TIMEOUT_MS):
        tab.queues.delete(queue_id)
    qtbot.waitUntil(lambda: tab.queues.list.count() == 0, timeout=TIMEOUT_MS)
    assert tab.queue is None
    decisions = DecisionStore(tab.decisions.store.path).decisions()
    assert len(decisions) == 1 and decisions[0].queue.startswith("Pasted")  # the name it was decided under


def test_the_policy_categories_are_a_small_list_edited_in_the_app_and_recorded(qtbot, tab, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    combo = tab.results.category_combo
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *args, **kwargs: ("threat\n\n doxxing \n", True))
    combo.activated.emit(combo.count() - 1)  # "Edit the list…"
    assert [combo.itemText(i) for i in range(combo.count())] == ["No category", "threat", "doxxing", "Edit the list…"]
    classify(qtbot, tab, TEXTS[:1])
    combo.setCurrentIndex(2)
    select_rows(tab, [0])
    press(qtbot, tab, Qt.Key.Key_A)
    assert DecisionStore(tab.decisions.store.path).decisions()[0].category == "doxxing"


def test_the_last_model_comes_back_and_picking_a_recent_one_loads_it(qtbot, tiny_classifier_dir, tmp_path):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    close_window(qtbot, window)
    window, tab = open_window(qtbot)  # no queue yet: the model of last time is loaded again
    qtbot.waitUntil(lambda: tab.handle is not None, timeout=TIMEOUT_MS)
    other = shutil.copytree(tiny_classifier_dir, tmp_path / "other")
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(other))
    assert tab.model_panel.combo.itemText(1) == str(tiny_classifier_dir.resolve())
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):  # no Load press
        tab.model_panel.combo.setCurrentIndex(1)
        tab.model_panel.combo.activated.emit(1)
    assert tab.handle.model_id == str(tiny_classifier_dir.resolve())
    close_window(qtbot, window)
