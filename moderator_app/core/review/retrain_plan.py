"""What retraining from decisions prepares (RetrainPlan), what comparing the old and the new model
measures (Comparison), and the seeded split of the decisions into those trained on and those held out
for the comparison: shared by the single-label plan (retrain.py) and the multi-label one
(retrain_categories.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from moderator_app.core.errors import DataError

HELD_OUT_SHARE = 0.2
HELD_OUT_SEED = 12345
MIN_DECISIONS = 2
TRAINING_CONFIG = "training_config.json"


@dataclass
class RetrainPlan:
    config: object  # core.config.TrainingConfig: the run to start
    old_model: str
    decisions_file: Path
    held_out_file: Path | None
    train_file: Path
    report: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    data: str  # what it was measured on
    rows: int
    old: dict  # metric name -> value
    new: dict
    notes: list[str] = field(default_factory=list)  # e.g. a test suite's newly failing cases


def split_held_out(decided: list) -> tuple[list, list]:
    """(trained on, held out): a seeded HELD_OUT_SHARE of the decisions held out when there are at
    least 10 of them; those trained on stay in the log's order."""
    shuffled = decided[:]
    random.Random(HELD_OUT_SEED).shuffle(shuffled)
    held_count = int(len(shuffled) * HELD_OUT_SHARE) if len(shuffled) >= 10 else 0
    held_out, trained = shuffled[:held_count], shuffled[held_count:]
    order = {id(entry): position for position, entry in enumerate(decided)}
    trained.sort(key=lambda entry: order[id(entry)])  # back in the log's order
    return trained, held_out


def check_original_files(original) -> None:
    """A retraining run reads its model's original training files again: a DataError naming those gone."""
    missing = [entry["path"] for entry in original.sources if not Path(entry["path"]).is_file()]
    if original.train_file and not Path(original.train_file).is_file():
        missing.insert(0, original.train_file)
    if missing:
        raise DataError(f"The model's original training files are not all there any more: {', '.join(missing)}.",
                        "Put them back, or export the decisions and train in the Training tab.")
