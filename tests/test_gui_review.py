"""The Review tab end to end, offscreen, on the tiny trained classifier: classify, threshold, import,
batch labelling with cancel, explanations, decisions kept across restarts and exported for training."""

from __future__ import annotations

import csv
import shutil
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QItemSelectionModel, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDesktopServices  # noqa: E402

from test_inference import LABELS, classifier, tiny_classifier_dir  # noqa: E402,F401 (fixtures)
from tiny_models import HATEFUL_WORDS, synthetic_rows, write_csv  # noqa: E402

from moderator_app.core.review.store import DecisionStore  # noqa: E402
from moderator_app.gui.common import dialogs, settings  # noqa: E402
from moderator_app.gui.main_window import MainWindow  # noqa: E402
from moderator_app.core.review.session import FILTER_FLAGGED, SORT_ITEM, ReviewSession  # noqa: E402
from moderator_app.gui.review.results_table import (LABEL_COLUMN, SCORE_COLUMN, TEXT_COLUMN,  # noqa: E402
                                                    ResultsModel)
from moderator_app.gui.review.window_links import add_review_tab  # noqa: E402

TIMEOUT_MS = 60_000
TEXTS = ["we went to market and the vermin are everywhere", "the weather today is lovely",
         "my neighbours are scum and parasites", "football game was great", "coffee morning with friends",
         "they are filth", "reading a book in the garden", "invaders from the city again"]


@pytest.fixture(autouse=True)
def private_places(tmp_path, monkeypatch):
    settings.use_settings_file(tmp_path / "settings.ini")
    monkeypatch.setenv("MODERATOR_APP_DATA", str(tmp_path / "data"))
    # closing during a batch asks (a blocking box): a failing test's teardown must not wait for an answer
    monkeypatch.setattr(dialogs, "confirm", lambda *args, **kwargs: True)
    yield tmp_path
    settings.use_settings_file(None)


def open_window(qtbot):
    window = MainWindow()
    tab = add_review_tab(window)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.first_shown, timeout=10_000):
        window.show()
    window.tabs.setCurrentWidget(tab)
    return window, tab


def close_window(qtbot, window) -> None:
    tab = window.review_tab
    if tab.batch_running:
        tab.cancel_batch()
        qtbot.waitUntil(lambda: not tab.batch_running, timeout=TIMEOUT_MS)
    window.close()


@pytest.fixture
def window(qtbot):
    window, _ = open_window(qtbot)
    yield window
    close_window(qtbot, window)


@pytest.fixture
def tab(qtbot, window, tiny_classifier_dir):
    tab = window.review_tab
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    return tab


def classify(qtbot, tab, texts, file_order: bool = True) -> None:
    """Paste and classify `texts`; shown in file order (a new queue's default is the least sure first)."""
    tab.input.text_edit.setPlainText("\n".join(texts))
    with qtbot.waitSignal(tab.results_changed, timeout=TIMEOUT_MS):
        tab.input.classify_button.click()
    if file_order:
        tab.results.sort_by(SORT_ITEM)


def cell(tab, row: int, column: int):
    return tab.results.model.index(row, column).data()


def column_texts(tab, column: int) -> list:
    return [cell(tab, row, column) for row in range(tab.results.model.rowCount())]


