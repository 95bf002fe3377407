"""The Review tab's state without a window: ReviewSession labels by threshold, sorts, filters, counts
and turns selections into decisions, all by item."""

from __future__ import annotations

import numpy as np
import pytest

from moderator_app.core.review.session import (FILTER_DECIDED, FILTER_FLAGGED, FILTER_LABEL, FILTER_RELABELLED,
                                               FILTER_UNDECIDED, SORT_DECISION, SORT_ITEM, SORT_LABEL, SORT_SCORE,
                                               SORT_TEXT, ReviewSession, probability_key)

LABELS = ["hate", "not-hate"]
TEXTS = ["Vermin everywhere", "lovely weather", "", "they are filth", "Coffee with friends"]
P_HATE = [0.9, 0.2, np.nan, 0.6, 0.4]  # the empty text has no probabilities


def decide(probabilities: np.ndarray, threshold: float | None):
    """The binary rule of Classifier.decide, positive index 0."""
    threshold = 0.5 if threshold is None else threshold
    empty = np.isnan(probabilities).any(axis=1)
    scores = np.where(empty, np.nan, probabilities[:, 0]).astype(np.float64)
    labels = ["" if gone else ("hate" if p >= threshold else "not-hate") for gone, p in zip(empty, probabilities[:, 0])]
    return labels, scores


@pytest.fixture
def session() -> ReviewSession:
    probabilities = np.array([[p, 1 - p] for p in P_HATE], dtype=np.float32)
    session = ReviewSession()
    session.load(TEXTS, probabilities, LABELS, 0, decide, threshold=0.5)
    return session


def shown(session: ReviewSession) -> list[str]:
    return [session.texts[item] for item in session.rows]


def test_a_threshold_relabels_from_the_stored_probabilities(session):
    assert session.labels == ["hate", "not-hate", "", "hate", "not-hate"]
    assert session.counts().flagged == 2
    session.set_filter(FILTER_FLAGGED)
    assert shown(session) == ["Vermin everywhere", "they are filth"]
    assert session.set_threshold(0.3)  # the flagged filter follows
    assert session.labels == ["hate", "not-hate", "", "hate", "hate"]
    assert shown(session) == ["Vermin everywhere", "they are filth", "Coffee with friends"]
    assert session.counts().shown == 3 and session.counts().total == 5


def test_sorting_puts_missing_values_last_and_keeps_items(session):
    session.sort(SORT_SCORE, descending=True)
    assert [session.item(row) for row in range(5)] == [0, 3, 4, 1, 2]  # the empty text last
    session.sort(SORT_SCORE)
    assert [session.item(row) for row in range(5)] == [1, 4, 3, 0, 2]  # still last
    assert list(session.rows_of([2, 0])) == [4, 3]
    session.sort(SORT_TEXT)
    assert [session.texts[session.item(row)] for row in range(5)] == sorted(TEXTS, key=str.casefold)
    session.sort(SORT_LABEL)  # by label, then by score within it; empty text last
    assert [session.item(row) for row in range(5)] == [0, 3, 4, 1, 2]
    session.sort(probability_key(1), descending=True)
    assert [session.item(row) for row in range(4)] == [1, 4, 3, 0]
    session.sort(SORT_ITEM)
    assert list(session.order) == [0, 1, 2, 3, 4]


def test_sorted_by_label_the_order_follows_the_threshold(session):
    session.sort(SORT_LABEL)
    assert session.set_threshold(0.95)  # nothing is flagged now
    assert [session.labels[session.item(row)] for row in range(5)] == ["not-hate"] * 4 + [""]


