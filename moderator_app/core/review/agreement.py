"""How often moderators agree: Cohen's kappa for each pair, Krippendorff's alpha over all of them, and
each moderator against the model, with the number of items each figure rests on and a bootstrap
confidence interval.

The unit is a text: each moderator's current decision of it (their latest row under the filter; an
undo back to undecided counts as no decision). The model's label is the one the moderator saw (the
log's `model_label`, at the threshold of that decision), never recomputed. The statistics come from
the well-kept libraries — scikit-learn's `cohen_kappa_score`, `krippendorff.alpha` (nominal) and
scipy's `bootstrap` (percentile intervals over items, seeded) — not from code of ours.

A multi-label model's decisions are sets of categories: measure_agreement compares whole sets (a label is
the set as text), and measure_category_agreement each category on its own, a decision being "yes" or
"no" for it (left out where the decision's model did not have the category).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from moderator_app.core.errors import UserError
from moderator_app.core.review.export import ExportFilter, decisions_per_moderator

MIN_ITEMS = 2  # fewer common items than this give no figure
DEFAULT_RESAMPLES = 1000


@dataclass(frozen=True)
class Figure:
    """One agreement statistic: its value (None where undefined, e.g. both raters gave one label to
    everything), the items it rests on and the bootstrap interval (None where it cannot be drawn)."""

    value: float | None
    items: int
    low: float | None = None
    high: float | None = None

    def describe(self) -> str:
        if self.value is None:
            return f"— (n={self.items})"
        interval = f" [{self.low:.2f}, {self.high:.2f}]" if self.low is not None else ""
        return f"{self.value:.2f}{interval} (n={self.items})"


@dataclass(frozen=True)
class PairAgreement:
    first: str
    second: str
    kappa: Figure
    agreement: float | None  # the plain share of common items both labelled alike


@dataclass(frozen=True)
class ModelAgreement:
    moderator: str
    kappa: Figure
    agreement: float | None


@dataclass(frozen=True)
class AgreementReport:
    moderators: list[str]
    labels: list[str]
    items: int  # texts decided by at least one moderator under the filter
    shared_items: int  # texts decided by at least two
    alpha: Figure
    pairs: list[PairAgreement] = field(default_factory=list)
    model: list[ModelAgreement] = field(default_factory=list)
    confidence: float = 0.95

    def kappa_matrix(self) -> list[list[float | None]]:
        """Pairwise kappa as a moderators × moderators matrix (1 on the diagonal), for a heatmap."""
        index = {name: position for position, name in enumerate(self.moderators)}
        matrix: list[list[float | None]] = [[1.0 if row == column else None for column in self.moderators]
                                            for row in self.moderators]
        for pair in self.pairs:
            matrix[index[pair.first]][index[pair.second]] = pair.kappa.value
            matrix[index[pair.second]][index[pair.first]] = pair.kappa.value
        return matrix

    def to_json(self) -> dict:
        return asdict(self) | {"kappa_matrix": self.kappa_matrix()}


def measure_agreement(store, where: ExportFilter = ExportFilter(), *, resamples: int = DEFAULT_RESAMPLES,
                      confidence: float = 0.95, seed: int = 0) -> AgreementReport:
    """Agreement between the moderators of `store`'s decisions under `where` (queue, dates, model; a
    moderator filter would leave nobody to agree with and is refused)."""
    if where.moderator:
        raise UserError("Agreement compares moderators, so it cannot be limited to one.",
                        "Leave {moderator} out.", setting="moderator")
    return agreement_of(decisions_per_moderator(store, where), resamples, confidence, seed)


def measure_category_agreement(store, where: ExportFilter = ExportFilter(), *, resamples: int = DEFAULT_RESAMPLES,
                               confidence: float = 0.95, seed: int = 0) -> dict[str, AgreementReport]:
    """For multi-label decisions, agreement category by category: each decision as "yes" or "no" for the
    category (the moderator's set, and the model's set it saw), among the decisions whose model has
    it; {} when no decision under `where` is multi-label. (measure_agreement compares the whole sets.)"""
    if where.moderator:
        raise UserError("Agreement compares moderators, so it cannot be limited to one.",
                        "Leave {moderator} out.", setting="moderator")
    decided = decisions_per_moderator(store, where)
    multi = [decision for by_moderator in decided.values() for decision in by_moderator.values()
             if decision.multi_label]
    categories = list(dict.fromkeys(name for decision in multi for name in decision.categories))
    reports = {}
    for category in categories:
        def answer(categories_given) -> str:
            return "yes" if category in (categories_given or ()) else "no"

        per_category = {text: {name: replace(decision, moderator_label=answer(decision.moderator_categories),
                                             model_label=answer(decision.model_categories))
                               for name, decision in by_moderator.items()
                               if decision.multi_label and category in decision.categories}
                        for text, by_moderator in decided.items()}
        reports[category] = agreement_of({text: found for text, found in per_category.items() if found},
                                          resamples, confidence, seed)
    return reports


def measure_with_categories(store, where: ExportFilter = ExportFilter(), **options
                            ) -> tuple[AgreementReport, dict[str, AgreementReport]]:
    """measure_agreement and measure_category_agreement ({} without multi-label decisions) together."""
    return measure_agreement(store, where, **options), measure_category_agreement(store, where, **options)


def agreement_of(decided: dict[str, dict], resamples: int = DEFAULT_RESAMPLES, confidence: float = 0.95,
                 seed: int = 0) -> AgreementReport:
    """Agreement over `decided`, {text: {moderator: Decision}}, by their labels."""
    moderators = sorted({name for by_moderator in decided.values() for name in by_moderator})
    labels = sorted({decision.moderator_label for by_moderator in decided.values()
                     for decision in by_moderator.values()}
                    | {decision.model_label for by_moderator in decided.values()
                       for decision in by_moderator.values() if decision.model_label})
    code = {label: number for number, label in enumerate(labels)}
    texts = list(decided)
    ratings = np.full((len(moderators), len(texts)), np.nan)
    model_codes = np.full((len(moderators), len(texts)), np.nan)
    for column, text in enumerate(texts):
        for row, name in enumerate(moderators):
            decision = decided[text].get(name)
            if decision is not None:
                ratings[row, column] = code[decision.moderator_label]
                if decision.model_label in code:
                    model_codes[row, column] = code[decision.model_label]
    rated = ~np.isnan(ratings)
    shared = rated.sum(0) >= 2
    bootstrap = _Bootstrap(resamples, confidence, seed)
    alpha = bootstrap.figure(lambda columns: _alpha(ratings[:, columns], len(labels)),
                             np.flatnonzero(shared))
    pairs = []
    for (i, first), (j, second) in itertools.combinations(enumerate(moderators), 2):
        common = np.flatnonzero(rated[i] & rated[j])
        pairs.append(PairAgreement(first, second, bootstrap.figure(
            lambda columns: _kappa(ratings[i, columns], ratings[j, columns], len(labels)), common),
            _share(ratings[i, common], ratings[j, common])))
    model = []
    for i, name in enumerate(moderators):
        common = np.flatnonzero(rated[i] & ~np.isnan(model_codes[i]))
        model.append(ModelAgreement(name, bootstrap.figure(
            lambda columns: _kappa(ratings[i, columns], model_codes[i, columns], len(labels)), common),
            _share(ratings[i, common], model_codes[i, common])))
    return AgreementReport(moderators, labels, len(texts), int(shared.sum()), alpha, pairs, model, confidence)


# ----------------------------------------------------------------------------------------------------
class _Bootstrap:
    """A statistic over a set of item columns, with scipy's percentile bootstrap over those items."""

    def __init__(self, resamples: int, confidence: float, seed: int):
        self.resamples, self.confidence, self.seed = resamples, confidence, seed

    def figure(self, statistic, columns: np.ndarray) -> Figure:
        if len(columns) < MIN_ITEMS:
            return Figure(None, len(columns))
        value = statistic(columns)
        if value is None:
            return Figure(None, len(columns))
        if self.resamples <= 0:
            return Figure(value, len(columns))
        from scipy.stats import bootstrap

        def resampled(chosen):
            found = statistic(chosen.astype(int))
            return np.nan if found is None else found

        with warnings.catch_warnings():  # degenerate resamples (one label only) are nan: dropped below
            warnings.simplefilter("ignore")
            result = bootstrap((columns,), resampled, vectorized=False, n_resamples=self.resamples,
                               confidence_level=self.confidence, method="percentile",
                               rng=np.random.default_rng(self.seed))
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if math.isnan(low) or math.isnan(high):
            return Figure(value, len(columns))
        return Figure(value, len(columns), low, high)


def _kappa(first: np.ndarray, second: np.ndarray, label_count: int) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns, and answers nan, where agreement by chance is 1
        value = cohen_kappa_score(first.astype(int), second.astype(int), labels=list(range(label_count)))
    return None if math.isnan(value) else float(value)


def _alpha(ratings: np.ndarray, label_count: int) -> float | None:
    import krippendorff

    values = ratings[~np.isnan(ratings)]
    if ratings.shape[1] < MIN_ITEMS or len(np.unique(values)) < 2:
        return None  # one label given to everything: agreement by chance is total, alpha undefined
    return float(krippendorff.alpha(reliability_data=ratings, value_domain=list(range(label_count)),
                                    level_of_measurement="nominal"))


def _share(first: np.ndarray, second: np.ndarray) -> float | None:
    return float(np.mean(first == second)) if len(first) else None