def select_rows(tab, rows: list[int]) -> None:
    selection = tab.results.table.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(tab.results.model.index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    tab.results.table.setFocus()


# ------------------------------------------------------------------------------------------ model
def test_model_panel_shows_labels_and_metrics_and_remembers_the_folder(tab, tiny_classifier_dir):
    details = tab.model_panel.details.text()
    assert "hate</b> (flagged)" in details and "not-hate" in details
    assert "accuracy 0.990" in details and "macro F1 0.990" in details and "training summary" in details
    assert tab.model_panel.combo.itemText(0) == str(tiny_classifier_dir.resolve())
    assert tab.input.classify_button.isEnabled()
    assert tab.results.decision_hint.text() == ("Keys: A or Ctrl+Enter accepts; 1 hate, 2 not-hate relabels the selected "
                                                "rows; Space or J goes to the next undecided; Ctrl+Z undoes.")
    assert "(A)" in tab.results.accept_button.text() and "(1)" in tab.results.label_buttons[0].toolTip()


def test_metrics_come_from_the_model_card_when_there_is_no_training_summary(qtbot, window, tiny_classifier_dir,
                                                                           tmp_path):
    folder = tmp_path / "from-elsewhere"
    shutil.copytree(tiny_classifier_dir, folder)
    (folder / "training_summary.json").unlink()
    (folder / "README.md").write_text("# a model\n\nIt achieves the following results on the evaluation set:\n"
                                      "- Loss: 0.4123\n- Accuracy: 0.8\n- F1: 0.75\n\n## Model description\n")
    tab = window.review_tab
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(folder))
    details = tab.model_panel.details.text()
    assert "Validation: accuracy 0.800 · macro F1 0.750 · loss 0.412" in details and "(model card)" in details


def test_bad_model_folders_give_readable_errors(qtbot, window, tmp_path, tiny_model_dir):
    tab = window.review_tab
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    for name, expected in [(str(empty), "holds no model weights"), (str(tmp_path / "missing"), "no such model folder"),
                           (str(tiny_model_dir), "no trained classification head")]:
        with qtbot.waitSignal(tab.model_failed, timeout=TIMEOUT_MS) as failed:
            tab.load_model(name)
            assert tab.model_panel.busy.isVisible() and not tab.model_panel.load_button.isEnabled()
        assert expected in failed.args[0]
        assert expected in tab.model_panel.error and "Traceback" not in tab.model_panel.error
        assert not tab.model_panel.busy.isVisible() and tab.model_panel.load_button.isEnabled()
    assert tab.handle is None and not tab.input.classify_button.isEnabled()


def test_open_in_review_from_the_training_tab_loads_the_model(qtbot, window, tiny_classifier_dir):
    tab = window.review_tab
    window.tabs.setCurrentIndex(0)
    assert window.training_tab.review_available()
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        window.training_tab.open_in_review.emit(str(tiny_classifier_dir))
    assert window.tabs.currentWidget() is tab
    assert tab.handle.model_id == str(tiny_classifier_dir.resolve())


