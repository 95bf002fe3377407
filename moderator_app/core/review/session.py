"""The state of one review: the classified items, their class probabilities, the labels a threshold
makes of them, the moderators' decisions, which rows a filter shows and the order a sort puts them in.

Everything is by *item* (the position in the classified input); `order` is the permutation a sort
made, `mask` the items a filter keeps, and `rows` the items shown, in order: a table's row n is item
`rows[n]`. Sorting, filtering and counting are numpy work done once per change, so a front end showing
tens of thousands of rows only looks values up (no Qt filter proxy asking about every row). Qt-free: the Review
tab's table model is a view over a ReviewSession, and a test drives one without a window.

A multi-label model (`category_thresholds` given to load) flags each category whose probability is at
or over that category's threshold: an item's label is the set of flagged categories as the log writes
it ("hate;offensive", "(none)"; core.review.decision.multi_label_text), its score the highest category
probability, and a decision is the set of categories the moderator says apply, kept as the same text.
A category filter shows the items the model flags in one category."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from moderator_app.core.review.decision import categories_of_text, multi_label_text
from moderator_app.core.review.store import Decision

# filter modes
FILTER_ALL, FILTER_FLAGGED, FILTER_LABEL = "all", "flagged", "label"
FILTER_UNDECIDED, FILTER_DECIDED, FILTER_RELABELLED = "undecided", "decided", "relabelled"
FILTER_CATEGORY = "category"  # a multi-label model's items flagged in one category (filter_label)
# filters a new threshold changes (relabelled: by the label seen)
LABEL_FILTERS = (FILTER_FLAGGED, FILTER_LABEL, FILTER_CATEGORY)
DECISION_FILTERS = (FILTER_UNDECIDED, FILTER_DECIDED, FILTER_RELABELLED)

# sort keys; a label's probability sorts by probability_key(index)
SORT_ITEM, SORT_TEXT, SORT_LABEL, SORT_SCORE, SORT_DECISION = "item", "text", "label", "score", "decision"
SORT_UNCERTAINTY = "uncertainty"  # closest to the threshold first (binary; multi-label: any category's);
# smallest top-two margin (multi-class)
LABEL_SORTS = (SORT_LABEL, SORT_DECISION, SORT_UNCERTAINTY)  # orders a new threshold changes

#: (probabilities, threshold) -> (labels with "" for empty texts, scores with NaN for them): Classifier.decide
DecideRule = Callable[[np.ndarray, "float | None"], "tuple[list[str], np.ndarray]"]


def probability_key(label_index: int) -> str:
    return f"probability:{label_index}"


@dataclass(frozen=True)
class Counts:
    total: int
    flagged: int | None  # None unless the model is binary or multi-label (any category flagged)
    decided: int
    shown: int
    relabelled: int = 0  # decided items whose moderator label differs from the model's

    @property
    def disagreement(self) -> float | None:
        """The share of decisions that disagree with the model."""
        return self.relabelled / self.decided if self.decided else None


class ReviewSession:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.probabilities = np.zeros((0, 0), dtype=np.float32)
        self.class_names: list[str] = []
        self.positive_index: int | None = None
        self.threshold: float | None = None
        # a multi-label model's per-category thresholds (None: a single-label model) and, per item, the
        # categories flagged at them (items x categories)
        self.category_thresholds: dict[str, float] | None = None
        self.flags = np.zeros((0, 0), dtype=bool)
        self.labels: list[str] = []
        self.scores = np.zeros(0)
        self.decisions: list[str | None] = []
        # per decided item, the model's label the moderator saw when deciding (the log's model_label):
        # a decision is "accepted" or "relabelled" against it, never against today's threshold
        self.seen_labels: list[str | None] = []
        self.earlier: dict[int, tuple[str, str]] = {}  # item -> (label, model name) decided with another model
        self.extra_columns: list[str] = []  # an imported file's other columns
        self.extras: Sequence[Sequence[str]] = []  # per item, their values
        self.shown_columns: list[str] = []  # those shown in the table
        self.order = np.zeros(0, dtype=np.int64)
        self.sort_key: str | None = None
        self.descending = False
        self.filter_mode, self.filter_label, self.search = FILTER_ALL, "", ""
        self.mask: np.ndarray | None = None  # None: every item is shown
        self.rows = np.zeros(0, dtype=np.int64)  # the shown items in order: row -> item
        self._decide: DecideRule | None = None
        self._folded: list[str] | None = None

    # ------------------------------------------------------------------------------ contents
    def load(self, texts: Sequence[str], probabilities: np.ndarray, class_names: Sequence[str],
             positive_index: int | None, decide: DecideRule | None, threshold: float | None = None,
             category_thresholds: dict[str, float] | None = None) -> None:
        """New items, labelled by `decide` (the classifier's rule) at `threshold`, or for a multi-label
        model (`category_thresholds`, one per class name) by those; no decisions yet. The sort and
        filter in use apply to them."""
        self.texts = list(texts)
        self.probabilities = np.asarray(probabilities)
        self.class_names = list(class_names)
        self.positive_index = None if category_thresholds is not None else positive_index
        self.threshold = None if category_thresholds is not None else threshold
        self.category_thresholds = (None if category_thresholds is None
                                    else {name: float(category_thresholds[name]) for name in self.class_names})
        self._decide = decide
        self.flags = np.zeros((len(self.texts), len(self.class_names)), dtype=bool)
        self.labels, self.scores = self._labelled(threshold)
        self.decisions = [None] * len(self.texts)
        self.seen_labels = [None] * len(self.texts)
        self.earlier = {}
        self.extra_columns, self.extras, self.shown_columns = [], [], []
        self._folded = None
        if self.sort_key is not None and not self._knows_sort_key(self.sort_key):
            self.sort_key = None
        self.order = self._sorted_order() if self.sort_key else np.arange(len(self.texts), dtype=np.int64)
        self.mask = self._compute_mask()
        self._update_rows()

    def set_extras(self, columns: Sequence[str], extras: Sequence[Sequence[str]]) -> None:
        """The imported file's other columns and, per item, their values (kept beside the text)."""
        self.extra_columns = list(columns)
        self.extras = extras  # only read, row by row (a queue's rows are parsed when first shown)
        self.shown_columns = [name for name in self.shown_columns if name in self.extra_columns]

    def extra_value(self, item: int, column: str) -> str:
        if item >= len(self.extras):
            return ""
        values = self.extras[item]
        index = self.extra_columns.index(column)
        return "" if index >= len(values) or values[index] is None else str(values[index])

    def set_threshold(self, threshold: float | None) -> bool:
        """Relabel from the probabilities already computed. True when the order or the shown rows
        may have changed (sorted or filtered by label)."""
        self.threshold = threshold
        if not self.texts:
            return False
        self.labels, self.scores = self._labelled(threshold)
        moved = self.sort_key in LABEL_SORTS
        if moved:
            self.order = self._sorted_order()
        refilter = self.filter_mode in LABEL_FILTERS
        if refilter:
            self.mask = self._compute_mask()
        if moved or refilter:
            self._update_rows()
        return moved or refilter

    def threshold_moves_rows(self) -> bool:
        """Whether a new threshold may change the shown rows or their order (sorted or filtered by label)."""
        return bool(self.texts) and (self.sort_key in LABEL_SORTS or self.filter_mode in LABEL_FILTERS)

    def decisions_move_rows(self) -> bool:
        """Whether new decisions may change the shown rows (a decision filter); never their order."""
        return self.filter_mode in DECISION_FILTERS

    def set_category_thresholds(self, thresholds: dict[str, float]) -> bool:
        """A multi-label model's new per-category thresholds (those not named stay): relabel as
        set_threshold does; True when the order or the shown rows may have changed."""
        self.category_thresholds = {**(self.category_thresholds or {}), **thresholds}
        return self.set_threshold(None)

    def _labelled(self, threshold: float | None) -> tuple[list[str], np.ndarray]:
        if self.multi_label:
            return self._flag_categories()
        if not self.texts or self._decide is None:
            return [], np.zeros(0)
        labels, scores = self._decide(self.probabilities, threshold)
        return list(labels), np.asarray(scores, dtype=np.float64)

    def _flag_categories(self) -> tuple[list[str], np.ndarray]:
        """Each category at or over its threshold; labels "" and scores NaN for empty texts (NaN rows)."""
        probabilities = self.probabilities.astype(np.float64).reshape(len(self.texts), len(self.class_names))
        thresholds = np.asarray([self.category_thresholds[name] for name in self.class_names], dtype=np.float64)
        empty = np.isnan(probabilities).all(axis=1) if self.class_names else np.ones(len(self.texts), dtype=bool)
        self.flags = (np.nan_to_num(probabilities, nan=-1.0) >= thresholds) & ~empty[:, None]
        names = self.class_names
        # one text per pattern of flags, not per row (a 20,000-item queue has a handful of patterns)
        patterns, codes = np.unique(self.flags, axis=0, return_inverse=True)
        texts = [multi_label_text([names[k] for k in np.flatnonzero(pattern)]) for pattern in patterns]
        labels = ["" if blank else texts[code] for blank, code in zip(empty.tolist(), codes.reshape(-1).tolist())]
        scores = np.full(len(self.texts), np.nan)
        if names and not empty.all():
            scores[~empty] = np.nanmax(probabilities[~empty], axis=1)
        return labels, scores

    @property
    def multi_label(self) -> bool:
        return self.category_thresholds is not None

    def flagged_categories(self, item: int) -> tuple[str, ...]:
        """The categories a multi-label model flags for `item` (none for a single-label model)."""
        if not self.multi_label:
            return ()
        return tuple(self.class_names[k] for k in np.flatnonzero(self.flags[item]))

    def decided_categories(self, item: int) -> tuple[str, ...] | None:
        """The categories the moderator decided apply to `item` (None: undecided, or a single-label model)."""
        decision = self.decisions[item]
        return None if decision is None or not self.multi_label else categories_of_text(decision)

    def category_set_label(self, categories: Sequence[str]) -> str:
        """A set of this model's categories as a decision's label text, in the model's order."""
        chosen = set(categories)
        return multi_label_text([name for name in self.class_names if name in chosen])

    @property
    def count(self) -> int:
        return len(self.texts)

    @property
    def is_binary(self) -> bool:
        return self.positive_index is not None

    @property
    def positive_label(self) -> str | None:
        return None if self.positive_index is None else self.class_names[self.positive_index]

    def score(self, item: int) -> float | None:
        value = float(self.scores[item])
        return None if math.isnan(value) else value

    def probability(self, item: int, label_index: int) -> float | None:
        value = float(self.probabilities[item, label_index])
        return None if math.isnan(value) else value

    def is_flagged(self, item: int) -> bool:
        if self.multi_label:
            return bool(self.flags[item].any())
        return self.is_binary and self.labels[item] == self.positive_label

    # ------------------------------------------------------------------------------ decisions
    def set_decisions(self, decided: dict[int, str | None], seen: dict[int, str] | None = None) -> bool:
        """Moderator labels by item, and `seen`: the model's label each was decided against (as logged;
        default: the label shown now). True when the shown rows may have changed (a decision filter).
        The order stays, even when sorted by decision: rows do not jump away while a moderator works."""
        for item, label in decided.items():
            self.decisions[item] = label
            self.seen_labels[item] = None if label is None else (seen or {}).get(item) or self.labels[item]
        if decided and self.decisions_move_rows():
            self.mask = self._compute_mask()
            self._update_rows()
            return True
        return False

    def set_earlier(self, found: dict[str, tuple[str, str]]) -> None:
        """Decisions made with other models (text -> (label, model name)): shown as "decided before"."""
        self.earlier = {item: found[text] for item, text in enumerate(self.texts) if text in found} if found else {}

    def next_undecided(self, after_row: int) -> int | None:
        """The first shown row after `after_row` (wrapping round) whose item is undecided, if any."""
        count = len(self.rows)
        if not count:
            return None
        start = (after_row + 1) % count
        for row in (*range(start, count), *range(start)):
            item = int(self.rows[row])
            if self.decisions[item] is None and self.labels[item]:
                return row
        return None

    def decisions_found(self, found: dict[str, tuple[str, str]]) -> tuple[dict[int, str], dict[int, str]]:
        """The store's earlier decisions (text -> (moderator label, model label seen)) as decisions by
        item and the model's labels they were made against (for set_decisions)."""
        decided = {item: found[text] for item, text in enumerate(self.texts) if text in found}
        return ({item: labels[0] for item, labels in decided.items()},
                {item: labels[1] for item, labels in decided.items()})

    def seen_label(self, item: int) -> str | None:
        """The model's label a decided item was decided against (None: not decided)."""
        return self.seen_labels[item] if self.decisions[item] is not None else None

    def is_accepted(self, item: int) -> bool | None:
        """True: the moderator agreed with the model's label they saw; False: relabelled; None: not decided."""
        decision = self.decisions[item]
        return None if decision is None else decision == self.seen_labels[item]

    def new_decisions(self, items: Sequence[int], moderator_label: str | Sequence[str] | None, model_id: str,
                      **provenance) -> tuple[list[int], list[Decision]]:
        """Decisions to record for `items`: the model's label (accept, `moderator_label` None) or
        `moderator_label`, with the threshold and probabilities seen; `provenance` fills the rest
        (moderator, model_name, queue, queue_id, note, category). For a multi-label model
        `moderator_label` is the set of categories that apply (a sequence, or its label text; empty:
        none of them). Empty texts have nothing to decide and are left out."""
        if self.multi_label and moderator_label is not None:
            chosen = categories_of_text(moderator_label) if isinstance(moderator_label, str) else moderator_label
            unknown = [name for name in chosen if name not in self.class_names]
            if unknown:
                raise ValueError(f"{unknown[0]!r} is not a category of this model")
            moderator_label = self.category_set_label(chosen)
        kept, decisions = [], []
        for item in items:
            model_label = self.labels[item]
            if not model_label:
                continue
            probabilities = {name: round(float(value), 6) for name, value in zip(self.class_names,
                                                                                 self.probabilities[item])}
            decided = model_label if moderator_label is None else moderator_label
            sets = {} if not self.multi_label else dict(
                moderator_categories=categories_of_text(decided), model_categories=self.flagged_categories(item),
                category_thresholds=dict(self.category_thresholds))
            decisions.append(Decision(self.texts[item], model_label, self.score(item), decided, model_id,
                                      threshold=self.threshold, probabilities=probabilities, **sets, **provenance))
            kept.append(item)
        return kept, decisions

    # ------------------------------------------------------------------------------ order
    def sort(self, key: str | None, descending: bool = False) -> None:
        """Order the items by `key` (None: input order); empty texts, missing values and undecided
        rows come last either way."""
        self.sort_key, self.descending = key, descending
        if key is not None and not self._knows_sort_key(key):
            self.sort_key = None
        self.order = self._sorted_order() if self.sort_key else np.arange(len(self.texts), dtype=np.int64)
        self._update_rows()

    @property
    def row_count(self) -> int:
        """How many rows are shown."""
        return len(self.rows)

    def item(self, row: int) -> int:
        """The item shown at `row`."""
        return int(self.rows[row])

    def rows_of(self, items: Sequence[int]) -> np.ndarray:
        """The rows showing `items`; -1 for an item the filter hides."""
        return self.row_lookup()[np.asarray(items, dtype=np.int64)]

    def row_lookup(self) -> np.ndarray:
        """Per item, the row showing it (-1: hidden by the filter)."""
        lookup = np.full(len(self.texts), -1, dtype=np.int64)
        lookup[self.rows] = np.arange(len(self.rows))
        return lookup

    def _update_rows(self) -> None:
        self.rows = self.order if self.mask is None else self.order[self.mask[self.order]]

    def _knows_sort_key(self, key: str) -> bool:
        if key.startswith("probability:"):
            return int(key.partition(":")[2]) < len(self.class_names)
        return key in (SORT_ITEM, SORT_TEXT, SORT_LABEL, SORT_SCORE, SORT_DECISION, SORT_UNCERTAINTY)

    def _sorted_order(self) -> np.ndarray:
        key, descending, count = self.sort_key, self.descending, len(self.texts)
        if key == SORT_TEXT:
            folded = self.folded_texts()
            return np.asarray(sorted(range(count), key=folded.__getitem__, reverse=descending), dtype=np.int64)
        if key in (SORT_LABEL, SORT_DECISION):
            values = self.labels if key == SORT_LABEL else [decision or "" for decision in self.decisions]
            # by label, then by score within a label (empty texts and undecided rows last)
            missing = [value == "" for value in values]
            scores = np.nan_to_num(self.scores, nan=-1.0)
            items = sorted(range(count), key=lambda item: (values[item], -scores[item]), reverse=descending)
            items.sort(key=missing.__getitem__)
            return np.asarray(items, dtype=np.int64)
        if key == SORT_SCORE:
            keys = self.scores.astype(np.float64)
        elif key == SORT_UNCERTAINTY:
            keys = self.uncertainty_distance()
        elif key and key.startswith("probability:"):
            keys = self.probabilities[:, int(key.partition(":")[2])].astype(np.float64)
        else:
            keys = np.arange(count, dtype=np.float64)
        nan = np.isnan(keys)
        keys = np.where(nan, 0.0, keys)
        ranked = np.argsort(-keys if descending else keys, kind="stable")
        return np.concatenate([ranked[~nan[ranked]], ranked[nan[ranked]]]).astype(np.int64)  # NaN last

    def uncertainty_distance(self) -> np.ndarray:
        """Per item, how sure the model is (small: unsure): the distance of the flagged label's
        probability from the threshold (binary), or the top-two probability margin; NaN for empty texts."""
        count = len(self.texts)
        if not count or self.probabilities.size == 0:
            return np.full(count, np.nan)
        probabilities = self.probabilities.astype(np.float64)
        if self.multi_label:  # the category closest to its threshold
            thresholds = np.asarray([self.category_thresholds[name] for name in self.class_names])
            distance = np.abs(probabilities - thresholds).min(axis=1)
        elif self.is_binary:
            threshold = 0.5 if self.threshold is None else self.threshold
            distance = np.abs(probabilities[:, self.positive_index] - threshold)
        else:
            top_two = -np.partition(-probabilities, 1, axis=1)[:, :2]
            distance = top_two[:, 0] - top_two[:, 1]
        empty = np.fromiter((not label for label in self.labels), dtype=bool, count=count)
        return np.where(empty, np.nan, distance)

    # ------------------------------------------------------------------------------ filter
    def set_filter(self, mode: str, label: str = "", search: str | None = None) -> None:
        """Show all items, flagged ones, one label, undecided, decided or relabelled ones; and only
        those containing `search` (case-insensitive; None keeps the current search)."""
        self.filter_mode, self.filter_label = mode, label
        if search is not None:
            self.search = search
        self.mask = self._compute_mask()
        self._update_rows()

    def set_search(self, search: str) -> None:
        self.set_filter(self.filter_mode, self.filter_label, search)

    def folded_texts(self) -> list[str]:
        if self._folded is None:
            self._folded = [text.casefold() for text in self.texts]
        return self._folded

    def _compute_mask(self) -> np.ndarray | None:
        count, mode = len(self.texts), self.filter_mode
        if mode == FILTER_ALL and not self.search:
            return None
        labels = np.asarray(self.labels, dtype=object)
        decided = np.fromiter((decision is not None for decision in self.decisions), dtype=bool, count=count)
        if mode == FILTER_FLAGGED and self.multi_label:
            mask = self.flags.any(axis=1)
        elif mode == FILTER_FLAGGED:
            mask = labels == self.positive_label if self.is_binary else np.zeros(count, dtype=bool)
        elif mode == FILTER_CATEGORY:
            known = self.multi_label and self.filter_label in self.class_names
            mask = self.flags[:, self.class_names.index(self.filter_label)] if known else np.zeros(count, dtype=bool)
        elif mode == FILTER_LABEL:
            mask = labels == self.filter_label
        elif mode == FILTER_UNDECIDED:
            mask = ~decided
        elif mode == FILTER_DECIDED:
            mask = decided
        elif mode == FILTER_RELABELLED:
            mask = decided & (np.asarray(self.decisions, dtype=object) != np.asarray(self.seen_labels, dtype=object))
        else:
            mask = np.ones(count, dtype=bool)
        mask = np.asarray(mask, dtype=bool).reshape(count)
        if self.search:
            needle = self.search.casefold()
            mask &= np.fromiter((needle in text for text in self.folded_texts()), dtype=bool, count=count)
        return mask

    # ------------------------------------------------------------------------------ counts
    def counts(self) -> Counts:
        total = len(self.texts)
        # list.count and map(operator.ne) run in C: counts are shown after every filter and decision
        flagged = (int(self.flags.any(axis=1).sum()) if self.multi_label
                   else self.labels.count(self.positive_label) if self.is_binary else None)
        undecided = self.decisions.count(None)
        decided = total - undecided
        shown = total if self.mask is None else int(self.mask.sum())
        # against the label each decision saw; an undecided item has None for both, which are equal
        relabelled = sum(map(operator.ne, self.decisions, self.seen_labels))
        return Counts(total, flagged, decided, shown, relabelled)
