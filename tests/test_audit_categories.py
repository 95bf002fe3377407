"""The data audit of a multi-label run (issue 24 meets issue 27): per category, on the rows that know it.

A small separable fixture: a source labelling both categories (hate by the hate words, offensive by the
offensive words) and a source labelling hate only (offensive unknown), whose rows carry offensive words
while that category is unknown there. The embedding is test_audit's bag of words."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from test_audit import bag_of_words, run_cli
from tiny_models import CATEGORY_WORDS, NEUTRAL_WORDS, write_csv

from moderator_app.core.audit.audit import run_audit, summary_lines
from moderator_app.core.config import TrainingConfig
from moderator_app.core.errors import SettingsError
from moderator_app.core.evaluation.categories import UNKNOWN

HATE_WORDS, OFFENSIVE_WORDS = CATEGORY_WORDS[0], CATEGORY_WORDS[1]
FLIPPED_HATE = (5, 40, 77, 118)  # rows of the first source whose hate value the fixture flips


def text_with(rng: random.Random, index: int, hate: bool, offensive: bool) -> str:
    words = rng.sample(NEUTRAL_WORDS, 6)
    words += rng.sample(HATE_WORDS, 3) if hate else []
    words += rng.sample(OFFENSIVE_WORDS, 3) if offensive else []
    rng.shuffle(words)
    return " ".join(words) + f" n{index}"


def yes_no(flag) -> str:
    return "yes" if flag else "no"


@pytest.fixture
def category_sources(tmp_path):
    """(sources, the flipped rows' texts, the texts of the hate-only source whose offensive words go unlabelled,
    the text of a duplicate pair that conflicts on hate only)."""
    rng = random.Random(7)
    both = []
    for index in range(160):
        hate, offensive = index % 2 == 0, index % 4 in (1, 2)
        both.append([text_with(rng, index, hate, offensive), yes_no(hate), yes_no(offensive)])
    flipped = set()
    for index in FLIPPED_HATE:
        both[index][1] = yes_no(both[index][1] == "no")
        flipped.add(both[index][0])
    shared = "we went to the market with my neighbours and the racists bigots were there again today"
    both.append([shared, "yes", "no"])
    hate_only, offensive_unlabelled = [], set()
    for index in range(200, 300):
        hate = index % 2 == 0
        # offensive words on half the rows, which would look like "offensive yes" to a row that knew the category
        text = text_with(rng, index, hate, offensive=index % 4 == 1)
        hate_only.append((text, "hateful" if hate else "fine"))
        if index % 4 == 1:
            offensive_unlabelled.add(text)
    hate_only.append((shared.upper() + "  ", "fine"))  # the same text: hate no here, yes there; offensive unknown
    first = write_csv(tmp_path / "both.csv", both, header=("text", "hate", "offensive"))
    second = write_csv(tmp_path / "hate_only.csv", hate_only)
    sources = [{"path": str(first), "categories": {"hate": {"column": "hate"}, "offensive": {"column": "offensive"}}},
               {"path": str(second), "categories": {"hate": {"column": "label", "yes": ["hateful"], "no": ["fine"]}}}]
    return sources, flipped, offensive_unlabelled, shared


def audit(sources, **settings):
    return run_audit(TrainingConfig(categories=["hate", "offensive"], sources=sources, **settings), embed=bag_of_words)


def test_a_flipped_category_value_ranks_first_and_unknown_rows_are_never_flagged_for_it(category_sources):
    sources, flipped, offensive_unlabelled, _shared = category_sources
    result = audit(sources)
    rows = result.rows
    assert rows.categories == ["hate", "offensive"] and rows.category_values.shape == (len(rows.texts), 2)
    hate = [item for item in result.suspects if item.category == "hate"]
    assert {rows.texts[item.row] for item in hate[:len(flipped)]} == flipped
    for item in hate[:len(flipped)]:
        assert item.given != item.suggested and {item.given, item.suggested} == {"yes", "no"} and item.score > 0.5
    offensive_index = rows.categories.index("offensive")
    for item in result.suspects:  # a suspect's category is known in its row, and its given value is the row's
        value = rows.category_values[item.row, rows.categories.index(item.category)]
        assert value != UNKNOWN and item.given == ("yes" if value == 1 else "no")
    flagged_offensive = {rows.texts[item.row] for item in result.suspects if item.category == "offensive"}
    assert not flagged_offensive & offensive_unlabelled
    unknown = np.flatnonzero(rows.category_values[:, offensive_index] == UNKNOWN)
    assert len(unknown) == 101 and result.category_issues["offensive"].probabilities.shape == (len(rows.texts) - 101, 2)
    assert [item.score for item in result.suspects] == sorted((item.score for item in result.suspects), reverse=True)
    counts = result.counts()
    assert counts["suspects_per_category"]["hate"] == len(hate) and sum(counts["suspects_per_category"].values()) == \
        len(result.suspects)
    assert "per category, as a yes/no label on the rows that know it" in result.method


def test_a_duplicate_pair_conflicting_on_one_category_is_flagged_for_that_category_only(category_sources):
    sources, _flipped, _unlabelled, shared = category_sources
    result = audit(sources)
    rows = result.rows
    group = next(group for group in result.exact if shared in {rows.texts[row] for row in group.rows})
    assert len(group.rows) == 2 and group.cross_source
    assert group.conflict and group.conflict_categories == ["hate"]  # offensive: no beside unknown is no conflict
    assert group.labels == {"hate yes": 1, "hate no": 1, "offensive no": 1, "offensive unknown": 1}
    assert result.counts()["conflicting_groups_per_category"] == {"hate": 1, "offensive": 0}
    figures = {figure["source"]: figure for figure in result.per_source}
    assert figures["both"]["categories"]["offensive"]["unknown"] == 0
    assert figures["hate_only"]["categories"]["offensive"] == dict(yes=0, no=0, unknown=101, flagged=0,
                                                                   flagged_share=None)
    assert figures["hate_only"]["categories"]["hate"]["yes"] + figures["hate_only"]["categories"]["hate"]["no"] == 101
    assert figures["hate_only"]["disagreement_share"] == 1.0
    lines = summary_lines(result)
    assert any("1 with conflicting labels (on hate 1, on offensive 0)" in line for line in lines)
    assert any("[conflict on hate]" in line for line in lines)


def test_the_json_carries_the_categories(category_sources):
    sources, flipped, _unlabelled, _shared = category_sources
    report = audit(sources).to_dict()
    json.dumps(report)  # plain JSON values
    assert report["categories"] == ["hate", "offensive"] and report["labels"] == ["no", "yes"]
    first = report["suspects"][0]
    assert first["category"] == "hate" and first["text"] in flipped and "label" not in first
    assert first["categories"]["hate"] == first["given"] and first["categories"]["offensive"] in ("yes", "no")
    conflicting = [group for group in report["exact_duplicates"] if group["conflict"]]
    assert [group["conflicting_categories"] for group in conflicting] == [["hate"]]
    assert set(report["per_source"][1]["categories"]) == {"hate", "offensive"}
    assert report["counts"]["suspects_per_category"]["hate"] >= len(flipped)


def test_a_category_without_two_of_each_value_is_said_not_audited(tmp_path):
    rng = random.Random(2)
    rows = [(text_with(rng, index, index % 2 == 0, False), yes_no(index % 2 == 0), "no" if index else "yes")
            for index in range(60)]
    path = write_csv(tmp_path / "few.csv", rows, header=("text", "hate", "offensive"))
    result = audit([{"path": str(path), "categories": {"hate": {"column": "hate"},
                                                       "offensive": {"column": "offensive"}}}], validation_split=0.1)
    assert "'offensive' has 1 known 'yes' row(s)" in result.notes
    assert all(item.category == "hate" for item in result.suspects)


def test_the_cli_audits_a_multi_label_configuration_opens_its_queue_and_refuses_a_corrected_copy(
        tmp_path, category_sources, tiny_model_dir, capsys, monkeypatch):
    from moderator_app.core.review.store import DecisionStore

    monkeypatch.setenv("MODERATOR_APP_DATA", str(tmp_path / "data"))
    sources, _flipped, _unlabelled, _shared = category_sources
    config = tmp_path / "categories.json"
    config.write_text(json.dumps({"categories": ["hate", "offensive"], "sources": sources}))
    assert run_cli("--config", config, "--model", tiny_model_dir, "--json", tmp_path / "audit.json",
                   "--queue", "suspects") == 0
    out = capsys.readouterr().out
    assert "categories hate, offensive (yes / no / unknown each)" in out
    assert "Likely label errors:" in out and "(hate " in out and ", offensive " in out
    assert "Source hate_only: 101 rows (hate yes" in out and "offensive yes 0 / no 0 / unknown 101" in out
    assert "suspects in the Review queue 'suspects'" in out
    report = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert report["categories"] == ["hate", "offensive"]
    store = DecisionStore()
    assert store.queues.items(store.queues.find("suspects")).texts[0] == report["suspects"][0]["text"]
    store.close()
    assert run_cli("--config", config, "--model", tiny_model_dir, "--write-corrected", tmp_path / "c.csv",
                   "--corrections-from-store") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "--write-corrected" in err
    assert "this audit is of a multi-label run (categories: hate, offensive)" in err and "--corrections-queue" in err
    assert not (tmp_path / "c.csv").exists()


def test_the_suspects_queue_has_one_item_per_suspect_row_with_its_categories(tmp_path, category_sources):
    from moderator_app.core.audit.review import CATEGORY_AUDIT_COLUMNS, open_suspects_queue, suspects_queue_items
    from moderator_app.core.review.store import DecisionStore

    sources, flipped, _unlabelled, _shared = category_sources
    result = audit(sources)
    rows = result.rows
    items = suspects_queue_items(result)
    suspect_rows = {item.row for item in result.suspects}
    assert len(items.texts) == len(suspect_rows) and set(items.texts) == {rows.texts[row] for row in suspect_rows}
    assert items.columns[:len(CATEGORY_AUDIT_COLUMNS)] == list(CATEGORY_AUDIT_COLUMNS)
    assert set(items.texts[:len(flipped)]) == flipped
    first = dict(zip(items.columns, items.extras[0]))
    top = result.suspects[0]
    assert first["suspect categories"] == "hate" and first["given values"] == rows.label_text(top.row)
    assert first["suggested values"] == f"hate {top.suggested}" and first["suspect score"] == f"{top.score:.3f}"
    assert first["hate"] == top.given and first["source"] == "both"  # the file's own columns follow
    store = DecisionStore(tmp_path / "d.sqlite3")
    queue = open_suspects_queue(store, result)
    assert queue.items == len(suspect_rows) and store.queues.items(queue.id).texts == items.texts
    store.close()


def multi_label_decision(text, chosen, queue, categories=("hate", "offensive")):
    """A decision made with a multi-label model loaded: the set of categories the moderator says apply."""
    from moderator_app.core.review.decision import multi_label_text
    from moderator_app.core.review.store import Decision

    probabilities = {name: 0.5 for name in categories}
    return Decision(text, multi_label_text(()), 0.5, multi_label_text(chosen), "sha256:ml", moderator="ann",
                    probabilities=probabilities, moderator_categories=tuple(chosen), model_categories=(),
                    category_thresholds={name: 0.5 for name in categories}, queue=queue.name, queue_id=queue.id)


def test_corrections_from_the_queue_override_the_category_values_in_the_next_run(tmp_path, category_sources,
                                                                                  monkeypatch):
    from moderator_app.core.audit.review import open_suspects_queue
    from moderator_app.core.review.store import Decision, DecisionStore
    from moderator_app.core.training.data import load_training_data

    monkeypatch.setenv("MODERATOR_APP_DATA", str(tmp_path / "data"))
    sources, flipped, _unlabelled, _shared = category_sources
    result = audit(sources)
    rows = result.rows
    store = DecisionStore()
    queue = open_suspects_queue(store, result, name="suspects")
    hate_suspects = [item for item in result.suspects if item.category == "hate"][:len(flipped)]
    decided = {}
    for item in hate_suspects:  # the moderator sets hate as suggested, offensive as the file has it
        offensive = rows.category_values[item.row, 1] == 1
        chosen = [name for name, on in (("hate", item.suggested == "yes"), ("offensive", offensive)) if on]
        store.record(multi_label_decision(rows.texts[item.row], chosen, queue))
        decided[rows.texts[item.row]] = 1 if item.suggested == "yes" else 0
    kept = next(row for row in range(len(rows.texts)) if rows.sources[row] == 1 and rows.texts[row] not in flipped)
    store.record(multi_label_decision(rows.texts[kept], ["hate"], queue))  # fills the unknown offensive with no
    store.record(Decision(rows.texts[kept + 1], "hate", 0.8, "hate", "sha256:m1", moderator="ann",
                          queue=queue.name, queue_id=queue.id))  # a single-label model's decision: not used
    store.close()
    settings = dict(categories=["hate", "offensive"], sources=sources)
    data = load_training_data(TrainingConfig(**settings, corrections_queue="suspects"))
    corrections = data.report.corrections
    assert corrections["relabelled"] == len(flipped) + 1 and corrections["single_label_decisions"] == 1
    summary = data.report.summary()
    assert f"{len(flipped) + 1} rows take the moderator's categories (yes / no per category the decision's model had)" \
        in summary and "1 decisions of a single-label model say nothing about the categories: not used" in summary
    values = dict(zip([*data.train["text"], *data.validation["text"]],
                      [*data.train["label"], *data.validation["label"]]))
    for text, hate in decided.items():
        assert values[text][0] == hate
    assert values[rows.texts[kept]] == [1.0, 0.0]  # hate yes as decided, offensive no: the unknown filled
    again = audit(sources, corrections_queue="suspects")  # the next audit reads the corrected values
    assert not {again.rows.texts[item.row] for item in again.suspects if item.category == "hate"} & flipped
    assert any("Labels read with the corrections from the Review queue 'suspects'" in line
               for line in summary_lines(again))


def test_the_core_refuses_a_corrected_copy_of_a_multi_label_audit(tmp_path, category_sources):
    from moderator_app.core.audit.review import write_corrected_copy

    sources, _flipped, _unlabelled, _shared = category_sources
    result = audit(sources)
    with pytest.raises(SettingsError) as refused:
        write_corrected_copy(result, {}, tmp_path / "copy.csv")
    assert refused.value.setting == "write_corrected" and not (tmp_path / "copy.csv").exists()


def test_davidson_vote_splits_are_counted_in_a_multi_label_run(tmp_path):
    rng = random.Random(4)
    rows = []
    for index in range(60):
        votes = (3, 0, 0) if index % 3 else (1, 2, 0)  # every third row's crowd split
        rows.append((index, 3, *votes, 0 if votes[0] >= 2 else 1, text_with(rng, index, votes[0] >= 2, True)))
    path = write_csv(tmp_path / "votes.csv", rows,
                     header=("", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"))
    result = audit([{"path": str(path), "text_column": "tweet",
                     "categories": {"hate": {"votes": "hate_speech", "total": "count", "rule": "majority"},
                                    "offensive": {"column": "class", "yes": ["0", "1"], "no": ["2"]}}}])
    assert result.votes[0]["split"] == 20 and result.votes[0]["rows"] == 60
    assert any("Crowd votes in votes.csv: 20 of 60 rows not unanimous" in line for line in summary_lines(result))