# ------------------------------------------------------------------------------------- classify
def test_paste_and_classify_fills_the_table(qtbot, tab, tiny_classifier_dir):
    from moderator_app.core.inference.classifier import Classifier

    classifier = Classifier.load(tiny_classifier_dir, device="cpu")  # auto, as the tab's: the same scores
    tab.input.text_edit.setPlainText("\n".join(TEXTS[:4]) + "\n\n   \n" + "\n".join(TEXTS[4:]))  # blank lines skipped
    with qtbot.waitSignal(tab.results_changed, timeout=TIMEOUT_MS):
        qtbot.keyClick(tab.input.text_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    expected = classifier.predict(TEXTS)
    assert tab.input.hint.text() == "2 blank lines skipped."  # said, not silently dropped
    # a new queue: the least sure first (closest to the threshold)
    distance = [abs(p.probabilities["hate"] - tab.results.threshold_value()) for p in expected]
    assert column_texts(tab, TEXT_COLUMN) == [TEXTS[i] for i in np.argsort(distance, kind="stable")]
    assert tab.results.order_combo.currentText() == "Least sure first"
    tab.results.sort_by(SORT_ITEM)
    headers = [tab.results.model.headerData(c, Qt.Orientation.Horizontal) for c in range(tab.results.model.columnCount())]
    assert headers == ["#", "Text", "Label", "Score", "P(hate)", "P(not-hate)", "Decision"]
    assert column_texts(tab, TEXT_COLUMN) == TEXTS
    assert column_texts(tab, LABEL_COLUMN) == [p.label for p in expected]
    scores = [tab.results.model.index(row, SCORE_COLUMN).data(Qt.ItemDataRole.UserRole + 1) for row in range(len(TEXTS))]
    assert scores == pytest.approx([p.score for p in expected], abs=1e-6)
    assert column_texts(tab, 4) == [f"{p.probabilities['hate']:.3f}" for p in expected]
    assert {p.label for p in expected} == set(LABELS)  # the tiny model tells them apart
    assert tab.results.stats.text().startswith(f"{len(TEXTS)} items · ")

    # sorting by score, highest first; the "#" column gets the input order back
    tab.results.table.sortByColumn(SCORE_COLUMN, Qt.SortOrder.DescendingOrder)
    shown = [tab.results.model.index(row, SCORE_COLUMN).data(Qt.ItemDataRole.UserRole + 1) for row in range(len(TEXTS))]
    assert shown == sorted(scores, reverse=True)
    tab.results.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert column_texts(tab, TEXT_COLUMN) == TEXTS

    # only flagged items; then a text search
    tab.results.filter_combo.setCurrentIndex(tab.results.filter_combo.findData(FILTER_FLAGGED))
    assert column_texts(tab, TEXT_COLUMN) == [t for t, p in zip(TEXTS, expected) if p.label == "hate"]
    tab.results.search.setText("SCUM")  # filters once typing pauses
    qtbot.waitUntil(lambda: column_texts(tab, TEXT_COLUMN) == ["my neighbours are scum and parasites"])
    tab.results.search.clear()
    tab.results.filter_combo.setCurrentIndex(0)

    # the whole text as one item
    tab.input.whole_text.setChecked(True)
    with qtbot.waitSignal(tab.results_changed, timeout=TIMEOUT_MS):
        tab.input.classify_button.click()
    assert tab.results.model.rowCount() == 1 and tab.results.session.texts == [tab.input.text_edit.toPlainText()]


def test_threshold_slider_relabels_without_running_the_model_again(qtbot, tab, monkeypatch):
    model_calls = []
    real = tab.handle.classifier.predict_probabilities
    monkeypatch.setattr(tab.handle.classifier, "predict_probabilities",
                        lambda *args, **kwargs: model_calls.append(1) or real(*args, **kwargs))
    texts = [text for text, _ in synthetic_rows(40, seed=21)]
    classify(qtbot, tab, texts)
    assert len(model_calls) == 1
    probability = tab.results.session.probabilities[:, 0]  # P(hate), in input order
    tab.results.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    seen = {}
    for threshold in (0.0, 0.5, 0.25, 1.0):
        tab.results.set_threshold(threshold)
        used = tab.threshold()
        assert used == pytest.approx(round(threshold * 100) / 100)
        expected = ["hate" if p >= used else "not-hate" for p in probability]
        assert column_texts(tab, LABEL_COLUMN) == expected
        seen[threshold] = expected.count("hate")
        assert tab.results.threshold_label.text() == f"{used:.2f}"
    assert seen[0.0] == len(texts) and 0 < seen[0.5] < len(texts)  # the labels really moved
    assert len(model_calls) == 1  # and the model never ran again
    tab.results.filter_combo.setCurrentIndex(tab.results.filter_combo.findData(FILTER_FLAGGED))
    tab.results.set_threshold(0.0)
    assert tab.results.model.rowCount() == len(texts)  # the flagged filter follows the threshold


# -------------------------------------------------------------------------------------- import
def test_import_a_csv_with_a_chosen_column(qtbot, tab, tmp_path):
    rows = [(f"title {index}", text, str(index)) for index, text in enumerate(TEXTS)]
    path = write_csv(tmp_path / "posts.csv", rows, header=("title", "body", "id"))
    dialog = tab.input.import_file(str(path))
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=TIMEOUT_MS)
    assert dialog.text_column() == "body"  # guessed
    assert dialog.table.rowCount() == len(TEXTS) and dialog.table.item(0, 0).text() == "title 0"
    assert "8 rows" in dialog.status.text() and dialog.table_button.isEnabled()
    dialog.set_text_column("title")
    with qtbot.waitSignal(tab.results_changed, timeout=TIMEOUT_MS):
        dialog.table_button.click()
    assert tab.results.session.texts == [title for title, _, _ in rows]
    assert tab.results_source == str(path)

    lines = tmp_path / "comments.txt"
    lines.write_text("\n".join(TEXTS[:3]) + "\n\n", encoding="utf-8")
    dialog = tab.input.import_file(str(lines))
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=TIMEOUT_MS)
    assert "3 lines" in dialog.status.text() and not dialog.column.isEnabled()
    with qtbot.waitSignal(tab.results_changed, timeout=TIMEOUT_MS):
        dialog.table_button.click()
    assert tab.results.session.texts == TEXTS[:3]


