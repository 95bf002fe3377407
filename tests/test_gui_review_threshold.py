"""The Review tab's threshold has one owner, and what the moderator sees is what the log says (issue 22):
a new queue starts at the model's calibrated threshold, Reset goes back to it, the model panel says
how labels are decided, a batch-labelled file records its threshold, marks come from the model label
the log holds, exactly one row is selected after classify, decide and undo, several rows are decided
only when confirmed, Undo works after a restart, and status messages are not hidden at 1440 px."""

from __future__ import annotations

import csv

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from test_gui_evaluation import load, with_operating_point  # noqa: E402
from test_gui_review import (TEXTS, TIMEOUT_MS, cell, classify, close_window, open_window,  # noqa: E402,F401
                             private_places, select_rows, tab, window)
from test_gui_review_queues import DECISION_COLUMN, press  # noqa: E402
from test_inference import tiny_classifier_dir  # noqa: E402,F401 (fixture)
from tiny_models import synthetic_rows, write_csv  # noqa: E402

from moderator_app.core.inference.provenance import CALIBRATED, SLIDER, read_provenance  # noqa: E402
from moderator_app.core.review.store import REVERT, DecisionStore  # noqa: E402
from moderator_app.gui.common import dialogs  # noqa: E402
from moderator_app.gui.review.results_table import ACCEPTED_MARK, LABEL_COLUMN  # noqa: E402

CALIBRATED_THRESHOLD = 0.4137  # between two slider steps: kept exactly, not as 0.41


@pytest.fixture
def calibrated(tiny_classifier_dir, tmp_path):
    folder, _ = with_operating_point(tiny_classifier_dir, tmp_path / "calibrated", threshold=CALIBRATED_THRESHOLD)
    return folder


def test_a_new_queue_starts_at_the_calibrated_threshold_and_a_reopened_one_keeps_its_own(qtbot, window, calibrated):
    tab = window.review_tab
    load(qtbot, tab, calibrated)
    classify(qtbot, tab, TEXTS[:3])
    qtbot.waitUntil(lambda: tab.queue is not None, timeout=TIMEOUT_MS)
    first = tab.queue.id
    tab.results.threshold_slider.setValue(30)  # the moderator's own move, saved with the queue
    assert tab.threshold() == pytest.approx(0.3)
    tab._save_queue_state_now()
    classify(qtbot, tab, TEXTS[3:6])  # nothing decided: a new queue
    qtbot.waitUntil(lambda: tab.queue is not None and tab.queue.id != first, timeout=TIMEOUT_MS)
    assert tab.threshold() == CALIBRATED_THRESHOLD and tab.results.session.threshold == CALIBRATED_THRESHOLD
    tab.open_queue(first)
    qtbot.waitUntil(lambda: tab.results.session.texts == TEXTS[:3], timeout=TIMEOUT_MS)
    assert tab.threshold() == pytest.approx(0.3) and tab.results.session.threshold == pytest.approx(0.3)


def test_reset_to_the_models_threshold_is_one_click_and_only_when_it_applies(qtbot, window, calibrated,
                                                                            tiny_classifier_dir):
    tab = window.review_tab
    load(qtbot, tab, calibrated)
    reset = tab.results.threshold.reset_button
    assert not reset.isEnabled()  # already there
    tab.results.threshold_slider.setValue(30)
    assert reset.isEnabled() and "0.414" in reset.toolTip()
    reset.click()
    assert tab.threshold() == CALIBRATED_THRESHOLD and not reset.isEnabled()
    load(qtbot, tab, tiny_classifier_dir)  # a model without a calibrated threshold
    assert not reset.isEnabled() and "no calibrated threshold" in reset.toolTip()


def test_the_model_panel_says_in_one_sentence_how_labels_are_decided(qtbot, window, tiny_classifier_dir, tmp_path):
    tab = window.review_tab
    warning = "Deciding by the most probable label: the model predicts 'not-hate' for 96% of the 80 rows."
    folder, _ = with_operating_point(tiny_classifier_dir, tmp_path / "calibrated", warning=warning,
                                     threshold=CALIBRATED_THRESHOLD)
    load(qtbot, tab, folder)
    rule = tab.model_panel.decision_rule
    assert rule.isVisible()
    assert rule.text() == "Decides by threshold 0.41: 'hate' when P(hate) ≥ 0.41 (the model's calibrated threshold)."
    # the warning is about the most probable label, and says so without claiming that it decides
    assert tab.model_panel.warning.text().startswith("Warning: By its most probable label (without its threshold)")
    tab.results.threshold_slider.setValue(34)
    assert rule.text() == "Decides by threshold 0.34: 'hate' when P(hate) ≥ 0.34 (moved from the model's 0.41)."
    load(qtbot, tab, tiny_classifier_dir)  # no operating point: the slider stays, the sentence follows it
    assert rule.text() == "Decides by threshold 0.34: 'hate' when P(hate) ≥ 0.34."
    tab.results.set_threshold(0.5)
    assert rule.text().endswith("(the most probable label).")


