"""A team's queues in the Review tab, offscreen on the tiny classifier and a real PostgreSQL store
(tests/postgres_server.py): two moderators' windows on one store doing a blind double review, the
queue list's Mine / All / Needs a second look with counts that match the table, and a lead settling the
disagreement in the adjudication view; and the same views on the SQLite store."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from test_gui_review import (TEXTS, TIMEOUT_MS, cell, classify, close_window, open_window,  # noqa: E402
                             private_places, select_rows)
from test_inference import tiny_classifier_dir  # noqa: E402,F401 (fixture)

from moderator_app.core.review import team  # noqa: E402
from moderator_app.core.review.export import ExportFilter, latest_decisions  # noqa: E402
from moderator_app.core.review.store import DecisionStore  # noqa: E402
from moderator_app.gui.common import settings  # noqa: E402
from moderator_app.gui.review import store_setting  # noqa: E402
from moderator_app.gui.review.moderator import MODERATOR_KEY  # noqa: E402

__all__ = ["private_places"]  # the autouse fixture: a settings file and data folder of the test's own
DECISION_COLUMN = 6


def row_of(tab, text: str) -> int:
    session = tab.results.session
    return [session.texts[item] for item in session.rows].index(text)


def decide(qtbot, tab, text: str, label: str | None = None) -> None:
    select_rows(tab, [row_of(tab, text)])
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        tab.decisions.decide(label, tab.results_handle)


def list_lines(tab) -> list[str]:
    return [tab.queues.list.item(row).text() for row in range(tab.queues.list.count())]


def choose_view(qtbot, tab, view: str) -> None:
    with qtbot.waitSignal(tab.queues.refreshed, timeout=TIMEOUT_MS):
        tab.queues.view.setCurrentIndex(list(team.VIEWS).index(view))


def test_postgres_two_moderators_review_blind_and_a_lead_adjudicates(qtbot, postgres_url, tiny_classifier_dir):
    settings.save_value(store_setting.STORE_KEY, postgres_url)
    settings.save_value(MODERATOR_KEY, "ann")
    window_a, ann = open_window(qtbot)
    with qtbot.waitSignal(ann.model_loaded, timeout=TIMEOUT_MS):
        ann.load_model(str(tiny_classifier_dir))
    classify(qtbot, ann, TEXTS)
    qtbot.waitUntil(lambda: ann.queue is not None and ann.queues.queue(ann.queue.id) is not None, timeout=TIMEOUT_MS)
    queue = ann.queue
    with qtbot.waitSignal(ann.queues.refreshed, timeout=TIMEOUT_MS):  # the lead's choices, as the dialogs send them
        ann.queues.ask_double_review(queue.id, (0.5, 0))
    with qtbot.waitSignal(ann.queues.refreshed, timeout=TIMEOUT_MS):
        ann.queues.ask_assign(queue.id, ["bob"])
    store = DecisionStore(postgres_url)
    drawn = team.sample(store, queue.id)
    store.close()
    assert 0 < len(drawn) < len(TEXTS)
    for text in TEXTS:  # ann reviews the whole queue first
        decide(qtbot, ann, text)
    ann.save_queue_state()

    settings.save_value(MODERATOR_KEY, "bob")  # a second instance: bob, on the same store and queue
    window_b, bob = open_window(qtbot)
    qtbot.waitUntil(lambda: bob.results.session.count == len(TEXTS) and bob.queue is not None, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: bob.results.session.counts().decided == len(TEXTS) - len(drawn), timeout=TIMEOUT_MS)
    for text in TEXTS:  # the drawn items look undecided to bob; the others show ann's decisions
        shown = cell(bob, row_of(bob, text), DECISION_COLUMN)
        assert (shown in ("", None)) == (text in drawn), text
    select_rows(bob, [row_of(bob, drawn[0])])
    qtbot.waitUntil(lambda: bob.history.text == drawn[0], timeout=TIMEOUT_MS)
    assert bob.history.entries() == []  # ann's decision hidden in the history too
    assert "blind double review" in bob.history.title.text()
    reviewed = f"{len(TEXTS) - len(drawn)} of {len(TEXTS)} reviewed"
    qtbot.waitUntil(lambda: any(reviewed in line for line in list_lines(bob)), timeout=TIMEOUT_MS)
    assert reviewed in bob.workspace.stats_line()  # the status bar and the queue list count the same
    choose_view(qtbot, bob, team.MINE)
    assert [queue.id] == [listed.id for listed in bob.queues.queues]
    choose_view(qtbot, bob, team.SECOND_LOOK)
    assert f"{len(drawn)} to review blind" in list_lines(bob)[0]

    labels = list(bob.results_handle.info.labels)
    model_label = bob.results.session.labels[bob.results.session.texts.index(drawn[0])]
    other = next(label for label in labels if label != model_label)
    decide(qtbot, bob, drawn[0], other)  # bob disagrees with ann, blind
    for text in drawn[1:]:
        decide(qtbot, bob, text)  # and agrees on the rest
    select_rows(bob, [row_of(bob, drawn[0])])
    qtbot.waitUntil(lambda: len(bob.history.entries()) == 2, timeout=TIMEOUT_MS)  # now ann's shows too
    assert {entry[1] for entry in bob.history.entries()} == {"ann", "bob"}
    with qtbot.waitSignal(bob.queues.refreshed, timeout=TIMEOUT_MS):
        bob.queues.refresh()
    assert "1 disagreement to settle" in list_lines(bob)[0] and "to review blind" not in list_lines(bob)[0]

    settings.save_value(MODERATOR_KEY, "lead")  # the lead, in ann's window: the adjudication view
    ann.set_moderator("lead")
    dialog = ann.queues.open_adjudication(queue.id)
    qtbot.waitUntil(lambda: len(dialog.items) == 1, timeout=TIMEOUT_MS)
    assert dialog.items[0].text == drawn[0]
    assert "ann: " in dialog.table.item(0, 1).text() and f"bob: {other}" in dialog.table.item(0, 1).text()
    dialog.label.setCurrentText(model_label)  # the lead sides with ann
    with qtbot.waitSignal(ann.queues.adjudicated, timeout=TIMEOUT_MS):
        dialog.record_button.click()
    qtbot.waitUntil(lambda: dialog.items == [], timeout=TIMEOUT_MS)
    store = DecisionStore(postgres_url)
    final = {decision.text: decision for decision in latest_decisions(store, ExportFilter(queue=queue.name))[0]}
    assert final[drawn[0]].moderator_label == model_label and final[drawn[0]].kind == team.ADJUDICATION
    assert final[drawn[0]].moderator == "lead"
    assert [row.moderator for row in store.history(drawn[0])] == ["ann", "bob", "lead"]  # the earlier ones stay
    store.close()
    close_window(qtbot, window_b)
    close_window(qtbot, window_a)


def test_assign_and_double_review_dialogs_set_the_queue(qtbot, tiny_classifier_dir):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    classify(qtbot, tab, TEXTS)
    qtbot.waitUntil(lambda: tab.queue is not None and tab.queues.list.count() == 1, timeout=TIMEOUT_MS)
    tab.queues.list.setCurrentRow(0)
    tab.queues.ask_assign()
    tab.queues.dialog.names.setText("ann, bob")
    with qtbot.waitSignal(tab.queues.refreshed, timeout=TIMEOUT_MS):
        tab.queues.dialog.accept()
    assert tab.queues.queues[0].assigned == ["ann", "bob"]
    tab.queues.ask_double_review()
    qtbot.waitUntil(lambda: tab.queues.dialog is not None and hasattr(tab.queues.dialog, "share"), timeout=TIMEOUT_MS)
    tab.queues.dialog.enabled.setChecked(True)
    tab.queues.dialog.share.setValue(25)
    tab.queues.dialog.seed.setValue(7)
    with qtbot.waitSignal(tab.queues.refreshed, timeout=TIMEOUT_MS):
        tab.queues.dialog.accept()
    store = DecisionStore(tab.decisions.store.path)
    from moderator_app.core.review.double_review import double_review

    review = double_review(store.connection, tab.queue.id)
    assert (review.share, review.seed, review.set_by) == (0.25, 7, tab.decisions.moderator)
    store.close()
    choose_view(qtbot, tab, team.MINE)  # the test's moderator is neither ann nor bob
    assert tab.queues.list.count() == 0
    close_window(qtbot, window)


def test_the_queue_view_chosen_is_the_one_the_next_window_opens_with(qtbot, tiny_classifier_dir):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    classify(qtbot, tab, TEXTS)
    qtbot.waitUntil(lambda: tab.queue is not None and tab.queues.list.count() == 1, timeout=TIMEOUT_MS)
    choose_view(qtbot, tab, team.MINE)
    close_window(qtbot, window)
    window, tab = open_window(qtbot)
    assert tab.queues.view.currentData() == team.MINE
    choose_view(qtbot, tab, team.SECOND_LOOK)
    close_window(qtbot, window)
    window, tab = open_window(qtbot)
    assert tab.queues.view.currentData() == team.SECOND_LOOK
    close_window(qtbot, window)
