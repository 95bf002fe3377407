"""Undoing evasion spellings at inference (`normalise_evasion`), measured without retraining (issue 23).

    python benchmarks/evasion_spellings.py --model MODEL_FOLDER [--test-rows 1000] [--out report.json]
    python benchmarks/evasion_spellings.py --clean-only        # only the count of clean rows it changes

1. Clean rows: how many rows of the nine shared data files (TweetEval hate and offensive, Stormfront,
   Davidson, ETHOS) the rewrite changes, per file and per rewrite (look-alike letters, spaced-out letters,
   leetspeak), after the NFKC / zero-width normalisation every model already has.
2. One model's robustness report (core/evaluation/robustness, the one `evaluate --robustness` prints: the
   six obfuscation families of core/text/obfuscation, seeded, at the model's operating point) on TweetEval
   hate's test file, twice on the same rows: reading texts as before (NFKC, zero-width removal) and with the
   evasion spellings undone. Each distinct text the model reads is predicted once, so the second report
   costs only the texts the rewrite changes. --test-rows takes the same seeded sample as robustness.py's.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
CLEAN_FILES = {"tweeteval_hate_train.csv": ("text", ","), "tweeteval_hate_val.csv": ("text", ","),
               "tweeteval_hate_test.csv": ("text", ","), "tweeteval_off_train.csv": ("text", ","),
               "tweeteval_off_val.csv": ("text", ","), "tweeteval_off_test.csv": ("text", ","),
               "stormfront.csv": ("text", ","), "davidson_labeled_data.csv": ("tweet", ","),
               "ethos_binary.csv": ("comment", ";")}


def clean_changes(data: Path) -> dict:
    from moderator_app.core.text import evasion_spellings as rewrite
    from moderator_app.core.text.normalise import normalise_text

    steps = {"look-alike letters": rewrite.fold_look_alikes, "spaced-out letters": rewrite.join_spaced_letters,
             "leetspeak": rewrite.undo_leetspeak}
    found = {}
    for name, (column, delimiter) in CLEAN_FILES.items():
        with open(data / name, newline="", encoding="utf-8") as handle:
            texts = [row[column] for row in csv.DictReader(handle, delimiter=delimiter)]
        counts = Counter()
        for text in texts:
            text = normalise_text(text)
            counts.update(step for step, change in steps.items() if change(text) != text)
            counts["any"] += normalise_text(text, evasion=True) != text
        found[name] = {"rows": len(texts), **counts}
    return found


def paired_reports(model: str, data: Path, test_rows: int | None, device: str) -> dict:
    import numpy as np

    from moderator_app.core.evaluation.robustness import robustness_report
    from moderator_app.core.inference.classifier import Classifier
    from moderator_app.core.text.normalise import describe_normalisation, normalise_text

    with open(data / "tweeteval_hate_test.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if test_rows is not None and test_rows < len(rows):
        rows = random.Random(0).sample(rows, test_rows)  # robustness.py's sample_rows(…, None, seed 0)
    texts = [row["text"] for row in rows]
    labels = ["hate" if row["label"] in ("1", "hate") else "not-hate" for row in rows]
    model_reads = Classifier.load(model, device=device, normalise=False)  # fed the normalised texts
    cache: dict[str, np.ndarray] = {}

    class Reading:
        """The model reading texts with or without the evasion spellings undone, predictions shared."""

        def __init__(self, evasion: bool):
            self.evasion = evasion
            self.normalisation = describe_normalisation(True, evasion)
            self.labels, self.positive_index = model_reads.labels, model_reads.positive_index
            self.positive_label, self.is_binary = model_reads.positive_label, model_reads.is_binary

        def predict_probabilities(self, texts, batch_size=None, on_batch=None):
            keys = [normalise_text(str(text), self.evasion) for text in texts]
            missing = list(dict.fromkeys(key for key in keys if key not in cache))
            if missing:
                cache.update(zip(missing, model_reads.predict_probabilities(missing, batch_size)))
            return np.stack([cache[key] for key in keys])

    from sklearn.metrics import f1_score

    from moderator_app.core.labels import decide_labels

    found = {}
    for name, evasion in (("as before", False), ("evasion spellings undone", True)):
        reading = Reading(evasion)
        report = robustness_report(reading, texts, labels, model_reads.default_threshold)
        print("\n".join(report.lines()), flush=True)
        predicted = decide_labels(reading.predict_probabilities(texts), reading.labels, reading.positive_index,
                                  model_reads.default_threshold)[0]
        found[name] = report.to_dict() | {"clean_macro_f1": float(f1_score(labels, predicted, average="macro")),
                                          "clean_rows_read_differently": sum(
                                              normalise_text(text, True) != normalise_text(text) for text in texts)}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a trained model folder")
    parser.add_argument("--test-rows", type=int, help="a seeded sample of TweetEval hate's test file (default: all)")
    parser.add_argument("--clean-only", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = {"clean_rows_changed": clean_changes(args.data)}
    total = Counter()
    for name, counts in result["clean_rows_changed"].items():
        print(f"{name}: {counts}")
        total.update(counts)
    print(f"all: {total['any']:,} of {total['rows']:,} rows changed ({total['any'] / total['rows']:.2%}); {dict(total)}")
    if not args.clean_only:
        if not args.model:
            parser.error("--model is needed (or --clean-only)")
        result["robustness"] = paired_reports(args.model, args.data, args.test_rows, args.device)
        before, after = (result["robustness"][name]["rows"] for name in ("as before", "evasion spellings undone"))
        print("| reading | clean macro F1 | " + " | ".join(before) + " | gap (all) |")
        print("|:--|--:|" + "--:|" * (len(before) + 1))
        for name, rows in (("as before", before), ("evasion spellings undone", after)):
            recall = {key: row["recall"] for key, row in rows.items()}
            print(f"| {name} | {result['robustness'][name]['clean_macro_f1']:.3f} | "
                  + " | ".join(f"{value:.3f}" for value in recall.values())
                  + f" | {100 * (recall['all obfuscated'] - recall['clean']):+.1f} |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