# -------------------------------------------------------------------------------- batch labelling
def test_batch_label_to_a_file_with_summary_and_output_folder(qtbot, tab, tmp_path, monkeypatch):
    rows = [(str(index), text) for index, (text, _) in enumerate(synthetic_rows(300, seed=8))]
    source = write_csv(tmp_path / "comments.csv", rows, header=("id", "comment"))
    output = tmp_path / "out" / "comments.labelled.csv"
    output.parent.mkdir()
    with qtbot.waitSignal(tab.batch_ended, timeout=TIMEOUT_MS) as ended:
        assert tab.batch_label(str(source), "comment", str(output), chunk_rows=64)
        assert tab.batch_panel.isVisible() and tab.batch_panel.cancel_button.isVisible()
    assert ended.args == ["finished"]
    with open(output, newline="", encoding="utf-8") as handle:
        written = list(csv.reader(handle))
    assert written[0] == ["id", "comment", "predicted_label", "score", "probability_hate", "probability_not-hate"]
    assert [row[:2] for row in written[1:]] == [list(row) for row in rows]
    panel = tab.batch_panel
    assert panel.summary.text().startswith("Labelled 300 rows in ")
    assert panel.summary.text().endswith(f"Written to {output}") and panel.summary.toolTip().startswith(
        f"Labelled 300 rows of {source} into {output}")
    assert panel.progress.value() == panel.progress.maximum() and not panel.cancel_button.isVisible()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    assert panel.open_folder_button.isVisible()
    panel.open_folder_button.click()
    assert opened == [QUrl.fromLocalFile(str(output.parent.resolve()))]

    # a TXT file is read one item per line and written as CSV
    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    with qtbot.waitSignal(tab.batch_ended, timeout=TIMEOUT_MS) as ended:
        tab.batch_label(str(lines), None, str(tmp_path / "lines.labelled.csv"))
    assert ended.args == ["finished"]
    with open(tmp_path / "lines.labelled.csv", newline="", encoding="utf-8") as handle:
        assert [row[0] for row in csv.reader(handle)] == ["text"] + TEXTS

    # an output that exists is refused unless replacing it was agreed
    shown = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, message, details="": shown.append(message))
    assert not tab.batch_label(str(source), "comment", str(output))
    assert "already exists" in shown[0]