def test_a_batch_labelled_file_records_the_threshold_it_used_as_the_cli_does(qtbot, window, calibrated, tmp_path):
    from moderator_app.cli import main

    tab = window.review_tab
    load(qtbot, tab, calibrated)
    rows = [(str(index), text) for index, (text, _) in enumerate(synthetic_rows(40, seed=12))]
    source = write_csv(tmp_path / "comments.csv", rows, header=("id", "comment"))
    moved, calibrated_output = tmp_path / "moved.labelled.csv", tmp_path / "calibrated.labelled.csv"
    tab.results.threshold_slider.setValue(30)
    with qtbot.waitSignal(tab.batch_ended, timeout=TIMEOUT_MS) as ended:
        assert tab.batch_label(str(source), "comment", str(moved))
    assert ended.args == ["finished"]
    record = read_provenance(moved)
    assert record["threshold"] == pytest.approx(0.3) and record["threshold_source"] == SLIDER
    assert record["model_identity"] == tab.handle.identity and record["input"] == str(source.resolve())
    tab.results.threshold.reset_button.click()
    with qtbot.waitSignal(tab.batch_ended, timeout=TIMEOUT_MS):
        assert tab.batch_label(str(source), "comment", str(calibrated_output))
    record = read_provenance(calibrated_output)
    assert record["threshold"] == CALIBRATED_THRESHOLD and record["threshold_source"] == CALIBRATED
    cli_output = tmp_path / "cli.labelled.csv"
    assert main(["label", str(source), "--model", str(calibrated), "--device", "cpu", "-o", str(cli_output)]) == 0
    assert read_provenance(cli_output)["threshold"] == CALIBRATED_THRESHOLD

    def labels(path):
        with open(path, newline="", encoding="utf-8") as handle:
            return [row[2] for row in csv.reader(handle)]

    assert labels(calibrated_output) == labels(cli_output)  # the same model and file: the same labels


def test_marks_come_from_the_model_label_the_log_holds_not_from_a_later_threshold(qtbot, tiny_classifier_dir):
    window, tab = open_window(qtbot)
    load(qtbot, tab, tiny_classifier_dir)
    classify(qtbot, tab, TEXTS)
    assert cell(tab, 1, LABEL_COLUMN) == "not-hate"
    select_rows(tab, [1])
    press(qtbot, tab, Qt.Key.Key_A)  # accepted: the model said not-hate at 0.50
    tab.results.threshold_slider.setValue(0)  # now every row is 'hate'
    assert cell(tab, 1, LABEL_COLUMN) == "hate"
    assert cell(tab, 1, DECISION_COLUMN) == f"{ACCEPTED_MARK} not-hate"  # still accepted, as the log says
    tab.update_stats()
    assert "0% relabelled" in window.review_stats.text()
    assert tab.results.session.counts().relabelled == 0
    tab._save_queue_state_now()
    window.close()

    window, tab = open_window(qtbot)  # read back from the store, at the queue's threshold 0.00
    qtbot.waitUntil(lambda: tab.results.session.counts().decided == 1, timeout=TIMEOUT_MS)
    assert tab.threshold() == 0.0
    row = tab.results.model.row_of(1)
    assert cell(tab, row, DECISION_COLUMN) == f"{ACCEPTED_MARK} not-hate"
    assert "0% relabelled" in window.review_stats.text()
    close_window(qtbot, window)


def test_exactly_one_row_is_selected_after_classify_decide_and_undo(qtbot, tab):
    classify(qtbot, tab, TEXTS, file_order=False)  # least sure first
    results = tab.results
    assert results.table.selected_rows() == [0]  # the first row in the table's order …
    assert results.session.item(0) != 0  # … which is not item #1
    select_rows(tab, [2, 3])
    press(qtbot, tab, Qt.Key.Key_A)  # two rows (confirmed): the next row after them
    assert results.table.selected_rows() == [4]
    press(qtbot, tab, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, signal=tab.decisions.undone)
    assert results.table.selected_rows() == [2]  # the first undone row in the order, and only it
    select_rows(tab, [len(TEXTS) - 1])
    press(qtbot, tab, Qt.Key.Key_A)  # the last row: it stays the one selected
    assert results.table.selected_rows() == [len(TEXTS) - 1]


