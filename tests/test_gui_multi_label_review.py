"""The Review tab with a multi-label model, end to end, offscreen, on the tiny two-category model
(tiny_models.tiny_multi_label_model): a score per category and the categories flagged in the table, the
decision as a set ticked by the keys 1-9 and recorded by the usual accept, read back from the store; the
category filter; the per-category view; Undo of a set. A single-label model shows none of it."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from test_gui_review import TIMEOUT_MS, cell, classify, close_window, open_window, private_places, select_rows  # noqa: E402,F401
from test_inference import tiny_classifier_dir  # noqa: E402,F401 (fixture)

from moderator_app.core.review.store import DecisionStore  # noqa: E402
from moderator_app.gui.review.filter_choices import filter_key  # noqa: E402
from moderator_app.gui.review.results_table import FIRST_PROBABILITY_COLUMN, LABEL_COLUMN  # noqa: E402

CATEGORIES = ["hate", "offensive"]
TEXTS = ["the nazis and bigots marched again today", "you are an idiot and a stupid clown",
         "bigots everywhere, what a pathetic moron", "coffee in the garden with friends",
         "the weather is lovely this morning", "racists and xenophobes are losers"]


def shown_set(categories) -> str:
    return ", ".join(categories) or "none"


def test_a_multi_label_model_is_reviewed_by_category_and_the_set_decided_by_keys_is_stored(qtbot, tmp_path,
                                                                                       tiny_multi_label_dir):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_multi_label_dir))
    classify(qtbot, tab, TEXTS)
    session, model, choice = tab.results.session, tab.results.model, tab.results.category_choice
    assert session.multi_label and session.class_names == CATEGORIES
    header = [model.headerData(column, Qt.Orientation.Horizontal) for column in range(model.columnCount())]
    assert header[LABEL_COLUMN] == "Flagged" and header[FIRST_PROBABILITY_COLUMN:FIRST_PROBABILITY_COLUMN + 2] == [
        "P(hate)", "P(offensive)"]
    flags = [session.flagged_categories(item) for item in range(len(TEXTS))]
    assert [list(found) for found in flags] == tab.handle.classifier.decide_categories(session.probabilities)
    assert [cell(tab, row, LABEL_COLUMN) for row in range(len(TEXTS))] == [shown_set(found) for found in flags]
    assert [box.text() for box in choice.boxes] == ["1 hate", "2 offensive"] and choice.isVisible()
    assert tab.results.label_buttons == [] and tab.results.accept_button.text() == "Record (A)"
    assert "1 hate, 2 offensive toggles a category" in tab.results.decision_hint.text()
    thresholds = tab.handle.classifier.category_thresholds
    assert tab.model_panel.decision_rule.text() == ("Flags each category at its own threshold: 'hate' when P(hate) ≥ "
                                                    f"{thresholds['hate']:.2f}, 'offensive' when P(offensive) ≥ "
                                                    f"{thresholds['offensive']:.2f}.")

    select_rows(tab, [0])
    assert choice.chosen() == flags[0]  # undecided: ticked as the model flags it
    qtbot.keyClick(tab.results.table, Qt.Key.Key_1)  # hate toggled
    qtbot.keyClick(tab.results.table, Qt.Key.Key_2)  # offensive toggled
    toggled = tuple(name for name in CATEGORIES if name not in flags[0])  # both flipped
    assert choice.chosen() == toggled
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        qtbot.keyClick(tab.results.table, Qt.Key.Key_A)  # records the set ticked
    assert cell(tab, 0, model.decision_column) == f"✎ {shown_set(toggled)}"
    assert tab.results.table.selected_rows() == [1] and choice.chosen() == flags[1]  # on to the next row
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        qtbot.keyClick(tab.results.table, Qt.Key.Key_A)  # untouched: the model's set, accepted
    assert cell(tab, 1, model.decision_column) == f"✓ {shown_set(flags[1])}"
    assert "2 decided" in tab.results.stats.text()

    choice.evaluate_button.click()  # Per category…
    view = choice.evaluation
    qtbot.waitUntil(lambda: view.figures is not None, timeout=TIMEOUT_MS)
    assert [row[:2] for row in view.values()] == [["hate", "2"], ["offensive", "2"]]
    labelled = tmp_path / "labelled.csv"  # offensive unknown (blank) on one row: left out of its figures
    labelled.write_text("text,hate,offensive\nthe nazis and bigots,yes,no\nyou stupid idiot,no,yes\n"
                        "coffee with friends,no,\n", encoding="utf-8")
    view.evaluate_file(str(labelled))
    qtbot.waitUntil(lambda: view.file_evaluation is not None, timeout=TIMEOUT_MS)
    rows = [[view.file_table.item(row, column).text() for column in range(3)] for row in range(2)]
    assert rows == [["hate", "3", "1"], ["offensive", "2", "1"]] and "3 of 3 rows" in view.file_status.text()
    view.close()

    tab.results.filter_combo.setCurrentIndex(tab.results.filter_combo.findData(filter_key("category", "offensive")))
    assert [session.texts[item] for item in session.rows] == [text for text, found in zip(TEXTS, flags)
                                                               if "offensive" in found]
    store_path = tab.decisions.store.path
    close_window(qtbot, window)

    decisions = DecisionStore(store_path).decisions()
    assert [decision.text for decision in decisions] == TEXTS[:2]
    assert [decision.moderator_categories for decision in decisions] == [toggled, flags[1]]
    assert [decision.model_categories for decision in decisions] == [flags[0], flags[1]]
    assert set(decisions[0].probabilities) == set(CATEGORIES) and set(decisions[0].category_thresholds) == set(
        CATEGORIES)
    assert not decisions[0].accepted and decisions[1].accepted

    window, tab = open_window(qtbot)  # the app again: the queue reopens with its model and its decided sets
    session = tab.results.session
    qtbot.waitUntil(lambda: session.count == len(TEXTS) and session.decisions.count(None) == len(TEXTS) - 2,
                    timeout=TIMEOUT_MS)
    first, second = (session.texts.index(text) for text in TEXTS[:2])
    assert session.multi_label and session.decided_categories(first) == toggled
    assert session.is_accepted(second) and not session.is_accepted(first)
    assert tab.results.filter_value() == filter_key("category", "offensive")  # kept with the queue
    tab.results.filter_combo.setCurrentIndex(tab.results.filter_combo.findData(filter_key("all")))
    select_rows(tab, [int(session.rows_of([first])[0])])
    assert tab.results.category_choice.chosen() == toggled  # a decided row: its set, not the model's
    close_window(qtbot, window)


def test_undo_of_a_set_restores_the_undecided_row_and_its_boxes(qtbot, tiny_multi_label_dir):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_multi_label_dir))
    choice, session = tab.results.category_choice, tab.results.session
    assert choice.isVisibleTo(tab) and not choice.isEnabled() and not choice.toggle(0)  # no rows yet
    classify(qtbot, tab, TEXTS[:3])
    assert choice.isEnabled()
    select_rows(tab, [2])
    flagged = session.flagged_categories(session.item(2))
    qtbot.keyClick(tab.results.table, Qt.Key.Key_2)
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        qtbot.keyClick(tab.results.table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert session.decided_categories(session.item(2)) is not None
    decided = session.decided_categories(session.item(2))
    qtbot.waitUntil(lambda: len(tab.history.entries()) == 1, timeout=TIMEOUT_MS)  # the history of the row
    entry = tab.history.entries()[0]
    assert entry[2] == (", ".join(decided) or "none") and entry[3] == (", ".join(flagged) or "none")
    assert entry[5].startswith("hate 0.") and ", offensive 0." in entry[5]  # the thresholds per category
    with qtbot.waitSignal(tab.decisions.undone, timeout=TIMEOUT_MS):
        qtbot.keyClick(tab.results.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert session.decided_categories(session.item(2)) is None
    select_rows(tab, [2])
    assert choice.chosen() == flagged
    tab.model_panel.evaluate_button.click()  # Evaluate… of a multi-label model: the per-category view
    assert tab.evaluation_view is None and choice.evaluation.isVisible() and choice.evaluation.handle is tab.handle
    qtbot.waitUntil(lambda: choice.evaluation.figures is not None, timeout=TIMEOUT_MS)
    close_window(qtbot, window)


def test_a_single_label_model_shows_no_category_boxes(qtbot, tiny_classifier_dir):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    classify(qtbot, tab, TEXTS[:2])
    assert not tab.results.session.multi_label and not tab.results.category_choice.isVisible()
    assert tab.results.accept_button.text() == "Accept (A)" and len(tab.results.label_buttons) == 2
    assert tab.results.model.headerData(LABEL_COLUMN, Qt.Orientation.Horizontal) == "Label"
    close_window(qtbot, window)


def test_the_agreement_dialog_shows_multi_label_decisions_per_category(qtbot, tmp_path):
    from test_multi_label_decisions import multi

    from moderator_app.gui.review.decisions_panel import DecisionsPanel
    from moderator_app.gui.review.results_panel import ResultsPanel

    store = DecisionStore(tmp_path / "d.sqlite3")
    for n in range(6):  # ann and bob agree on hate for every text, on offensive for half of them
        store.record(multi(f"text {n}", ("hate",) if n < 3 else (), moderator="ann"))
        store.record(multi(f"text {n}", (("hate",) if n < 3 else ()) + (("offensive",) if n % 2 else ()),
                           moderator="bob"))
    store.close()
    panel = DecisionsPanel(ResultsPanel(), tmp_path / "d.sqlite3")
    qtbot.addWidget(panel)
    dialog = panel.open_agreement_dialog()
    assert dialog.category_table.isHidden()
    dialog.measure_button.click()
    qtbot.waitUntil(lambda: dialog.measure_button.isEnabled(), timeout=TIMEOUT_MS)
    rows = [[dialog.category_table.item(row, column).text() for column in range(3)]
            for row in range(dialog.category_table.rowCount())]
    assert [row[0] for row in rows] == CATEGORIES and rows[0][1].startswith("1.00") and "(n=6)" in rows[0][1]
    assert rows[1][2].startswith("ann – bob: ") and not dialog.category_table.isHidden()


def test_the_comparison_after_retraining_shows_an_undefined_category_figure_as_a_dash(qtbot):
    from moderator_app.core.review.retrain import Comparison
    from moderator_app.gui.review.comparison_dialog import ComparisonDialog

    comparison = Comparison("the held-out decisions (x.heldout.csv)", 3, {"precision: hate": float("nan"),
                                                                          "F1: hate": 0.5},
                            {"precision: hate": 1.0, "F1: hate": 0.75})
    dialog = ComparisonDialog([comparison], "/m/old", "/m/new")
    qtbot.addWidget(dialog)
    assert [row[2:] for row in dialog.values()] == [["precision: hate", "—", "1.000"], ["F1: hate", "0.500", "0.750"]]


def test_retrain_from_multi_label_decisions_fills_the_training_tab_and_compares_per_category(
        qtbot, tiny_multi_label_dir, tiny_model_dir, tmp_path):
    import json
    import shutil
    from pathlib import Path

    window, tab = open_window(qtbot)
    source = tmp_path / "votes.csv"
    source.write_text("text,hate,offensive\nnazis again,1,0\nyou idiot,0,1\ncoffee,0,0\n", encoding="utf-8")
    model = shutil.copytree(tiny_multi_label_dir, tmp_path / "model")
    (model / "training_config.json").write_text(json.dumps({
        "model_name_or_path": str(tiny_model_dir), "categories": CATEGORIES, "max_length": 64,
        "sources": [{"path": str(source), "text_column": "text",
                     "categories": {"hate": {"column": "hate"}, "offensive": {"column": "offensive"}}}]}))
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(model))
    texts = TEXTS + [f"{text} again" for text in TEXTS]  # 12 decisions: 2 held out for the comparison
    classify(qtbot, tab, texts)
    qtbot.waitUntil(lambda: tab.queue is not None, timeout=TIMEOUT_MS)
    select_rows(tab, list(range(len(texts))))
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        qtbot.keyClick(tab.results.table, Qt.Key.Key_A)  # each row: the model's own set
    with qtbot.waitSignal(tab.retrain_prepared, timeout=TIMEOUT_MS) as prepared:
        tab.model_panel.retrain_button.click()
    plan = prepared.args[0]
    assert window.tabs.currentWidget() is window.training_tab
    assert plan.config.sources[-1]["categories"] == {name: {"column": name} for name in CATEGORIES}
    form = window.training_tab.form

    def form_is_valid() -> bool:  # the form checks the base model in the background
        from moderator_app.core.errors import UserError

        try:
            form.config()
        except (ValueError, UserError):
            return False
        return True

    qtbot.waitUntil(form_is_valid, timeout=TIMEOUT_MS)  # the Training tab takes the multi-label run as it is
    assert form.config().categories == CATEGORIES and form.config().sources == plan.config.sources

    shutil.copytree(model, plan.config.output_dir)  # what the run writes (training itself is tested elsewhere)
    with qtbot.waitSignal(tab.comparison_ready, timeout=TIMEOUT_MS) as compared:
        assert tab.offer_comparison(plan.config.output_dir)
    assert [c.rows for c in compared.args[0]] == [2]
    shown = tab.comparison_dialog.values()
    assert [row[2] for row in shown] == [f"{name}: {category}" for category in CATEGORIES
                                         for name in ("precision", "recall", "F1")]
    assert all(row[3] == row[4] for row in shown)  # the same weights: the same figures
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.comparison_dialog.switch_button.click()
    assert tab.handle.model_id == str(Path(plan.config.output_dir).resolve())
    close_window(qtbot, window)
