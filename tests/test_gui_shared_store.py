"""The Review tab on a team's shared PostgreSQL store (a real server): the store setting, and another
moderator's decision appearing in the open table on the refresh (focus or poll), offscreen."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from test_gui_review import (TEXTS, TIMEOUT_MS, cell, classify, close_window, open_window,  # noqa: E402
                             private_places, select_rows)
from test_inference import tiny_classifier_dir  # noqa: E402,F401 (fixture)

from moderator_app.core.review.store import Decision, DecisionStore  # noqa: E402
from moderator_app.gui.common import dialogs, settings  # noqa: E402
from moderator_app.gui.review import store_setting  # noqa: E402

__all__ = ["private_places"]  # the autouse fixture: a settings file and data folder of the test's own


def test_postgres_two_moderators_on_one_store_see_each_others_decisions(qtbot, postgres_url, tiny_classifier_dir):
    settings.save_value(store_setting.STORE_KEY, postgres_url)
    window, tab = open_window(qtbot)
    assert tab.decisions.store.server and tab.decisions.poll is not None
    assert postgres_url in tab.decisions.label.text()
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    classify(qtbot, tab, TEXTS)
    select_rows(tab, [0])
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        tab.decisions.decide(None, tab.results_handle)  # this moderator accepts the first row
    identity = tab.results_handle.identity
    other = DecisionStore(postgres_url)  # a second instance, another moderator
    assert [d.text for d in other.decisions()] == [TEXTS[0]]
    model_label = tab.results.session.labels[3]
    relabel = "not-hate" if model_label == "hate" else "hate"
    other.record(Decision(TEXTS[3], model_label, 0.5, relabel, identity, moderator="bob"))
    other.close()
    assert cell(tab, 3, 6) in ("", None)
    with qtbot.waitSignal(tab.decisions.looked_up, timeout=TIMEOUT_MS):
        tab.decisions.poll.due.emit()  # what the 15 s poll and the window's activation send
    assert cell(tab, 3, 6) == f"✎ {relabel}" and cell(tab, 0, 6).startswith("✓")
    close_window(qtbot, window)


def test_the_store_setting_keeps_no_password(qtbot, monkeypatch, tmp_path):
    shown = []
    monkeypatch.setattr(dialogs, "show_info", lambda parent, title, message: shown.append(message))
    monkeypatch.setattr(store_setting.QInputDialog, "getText",
                        lambda *args, **kwargs: ("postgresql://ann:secret@db.example:5432/moderation", True))
    assert store_setting.ask_store(None, "") == "postgresql://ann@db.example:5432/moderation"
    assert settings.load_value(store_setting.STORE_KEY) == "postgresql://ann@db.example:5432/moderation"
    assert "secret" not in (tmp_path / "settings.ini").read_text()
    assert "PGPASSWORD" in shown[0] and "next start" in shown[0]


def test_postgres_a_save_whose_answer_was_lost_is_stored_once_when_saved_again(qtbot, postgres_url,
                                                                               tiny_classifier_dir, monkeypatch):
    from moderator_app.core.review.store import DecisionStoreError, StoreAccess

    settings.save_value(store_setting.STORE_KEY, postgres_url)
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    classify(qtbot, tab, TEXTS)
    record = StoreAccess.record

    def lost_answer(self, decisions):  # the row reached the server, its acknowledgement did not come back
        record(self, decisions)
        return [], DecisionStoreError("Cannot save the decision to the store: server closed the connection.")

    monkeypatch.setattr(StoreAccess, "record", lost_answer)
    select_rows(tab, [2])
    with qtbot.waitSignal(tab.decisions.failed, timeout=TIMEOUT_MS):
        tab.decisions.decide(None, tab.results_handle)
    assert cell(tab, 2, 6) in ("", None)  # not shown as saved
    monkeypatch.setattr(StoreAccess, "record", record)
    select_rows(tab, [2])
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        tab.decisions.decide(None, tab.results_handle)  # the moderator saves it again
    assert cell(tab, 2, 6).startswith("✓")
    store = DecisionStore(postgres_url)
    assert [d.text for d in store.decisions()] == [TEXTS[2]]  # once
    store.close()
    close_window(qtbot, window)
