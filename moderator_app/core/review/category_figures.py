"""A multi-label model against its moderators, category by category: for each category, the items
decided with a model that has it, how many the moderators said it applies to and the model flagged, and
the model's precision, recall and F1 taking the moderators' sets as the truth (scikit-learn's
`precision_recall_fscore_support`, binary per category). The model's side is the set it showed the
moderator (the log's `model_categories`, at the thresholds of that decision), never recomputed; a
category the decision's model did not have is unknown for that item and left out of the category's
figures, as training masks it out of the loss.

From the Review tab's table (`session_category_figures`: the open queue's decided items) or from the
store (`store_category_figures`: the current decision per text under an export filter)."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from moderator_app.core.review.decision import categories_of_text
from moderator_app.core.review.export import ExportFilter, latest_decisions


@dataclass(frozen=True)
class CategoryFigures:
    category: str
    decided: int  # decided items whose model has the category
    moderator_yes: int  # of them, those the moderators said it applies to
    model_yes: int  # those the model flagged in it
    both: int  # flagged by the model and confirmed by the moderators
    precision: float | None  # None: undefined (the model flagged none)
    recall: float | None  # None: the moderators said it applies to none
    f1: float | None

    @property
    def prevalence(self) -> float | None:
        """The share of decided items the category applies to: the F1 an "always yes" model scores
        is 2p/(1+p) of it, the baseline to read F1 against."""
        return self.moderator_yes / self.decided if self.decided else None

    def to_json(self) -> dict:
        return asdict(self) | {"prevalence": self.prevalence}


def category_figures(categories: Sequence[str],
                     decided: Iterable[tuple[Sequence[str], Sequence[str], Sequence[str]]]) -> list[CategoryFigures]:
    """Per category: `decided` holds, per decided item, (the moderator's set, the model's set, the
    categories its model has)."""
    rows = list(decided)
    figures = []
    for category in categories:
        known = [(category in chosen, category in flagged) for chosen, flagged, has in rows if category in has]
        truth = np.asarray([yes for yes, _ in known], dtype=int)
        predicted = np.asarray([yes for _, yes in known], dtype=int)
        precision = recall = f1 = None
        if len(known):
            from sklearn.metrics import precision_recall_fscore_support

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = precision_recall_fscore_support(truth, predicted, average="binary", labels=[0, 1],
                                                        zero_division=np.nan)[:3]
            precision, recall, f1 = (None if math.isnan(value) else float(value) for value in found)
            if not truth.any():
                recall = f1 = None  # nothing to find: recall undefined, and so F1
        figures.append(CategoryFigures(category, len(known), int(truth.sum()), int(predicted.sum()),
                                       int((truth & predicted).sum()), precision, recall, f1))
    return figures


def session_decided_sets(session) -> tuple[list[str], list[tuple]]:
    """(the categories, per decided item (the moderator's set, the model's set seen, the categories)) of
    a ReviewSession of a multi-label model (core.review.session): a copy, to measure on another thread."""
    names = list(session.class_names)
    if not session.multi_label:  # a single-label model's table: no sets of categories
        return [], []
    return names, [(session.decided_categories(item), categories_of_text(session.seen_label(item) or ""), names)
                   for item in range(session.count) if session.decisions[item] is not None]


def session_category_figures(session) -> list[CategoryFigures]:
    """The decided items of a ReviewSession of a multi-label model."""
    return category_figures(*session_decided_sets(session))


def store_category_figures(store, where: ExportFilter = ExportFilter()) -> list[CategoryFigures]:
    """The current decision per text under `where` (as exported), its multi-label ones; [] when none is."""
    decisions = [decision for decision in latest_decisions(store, where)[0] if decision.multi_label]
    categories = list(dict.fromkeys(name for decision in decisions for name in decision.categories))
    return category_figures(categories, ((decision.moderator_categories or (), decision.model_categories or (),
                                          decision.categories) for decision in decisions))


def describe(figure: CategoryFigures) -> str:
    """One line: "hate: 40 decided, 12 yes (model flagged 10, 8 of them right): precision 0.80, …"."""
    def number(value):
        return "—" if value is None else f"{value:.2f}"

    return (f"{figure.category}: {figure.decided:,} decided, {figure.moderator_yes:,} yes (the model flagged "
            f"{figure.model_yes:,}, {figure.both:,} of them confirmed): precision {number(figure.precision)}, "
            f"recall {number(figure.recall)}, F1 {number(figure.f1)}")
