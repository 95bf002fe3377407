"""The robustness report: how a model does on obfuscated copies of labelled rows against the clean ones.

Each obfuscation family of core/text/obfuscation (the ones evasion-robust training uses: letters swapped
or dropped, spaces, leetspeak, look-alike letters, zero-width characters) makes a copy of every row, seeded,
label kept; the model classifies each copy at the same decision (threshold) as the clean rows, and the
report gives, per family and over all of them, the accuracy and the recall of the flagged label beside
the clean figures. Used by `moderator-app evaluate --robustness` and the evaluation view. The model
reads the copies as it reads any text, so its normalisation at inference (NFKC, zero-width removal, and
with `normalise_evasion` the evasion spellings undone) applies: that is what a user of it gets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from moderator_app.core.inference.shared_model import GatedClassifier, batch_progress
from moderator_app.core.labels import decide_labels
from moderator_app.core.text.obfuscation import FAMILIES, FAMILY_NAMES, obfuscated_copies

CLEAN, ALL_OBFUSCATED = "clean", "all obfuscated"
DEFAULT_SEED = 12345


@dataclass
class RobustnessRow:
    """One version of the rows: `name` (clean, a family, or all obfuscated), how many, how many texts the
    obfuscation changed, the accuracy, and the flagged label's recall (None: not binary, or no such row)."""

    name: str
    description: str
    n: int
    changed: int
    accuracy: float
    recall: float | None


@dataclass
class RobustnessReport:
    positive_label: str | None
    threshold: float | None
    seed: int
    normalisation: str
    rows: list[RobustnessRow] = field(default_factory=list)

    @property
    def clean(self) -> RobustnessRow:
        return self.rows[0]

    def row(self, name: str) -> RobustnessRow:
        return next(row for row in self.rows if row.name == name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows"] = {row.pop("name"): row for row in data["rows"]}
        return data

    def lines(self) -> list[str]:
        """The report as a table for the command line."""
        recall_name = f"recall {self.positive_label}" if self.positive_label else "recall"
        lines = [f"Robustness to evasion (seed {self.seed}; the model's text normalisation: {self.normalisation})",
                 f"{'':<24}{'n':>9}{'changed':>9}{'accuracy':>10}{recall_name:>16}{'Δ recall':>10}"]
        for row in self.rows:
            gap = "" if row.recall is None or self.clean.recall is None or row is self.clean else \
                f"{row.recall - self.clean.recall:+.3f}"
            recall = "–" if row.recall is None else f"{row.recall:.3f}"
            lines.append(f"{row.description:<24}{row.n:>9,}{row.changed:>9,}{row.accuracy:>10.3f}{recall:>16}{gap:>10}")
        return lines


def _scores(truth: Sequence[str], predicted: Sequence[str], positive: str | None) -> tuple[float, float | None]:
    from sklearn.metrics import accuracy_score, recall_score

    accuracy = float(accuracy_score(truth, predicted))
    if positive is None or positive not in truth:
        return accuracy, None
    return accuracy, float(recall_score(truth, predicted, labels=[positive], average="micro", zero_division=0))


def robustness_report(classifier, texts: Sequence[str], labels: Sequence[str], threshold: float | None,
                      seed: int = DEFAULT_SEED, clean_probabilities: np.ndarray | None = None,
                      families: Sequence[str] = FAMILIES, batch_size: int | None = None,
                      on_batch: Callable[[int], None] | None = None) -> RobustnessReport:
    """Classify `texts` (their true `labels`) and each family's obfuscated copies at `threshold` (None:
    the most probable label). `clean_probabilities`, when the caller has them, are not computed again."""
    positive = classifier.positive_label if classifier.is_binary else None
    report = RobustnessReport(positive, threshold, seed, classifier.normalisation)
    texts, truth = list(texts), list(labels)

    def decided(probabilities: np.ndarray) -> list[str]:
        return decide_labels(probabilities, classifier.labels, classifier.positive_index, threshold)[0]

    if clean_probabilities is None:
        clean_probabilities = classifier.predict_probabilities(texts, batch_size, on_batch)
    accuracy, recall = _scores(truth, decided(clean_probabilities), positive)
    report.rows.append(RobustnessRow(CLEAN, "clean", len(texts), 0, accuracy, recall))
    pooled_truth, pooled_predicted, pooled_changed = [], [], 0
    for family in families:
        copies = obfuscated_copies(texts, family, seed)
        predicted = decided(classifier.predict_probabilities(copies, batch_size, on_batch))
        changed = sum(copy != text for copy, text in zip(copies, texts))
        accuracy, recall = _scores(truth, predicted, positive)
        report.rows.append(RobustnessRow(family, FAMILY_NAMES[family], len(texts), changed, accuracy, recall))
        pooled_truth += truth
        pooled_predicted += predicted
        pooled_changed += changed
    accuracy, recall = _scores(pooled_truth, pooled_predicted, positive)
    report.rows.append(RobustnessRow(ALL_OBFUSCATED, ALL_OBFUSCATED, len(pooled_truth), pooled_changed, accuracy,
                                     recall))
    return report


def measure_robustness(handle, texts: Sequence[str], labels: Sequence[str], threshold: float | None,
                       clean_probabilities: np.ndarray | None, report, cancelled) -> RobustnessReport:
    """Job (the evaluation view): the report with the shared, batch-gated model; report(done) after each
    batch, stopping when cancelled."""
    on_batch = batch_progress(report, cancelled)

    return robustness_report(GatedClassifier(handle), texts, labels, threshold,
                             clean_probabilities=clean_probabilities, on_batch=on_batch)
