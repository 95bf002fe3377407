"""The evaluation view's robustness section: measured in the background, the same numbers as the core
report (and `evaluate --robustness`), at the Review tab's threshold."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from test_gui_evaluation import evaluate_in_view, labelled_csv, load, window  # noqa: E402,F401 (fixture)
from test_gui_review import TIMEOUT_MS, private_places  # noqa: E402,F401 (autouse)
from test_inference import tiny_classifier_dir  # noqa: E402,F401 (fixture)


def test_the_view_measures_robustness_on_the_evaluated_rows(qtbot, window, tiny_classifier_dir, tmp_path):
    from moderator_app.core.evaluation.labelled_data import read_labelled_rows
    from moderator_app.core.evaluation.robustness import robustness_report
    from moderator_app.core.inference.classifier import Classifier

    tab = window.review_tab
    load(qtbot, tab, tiny_classifier_dir)
    tab.results.set_threshold(0.4)
    data = labelled_csv(tmp_path)
    view = tab.open_evaluation(str(data))
    section = view.robustness
    assert not section.measure_button.isEnabled()
    evaluate_in_view(qtbot, view, group="")
    assert section.measure_button.isEnabled()
    section.measure_button.click()
    qtbot.waitUntil(lambda: section.table.rowCount() == 8 and section.report is not None, timeout=TIMEOUT_MS)

    classifier = Classifier.load(tiny_classifier_dir, device="cpu")
    rows = read_labelled_rows(data, classifier.labels)
    expected = robustness_report(classifier, rows.texts, rows.labels, threshold=0.4)
    shown = [[section.table.item(row, column).text() for column in range(6)] for row in range(8)]
    assert [line[0] for line in shown] == [row.description for row in expected.rows]
    assert [line[3] for line in shown] == [f"{row.accuracy:.3f}" for row in expected.rows]
    assert [line[4] for line in shown] == [f"{row.recall:.3f}" for row in expected.rows]
    assert shown[0][5] == "" and shown[1][5] == f"{expected.rows[1].recall - expected.rows[0].recall:+.3f}"
    assert "threshold 0.40" in section.status.text()
    view.close()