def test_batch_label_cancelled_half_way_leaves_no_output(qtbot, tab, tmp_path, monkeypatch):
    rows = [(text,) for text, _ in synthetic_rows(4000, seed=3)]
    source = write_csv(tmp_path / "big.csv", rows, header=("text",))
    output = tmp_path / "out" / "big.labelled.csv"
    output.parent.mkdir()
    real = tab.handle.classifier.predict_probabilities

    def slow(*args, **kwargs):  # about 3 s for the file: a cancel certainly lands in the middle
        time.sleep(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(tab.handle.classifier, "predict_probabilities", slow)
    panel = tab.batch_panel
    started = time.monotonic()
    with qtbot.waitSignal(tab.batch_ended, timeout=TIMEOUT_MS) as ended:
        tab.batch_label(str(source), "text", str(output), chunk_rows=64)
        qtbot.waitUntil(lambda: panel.progress.value() >= len(rows) // 4, timeout=TIMEOUT_MS)
        assert panel.progress.value() < len(rows) * 3 // 4
        assert "rows/s" in panel.rate.text() and "left" in panel.rate.text()
        assert f"of {len(rows):,} rows" in panel.progress.format()
        panel.cancel_button.click()
    elapsed = time.monotonic() - started
    assert ended.args == ["cancelled"]
    assert panel.summary.text() == "Cancelled: nothing was written."
    assert list(output.parent.iterdir()) == []  # no output, no temporary file
    assert panel.updates <= elapsed * 10 + 3  # progress is throttled to ten updates a second
    assert not tab.batch_running and tab.input.classify_button.isEnabled()


def test_closing_during_batch_labelling_asks_then_cancels(qtbot, tiny_classifier_dir, tmp_path, monkeypatch):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    real = tab.handle.classifier.predict_probabilities
    monkeypatch.setattr(tab.handle.classifier, "predict_probabilities",
                        lambda *a, **k: time.sleep(0.05) or real(*a, **k))
    source = write_csv(tmp_path / "big.csv", [(t,) for t, _ in synthetic_rows(3000, seed=4)], header=("text",))
    (tmp_path / "out").mkdir()
    tab.batch_label(str(source), "text", str(tmp_path / "out" / "big.labelled.csv"), chunk_rows=64)
    qtbot.waitUntil(lambda: tab.batch_panel.progress.value() > 0, timeout=TIMEOUT_MS)
    answers = iter([False, True])
    monkeypatch.setattr(dialogs, "confirm", lambda *args, **kwargs: next(answers))
    assert not window.close()  # "Keep labelling"
    assert tab.batch_running
    assert window.close()  # "Cancel it and quit": cancelled, waited for
    assert tab.batch_panel.wait(0)  # the labeller has ended
    assert list((tmp_path / "out").iterdir()) == []


# ------------------------------------------------------------------------------------- explain
def test_explanation_for_the_selected_row(qtbot, tab):
    text = "we went to market today vermin and the weather is lovely"
    classify(qtbot, tab, [TEXTS[1], text])
    with qtbot.waitSignal(tab.explanation_ready, timeout=TIMEOUT_MS) as ready:
        select_rows(tab, [1])
    explained = ready.args[0]
    assert explained.text == text and explained.label == "hate"
    assert [word.word for word in explained.influences] == text.split()
    strongest = max(explained.influences, key=lambda word: word.influence)
    assert strongest.word in HATEFUL_WORDS and strongest.influence > 0
    html = tab.explanation.browser.toHtml()
    # Shaded by the absolute change in probability: the saturated tiny model moves it by < 0.001, left unshaded.
    assert "vermin" in html and ("background-color" in html) == (strongest.influence >= 0.001)
    assert f"at most {strongest.influence:.3f}" in tab.explanation.title.text()
    assert "Strongest: vermin +" in tab.explanation.status.text()


# ------------------------------------------------------------------------------------ decisions
def test_decisions_by_keyboard_survive_closing_and_reopening(qtbot, tiny_classifier_dir):
    window, tab = open_window(qtbot)
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    classify(qtbot, tab, TEXTS)
    labels = list(tab.results.session.labels)
    select_rows(tab, [0])
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        qtbot.keyClick(tab.results.table, Qt.Key.Key_A)  # accept
    assert cell(tab, 0, 6) == f"✓ {labels[0]}"
    assert tab.results.table.selected_rows() == [1]  # on to the next row
    other = "not-hate" if labels[1] == "hate" else "hate"
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        qtbot.keyClick(tab.results.table, Qt.Key.Key_2 if other == "not-hate" else Qt.Key.Key_1)  # relabel
    assert cell(tab, 1, 6) == f"✎ {other}"
    assert "2 decided" in tab.results.stats.text()
    store_path = tab.decisions.store.path
    window.close()

    decisions = DecisionStore(store_path).decisions()
    assert [(d.text, d.model_label, d.moderator_label) for d in decisions] == [
        (TEXTS[0], labels[0], labels[0]), (TEXTS[1], labels[1], other)]
    assert decisions[0].model_name == str(tiny_classifier_dir.resolve()) and decisions[0].decided_at
    assert decisions[0].model_id.startswith("sha256:") and decisions[0].moderator

    window, tab = open_window(qtbot)  # the app again: same store, and the queue reopens with its model
    qtbot.waitUntil(lambda: tab.results.session.decisions.count(None) == len(TEXTS) - 2, timeout=TIMEOUT_MS)
    assert tab.handle is not None and tab.handle.model_id == str(tiny_classifier_dir.resolve())
    assert cell(tab, 0, 6) == f"✓ {labels[0]}" and cell(tab, 1, 6) == f"✎ {other}"
    assert tab.results.table.selected_rows() == [2]  # where the moderator left off
    assert str(store_path) in tab.decisions.label.text()
    close_window(qtbot, window)


def test_exported_decisions_train_a_model(qtbot, tab, tmp_path, tiny_model_dir):
    texts = [text for text, _ in synthetic_rows(16, seed=31)]
    classify(qtbot, tab, texts)
    select_rows(tab, list(range(len(texts))))
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        tab.results.accept_button.click()
    select_rows(tab, [0, 1])
    with qtbot.waitSignal(tab.decisions_saved, timeout=TIMEOUT_MS):
        tab.results.label_buttons[0].click()  # two rows relabelled "hate"
    destination = tmp_path / "decisions.csv"
    with qtbot.waitSignal(tab.exported, timeout=TIMEOUT_MS) as exported:
        tab.decisions.export(str(destination))
    assert exported.args == [str(destination), len(texts)]
    with open(destination, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    expected = list(tab.results.session.labels)
    expected[tab.results.model.item(0)] = expected[tab.results.model.item(1)] = "hate"
    assert rows[0] == ["text", "label"] and sorted(rows[1:]) == sorted(map(list, zip(texts, expected)))

    from moderator_app.core.config import TrainingConfig
    from moderator_app.core.training.engine import train

    config = TrainingConfig(train_file=str(destination), validation_file=str(destination),
                            model_name_or_path=str(tiny_model_dir), output_dir=str(tmp_path / "retrained"),
                            num_epochs=1, train_batch_size=8, eval_batch_size=16, max_length=32, warmup_steps=0,
                            early_stopping_patience=0, device="cpu", precision="fp32", logging_steps=1)
    result = train(config)
    assert result.reason == "completed"
    assert (tmp_path / "retrained" / "model.safetensors").is_file()


def test_a_store_that_cannot_be_written_is_stated_and_nothing_crashes(qtbot, tmp_path, monkeypatch,
                                                                       tiny_classifier_dir):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MODERATOR_APP_DATA", str(blocker / "data"))
    window, tab = open_window(qtbot)
    shown = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, message, details="": shown.append(message))
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.load_model(str(tiny_classifier_dir))
    with qtbot.waitSignal(tab.store_failed, timeout=TIMEOUT_MS):  # looking up earlier decisions fails
        classify(qtbot, tab, TEXTS[:3])
    select_rows(tab, [0])
    with qtbot.waitSignal(tab.store_failed, timeout=TIMEOUT_MS) as failed:
        qtbot.keyClick(tab.results.table, Qt.Key.Key_A)
    assert "Cannot open the decision store" in failed.args[0] and str(blocker) in failed.args[0]
    assert tab.decisions.label.text().startswith("Decisions cannot be saved.")
    assert shown and shown[-1].startswith("1 decision was not saved.")
    assert tab.results.session.decisions == [None, None, None]  # nothing shown as decided
    close_window(qtbot, window)


# -------------------------------------------------------------------------------- a big table
def test_ten_thousand_rows_sort_and_filter_and_keep_the_selection(qtbot):
    rng = np.random.default_rng(0)
    count = 10_000
    positive = rng.random(count).astype(np.float32)
    probabilities = np.stack([positive, 1 - positive], axis=1)
    labels = ["hate" if p >= 0.5 else "not-hate" for p in positive]
    session = ReviewSession()
    model = ResultsModel(session)
    from moderator_app.gui.review.results_table import ResultsView

    view = ResultsView()
    qtbot.addWidget(view)
    view.setModel(model)

    def decide(probabilities, threshold):
        return ["hate" if p >= 0.5 else "not-hate" for p in probabilities[:, 0]], probabilities[:, 0].astype(float)

    model.reset(lambda: session.load([f"text number {i}" for i in range(count)], probabilities, ["hate", "not-hate"],
                                     0, decide))
    view.configure_columns(model)
    view.selectRow(123)
    model.sort(SCORE_COLUMN, Qt.SortOrder.DescendingOrder)
    scores = [model.index(row, SCORE_COLUMN).data(Qt.ItemDataRole.UserRole + 1) for row in range(50)]
    assert scores == sorted(scores, reverse=True) and scores[0] == pytest.approx(float(positive.max()))
    assert [model.item(row) for row in view.selected_rows()] == [123]  # the same item, moved
    model.set_filter(FILTER_FLAGGED)
    assert model.rowCount() == view.verticalHeader().count() == labels.count("hate")
    assert [model.item(row) for row in view.selected_rows()] == ([123] if labels[123] == "hate" else [])
    model.sort(TEXT_COLUMN, Qt.SortOrder.AscendingOrder)
    assert model.index(0, TEXT_COLUMN).data() == min(f"text number {i}" for i in range(count) if labels[i] == "hate")
    view.show()
    qtbot.waitExposed(view)


def test_the_filter_follows_decisions_sorts_and_new_loads_row_by_row(qtbot):
    from moderator_app.core.review.session import FILTER_UNDECIDED, SORT_SCORE

    session = ReviewSession()
    model = ResultsModel(session)
    scores = np.array([0.1, 0.9, 0.4, 0.7, 0.3], dtype=np.float32)

    def decide(probabilities, threshold):
        return ["hate" if p >= 0.5 else "not-hate" for p in probabilities[:, 0]], probabilities[:, 0].astype(float)

    def load(texts, positive):
        model.reset(lambda: session.load(texts, np.stack([positive, 1 - positive], axis=1), ["hate", "not-hate"],
                                         0, decide))

    def shown_texts():
        return [model.index(row, TEXT_COLUMN).data() for row in range(model.rowCount())]

    load(["a", "b", "c", "d", "e"], scores)
    model.set_filter(FILTER_UNDECIDED)
    assert shown_texts() == ["a", "b", "c", "d", "e"]
    model.set_decisions({1: "hate", 2: "hate"})  # a decision filter: decided rows go
    assert shown_texts() == ["a", "d", "e"]
    model.sort_by(SORT_SCORE, descending=True)  # a new order: the rows are looked up again
    assert shown_texts() == ["d", "e", "a"]
    load(["f", "g"], np.array([0.2, 0.8], dtype=np.float32))  # a new classification, decisions forgotten
    assert shown_texts() == ["g", "f"]


def test_a_classification_during_batch_labelling_waits_for_one_batch_not_the_file(qtbot, tab, tmp_path,
                                                                                   monkeypatch):
    classifier = tab.handle.classifier
    real_model = classifier.model

    def slow_model(**batch):  # 20 ms a batch: the one-chunk file below takes seconds
        time.sleep(0.02)
        return real_model(**batch)

    monkeypatch.setattr(classifier, "model", slow_model)
    rows = [(text,) for text, _ in synthetic_rows(6000, seed=6)]
    source = write_csv(tmp_path / "one-chunk.csv", rows, header=("text",))
    (tmp_path / "out").mkdir()
    panel = tab.batch_panel
    assert tab.batch_label(str(source), "text", str(tmp_path / "out" / "labelled.csv"), chunk_rows=10_000)
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=TIMEOUT_MS)
    classify(qtbot, tab, TEXTS[:3])  # the whole file is one prediction call: it pauses between batches for this
    assert tab.batch_running and panel.progress.value() < len(rows)
    assert len(tab.results.session.texts) == 3
    with qtbot.waitSignal(tab.batch_ended, timeout=TIMEOUT_MS) as ended:
        tab.cancel_batch()
    assert ended.args == ["cancelled"]


def test_precision_choice_reloads_the_model_and_is_shown(qtbot, tab):
    assert f"Precision: {tab.handle.classifier.precision.name}, chosen by auto" in tab.model_panel.details.text()
    with qtbot.waitSignal(tab.model_loaded, timeout=TIMEOUT_MS):
        tab.model_panel.precision.setCurrentIndex(tab.model_panel.precision.findData("bf16"))
    assert tab.handle.classifier.precision.name == "bf16"
    assert "Precision: bf16, as set" in tab.model_panel.details.text()
    assert settings.load_value("review/precision") == "bf16"
