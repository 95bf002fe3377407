"""Agreement between moderators (core.review.agreement, `decisions agreement`): the figures are
scikit-learn's and krippendorff's on the same items, with counts and seeded bootstrap intervals."""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from moderator_app.cli import main
from moderator_app.core.errors import UserError
from moderator_app.core.review.agreement import measure_agreement
from moderator_app.core.review.export import ExportFilter
from moderator_app.core.review.store import Decision, DecisionStore

LABELS = ["hate", "not-hate"]
# 12 texts; alice and bob decide all, carol the first 8; "—": no decision
ALICE = "h h h n n n h n h n h n".split()
BOB = "h h n n n n h n h h h n".split()
CAROL = "h n h n n h h n".split()
MODEL = "h h h h n n n n h n h n".split()  # what the model said at the threshold each moderator saw


def full(code: str) -> str:
    return {"h": "hate", "n": "not-hate"}[code]


@pytest.fixture
def store(tmp_path):
    store = DecisionStore(tmp_path / "d.sqlite3")
    for moderator, labels in (("alice", ALICE), ("bob", BOB), ("carol", CAROL)):
        for index, label in enumerate(labels):
            store.record(Decision(f"text {index}", full(MODEL[index]), 0.5, full(label), "model-a",
                                  moderator=moderator, threshold=0.4, queue="q1"))
    yield store
    store.close()


def codes(labels: list[str]) -> list[int]:
    return [0 if label == "h" else 1 for label in labels]


def test_pairwise_kappa_and_alpha_are_the_libraries_figures_on_the_same_items(store):
    report = measure_agreement(store, resamples=200)
    assert report.moderators == ["alice", "bob", "carol"] and report.labels == LABELS
    assert report.items == 12 and report.shared_items == 12
    pairs = {(pair.first, pair.second): pair for pair in report.pairs}
    assert pairs["alice", "bob"].kappa.value == pytest.approx(cohen_kappa_score(ALICE, BOB))
    assert pairs["alice", "bob"].kappa.items == 12
    assert pairs["alice", "carol"].kappa.value == pytest.approx(cohen_kappa_score(ALICE[:8], CAROL))
    assert pairs["bob", "carol"].kappa.items == 8
    assert pairs["alice", "bob"].agreement == pytest.approx(10 / 12)
    matrix = np.array([codes(ALICE), codes(BOB), codes(CAROL) + [np.nan] * 4], dtype=float)
    expected_alpha = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert report.alpha.value == pytest.approx(expected_alpha)
    assert report.alpha.items == 12
    for figure in (report.alpha, pairs["alice", "bob"].kappa):
        assert figure.low <= figure.value <= figure.high
    assert report.kappa_matrix()[0][1] == report.kappa_matrix()[1][0] == pairs["alice", "bob"].kappa.value


def test_each_moderator_against_the_label_the_model_showed(store):
    model = {entry.moderator: entry for entry in measure_agreement(store, resamples=0).model}
    assert model["alice"].kappa.value == pytest.approx(cohen_kappa_score(ALICE, MODEL))
    assert model["carol"].kappa.value == pytest.approx(cohen_kappa_score(CAROL, MODEL[:8]))
    assert model["carol"].kappa.items == 8 and model["carol"].kappa.low is None  # no resamples, no interval


def test_the_interval_is_seeded_and_an_undo_takes_a_decision_out(store):
    first, again = measure_agreement(store, resamples=200, seed=3), measure_agreement(store, resamples=200, seed=3)
    assert first.alpha == again.alpha
    latest = store.decisions()[-1]  # carol's "text 7"
    store.revert(latest.id, "carol")
    pairs = {(pair.first, pair.second): pair for pair in measure_agreement(store, resamples=0).pairs}
    assert pairs["alice", "carol"].kappa.items == 7


