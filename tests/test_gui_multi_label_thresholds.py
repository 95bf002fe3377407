"""A multi-label model's thresholds in the Review tab (issue 27), offscreen on the tiny two-category model:
the category threshold control moves one category's threshold, with that category's validation figures
beside it; the table's flags and marks, the category filter, an undecided row's boxes, the model panel's
sentence, the per-category view on a file and the decisions recorded follow it and leave the other
category alone; Reset and Reset all go back to the model's."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from test_gui_multi_label_review import CATEGORIES, TEXTS, shown_set  # noqa: E402
from test_gui_review import (TIMEOUT_MS, cell, classify, close_window, open_window,  # noqa: E402,F401
                             private_places, select_rows)

from moderator_app.core.inference.saved_operating_point import precision_recall_on_curve  # noqa: E402
from moderator_app.core.review.store import DecisionStore  # noqa: E402
from moderator_app.gui.review.filter_choices import filter_key  # noqa: E402
from moderator_app.gui.review.results_table import FIRST_PROBABILITY_COLUMN, LABEL_COLUMN  # noqa: E402
from moderator_app.gui.review.threshold_control import decision_sentence  # noqa: E402


def flags_of(session) -> list[tuple[str, ...]]:
    return [session.flagged_categories(item) for item in range(session.count)]


def test_moving_one_categorys_threshold_relabels_that_category_only_and_decisions_record_it(
        qtbot, tmp_path, tiny_multi_label_dir):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_multi_label_dir))
    classify(qtbot, tab, TEXTS)
    results, session, choice = tab.results, tab.results.session, tab.results.category_choice
    control, classifier = results.category_threshold, tab.handle.classifier
    own = classifier.category_thresholds
    assert control.isVisible() and not results.threshold.isVisible()  # the binary slider is not shown
    assert [control.category_combo.itemText(i) for i in range(control.category_combo.count())] == CATEGORIES
    assert control.thresholds() == own and not control.reset_button.isEnabled()
    assert not control.reset_all_button.isEnabled()
    before = flags_of(session)
    probabilities = session.probabilities
    # a hate threshold between two rows' P(hate): one that flags a row the model does not flag now
    unflagged = [item for item, found in enumerate(before) if "hate" not in found]
    assert unflagged, "the fixture flags hate on some rows only"
    item = max(unflagged, key=lambda row: probabilities[row, 0])
    moved = max(float(probabilities[item, 0]) - 1e-4, 0.0)

    select_rows(tab, [int(session.rows_of([item])[0])])
    assert choice.chosen() == before[item]  # undecided: the model's set
    with qtbot.waitSignal(results.threshold_changed, timeout=TIMEOUT_MS):
        control.set_value(moved)  # as the slider would, between two of its steps
    assert control.thresholds() == {"hate": moved, "offensive": own["offensive"]}
    assert session.category_thresholds == control.thresholds()
    after = flags_of(session)
    expected_hate = [bool(probabilities[row, 0] >= moved) for row in range(len(TEXTS))]
    assert ["hate" in found for found in after] == expected_hate and "hate" in after[item]
    assert ["offensive" in found for found in after] == ["offensive" in found for found in before]  # untouched
    rows = [session.item(row) for row in range(len(TEXTS))]
    assert [cell(tab, row, LABEL_COLUMN) for row in range(len(TEXTS))] == [shown_set(after[i]) for i in rows]
    hate_cell = results.model.index(int(session.rows_of([item])[0]), FIRST_PROBABILITY_COLUMN)
    assert hate_cell.data(Qt.ItemDataRole.FontRole).bold()  # marked as flagged now
    assert choice.chosen() == after[item]  # the undecided row's boxes follow
    assert "at least" in choice.boxes[0].toolTip() and f"{moved:.2f}" in choice.boxes[0].toolTip()
    assert control.reset_button.isEnabled() and control.reset_all_button.isEnabled()
    assert f"'hate' when P(hate) ≥ {moved:.2f} (moved from the model's {own['hate']:.2f})" in (
        tab.model_panel.decision_rule.text())
    assert f"'offensive' when P(offensive) ≥ {own['offensive']:.2f}." in tab.model_panel.decision_rule.text()
    if classifier.operating_point is not None and classifier.operating_point.categories["hate"].get("curve"):
        scores = precision_recall_on_curve(classifier.operating_point.categories["hate"]["curve"], moved)
        assert f"recall {scores[1]:.2f}" in control.validation_label.text()  # the category's own curve

    results.filter_combo.setCurrentIndex(results.filter_combo.findData(filter_key("category", "hate")))
    assert sorted(session.rows.tolist()) == [row for row in range(len(TEXTS)) if expected_hate[row]]
    results.filter_combo.setCurrentIndex(results.filter_combo.findData(filter_key("all")))

    select_rows(tab, [int(session.rows_of([item])[0])])
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        qtbot.keyClick(results.table, Qt.Key.Key_A)  # untouched: the set flagged at the moved threshold

    choice.evaluate_button.click()  # the per-category view measures a file at the thresholds in use
    view = choice.evaluation
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("text,hate,offensive\nthe nazis and bigots,yes,no\nyou stupid idiot,no,yes\n", encoding="utf-8")
    view.evaluate_file(str(labelled))
    qtbot.waitUntil(lambda: view.file_evaluation is not None, timeout=TIMEOUT_MS)
    assert view.file_evaluation.thresholds == {"hate": moved, "offensive": own["offensive"]}
    assert f"hate {moved:.2f}" in view.file_status.text()
    view.close()

    control.choose("offensive")  # the slider shows offensive's threshold; hate's stays moved
    assert control.value() == own["offensive"] and control.thresholds()["hate"] == moved
    control.slider.setValue(0)
    assert control.thresholds()["offensive"] == 0.0 and all("offensive" in found for found in flags_of(session))
    control.reset()  # offensive only
    assert control.thresholds() == {"hate": moved, "offensive": own["offensive"]}
    control.reset_all_button.click()
    assert control.thresholds() == own and flags_of(session) == before and not control.reset_all_button.isEnabled()
    store_path = tab.decisions.store.path
    close_window(qtbot, window)

    decision = DecisionStore(store_path).decisions()[0]
    assert decision.text == TEXTS[item] and decision.category_thresholds == {"hate": moved,
                                                                             "offensive": own["offensive"]}
    assert "hate" in decision.model_categories and decision.accepted


def test_a_moved_checkbox_set_survives_a_threshold_move(qtbot, tiny_multi_label_dir):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_multi_label_dir))
    classify(qtbot, tab, TEXTS[:3])
    choice, control = tab.results.category_choice, tab.results.category_threshold
    select_rows(tab, [0])
    qtbot.keyClick(tab.results.table, Qt.Key.Key_2)  # the moderator's own tick: not the model's set any more
    ticked = choice.chosen()
    control.set_thresholds({"offensive": 0.0 if "offensive" not in ticked else 1.0})
    assert choice.chosen() == ticked
    close_window(qtbot, window)


def test_the_decision_sentence_says_which_categories_were_moved():
    own = {"hate": 0.62, "offensive": 0.4}
    assert decision_sentence(None, None, None, own, own) == ("Flags each category at its own threshold: 'hate' when "
                                                             "P(hate) ≥ 0.62, 'offensive' when P(offensive) ≥ 0.40.")
    assert decision_sentence(None, None, None, {**own, "hate": 0.3}, own) == (
        "Flags each category at its own threshold: 'hate' when P(hate) ≥ 0.30 (moved from the model's 0.62), "
        "'offensive' when P(offensive) ≥ 0.40.")


def test_precision_and_recall_are_read_from_a_categorys_own_curve():
    from moderator_app.core.inference.saved_operating_point import OperatingPoint

    curve = [{"threshold": 0.2, "precision": 0.5, "recall": 1.0}, {"threshold": 0.7, "precision": 0.9, "recall": 0.4}]
    point = OperatingPoint("f1", None, None, 1.0, 0.0, 0.0, categories={"hate": {"threshold": 0.7, "curve": curve},
                                                                         "offensive": {"threshold": 0.5, "curve": []}})
    assert point.category_precision_recall_at("hate", 0.5) == (0.9, 0.4)
    assert point.category_precision_recall_at("hate", 0.1) == (0.5, 1.0)
    assert point.category_precision_recall_at("hate", 0.8) == (None, 0.0)
    assert point.category_precision_recall_at("offensive", 0.5) is None  # no curve saved for it
    assert point.category_precision_recall_at("threat", 0.5) is None and point.precision_recall_at(0.5) is None


def test_batch_labelling_from_the_review_tab_flags_at_the_thresholds_in_use(qtbot, tmp_path, tiny_multi_label_dir):
    import csv

    from moderator_app.core.inference.provenance import read_provenance

    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_multi_label_dir))
    source = tmp_path / "comments.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["comment"], *([text] for text in TEXTS)])
    control, own = tab.results.category_threshold, tab.handle.classifier.category_thresholds
    control.set_thresholds({"offensive": 0.0})  # every text is offensive at 0
    output = tmp_path / "moved.labelled.csv"
    with qtbot.waitSignal(tab.batch_ended, timeout=TIMEOUT_MS) as ended:
        assert tab.batch_label(str(source), "comment", str(output))
    assert ended.args == ["finished"], tab.batch_panel.summary.text()
    assert "offensive 0.00" in tab.batch_panel.files.text()
    assert read_provenance(output)["category_thresholds"] == {"hate": own["hate"], "offensive": 0.0}
    with open(output, newline="", encoding="utf-8") as handle:
        assert [row["offensive"] for row in csv.DictReader(handle)] == ["yes"] * len(TEXTS)
    close_window(qtbot, window)


def test_a_queue_reopens_with_its_moved_category_thresholds_and_a_reload_keeps_them(qtbot, tiny_multi_label_dir):
    from dataclasses import replace

    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_multi_label_dir))
    classify(qtbot, tab, TEXTS)
    qtbot.waitUntil(lambda: tab.queue is not None, timeout=TIMEOUT_MS)
    control, own = tab.results.category_threshold, tab.handle.classifier.category_thresholds
    session, at_models = tab.results.session, flags_of(tab.results.session)
    # hate's threshold just under the P(hate) of the most likely row the model does not flag hate in
    item = max((row for row, found in enumerate(at_models) if "hate" not in found),
               key=lambda row: session.probabilities[row, 0])
    moved = {"hate": float(session.probabilities[item, 0]) - 1e-4, "offensive": own["offensive"]}
    control.set_thresholds({"hate": moved["hate"]})
    flags = flags_of(session)
    assert "hate" in flags[item] and flags != at_models
    with qtbot.waitSignal(tab.results_changed, timeout=TIMEOUT_MS):  # a reload (as another precision does)
        tab.load_model(str(tiny_multi_label_dir))
    assert control.thresholds() == moved and tab.results.session.category_thresholds == moved
    assert flags_of(tab.results.session) == flags
    queue_id, store_path = tab.queue.id, tab.decisions.store.path
    close_window(qtbot, window)  # the queue's state is saved on closing
    assert DecisionStore(store_path).queues.get(queue_id).state.category_thresholds == moved

    window, tab = open_window(qtbot)  # no model loaded by hand: the last queue brings its own
    qtbot.waitUntil(lambda: tab.results.session.count == len(TEXTS), timeout=TIMEOUT_MS)
    control = tab.results.category_threshold
    assert tab.queue.id == queue_id and control.thresholds() == moved
    assert tab.results.session.category_thresholds == moved and flags_of(tab.results.session) == flags
    assert control.reset_all_button.isEnabled() and "(moved from the model's" in tab.model_panel.decision_rule.text()
    control.reset_all_button.click()
    assert flags_of(tab.results.session) == at_models
    close_window(qtbot, window)
    assert DecisionStore(store_path).queues.get(queue_id).state.category_thresholds == own

    store = DecisionStore(store_path)  # a saved category the model does not have: named, not restored
    state = store.queues.get(queue_id).state
    store.queues.save_state(queue_id, replace(state, category_thresholds={**moved, "threat": 0.1}))
    store.close()
    window, tab = open_window(qtbot)
    messages = []
    tab.status_message.connect(messages.append)
    qtbot.waitUntil(lambda: tab.results.session.count == len(TEXTS), timeout=TIMEOUT_MS)
    assert tab.results.category_threshold.thresholds() == moved
    assert any(message.startswith("Opened ") and "saved threshold of 'threat' was not restored: the model "
               in message and "has no such category." in message for message in messages), messages
    close_window(qtbot, window)
