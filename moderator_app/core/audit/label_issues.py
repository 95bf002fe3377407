"""Likely label errors: rows whose given label the data itself contradicts.

Out-of-sample class probabilities come from a logistic regression cross-validated over every row
(scikit-learn's `cross_val_predict`, stratified folds, seeded), so that no row is scored by a model
that saw it; cleanlab's `find_label_issues` (confident learning) decides which rows are issues and
ranks them by self-confidence, the out-of-sample probability of the given label. Each suspect has
the label the evidence points to (the most probable one) and a score, 1 - self-confidence: 0.97
means the data gives the row's label a probability of 0.03."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moderator_app.core.errors import UserError

FOLDS = 5
RANKINGS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")


@dataclass
class LabelIssues:
    probabilities: np.ndarray  # (rows, labels), out of sample
    quality: np.ndarray  # cleanlab's label quality per row (self-confidence): low is suspicious
    flagged: np.ndarray  # row indices cleanlab finds to be issues, the most suspicious first
    folds: int
    note: str = ""  # why there are none, when there are none

    def score(self, row: int) -> float:
        return float(1.0 - self.quality[row])

    def suggested(self, row: int) -> int:
        return int(np.argmax(self.probabilities[row]))

    def ranking(self) -> np.ndarray:
        """Every row, the flagged ones first (in cleanlab's order), then the rest by quality."""
        others = np.ones(len(self.quality), dtype=bool)
        others[self.flagged] = False
        rest = np.flatnonzero(others)
        return np.concatenate([self.flagged, rest[np.argsort(self.quality[rest], kind="stable")]]).astype(int)


def out_of_sample_probabilities(features, label_ids: np.ndarray, n_labels: int, seed: int = 12345,
                                folds: int = FOLDS) -> np.ndarray:
    """Class probabilities of each row from a logistic regression trained on the other folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    classifier = LogisticRegression(max_iter=2000, C=4.0)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(classifier, features, label_ids, cv=splitter, method="predict_proba")
    if probabilities.shape[1] != n_labels:  # cannot happen with stratified folds of >= `folds` rows a label
        raise UserError("A label is missing from a cross-validation fold.")
    return probabilities.astype(np.float64)


def find_issues(features, label_ids: np.ndarray, n_labels: int, seed: int = 12345,
                ranked_by: str = "self_confidence") -> LabelIssues:
    """Cross-validated probabilities and cleanlab's issues, ranked by `ranked_by` (one of RANKINGS)."""
    try:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        raise UserError("Finding label errors needs cleanlab, which is not installed.",
                        "Install it with: pip install 'moderator-app[audit]'.") from None
    label_ids = np.asarray(label_ids, dtype=int)
    counts = np.bincount(label_ids, minlength=n_labels)
    folds = int(min(FOLDS, counts.min()))
    if folds < 2:
        rare = int(np.argmin(counts))
        empty = np.zeros(len(label_ids), dtype=int)
        return LabelIssues(np.full((len(label_ids), n_labels), np.nan), np.ones(len(label_ids)), empty[:0], 0,
                           note=f"label {rare} has {counts[rare]} row(s); cross-validation needs at least 2 of each "
                                "label, so no label errors were looked for")
    probabilities = out_of_sample_probabilities(features, label_ids, n_labels, seed, folds)
    quality = get_label_quality_scores(label_ids, probabilities, method=ranked_by)
    flagged = find_label_issues(label_ids, probabilities, return_indices_ranked_by=ranked_by, n_jobs=1)
    return LabelIssues(probabilities, quality, np.asarray(flagged, dtype=int), folds)
