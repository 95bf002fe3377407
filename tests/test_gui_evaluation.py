"""The Review tab's side of evaluation: the slider starts at a model's calibrated threshold and shows
the validation precision and recall at its position; a degenerate model is flagged in the model
panel; the evaluation view measures a labelled file in a worker and moves the tab's threshold."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("pytestqt")

from test_gui_review import TIMEOUT_MS, close_window, open_window, private_places  # noqa: E402,F401 (autouse)
from test_inference import tiny_classifier_dir  # noqa: E402,F401 (fixture)
from tiny_models import synthetic_rows, write_csv  # noqa: E402

from moderator_app.core.evaluation.operating_point import compute_operating_point  # noqa: E402
from moderator_app.core.inference.saved_operating_point import load_operating_point, save_operating_point  # noqa: E402
from moderator_app.core.inference.classifier import Classifier  # noqa: E402


def with_operating_point(source, target, warning: str | None = None, threshold: float = 0.73):
    """A copy of the tiny classifier with an operating point computed on synthetic validation rows;
    the tiny model separates them at any threshold, so its threshold and curve are set by hand."""
    shutil.copytree(source, target)
    classifier = Classifier.load(target, device="cpu")
    rows = synthetic_rows(80, seed=33)
    logits = classifier.predict_logits([text for text, _ in rows])
    truth = [list(classifier.labels).index(label) for _, label in rows]
    point = compute_operating_point(logits, truth, classifier.labels, "precision>=0.9")
    point.threshold = threshold
    point.curve = CURVE
    if warning is not None:
        point.warning = warning
    save_operating_point(target, point)
    return target, load_operating_point(target, classifier.labels)

CURVE = [{"threshold": 0.2, "precision": 0.61, "recall": 0.95}, {"threshold": 0.6, "precision": 0.8, "recall": 0.7},
         {"threshold": 0.85, "precision": 0.94, "recall": 0.41}]


@pytest.fixture
def window(qtbot):
    window, _ = open_window(qtbot)
    yield window
    close_window(qtbot, window)


def load(qtbot, tab, folder) -> None:
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(folder))


def test_the_slider_starts_at_the_operating_point_and_shows_validation_scores(qtbot, window, tiny_classifier_dir,
                                                                               tmp_path):
    tab = window.review_tab
    load(qtbot, tab, tiny_classifier_dir)  # no operating point: the slider stays at 0.50, nothing shown
    assert tab.results.threshold_value() == pytest.approx(0.5)
    assert not tab.results.validation_label.isVisible()
    folder, point = with_operating_point(tiny_classifier_dir, tmp_path / "calibrated")
    load(qtbot, tab, folder)
    assert tab.results.threshold_value() == pytest.approx(round(point.threshold * 100) / 100)
    assert tab.threshold() == tab.results.threshold_value()
    assert tab.results.validation_label.isVisible()
    assert tab.results.validation_label.text() == "validation: precision 0.94 · recall 0.41"  # at 0.73
    for value, expected in ((0.1, "precision 0.61 · recall 0.95"), (0.5, "precision 0.80 · recall 0.70"),
                            (0.9, "precision — · recall 0.00")):  # nothing flagged: precision undefined
        tab.results.set_threshold(value)
        assert tab.results.validation_label.text() == f"validation: {expected}"


def test_a_queue_keeps_its_own_threshold(qtbot, window, tiny_classifier_dir, tmp_path):
    from moderator_app.core.review.queues import QueueState

    tab = window.review_tab
    folder, point = with_operating_point(tiny_classifier_dir, tmp_path / "calibrated")
    tab.restore_view = QueueState(model_name=str(folder), threshold=0.37)
    tab.results.set_threshold(0.37)
    load(qtbot, tab, folder)
    assert tab.results.threshold_value() == pytest.approx(0.37)


def test_a_degenerate_model_is_flagged_in_the_model_panel(qtbot, window, tiny_classifier_dir, tmp_path):
    tab = window.review_tab
    load(qtbot, tab, tiny_classifier_dir)
    assert not tab.model_panel.warning.isVisible()
    warning = "The model predicts 'not-hate' for 100% of the 80 rows. Try more training data or more epochs."
    folder, _ = with_operating_point(tiny_classifier_dir, tmp_path / "degenerate", warning=warning)
    load(qtbot, tab, folder)
    assert tab.model_panel.warning.isVisible()
    assert warning in tab.model_panel.warning.text() and "Try more training data" in tab.model_panel.warning.text()
    load(qtbot, tab, tiny_classifier_dir)  # a good model clears it
    assert not tab.model_panel.warning.isVisible()


def test_the_model_cards_warning_section_is_read(tmp_path):
    from moderator_app.core.inference.model_info import card_warning

    card = ("# run\n\nIt achieves…\n- Accuracy: 0.58\n\n## Warning: this model has not learned the task\n\n"
            "The model predicts 'not-hate' for 100% of rows. Try class weighting.\n\n## Training procedure\n")
    assert card_warning(card) == "The model predicts 'not-hate' for 100% of rows. Try class weighting."
    assert card_warning("# run\n\n## Training procedure\n") is None


# ------------------------------------------------------------------------------------ evaluation view
def labelled_csv(folder):
    rows = [(text, label, "forum" if index % 3 else "tweets") for index, (text, label) in
            enumerate(synthetic_rows(48, seed=5))]
    return write_csv(folder / "labelled.csv", rows, header=("text", "label", "source"))


def evaluate_in_view(qtbot, view, group: str = "source"):
    qtbot.waitUntil(lambda: view.evaluate_button.isEnabled(), timeout=TIMEOUT_MS)
    view.group_combo.setCurrentIndex(view.group_combo.findData(group))
    with qtbot.waitSignal(view.evaluated, timeout=TIMEOUT_MS):
        view.evaluate_button.click()


def test_the_evaluation_view_shows_what_evaluate_computes(qtbot, window, tiny_classifier_dir, tmp_path):
    from moderator_app.core.evaluation.file_evaluation import evaluate_file
    from moderator_app.core.evaluation.metrics import prior_baseline

    tab = window.review_tab
    load(qtbot, tab, tiny_classifier_dir)
    tab.results.set_threshold(0.3)
    data = labelled_csv(tmp_path)
    view = tab.open_evaluation(str(data))
    evaluate_in_view(qtbot, view)
    assert (view.text_combo.currentText(), view.label_combo.currentText()) == ("text", "label")  # guessed

    expected = evaluate_file(Classifier.load(tiny_classifier_dir, device="cpu"), data, group_column="source",
                             threshold=0.3).result
    baseline = prior_baseline(synthetic_labels(48, 5), expected.labels)
    for key in ("accuracy", "macro_f1", "roc_auc", "average_precision", "ece"):
        assert view.cards[key].value.text() == f"{getattr(expected, key):.3f}"
        assert view.cards[key].baseline.text() == f"baseline {getattr(baseline, key):.3f}"
    shown = [[int(view.confusion.item(row, column).text()) for column in range(2)] for row in range(2)]
    assert shown == expected.confusion_matrix and sum(map(sum, shown)) == 48
    groups = {view.groups.item(row, 0).text(): int(view.groups.item(row, 1).text())
              for row in range(view.groups.rowCount())}
    assert groups == {group: scores.n for group, scores in expected.by.items()} and set(groups) == {"forum", "tweets"}
    assert view.threshold_line.value() == pytest.approx(0.3)
    assert len(view.precision_line.getData()[0]) > 0  # the curve is drawn


def test_the_threshold_line_is_the_views_own_until_the_button_moves_the_review_threshold(qtbot, window,
                                                                                          tiny_classifier_dir,
                                                                                          tmp_path):
    from moderator_app.core.evaluation.file_evaluation import evaluate_file

    tab = window.review_tab
    load(qtbot, tab, tiny_classifier_dir)
    tab.input.text_edit.setPlainText("they are vermin\nlovely weather")
    with qtbot.waitSignal(tab.results_changed, timeout=TIMEOUT_MS):
        tab.input.classify_button.click()
    qtbot.waitUntil(lambda: tab.queue is not None, timeout=TIMEOUT_MS)
    tab.results.set_threshold(0.4)
    tab._save_queue_state_now()
    queue_id = tab.queue.id
    data = labelled_csv(tmp_path)
    view = tab.open_evaluation(str(data))
    assert view.threshold_line.value() == pytest.approx(0.4) and not view.use_threshold_button.isEnabled()
    evaluate_in_view(qtbot, view, group="")
    view.threshold_line.setValue(0.999)
    view.threshold_line.sigPositionChangeFinished.emit(view.threshold_line)  # as the end of a drag does
    expected = evaluate_file(Classifier.load(tiny_classifier_dir, device="cpu"), data, threshold=0.999).result
    shown = [[int(view.confusion.item(row, column).text()) for column in range(2)] for row in range(2)]
    assert shown == expected.confusion_matrix  # the numbers follow the line
    assert view.cards["accuracy"].value.text() == f"{expected.accuracy:.3f}"
    # … and nothing else does: the slider, the table's labels and the queue's saved threshold stay
    assert tab.threshold() == pytest.approx(0.4) and tab.results.session.threshold == pytest.approx(0.4)
    tab._save_queue_state_now()
    tab.decisions.tasks.wait(TIMEOUT_MS)
    assert tab.decisions.store.store().queues.get(queue_id).state.threshold == pytest.approx(0.4)
    tab.results.set_threshold(0.2)  # the slider does not move the view's line either
    assert view.threshold_line.value() == pytest.approx(0.999)
    assert view.use_threshold_button.isEnabled()
    view.use_threshold_button.click()  # the one way the view's threshold reaches the review
    assert tab.threshold() == pytest.approx(0.999) and tab.results.session.threshold == pytest.approx(0.999)
    assert not view.use_threshold_button.isEnabled()
    tab._save_queue_state_now()
    tab.decisions.tasks.wait(TIMEOUT_MS)
    assert tab.decisions.store.store().queues.get(queue_id).state.threshold == pytest.approx(0.999)
    assert not view.groups.isVisible()


def test_a_file_without_a_usable_label_column_is_one_clear_message(qtbot, window, tiny_classifier_dir, tmp_path,
                                                                  monkeypatch):
    from moderator_app.gui.review import evaluation_view

    shown = []
    monkeypatch.setattr(evaluation_view, "show_failure", lambda parent, error, title: shown.append(title))
    tab = window.review_tab
    load(qtbot, tab, tiny_classifier_dir)
    data = write_csv(tmp_path / "texts.csv", [("hello there", "x"), ("more text", "y")], header=("text", "note"))
    view = tab.open_evaluation(str(data))
    qtbot.waitUntil(lambda: view.evaluate_button.isEnabled(), timeout=TIMEOUT_MS)
    view.label_combo.setCurrentText("note")
    view.evaluate_button.click()
    qtbot.waitUntil(lambda: bool(shown), timeout=TIMEOUT_MS)
    assert shown == ["Cannot evaluate"] and "\n" not in view.status.text() and "note" in view.status.text()
    assert view.evaluate_button.isEnabled()


def synthetic_labels(count: int, seed: int) -> list[str]:
    return [label for _, label in synthetic_rows(count, seed=seed)]


# ------------------------------------------------------------------------------------ validation split
@pytest.fixture(scope="module")
def trained_run(tiny_model_dir, synthetic_csv, tmp_path_factory):
    from test_cli_evaluate import train_tiny

    return train_tiny(tiny_model_dir, synthetic_csv, tmp_path_factory.mktemp("validation-split") / "run",
                      validation_split=0.25)


def test_the_validation_split_is_the_one_training_measured(trained_run):
    from moderator_app.core.training.validation_split import evaluate_validation_split

    classifier = Classifier.load(trained_run, device="cpu")
    evaluation = evaluate_validation_split(classifier, trained_run)
    # the operating point was measured by the trainer on its own validation rows at its threshold
    saved = classifier.operating_point.validation
    assert evaluation.result.threshold == pytest.approx(classifier.operating_point.threshold)
    assert evaluation.result.n == saved["n"] == classifier.operating_point.validation_rows
    assert evaluation.result.confusion_matrix == saved["confusion_matrix"]
    assert evaluation.result.accuracy == pytest.approx(saved["accuracy"])


def test_a_model_without_its_training_config_cannot_offer_a_validation_split(tiny_classifier_dir, tmp_path):
    from moderator_app.core.errors import ModelNotUsableError
    from moderator_app.core.training.validation_split import evaluate_validation_split

    folder = shutil.copytree(tiny_classifier_dir, tmp_path / "bare")
    (folder / "training_config.json").unlink()
    with pytest.raises(ModelNotUsableError, match="training_config.json"):
        evaluate_validation_split(Classifier.load(folder, device="cpu"), folder)


def test_the_view_evaluates_the_models_validation_split(qtbot, window, trained_run):
    tab = window.review_tab
    load(qtbot, tab, trained_run)
    view = tab.open_evaluation("")
    assert view.data_choice.isEnabled()
    view.data_choice.setCurrentIndex(view.data_choice.findData(evaluation_view_module().VALIDATION_SPLIT))
    assert not view.path_edit.isEnabled() and view.evaluate_button.isEnabled()
    with qtbot.waitSignal(view.evaluated, timeout=TIMEOUT_MS):
        view.evaluate_button.click()
    from moderator_app.core.training.validation_split import evaluate_validation_split

    expected = evaluate_validation_split(Classifier.load(trained_run, device="cpu"), trained_run,
                                         threshold=tab.threshold()).result
    shown = [[int(view.confusion.item(row, column).text()) for column in range(2)] for row in range(2)]
    assert shown == expected.confusion_matrix
    assert sum(map(sum, shown)) == tab.handle.classifier.operating_point.validation_rows
    assert "validation split" in view.status.text()


def evaluation_view_module():
    from moderator_app.gui.review import evaluation_view

    return evaluation_view


def test_closing_the_window_cancels_a_running_evaluation(qtbot, tiny_classifier_dir, tmp_path):
    window, tab = open_window(qtbot)
    load(qtbot, tab, tiny_classifier_dir)
    view = tab.open_evaluation(str(labelled_csv(tmp_path)))
    qtbot.waitUntil(lambda: view.evaluate_button.isEnabled(), timeout=TIMEOUT_MS)
    view.evaluate_button.click()
    worker = view.worker
    assert worker is not None and not worker.cancelled()
    close_window(qtbot, window)
    assert worker.cancelled()