def test_filters_and_what_cannot_be_measured(store):
    store.record(Decision("other", "hate", 0.9, "hate", "model-a", moderator="alice", queue="q2"))
    store.record(Decision("other", "hate", 0.9, "hate", "model-a", moderator="bob", queue="q2"))
    only_q2 = measure_agreement(store, ExportFilter(queue="q2"), resamples=100)
    assert only_q2.items == 1 and only_q2.alpha.value is None  # one item: no figure
    assert only_q2.pairs[0].kappa.describe() == "— (n=1)"
    with pytest.raises(UserError, match="cannot be limited to one"):
        measure_agreement(store, ExportFilter(moderator="alice"))


def test_everyone_giving_one_label_has_no_kappa_rather_than_a_warning(tmp_path):
    store = DecisionStore(tmp_path / "d.sqlite3")
    for moderator in ("a", "b"):
        for index in range(5):
            store.record(Decision(f"t{index}", "hate", 0.9, "hate", "m", moderator=moderator))
    report = measure_agreement(store, resamples=50)
    assert report.pairs[0].kappa.value is None and report.pairs[0].agreement == 1.0
    assert report.alpha.value is None
    store.close()


def test_cli_prints_the_figures_and_writes_json(store, tmp_path, capsys):
    store.close()
    out = tmp_path / "agreement.json"
    assert main(["decisions", "agreement", "--store", str(tmp_path / "d.sqlite3"), "--queue", "q1",
                 "--json", str(out), "--resamples", "100"]) == 0
    printed = capsys.readouterr().out
    assert "Krippendorff's alpha" in printed and "alice – bob" in printed and "(n=12)" in printed
    written = json.loads(out.read_text())
    assert written["moderators"] == ["alice", "bob", "carol"] and len(written["kappa_matrix"]) == 3
    assert written["pairs"][0]["kappa"]["value"] == pytest.approx(cohen_kappa_score(ALICE, BOB))


def test_cli_refuses_a_missing_store_in_one_line(tmp_path, capsys):
    assert main(["decisions", "agreement", "--store", str(tmp_path / "missing.sqlite3")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "missing.sqlite3" in error


def test_the_window_shows_alpha_and_a_kappa_heatmap(qtbot, store, tmp_path, monkeypatch):
    """Decisions panel › Agreement…: measured on the store's thread, shown as a table of coloured cells."""
    pytest.importorskip("pytestqt")
    from moderator_app.gui.common import settings
    from moderator_app.gui.review.decisions_panel import DecisionsPanel
    from moderator_app.gui.review.results_panel import ResultsPanel

    settings.use_settings_file(tmp_path / "settings.ini")
    store.close()
    panel = DecisionsPanel(ResultsPanel(), tmp_path / "d.sqlite3")
    qtbot.addWidget(panel)
    panel.queue = ("q1", None)
    dialog = panel.open_agreement_dialog()
    assert dialog.queue.text() == "q1"  # the open queue, changeable
    dialog.measure_button.click()
    qtbot.waitUntil(lambda: dialog.measure_button.isEnabled(), timeout=60_000)
    assert "Krippendorff's alpha over all" in dialog.summary.text() and "3 moderators" in dialog.summary.text()
    assert dialog.heatmap.rowCount() == dialog.heatmap.columnCount() == 3
    kappa = cohen_kappa_score(ALICE, BOB)
    assert dialog.heatmap.item(0, 1).text().startswith(f"{kappa:.2f}") and "(n=12)" in dialog.heatmap.item(0, 1).text()
    assert dialog.heatmap.item(0, 1).background().color() != dialog.heatmap.item(0, 2).background().color() or \
        cohen_kappa_score(ALICE[:8], CAROL) == pytest.approx(kappa)
    assert dialog.model_table.rowCount() == 3 and dialog.model_table.item(0, 0).text() == "alice"
    dialog.queue.setText("no such queue")
    dialog.measure_button.click()
    qtbot.waitUntil(lambda: dialog.measure_button.isEnabled(), timeout=60_000)
    assert "0 texts decided" in dialog.summary.text()
    panel.close_store(5000)
    settings.use_settings_file(None)
