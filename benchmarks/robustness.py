"""Evasion-robust training and labels from annotator disagreement, measured (issue 23, point 4).

    python benchmarks/robustness.py                      # the full measurement: hours on two CPU cores
    python benchmarks/robustness.py --rows 100 --epochs 1 --seeds 12345 --max-length 32 \\
        --held-out-rows 200 --test-rows 300              # a dry run: checks the script, measures nothing

Trains the four-source model of `benchmarks/four_sources.json` (TweetEval hate, Davidson, Stormfront, ETHOS
with their label maps, balanced class weights, threshold precision>=0.7, MiniLM) with the app's own command
line, in four variants, each with every seed of --seeds:
  baseline   four_sources.json without its evasion_augment and vote settings (the gap of the plain model);
  evasion    + `evasion_augment` (--evasion, default 0.3: that share of each epoch's rows gets an obfuscated
             copy) and `evasion_families` (--evasion-families, default all: the copies' kinds);
  soft       + Davidson's crowd votes as soft targets (`vote_columns`: hate_speech → hate,
             offensive_language and neither → not-hate; `votes: soft`);
  both       evasion and soft.
Each model is scored with `moderator-app evaluate --json`: macro F1 per source on the rows no model of its
seed trained on (each source's validation split and what `max_rows` left out; the four variants of a seed
train on the same rows), and `evaluate --robustness` on TweetEval hate's test file: the recall of `hate` on
the clean rows and on their obfuscated copies (six families, seeded), at the model's operating point.
Every model is scored twice, by --normalisations: reading texts with the inference normalisation of before
(`--no-normalise-evasion`: NFKC and zero-width removal) and with the evasion spellings undone as well
(`--normalise-evasion`, core/text/evasion_spellings), rows "VARIANT" and "VARIANT +undo". The models do not
depend on it (the normalisation is applied when a model reads a text, not to its training rows).
Prints the medians over the seeds as markdown tables (for benchmarks/README.md), the deltas paired by seed
against the baseline read the old way, and writes every number to OUT/robustness.json. A finished model or
report in OUT is reused (--out of an earlier run re-prints).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import (FOUR_SOURCES, HATE_MAP, SHARED, app, evaluation, held_out_rows, minilm_folder,  # noqa: E402
                     train_model as train)

DAVIDSON_VOTES = {"hate_speech": "hate", "offensive_language": "not-hate", "neither": "not-hate"}
VARIANTS = ("baseline", "evasion", "soft", "both")
TEST_FILE = "tweeteval_hate_test.csv"


def variant_config(four_sources: dict, variant: str, seed: int, args) -> dict:
    """A `--config` file's content: four_sources.json with the variant's options, the seed and the knobs."""
    # the variants start from four_sources.json without its evasion and vote settings (its defaults are the
    # "both" variant, chosen from this script's figures), then add what the variant names
    config = {key: value for key, value in four_sources.items()
              if key not in ("sources", "evasion_augment", "evasion_families")}
    config.update(seed=seed, num_epochs=args.epochs, max_length=args.max_length, sources=[])
    if variant in ("evasion", "both"):
        config.update(evasion_augment=args.evasion, evasion_families=args.evasion_families)
    for source in four_sources["sources"]:
        source = {key: value for key, value in source.items() if key not in ("vote_columns", "votes")}
        source["path"] = str(args.data / Path(source["path"]).name)
        if args.rows is not None:
            source["max_rows"] = min(source.get("max_rows", args.rows), args.rows)
        if variant in ("soft", "both") and "davidson" in source["path"]:
            source.update(vote_columns=DAVIDSON_VOTES, votes="soft")
        config["sources"].append(source)
    return config


    config_file = out / f"{name}.json"
    config_file.write_text(json.dumps(config, indent=1), encoding="utf-8")
    app("train", "--config", str(config_file), "--model", args.model, "--output", str(folder), "--overwrite",
        "--device", args.device)
    return folder


def sample_rows(path: Path, target: Path, per_group: int | None, group: str | None, seed: int) -> Path:
    """A seeded sample of a CSV's rows (per value of `group`, or of all rows), to keep a dry run short."""
    if per_group is None:
        return path
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(row[group] if group else "", []).append(row)
    rng = random.Random(seed)
    kept = [row for members in groups.values() for row in rng.sample(members, min(per_group, len(members)))]
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    return target


NORMALISATIONS = {"old": ("", "--no-normalise-evasion"), "undo": (" +undo", "--normalise-evasion")}