def test_a_key_that_decides_several_rows_asks_first(qtbot, tab, monkeypatch):
    classify(qtbot, tab, TEXTS[:4])
    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda parent, title, question, yes, no="Cancel":
                        asked.append(question) or False)
    select_rows(tab, [0, 1, 2])
    qtbot.keyClick(tab.results.table, Qt.Key.Key_2)
    assert len(asked) == 1 and "3 rows are selected" in asked[0] and "'not-hate'" in asked[0]
    tab.results.accept_button.click()  # the buttons ask too
    assert len(asked) == 2 and "accept the model's label" in asked[1]
    tab.decisions.tasks.wait(TIMEOUT_MS)
    assert tab.results.session.counts().decided == 0  # answered no: nothing decided
    select_rows(tab, [0])
    press(qtbot, tab, Qt.Key.Key_A)  # one row: no question
    assert len(asked) == 2 and tab.results.session.counts().decided == 1


def test_undo_after_a_restart_takes_back_the_moderators_own_last_decision(qtbot, tiny_classifier_dir):
    window, tab = open_window(qtbot)
    load(qtbot, tab, tiny_classifier_dir)
    classify(qtbot, tab, TEXTS[:3])
    select_rows(tab, [0])
    press(qtbot, tab, Qt.Key.Key_1)
    store_path = tab.decisions.store.path
    window.close()

    window, tab = open_window(qtbot)  # a new ReviewTab over the same store
    qtbot.waitUntil(lambda: tab.results.session.counts().decided == 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: tab.results.undo_button.isEnabled(), timeout=TIMEOUT_MS)
    press(qtbot, tab, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, signal=tab.decisions.undone)
    assert tab.results.session.counts().decided == 0
    rows = DecisionStore(store_path).history(TEXTS[0])
    assert [row.kind for row in rows] == ["decision", REVERT] and rows[1].moderator_label is None
    qtbot.waitUntil(lambda: not tab.results.undo_button.isEnabled(), timeout=TIMEOUT_MS)  # nothing older
    close_window(qtbot, window)


def test_status_messages_are_not_hidden_by_the_review_fields_at_1440_px(qtbot, window):
    window.resize(1440, 900)
    tab = window.review_tab
    tab.set_moderator("Alexandra Konstantinopoulou-Richardson (trust and safety, EMEA)")
    tab.stats_changed.emit("Moderator: x · 'comments exported from the forum last week': 12,345 of 20,000 reviewed "
                           "· 1,234 items/hour · 12% relabelled (disagree with the model)")
    message = ("1,234 of these items were decided before with this model, 56 with another model "
               "(shown as “before”).")
    bar = window.statusBar()
    bar.showMessage(message)
    qtbot.waitUntil(lambda: bar.width() >= 1400, timeout=TIMEOUT_MS)
    QApplication.processEvents()
    fields = [widget for widget in (window.review_stats, window.moderator_button, window.device_label)
              if widget.isVisible()]
    room = min(widget.geometry().left() for widget in fields)
    assert bar.fontMetrics().horizontalAdvance(message) + 12 <= room  # the whole message is drawn
    assert "12% relabelled" in window.review_stats.toolTip()  # the field's whole text is one hover away
    assert window.moderator_button.toolTip().startswith("Moderator: Alexandra Konstantinopoulou-Richardson")


def test_reloading_the_model_keeps_the_open_queues_threshold(qtbot, window, calibrated):
    tab = window.review_tab
    load(qtbot, tab, calibrated)
    classify(qtbot, tab, TEXTS[:3])
    qtbot.waitUntil(lambda: tab.queue is not None, timeout=TIMEOUT_MS)
    tab.results.threshold_slider.setValue(30)
    with qtbot.waitSignal(tab.results_changed, timeout=TIMEOUT_MS):  # as another precision does
        tab.load_model(str(calibrated))
    assert tab.threshold() == pytest.approx(0.3) and tab.results.session.threshold == pytest.approx(0.3)
    assert tab.results.threshold.reset_button.isEnabled()
