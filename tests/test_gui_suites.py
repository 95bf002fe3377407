"""Functional test suites in the window (issue 23): the evaluation view's Tests section (per-functionality
table with counts, failing cases, the comparison with another model, the threshold re-deciding) and a
training run's suites on the Run page (log, the epoch table's last row, the result line)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from test_cli_suites import suite_file, with_threshold  # noqa: E402
from test_gui_evaluation import load, window  # noqa: E402,F401 (fixture)
from test_gui_review import TIMEOUT_MS, private_places  # noqa: E402,F401 (autouse)
from test_inference import tiny_classifier_dir  # noqa: E402,F401 (fixture)


def run_tests(qtbot, view):
    view.tests.run()
    qtbot.waitUntil(lambda: view.tests.worker is None, timeout=TIMEOUT_MS)


def table_rows(table):
    return [[table.item(row, column).text() for column in range(table.columnCount())]
            for row in range(table.rowCount())]


def test_the_tests_section_shows_pass_rates_failures_and_the_comparison(qtbot, window, tiny_classifier_dir,
                                                                       tmp_path):
    tab = window.review_tab
    load(qtbot, tab, tiny_classifier_dir)
    tab.results.set_threshold(0.5)
    view = tab.open_evaluation("")
    tests = view.tests
    tests.suite_edit.setText(str(suite_file(tmp_path)))
    run_tests(qtbot, view)
    assert table_rows(tests.functionalities) == [["derogation", "3", "3", "100.0%"], ["neutral", "2", "2", "100.0%"],
                                                 ["implicit", "0", "1", "0.0%"], ["all", "5", "6", "83.3%"]]
    assert tests.case_choice.currentText() == "Failing cases (1)"
    [failing] = tests.shown_cases()
    assert failing[:4] == ["implicit", "people from the city are lovely", "hate", "not-hate"]
    assert "6 cases from 4 rows" in tests.status.text() and "5/6" in tests.status.text()

    # the view's threshold line moves: every case is re-decided without running the model again
    view.threshold_line.setValue(1.0)
    view.threshold_line.sigPositionChangeFinished.emit(view.threshold_line)
    assert table_rows(tests.functionalities)[0] == ["derogation", "0", "3", "0.0%"]
    view.threshold_line.setValue(0.5)
    view.threshold_line.sigPositionChangeFinished.emit(view.threshold_line)

    # beside another model (one that flags nothing): its rate, the change, newly passing cases
    strict = with_threshold(tiny_classifier_dir, tmp_path / "strict", 1.0)
    tests.other_edit.setText(str(strict))
    run_tests(qtbot, view)
    rows = table_rows(tests.functionalities)
    assert [cell for cell in rows[0]] == ["derogation", "3", "3", "100.0%", "0.0%", "+100.0"]
    assert tests.functionalities.horizontalHeaderItem(4).text() == "strict"
    assert "3 newly pass" in tests.status.text()
    tests.case_choice.setCurrentIndex(tests.case_choice.findData("newly passing"))
    assert sorted(row[1] for row in tests.shown_cases()) == [
        "they are parasites from the city", "they are scum from the city", "they are vermin from the city"]
    tests.case_choice.setCurrentIndex(tests.case_choice.findData("newly failing"))
    assert tests.shown_cases() == []


def test_a_bad_suite_is_one_message_in_the_section(qtbot, window, tiny_classifier_dir, tmp_path, monkeypatch):
    from tiny_models import write_csv

    from moderator_app.gui.review import test_suite_view

    shown = []
    monkeypatch.setattr(test_suite_view, "show_failure", lambda parent, error, title: shown.append(title))
    tab = window.review_tab
    load(qtbot, tab, tiny_classifier_dir)
    view = tab.open_evaluation("")
    bad = write_csv(tmp_path / "s.csv", [("I hate {group}", "hate", "f")], header=("text", "label", "functionality"))
    view.tests.suite_edit.setText(str(bad))
    run_tests(qtbot, view)
    assert shown == ["Cannot run the tests"]
    assert "s.csv, row 1: unknown placeholder {group}" in view.tests.status.text()
    assert view.tests.run_button.isEnabled()


def test_a_run_from_the_form_runs_its_suites_and_shows_them_on_the_run_page(qtbot, window, tiny_model_dir,
                                                                            tmp_path):
    from test_gui_training import fill_form, quick_settings
    from tiny_models import synthetic_rows, write_csv

    from moderator_app.gui.common.file_fields import FileListField

    tab = window.training_tab
    field = tab.form.fields["test_suites"]
    assert isinstance(field, FileListField) and field.label.text() == "Test suites"
    data = write_csv(tmp_path / "train.csv", synthetic_rows(96, seed=3))
    suite = suite_file(tmp_path)
    fill_form(qtbot, tab, **quick_settings(tiny_model_dir, data, tmp_path / "run", num_epochs=1,
                                           test_suites=[str(suite)]))
    assert field.value() == [str(suite)] and tab.form.config().test_suites == [str(suite)]
    with qtbot.waitSignal(tab.run_finished, timeout=90_000):
        tab.start_button.click()
    qtbot.waitUntil(lambda: not tab.is_running, timeout=10_000)
    monitor = tab.monitor
    table = monitor.table
    last = table.rowCount() - 1
    assert table.rowCount() == 2 and table.item(last, 0).text() == "Tests"
    assert table.item(last, 1).text().startswith("policy.csv ") and "/6 (" in table.item(last, 1).text()
    assert table.columnSpan(last, 1) == table.columnCount() - 1
    assert "derogation" in table.item(last, 1).toolTip()
    assert "tests policy.csv:" in monitor.log_view.toPlainText()
    assert "Functional tests: policy.csv" in monitor.result_label.text()
    assert table.item(0, 1).text() == "1" and table.best_row() == 0  # the epoch row is still the best one


def test_the_comparison_dialog_lists_a_suites_pass_rates_and_newly_failing_cases(qtbot):
    from moderator_app.core.review.retrain import Comparison
    from moderator_app.gui.review.comparison_dialog import ComparisonDialog

    comparison = Comparison("the test suite policy.csv", 6, {"pass rate": 5 / 6, "pass rate: derogation": 1.0},
                            {"pass rate": 2 / 6, "pass rate: derogation": 0.0},
                            ["policy.csv: 3 cases newly fail, 0 newly pass with the new model."])
    dialog = ComparisonDialog([comparison], "/m/old", "/m/new")
    qtbot.addWidget(dialog)
    assert dialog.values()[1] == ["the test suite policy.csv", "6", "pass rate: derogation", "1.000", "0.000"]
    assert dialog.notes.text() == "policy.csv: 3 cases newly fail, 0 newly pass with the new model."


def test_the_form_refuses_a_suite_whose_cases_are_training_rows(qtbot, window, tiny_model_dir, tmp_path):
    from test_gui_training import quick_settings
    from tiny_models import synthetic_rows, write_csv

    tab = window.training_tab
    suite = suite_file(tmp_path)
    data = write_csv(tmp_path / "train.csv", synthetic_rows(60, seed=3) + [("They are VERMIN from the city", "hate")])
    tab.form.set_values(quick_settings(tiny_model_dir, data, tmp_path / "run", test_suites=[str(suite)]))
    qtbot.waitUntil(lambda: tab.form.report_state == "error", timeout=30_000)
    assert "1 of the 6 cases of the test suite" in tab.form.data.data_error and "policy.csv" in tab.form.data.data_error
    assert not tab.start_button.isEnabled()
    clean = write_csv(tmp_path / "clean.csv", synthetic_rows(60, seed=3))
    tab.form.set_values({"train_file": str(clean)})
    qtbot.waitUntil(lambda: tab.form.report_state == "ok", timeout=30_000)
    assert tab.start_button.isEnabled()


def test_a_multi_label_models_tests_follow_its_category_thresholds(qtbot, tiny_multi_label_dir, tmp_path):
    """The per-category evaluation's Tests section (issue 27): expected sets of categories, a row per
    category and side, and a category threshold moved in the Review tab decides the cases again."""
    from test_gui_review import classify, open_window
    from test_multi_label_suites import category_suite

    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_multi_label_dir))
    classify(qtbot, tab, ["the weather is lovely", "football game was great"])
    dialog = tab.open_evaluation()
    tests = dialog.tests
    tests.suite_edit.setText(str(category_suite(tmp_path)))
    tests.run()
    qtbot.waitUntil(lambda: tests.worker is None, timeout=TIMEOUT_MS)
    rows = table_rows(tests.functionalities)
    assert rows[:5] == [["hate alone", "2", "2", "100.0%"], ["offensive alone", "1", "1", "100.0%"],
                        ["both", "1", "1", "100.0%"], ["neither", "2", "3", "66.7%"], ["all", "6", "7", "85.7%"]]
    assert rows[5:] == [["hate: expected yes", "3", "4", "75.0%"], ["hate: expected no", "3", "3", "100.0%"],
                        ["offensive: expected yes", "2", "2", "100.0%"], ["offensive: expected no", "5", "5", "100.0%"]]
    [failing] = tests.shown_cases()
    assert failing[:4] == ["neither", "reading book garden", "hate", "none"]
    assert failing[4].startswith("hate 0.") and "each category at its threshold" in tests.status.text()
    # the Review tab's hate threshold at 0: every case flags hate, and the cases are decided again
    tab.results.category_threshold.choose("hate")
    with qtbot.waitSignal(tab.results.threshold_changed, timeout=TIMEOUT_MS):
        tab.results.category_threshold.set_value(0.0)
    assert tab.results.session.category_thresholds["hate"] == 0.0
    assert table_rows(tests.functionalities)[4] == ["all", "4", "7", "57.1%"]
    assert "hate 0.00" in tests.status.text()
    dialog.close()