def test_decisions_filters_and_search(session):
    items, decisions = session.new_decisions([0, 2, 1], None, "model-a")  # accept; the empty text is left out
    assert items == [0, 1]
    assert [(d.text, d.model_label, d.moderator_label, d.model_id) for d in decisions] == [
        ("Vermin everywhere", "hate", "hate", "model-a"), ("lovely weather", "not-hate", "not-hate", "model-a")]
    assert decisions[0].model_score == pytest.approx(0.9)
    session.set_decisions({0: "hate"})
    items, decisions = session.new_decisions([3], "not-hate", "model-a")
    session.set_decisions({3: decisions[0].moderator_label})
    assert session.is_accepted(0) is True and session.is_accepted(3) is False and session.is_accepted(1) is None
    session.set_filter(FILTER_RELABELLED)
    assert shown(session) == ["they are filth"]
    session.set_filter(FILTER_DECIDED)
    assert shown(session) == ["Vermin everywhere", "they are filth"]
    assert session.set_decisions({1: "not-hate"})  # a decision filter shows other rows now
    assert shown(session) == ["Vermin everywhere", "lovely weather", "they are filth"]
    session.set_filter(FILTER_UNDECIDED, search="COFFEE")
    assert shown(session) == ["Coffee with friends"]
    session.set_filter(FILTER_LABEL, "not-hate", search="")
    assert shown(session) == ["lovely weather", "Coffee with friends"]
    assert session.counts().decided == 3


def test_decisions_found_in_the_store_map_to_items(session):
    found = {"they are filth": ("hate", "not-hate"), "not in the table": ("hate", "hate")}
    assert session.decisions_found(found) == ({3: "hate"}, {3: "not-hate"})


def test_marks_come_from_the_label_the_moderator_saw_not_from_a_later_threshold(session):
    # labels at 0.5: hate, not-hate, (empty text), hate, not-hate; item 1 is accepted as not-hate
    _, decisions = session.new_decisions([1], None, "model-a")
    session.set_decisions({1: "not-hate"}, {1: decisions[0].model_label})
    session.set_decisions({3: "hate"}, {3: "not-hate"})  # from the log: decided against an older label
    session.set_threshold(0.1)  # now item 1 would be 'hate' and item 3 stays 'hate'
    assert session.labels[1] == "hate"
    assert session.is_accepted(1) is True and session.is_accepted(3) is False
    assert session.counts().relabelled == 1 and session.counts().disagreement == 0.5
    session.set_filter(FILTER_RELABELLED)
    assert shown(session) == ["they are filth"]


def test_a_new_load_keeps_sort_and_filter_and_forgets_decisions(session):
    session.sort(SORT_DECISION)
    session.set_filter(FILTER_FLAGGED)
    session.set_decisions({0: "hate"})
    probabilities = np.array([[0.1, 0.9], [0.8, 0.2]], dtype=np.float32)
    session.load(["a", "b"], probabilities, LABELS, 0, decide, threshold=0.5)
    assert session.decisions == [None, None] and shown(session) == ["b"]
    assert session.sort_key == SORT_DECISION
    session.load(["x", "y", "z"], np.ones((3, 3)) / 3, ["a", "b", "c"], None, lambda p, t: (["a"] * 3, p[:, 0]))
    assert not session.is_binary and session.counts().flagged is None and shown(session) == []


def test_rows_are_the_shown_items_in_the_current_order(session):
    assert list(session.rows) == [0, 1, 2, 3, 4] and session.row_count == 5  # no filter
    session.set_filter(FILTER_FLAGGED)
    assert list(session.rows) == [0, 3]  # input order
    session.sort(SORT_SCORE, descending=True)  # 0.9, 0.6, 0.4, 0.2, then the empty text
    assert [int(item) for item in session.order] == [0, 3, 4, 1, 2]
    assert [session.item(row) for row in range(session.row_count)] == [0, 3]
    assert list(session.rows_of([3, 0, 1])) == [1, 0, -1]  # item 1 is hidden
    session.set_threshold(0.1)  # now everything but the empty text is flagged
    assert [session.item(row) for row in range(session.row_count)] == [0, 3, 4, 1]
    assert session.next_undecided(3) == 0  # wraps round
    session.set_decisions({0: "hate"})
    assert session.next_undecided(3) == 1


def test_counts_of_flagged_decided_and_relabelled_items(session):
    # labels: hate, not-hate, (empty text), hate, not-hate
    session.set_decisions({0: "hate", 1: "hate", 3: "not-hate"})  # one accepted, two relabelled
    counts = session.counts()
    assert (counts.total, counts.flagged, counts.decided, counts.shown, counts.relabelled) == (5, 2, 3, 5, 2)
    session.set_decisions({1: None})  # taken back: undecided again
    counts = session.counts()
    assert (counts.decided, counts.relabelled) == (2, 1)