def scores(model: Path, held_out: Path, test: Path, args, out: Path, normalisation: str = "old") -> dict:
    suffix, flag = NORMALISATIONS[normalisation]
    name = model.name + ("" if normalisation == "old" else f"-{normalisation}")
    by_source = evaluation(model, held_out, out / f"{name}-held-out.json", args, "--by", "source", flag)
    tested = evaluation(model, test, out / f"{name}-test-robustness.json", args, "--label-map",
                        json.dumps(HATE_MAP), "--robustness", flag)
    robustness = tested["robustness"]["rows"]
    return {"macro_f1": {source: found["macro_f1"] for source, found in by_source["by"].items()},
            "held_out_n": {source: found["n"] for source, found in by_source["by"].items()},
            "test_macro_f1": tested["macro_f1"], "test_n": tested["n"],
            "recall": {name: row["recall"] for name, row in robustness.items()},
            "accuracy": {name: row["accuracy"] for name, row in robustness.items()}}


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="base model folder (default: the installed all-MiniLM-L6-v2)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[12345, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="default: as in four_sources.json (2)")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--rows", type=int, help="at most this many rows per source (default: four_sources.json's caps)")
    parser.add_argument("--evasion", type=float, default=0.3, help="evasion_augment of the evasion variants")
    parser.add_argument("--evasion-families", choices=("all", "not_undone"), default="all",
                        help="evasion_families of the evasion variants")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--held-out-rows", type=int, help="score on a seeded sample of this many held-out rows per "
                                                          "source (default: all of them)")
    parser.add_argument("--test-rows", type=int, help="a seeded sample of TweetEval's test file (default: all 2,970)")
    parser.add_argument("--normalisations", nargs="+", choices=list(NORMALISATIONS), default=list(NORMALISATIONS),
                        help="score each model reading texts as before (old) and with evasion spellings undone (undo)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--out", type=Path, help="where the models and robustness.json go (default: a temp folder)")
    args = parser.parse_args()
    args.model = args.model or minilm_folder()
    four_sources = json.loads(FOUR_SOURCES.read_text(encoding="utf-8"))
    args.epochs = args.epochs or four_sources.get("num_epochs", 2)
    out = (args.out or Path(tempfile.mkdtemp(prefix="robustness-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    test = sample_rows(args.data / TEST_FILE, out / "test_sample.csv", args.test_rows, None, 0)

    found: dict[str, dict[int, dict]] = {variant + NORMALISATIONS[normalisation][0]: {} for variant in args.variants
                                         for normalisation in args.normalisations}
    for seed in args.seeds:
        folder = out / f"seed-{seed}"
        folder.mkdir(exist_ok=True)
        models = {variant: train(variant, variant_config(four_sources, variant, seed, args), args, folder)
                  for variant in args.variants}
        held_out = held_out_rows(list(models.values()), folder)  # the variants of a seed train on the same rows
        held_out = sample_rows(held_out, folder / "held_out_sample.csv", args.held_out_rows, "source", seed)
        for variant, model in models.items():
            for normalisation in args.normalisations:
                found[variant + NORMALISATIONS[normalisation][0]][seed] = scores(model, held_out, test, args, folder,
                                                                                 normalisation)
    (out / "robustness.json").write_text(json.dumps(dict(settings=vars(args) | {"data": str(args.data)},
                                                         scores=found), indent=2, default=str), encoding="utf-8")

    sources = list(next(iter(next(iter(found.values())).values()))["macro_f1"])
    print(f"Macro F1 on held-out rows, median of {len(args.seeds)} seed(s)")
    print("| model | " + " | ".join(sources) + " | TweetEval hate test |")
    print("|:--|" + "--:|" * (len(sources) + 1))
    for variant, by_seed in found.items():
        cells = [median([run["macro_f1"][source] for run in by_seed.values()]) for source in sources]
        cells.append(median([run["test_macro_f1"] for run in by_seed.values()]))
        print(f"| {variant} | " + " | ".join(f"{cell:.3f}" for cell in cells) + " |")
    print()
    families = [name for name in next(iter(next(iter(found.values())).values()))["recall"] if name != "clean"]
    print(f"Recall of hate on TweetEval hate's test file, clean and obfuscated, median of {len(args.seeds)} seed(s)")
    print("| model | clean | " + " | ".join(families) + " | gap (all) |")
    print("|:--|--:|" + "--:|" * (len(families) + 1))
    for variant, by_seed in found.items():
        clean = median([run["recall"]["clean"] for run in by_seed.values()])
        cells = [median([run["recall"][family] for run in by_seed.values()]) for family in families]
        gap = median([run["recall"]["all obfuscated"] - run["recall"]["clean"] for run in by_seed.values()])
        print(f"| {variant} | {clean:.3f} | " + " | ".join(f"{cell:.3f}" for cell in cells) + f" | {gap:+.3f} |")
    if "baseline" in found and len(found) > 1:
        print()
        print("Paired by seed against the baseline read the old way: median of the per-seed differences")
        print("| model | " + " | ".join(f"Δ F1 {source}" for source in sources) + " | Δ clean recall | gap (all) |")
        print("|:--|" + "--:|" * (len(sources) + 2))
        base = found["baseline"]
        for variant, by_seed in found.items():
            if variant == "baseline":
                continue
            seeds = [seed for seed in by_seed if seed in base]
            cells = [median([by_seed[s]["macro_f1"][source] - base[s]["macro_f1"][source] for s in seeds])
                     for source in sources]
            cells.append(median([by_seed[s]["recall"]["clean"] - base[s]["recall"]["clean"] for s in seeds]))
            gap = median([by_seed[s]["recall"]["all obfuscated"] - by_seed[s]["recall"]["clean"] for s in seeds])
            print(f"| {variant} | " + " | ".join(f"{cell:+.3f}" for cell in cells) + f" | {gap:+.3f} |")
    sizes = next(iter(found.values()))
    first = next(iter(sizes.values()))
    print(f"(held-out rows per source, first seed: {first['held_out_n']}; test rows {first['test_n']:,}; "
          f"all numbers in {out / 'robustness.json'})")


if __name__ == "__main__":
    main()
