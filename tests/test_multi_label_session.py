"""A multi-label model's review without a window: ReviewSession flags each category at its own
threshold, filters by category, turns a set of categories into a decision for the log, and measures
the model against the moderators per category (core.review.category_figures), from the table and from
the store."""

from __future__ import annotations

import numpy as np
import pytest

from moderator_app.core.review.category_figures import (category_figures, session_category_figures,
                                                        store_category_figures)
from moderator_app.core.review.decision import NO_CATEGORY
from moderator_app.core.review.session import (FILTER_CATEGORY, FILTER_FLAGGED, FILTER_LABEL, FILTER_RELABELLED,
                                               SORT_UNCERTAINTY, ReviewSession)
from moderator_app.core.review.store import DecisionStore

CATEGORIES = ["hate", "offensive"]
TEXTS = ["vermin, all of them", "you idiot", "", "lovely weather", "filthy idiots"]
PROBABILITIES = np.array([[0.9, 0.7], [0.2, 0.8], [np.nan, np.nan], [0.1, 0.05], [0.55, 0.3]], dtype=np.float32)
THRESHOLDS = {"hate": 0.6, "offensive": 0.5}


@pytest.fixture
def session() -> ReviewSession:
    session = ReviewSession()
    session.load(TEXTS, PROBABILITIES, CATEGORIES, None, None, category_thresholds=THRESHOLDS)
    return session


def shown(session):
    return [session.texts[item] for item in session.rows]


def test_each_category_is_flagged_at_its_own_threshold(session):
    assert session.multi_label and not session.is_binary
    assert session.labels == ["hate;offensive", "offensive", "", NO_CATEGORY, NO_CATEGORY]  # 0.55 < hate's 0.6
    assert [session.flagged_categories(item) for item in range(5)] == [("hate", "offensive"), ("offensive",), (),
                                                                      (), ()]
    assert session.score(0) == pytest.approx(0.9) and session.score(2) is None
    assert session.counts().flagged == 2 and [session.is_flagged(item) for item in range(5)] == [True, True, False,
                                                                                                 False, False]
    assert session.set_category_thresholds({"hate": 0.5}) is False  # nothing sorted or filtered by label
    assert session.labels[4] == "hate" and session.counts().flagged == 3


def test_filters_by_category_and_by_any_category_follow_the_thresholds(session):
    session.set_filter(FILTER_CATEGORY, "offensive")
    assert shown(session) == ["vermin, all of them", "you idiot"]
    session.set_filter(FILTER_CATEGORY, "hate")
    assert shown(session) == ["vermin, all of them"]
    assert session.set_category_thresholds({"hate": 0.5}) is True
    assert shown(session) == ["vermin, all of them", "filthy idiots"]
    session.set_filter(FILTER_FLAGGED)
    assert shown(session) == ["vermin, all of them", "you idiot", "filthy idiots"]
    session.set_filter(FILTER_LABEL, NO_CATEGORY)
    assert shown(session) == ["lovely weather"]
    session.set_filter(FILTER_CATEGORY, "no such category")
    assert shown(session) == []


def test_uncertainty_puts_the_item_with_a_category_closest_to_its_threshold_first(session):
    session.sort(SORT_UNCERTAINTY)
    assert shown(session)[:2] == ["filthy idiots", "vermin, all of them"]  # 0.05 from hate's; 0.2 from offensive's
    assert shown(session)[-1] == ""


def test_a_decision_is_the_set_of_categories_and_accepting_takes_the_models(session):
    items, decisions = session.new_decisions([0, 1, 2], ["offensive", "hate"], "sha256:ml", moderator="ann")
    assert items == [0, 1]  # the empty text has nothing to decide
    first = decisions[0]
    assert first.moderator_categories == ("hate", "offensive") and first.moderator_label == "hate;offensive"
    assert first.model_categories == ("hate", "offensive") and first.accepted and first.threshold is None
    assert first.category_thresholds == THRESHOLDS and first.probabilities == {"hate": 0.9, "offensive": 0.7}
    assert decisions[1].model_categories == ("offensive",) and not decisions[1].accepted
    _, none = session.new_decisions([3, 4], [], "sha256:ml")
    assert [decision.moderator_categories for decision in none] == [(), ()]
    assert [decision.moderator_label for decision in none] == [NO_CATEGORY, NO_CATEGORY]
    _, accepted = session.new_decisions([1], None, "sha256:ml")
    assert accepted[0].moderator_categories == ("offensive",) and accepted[0].accepted
    with pytest.raises(ValueError, match="'threat' is not a category"):
        session.new_decisions([0], ["threat"], "sha256:ml")


def test_decided_sets_show_as_accepted_or_relabelled_and_filter_so(session):
    _, decisions = session.new_decisions([0, 1], "hate;offensive", "sha256:ml")
    session.set_decisions({0: decisions[0].moderator_label, 1: decisions[1].moderator_label})
    assert session.decided_categories(0) == ("hate", "offensive") and session.decided_categories(3) is None
    assert session.is_accepted(0) and not session.is_accepted(1) and session.counts().relabelled == 1
    session.set_filter(FILTER_RELABELLED)
    assert shown(session) == ["you idiot"]


def test_a_single_label_load_after_a_multi_label_one_is_single_label_again(session):
    session.load(["a"], np.array([[0.8, 0.2]]), ["hate", "not-hate"], 0,
                 lambda p, t: (["hate"], np.array([0.8])), threshold=0.5)
    assert not session.multi_label and session.labels == ["hate"] and session.flagged_categories(0) == ()
    assert session.counts().flagged == 1
    session.set_decisions({0: "hate"})
    assert session_category_figures(session) == []  # no sets of categories to measure


def test_figures_per_category_take_the_moderators_sets_as_truth_and_skip_unknown_categories():
    decided = [(("hate",), ("hate", "offensive"), CATEGORIES), (("hate", "offensive"), ("hate",), CATEGORIES),
               ((), ("offensive",), CATEGORIES), ((), (), CATEGORIES), (("threat",), (), ["threat"])]
    hate, offensive, threat = category_figures([*CATEGORIES, "threat"], decided)
    assert (hate.decided, hate.moderator_yes, hate.model_yes, hate.both) == (4, 2, 2, 2)
    assert hate.precision == hate.recall == hate.f1 == 1.0 and hate.prevalence == 0.5
    assert (offensive.moderator_yes, offensive.model_yes, offensive.both) == (1, 2, 0)
    assert offensive.precision == 0.0 and offensive.recall == 0.0
    assert threat.decided == 1 and threat.precision is None and threat.recall == 0.0  # the model flagged none


def test_figures_from_the_table_and_from_the_store_agree(session, tmp_path):
    store = DecisionStore(tmp_path / "d.sqlite3")
    for items, chosen in (([0], ["hate"]), ([1], ["offensive"]), ([3], []), ([4], ["hate"])):
        kept, decisions = session.new_decisions(items, chosen, "sha256:ml", moderator="ann")
        session.set_decisions({kept[0]: store.record(decisions[0]).moderator_label},
                              {kept[0]: decisions[0].model_label})
    from_table, from_store = session_category_figures(session), store_category_figures(store)
    assert from_table == from_store
    hate, offensive = from_table
    assert (hate.decided, hate.moderator_yes, hate.model_yes, hate.both, hate.recall) == (4, 2, 1, 1, 0.5)
    assert (offensive.model_yes, offensive.both, offensive.precision) == (2, 1, 0.5)
    store.close()
