"""Policy categories (issue 27, point 5): one two-category model against two single-label models.

    python benchmarks/categories.py [--epochs 2] [--max-rows N] [--eval-rows N] [--model DIR] [--out DIR]
    python benchmarks/categories.py --max-rows 300 --eval-rows 200 --epochs 1     # a small run: checks the script

Trains four models with the app's own command line (`moderator-app train --config`), base model
all-MiniLM-L6-v2 unless --model, the recipe (lr 2e-5, batch 32, seed 12345) with balanced class weights
and the best-F1 threshold per category, on the sources of `benchmarks/categories.json`:
  (multi)     hate + offensive in one model, from Davidson (both categories, from its crowd votes: a category
              is yes when more than half of the tweet's annotators chose it), TweetEval hate (hate only) and
              TweetEval offensive (offensive only); each source's other category is unknown and masked;
  (as-no)     the same model with the unknowns taken for "no" (TweetEval hate's rows are "not offensive",
              TweetEval offensive's "not hate"): what masking buys;
  (hate)      a single-label hate model on the rows that know hate (Davidson + TweetEval hate);
  (offensive) a single-label offensive model on the rows that know offensive (Davidson + TweetEval offensive).
Davidson is split first (seeded, --heldout of its rows) into the rows the runs may use and rows none of them
trains on; the TweetEval sources are validated on their validation files. Every model is scored per category
on TweetEval hate's and offensive's test files and on the held-out Davidson rows, at its calibrated
threshold (per category for the two-category models), F1 of the category by scikit-learn. Then the
inference time of the one model against the two: the same texts classified by each (loaded once, fp32, the
median of --timing-repeats), one model's seconds against the two single-label models' together.

--max-rows caps each training source (the app's seeded `max_rows`), --eval-rows each test set (a seeded
sample): both for a reduced run. A finished model in OUT is reused. Prints markdown tables for
benchmarks/README.md and writes every number to OUT/categories.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CONFIG = ROOT / "benchmarks" / "categories.json"
CATEGORIES = ("hate", "offensive")
HATE_RULE = {"column": "label", "yes": ["hate"], "no": ["not-hate"]}
OFFENSIVE_RULE = {"column": "label", "yes": ["offensive"], "no": ["not-offensive"]}
# Davidson's offensive is its class "offensive language" or "hate speech": OLID (TweetEval offensive)
# counts hate as offensive too, so the two sources' "offensive" mean the same thing.
DAVIDSON_RULES = {"hate": {"votes": "hate_speech", "total": "count", "rule": "majority"},
                  "offensive": {"column": "class", "yes": ["0", "1"], "no": ["2"]}}

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import app, minilm_folder, train_model as train  # noqa: E402 (the benchmarks' one way to train)


# ------------------------------------------------------------------------------------------------ data
def split_davidson(out: Path, heldout: float, seed: int) -> tuple[Path, Path]:
    """Davidson's rows, seeded, into those the runs may use and those none trains on; each row also gets
    `hate` and `offensive` (yes/no) by the category rules of categories.json (the app's own reading), which
    the single-label runs take as their label column: the same labels on the same rows."""
    from moderator_app.core.evaluation.category_rules import read_rule

    with open(SHARED / "davidson_labeled_data.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = {name: [row[name] for row in rows] for name in ("hate_speech", "offensive_language", "count", "class")}
    flags = {name: read_rule(rule, columns, name, "davidson", None) for name, rule in DAVIDSON_RULES.items()}
    for index, row in enumerate(rows):
        for name in CATEGORIES:
            row[name] = "yes" if flags[name][index] == 1 else "no"
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    cut = round(len(rows) * heldout)
    paths = out / "davidson_train.csv", out / "davidson_heldout.csv"
    for path, chosen in zip(paths, (sorted(order[cut:]), sorted(order[:cut]))):
        _write(path, [rows[i] for i in chosen], list(rows[0]))
    return paths


def capped_copy(name: str, out: Path, rows: int | None, seed: int) -> Path:
    """A test file as it is, or a seeded sample of `rows` of it (a reduced run)."""
    source = SHARED / name
    if rows is None:
        return source
    with open(source, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        records = list(reader)
    chosen = sorted(random.Random(seed).sample(range(len(records)), min(rows, len(records))))
    target = out / f"{Path(name).stem}.sample.csv"
    _write(target, [records[i] for i in chosen], reader.fieldnames)
    return target


def _write(path: Path, rows: list[dict], fields: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


# ------------------------------------------------------------------------------------------------ runs
def run_configs(davidson: Path, args) -> dict[str, dict]:
    """The four runs' configurations (the sources of categories.json, Davidson replaced by its training part)."""
    base = json.loads(CONFIG.read_text(encoding="utf-8"))
    settings = {key: value for key, value in base.items() if key not in ("sources", "categories")}
    settings.update(num_epochs=args.epochs, max_length=args.max_length)
    if args.train_seed is not None:  # the training seed alone: the Davidson split and the test sets stay put
        settings["seed"] = args.train_seed
    cap = {"max_rows": args.max_rows} if args.max_rows else {}
    te_hate = {"path": str(SHARED / "tweeteval_hate_train.csv"), "validation_path": str(SHARED / "tweeteval_hate_val.csv")}
    te_off = {"path": str(SHARED / "tweeteval_off_train.csv"), "validation_path": str(SHARED / "tweeteval_off_val.csv")}
    dav = {"path": str(davidson), "text_column": "tweet"}
    multi = dict(settings, categories=list(CATEGORIES), sources=[
        dict(dav, **cap, categories=DAVIDSON_RULES), dict(te_hate, **cap, categories={"hate": HATE_RULE}),
        dict(te_off, **cap, categories={"offensive": OFFENSIVE_RULE})])
    # the unknowns as "no": every row of TweetEval hate is not offensive, every row of TweetEval offensive not hate
    as_no = dict(multi, sources=[
        multi["sources"][0],
        dict(te_hate, **cap, categories={"hate": HATE_RULE, "offensive": {"column": "label", "yes": [],
                                                                         "no": ["hate", "not-hate"]}}),
        dict(te_off, **cap, categories={"offensive": OFFENSIVE_RULE, "hate": {"column": "label", "yes": [],
                                                                              "no": ["offensive", "not-offensive"]}})])
    hate = dict(settings, sources=[
        dict(dav, **cap, label_column="hate", label_map={"yes": "hate", "no": "not-hate"}),
        dict(te_hate, **cap, label_column="label")])
    offensive = dict(settings, sources=[
        dict(dav, **cap, label_column="offensive", label_map={"yes": "offensive", "no": "not-offensive"}),
        dict(te_off, **cap, label_column="label")])
    return {"multi": multi, "as-no": as_no, "hate": hate, "offensive": offensive}


# ------------------------------------------------------------------------------------------------ scores
def score(folders: dict[str, Path], tests: dict[str, tuple[Path, dict]], args) -> tuple[dict[str, dict], dict[str, dict]]:
    """F1 of each category on each test set at the model's calibrated threshold, and its average precision
    (threshold-free: how well the model ranks the test rows): two {model: {test set: {category: value}}}."""
    from moderator_app.core.evaluation.category_evaluation import evaluate_category_file
    from moderator_app.core.evaluation.file_evaluation import evaluate_file
    from moderator_app.core.evaluation.label_map import parse_label_map
    from moderator_app.core.inference.classifier import Classifier

    results: dict[str, dict] = {}
    precision: dict[str, dict] = {}
    for name, folder in folders.items():
        classifier = Classifier.load(folder, device=args.device, precision="fp32")
        results[name], precision[name] = {}, {}
        for test, (path, rules) in tests.items():
            if classifier.multi_label:
                evaluation = evaluate_category_file(classifier, path, rules=rules, text_column=_text(test))
                known = [category for category in CATEGORIES if evaluation.categories[category]["known_rows"]]
                results[name][test] = {category: evaluation.categories[category]["f1"] for category in known}
                precision[name][test] = {category: evaluation.categories[category]["ap"] for category in known}
                continue
            category = "hate" if "hate" in classifier.labels else "offensive"
            rule = rules.get(category)
            if rule is None:
                continue
            mapping = {value: category for value in rule.get("yes", ["yes"])}
            mapping.update({value: f"not-{category}" for value in rule.get("no", ["no"])})
            evaluation = evaluate_file(classifier, path, text_column=_text(test), label_column=rule["column"],
                                       label_map=parse_label_map(mapping))
            results[name][test] = {category: evaluation.result.per_class[category].f1}
            precision[name][test] = {category: evaluation.result.average_precision}
    return results, precision


def _text(test: str) -> str:
    return "tweet" if test.startswith("Davidson") else "text"


def inference_seconds(folders: dict[str, Path], texts: list[str], args) -> dict[str, float]:
    """Median seconds to classify `texts` with each model (loaded once, fp32, --timing-repeats runs)."""
    from moderator_app.core.inference.classifier import Classifier

    seconds = {}
    for name in ("multi", "hate", "offensive"):
        classifier = Classifier.load(folders[name], device=args.device, precision="fp32")
        classifier.predict_probabilities(texts[:64])  # the kernels' set-up is not what is measured
        runs = []
        for _ in range(args.timing_repeats):
            started = time.perf_counter()
            classifier.predict_probabilities(texts)
            runs.append(time.perf_counter() - started)
        seconds[name] = statistics.median(runs)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="", help="base model folder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--max-rows", type=int, default=None, help="cap each training source (a reduced run)")
    parser.add_argument("--eval-rows", type=int, default=None, help="cap each test set (a reduced run)")
    parser.add_argument("--heldout", type=float, default=0.2, help="share of Davidson's rows no run trains on")
    parser.add_argument("--timing-repeats", type=int, default=3, help="0: the F1 only (while the machine is busy)")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--train-seed", type=int, default=None,
                        help="the runs' training seed (default: the recipe's 12345); --seed keeps the split")
    parser.add_argument("--runs", default="multi,as-no,hate,offensive",
                        help="which of the four runs to train and score (comma-separated)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="", help="folder for the runs (default: a temporary one)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} not found: the benchmark reads the shared data sets")
    args.model = args.model or minilm_folder()
    out = Path(args.out or tempfile.mkdtemp(prefix="categories-")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    davidson_train, davidson_heldout = split_davidson(out, args.heldout, args.seed)
    chosen = [name.strip() for name in args.runs.split(",") if name.strip()]
    configs = run_configs(davidson_train, args)
    unknown = sorted(set(chosen) - set(configs))
    if unknown:
        sys.exit(f"--runs: no run named {', '.join(unknown)} (the runs: {', '.join(configs)})")
    folders = {name: train(name, configs[name], args, out) for name in chosen}
    tests = {"TweetEval hate test": (capped_copy("tweeteval_hate_test.csv", out, args.eval_rows, args.seed),
                                     {"hate": HATE_RULE}),
             "TweetEval offensive test": (capped_copy("tweeteval_off_test.csv", out, args.eval_rows, args.seed),
                                          {"offensive": OFFENSIVE_RULE}),
             "Davidson held out": (_capped_heldout(davidson_heldout, out, args), {"hate": {"column": "hate"},
                                                                                   "offensive": {"column": "offensive"}})}
    results, precision = score(folders, tests, args)
    texts = []
    for test, (path, _) in tests.items():
        with open(path, newline="", encoding="utf-8") as handle:
            texts += [row[_text(test)] for row in csv.DictReader(handle)]
    timed = {"multi", "hate", "offensive"} <= set(folders)
    seconds = inference_seconds(folders, texts, args) if args.timing_repeats > 0 and timed else {}
    report = {"settings": {key: value for key, value in vars(args).items()}, "f1": results, "ap": precision,
              "inference_seconds": seconds, "inference_texts": len(texts),
              "one_over_two": seconds["multi"] / (seconds["hate"] + seconds["offensive"]) if seconds else None}
    (out / "categories.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(markdown(results, seconds, len(texts)))
    print("\nAverage precision on the test sets (threshold-free):\n")
    print(markdown(precision, {}, len(texts)))
    print(f"\nEvery number: {out / 'categories.json'}")


def _capped_heldout(path: Path, out: Path, args) -> Path:
    if args.eval_rows is None:
        return path
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        records = list(reader)
    chosen = sorted(random.Random(args.seed).sample(range(len(records)), min(args.eval_rows, len(records))))
    target = out / "davidson_heldout.sample.csv"
    _write(target, [records[i] for i in chosen], reader.fieldnames)
    return target


def markdown(results: dict[str, dict], seconds: dict[str, float], texts: int) -> str:
    rows = ["| test set | category | one model, unknowns masked | single-label model | one model, unknowns as no |",
            "|---|---|---:|---:|---:|"]
    for test in ("TweetEval hate test", "TweetEval offensive test", "Davidson held out"):
        for category in CATEGORIES:
            single = results.get(category, {}).get(test, {}).get(category)
            masked = results.get("multi", {}).get(test, {}).get(category)
            if masked is None and single is None:
                continue
            as_no = results.get("as-no", {}).get(test, {}).get(category)
            rows.append(f"| {test} | {category} | {_f1(masked)} | {_f1(single)} | {_f1(as_no)} |")
    if not seconds:
        return "\n".join(rows)
    rows += ["", f"Inference on {texts:,} texts: one model {seconds['multi']:.2f} s, the two single-label models "
                 f"{seconds['hate'] + seconds['offensive']:.2f} s together "
                 f"({seconds['multi'] / (seconds['hate'] + seconds['offensive']):.2f}×)."]
    return "\n".join(rows)


def _f1(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
