"""Likely label errors: rows whose given label the data itself contradicts.

Out-of-sample class probabilities come from three views of the data whose mistakes differ, averaged:
- a logistic regression on the frozen embeddings (every layer's, `embeddings.embed_texts(all_layers)`),
- a logistic regression on TF-IDF word 1–2-grams and character 2–5-grams of the texts (when given),
  which sees the exact words and spellings an embedding blurs,
both cross-validated over every row (scikit-learn's `cross_val_predict`, stratified folds, seeded), so
that no row is scored by a model that saw it, and
- the label shares among each row's 25 nearest other rows in the embedding (scikit-learn's
  `KNeighborsClassifier`, the row itself left out as cleanlab's Datalab does), a local vote where the
  two linear models draw one boundary.
cleanlab's `find_label_issues` (confident learning) decides which rows are issues and ranks them by
self-confidence, the out-of-sample probability of the given label (for two labels every cleanlab
ranking orders the rows alike). On tweeteval_hate with 5 % planted flips the average finds clearly more
of them among its top rows than any one view (benchmarks/README.md). Each suspect has the label the
evidence points to (the most probable one) and a score, 1 - self-confidence: 0.97 means the data gives
the row's label a probability of 0.03.

A fourth view can be asked for ("margins", not in the default): the area under the margin of a small
network trained on each fold's other rows (`training_margins`). Alone it beats each of the three, but
averaged with them it found no more planted flips than the three did, beyond run-to-run noise
(benchmarks/README.md), so the default stays at three."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from moderator_app.core.audit.embeddings import AuditCancelled
from moderator_app.core.errors import UserError

FOLDS = 5
NEIGHBOURS = 25
NEIGHBOUR_MEMORY_MIB = 256
RANKINGS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
VIEWS = ("embeddings", "tfidf", "neighbours")  # the default
ALL_VIEWS = (*VIEWS, "margins")  # "margins": the area under the margin of an MLP per fold (training_margins)
METHOD = ("the average of three out-of-sample probabilities: logistic regression on the frozen mean-pooled "
          "embeddings of every layer of {model} and logistic regression on TF-IDF word and character n-grams "
          "({folds}-fold cross_val_predict each), and the labels of the {neighbours} nearest rows in the "
          "embedding; cleanlab find_label_issues ranked by self-confidence")
VIEW_TEXTS = {
    "embeddings": "logistic regression on the frozen mean-pooled embeddings of every layer of {model} "
                  "({folds}-fold cross_val_predict)",
    "tfidf": "logistic regression on TF-IDF word and character n-grams ({folds}-fold cross_val_predict)",
    "neighbours": "the labels of the {neighbours} nearest rows in the embedding",
    "margins": "the area under the margin of an MLP on the embeddings trained on each of {folds} folds' others",
}


def method_text(views: Sequence[str], model: str, folds: int) -> str:
    """How the label errors were found, for the report."""
    if tuple(views) == VIEWS:
        return METHOD.format(model=model, folds=folds, neighbours=NEIGHBOURS)
    described = "; ".join(VIEW_TEXTS[view].format(model=model, folds=folds, neighbours=NEIGHBOURS) for view in views)
    lead = "the average of: " if len(views) > 1 else ""
    return f"{lead}{described}; cleanlab find_label_issues ranked by self-confidence"


@dataclass
class LabelIssues:
    probabilities: np.ndarray  # (rows, labels), out of sample
    quality: np.ndarray  # cleanlab's label quality per row (self-confidence): low is suspicious
    flagged: np.ndarray  # row indices cleanlab finds to be issues, the most suspicious first
    folds: int
    note: str = ""  # why there are none, when there are none
    views: tuple[str, ...] = ()  # the views whose probabilities were averaged

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
                                folds: int = FOLDS, C: float = 4.0) -> np.ndarray:
    """Class probabilities of each row from a logistic regression trained on the other folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    classifier = LogisticRegression(max_iter=3000, C=C)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(classifier, features, label_ids, cv=splitter, method="predict_proba")
    if probabilities.shape[1] != n_labels:  # cannot happen with stratified folds of >= `folds` rows a label
        raise UserError("A label is missing from a cross-validation fold.")
    return probabilities.astype(np.float64)


def tfidf_features(texts: Sequence[str]):
    """Sparse TF-IDF of word 1–2-grams and character 2–5-grams (within words), side by side. The
    vocabulary is fitted on every text without its label (no label leaks across folds)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = list(texts)
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    characters = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                 max_features=200_000)
    try:
        blocks = [words.fit_transform(texts), characters.fit_transform(texts)]
    except ValueError:  # too few texts for min_df=2 to leave a term
        blocks = [TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).fit_transform(texts)]
    return hstack(blocks).tocsr()


def neighbour_probabilities(features, label_ids: np.ndarray, n_labels: int, k: int = NEIGHBOURS) -> np.ndarray:
    """Each row's label shares among its k nearest other rows (the row itself left out), floored at 0.001.
    The exact search goes through the distances in blocks of at most NEIGHBOUR_MEMORY_MIB (scikit-learn's
    `working_memory`; its default of 1 GiB puts up to 1 GiB more at the audit's peak for 20,000 rows)."""
    from sklearn import config_context
    from sklearn.neighbors import KNeighborsClassifier

    k = int(min(k, len(label_ids) - 1))
    knn = KNeighborsClassifier(n_neighbors=k + 1).fit(features, label_ids)
    probabilities = np.zeros((len(label_ids), n_labels))
    with config_context(working_memory=NEIGHBOUR_MEMORY_MIB):
        probabilities[:, knn.classes_] = knn.predict_proba(features)
    own = np.eye(n_labels)[label_ids]
    probabilities = (probabilities - own / (k + 1)) * (k + 1) / k  # the row's own vote taken out
    probabilities = np.clip(probabilities, 1e-3, None)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def find_issues(features, label_ids: np.ndarray, n_labels: int, seed: int = 12345,
                ranked_by: str = "self_confidence", texts: Sequence[str] | None = None,
                neighbour_columns: int | None = None, views: Sequence[str] = VIEWS,
                report: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> LabelIssues:
    """Out-of-sample probabilities averaged over `views` and cleanlab's issues, ranked by `ranked_by`
    (one of RANKINGS). "tfidf" needs `texts`; "neighbours" looks in the first `neighbour_columns`
    columns of `features` (default: all), and "margins" (the area under the margin, `training_margins`) takes
    it as the width of one layer's block. views=("embeddings",) is the logistic regression alone.
    `report(done, total)` is called and `cancelled()` asked between two views (AuditCancelled)."""
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
    unknown = [view for view in views if view not in ALL_VIEWS]
    if unknown or not views:
        raise UserError(f"Unknown label-error view {', '.join(unknown) or '(none given)'}.",
                        f"Choose among {', '.join(ALL_VIEWS)}.")
    views = tuple(view for view in views if view != "tfidf" or texts is not None)
    parts, held_out = [], []  # held_out: the views' out-of-sample probabilities (all but the margins')
    for done, view in enumerate(views):
        if cancelled is not None and cancelled():
            raise AuditCancelled("The audit was cancelled; nothing was written.")
        if report is not None:
            report(done, len(views))
        if view == "embeddings":
            parts.append(out_of_sample_probabilities(features, label_ids, n_labels, seed, folds))
        elif view == "tfidf":
            parts.append(out_of_sample_probabilities(tfidf_features(texts), label_ids, n_labels, seed, folds))
        elif view == "margins":
            margin_view, network_held_out = _margin_view(features, label_ids, n_labels, seed, folds, neighbour_columns,
                                                         cancelled)
            parts.append(margin_view)
            continue
        elif view == "neighbours":
            columns = np.asarray(features)[:, :neighbour_columns] if neighbour_columns else features
            parts.append(neighbour_probabilities(columns, label_ids, n_labels))
        held_out.append(parts[-1])
    probabilities = np.mean(parts, axis=0)
    quality = get_label_quality_scores(label_ids, probabilities, method=ranked_by)
    if "margins" not in views:
        flagged = find_label_issues(label_ids, probabilities, return_indices_ranked_by=ranked_by, n_jobs=1)
    else:
        # The margins are taken on the rows a network trained on, so their probabilities are not out of sample and
        # would raise confident learning's per-label thresholds until next to nothing is flagged. cleanlab estimates
        # how many rows are issues from the out-of-sample views (or, with the margins alone, from the network's
        # held-out predictions), and the averaged ranking picks which.
        from cleanlab.count import num_label_issues

        estimate = np.mean(held_out, axis=0) if held_out else network_held_out
        count = int(num_label_issues(label_ids, estimate))
        flagged = np.argsort(quality, kind="stable")[:count]
    return LabelIssues(probabilities, quality, np.asarray(flagged, dtype=int), folds, views=views)


def _margin_view(features, label_ids: np.ndarray, n_labels: int, seed: int, folds: int,
                 block_columns: int | None, cancelled) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities from the area under the margin of an MLP trained per fold, core/audit/training_margins;
    the MLPs' held-out probabilities), on the features with each layer's block at unit length (the
    concatenation is scaled to unit length)."""
    from sklearn.model_selection import StratifiedKFold

    from moderator_app.core.audit.training_margins import margin_probabilities, training_margins

    features = np.asarray(features, dtype=np.float32)
    blocks = features.shape[1] // block_columns if block_columns else 1
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(features, label_ids)
    aum, shares, held_out = training_margins(features * np.float32(np.sqrt(blocks)), label_ids, n_labels, splits, seed,
                                             cancelled)
    return margin_probabilities(aum, shares, label_ids), held_out
