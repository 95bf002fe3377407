"""A team's queues on one decision store, on both engines (SQLite, and a real PostgreSQL server:
tests/postgres_server.py): "N of M reviewed" counting what the table shows, queues assigned to
moderators, a blind double review drawn reproducibly, disagreements and a lead's adjudication winning
in exports, retraining and corrections while the earlier decisions stay, and its undo; the CLI's team
actions."""

import json

import pytest

from moderator_app.core.review import team
from moderator_app.core.review.double_review import DoubleReview, sampled
from moderator_app.core.review.export import ExportFilter, latest_decisions
from moderator_app.core.review.queues import QueueState
from moderator_app.core.review.schema import HEAD
from moderator_app.core.review.store import Decision, DecisionStore
from moderator_app.core.training.corrections import store_corrections

TEXTS = [f"comment {n}" for n in range(40)]


def decide(store, text, label, moderator, queue=None, model="m1"):
    return store.record(Decision(text, "hate", 0.8, label, model, moderator=moderator, model_name=f"/models/{model}",
                                 threshold=0.5, probabilities={"hate": 0.8, "not-hate": 0.2},
                                 queue=queue.name if queue else "", queue_id=queue.id if queue else None))


def table_decided(store, queue, moderator, model="m1"):
    """What a moderator's table of the queue shows decided (the Review tab's lookup, blind items hidden)."""
    texts = store.queues.items(queue.id).texts
    current, earlier = team.hide_blind(store, queue.id, moderator, *store.lookup_for_review(texts, model))
    return sum(1 for text in texts if text in current)


# ------------------------------------------------------------------------------ N of M reviewed
def test_the_queue_list_counts_what_the_table_shows_when_another_queue_decided_the_same_texts(store_location):
    store = DecisionStore(store_location)
    first = store.queues.create("Monday", TEXTS[:10], state=QueueState(model_identity="m1"))
    for text in TEXTS[:6]:
        decide(store, text, "hate", "ann", first)
    decide(store, TEXTS[6], "hate", "ann", first, model="m2")  # another model: "before", not decided in the table
    second = store.queues.create("Tuesday", TEXTS[:20], state=QueueState(model_identity="m1"))
    decide(store, TEXTS[15], "not-hate", "bob", second)
    shown = table_decided(store, second, "bob")
    assert shown == 7
    assert store.queues.get(second.id, moderator="bob").progress == f"{shown} of 20 reviewed"
    assert store.queues.get(first.id).progress == "6 of 10 reviewed"
    store.close()


# ------------------------------------------------------------------------------ assignment
def test_a_queue_assigned_to_moderators_is_theirs_in_mine(store_location):
    store = DecisionStore(store_location)
    monday = store.queues.create("Monday", TEXTS[:5])
    tuesday = store.queues.create("Tuesday", TEXTS[5:10])
    assert team.assign(store, "Monday", ["ann", " bob ", "ann", ""], by="lead").assigned == ["ann", "bob"]
    team.assign(store, tuesday.id, ["bob"], by="lead")
    assert [queue.name for queue, _line in team.queue_view(store, team.MINE, "ann")] == ["Monday"]
    assert [queue.name for queue, _line in team.queue_view(store, team.MINE, "bob")] == ["Tuesday", "Monday"]
    assert [queue.name for queue, _line in team.queue_view(store, team.ALL, "carol")] == ["Tuesday", "Monday"]
    assert team.assign(store, "Monday", [], by="lead").assigned == []
    assert team.queue_view(store, team.MINE, "ann") == []
    assert store.connection.execute("SELECT assigned_by FROM queue_assignments WHERE queue_id = ?",
                                    (tuesday.id,)).fetchone()[0] == "lead"
    with pytest.raises(team.QueueError, match="no queue called 'Sunday'"):
        team.assign(store, "Sunday", ["ann"])
    store.queues.delete(monday.id)  # its assignments go with it; decisions would stay
    store.close()


# ------------------------------------------------------------------------------ double review
def test_the_double_review_sample_is_drawn_reproducibly():
    texts = [f"text {n}" for n in range(2000)]
    tenth = sampled(DoubleReview(0.1, seed=3), 7, texts)
    assert tenth == sampled(DoubleReview(0.1, seed=3), 7, list(reversed(texts)))[::-1]  # by text, not position
    assert 150 < len(tenth) < 250
    assert set(tenth) <= set(sampled(DoubleReview(0.3, seed=3), 7, texts))  # a larger share keeps the smaller
    assert tenth != sampled(DoubleReview(0.1, seed=4), 7, texts)  # another seed, another draw
    assert tenth != sampled(DoubleReview(0.1, seed=3), 8, texts)  # another queue, another draw
    assert sampled(DoubleReview(1.0), 7, texts) == texts and sampled(None, 7, texts) == []


@pytest.mark.parametrize("share", [0, -0.1, 1.5, float("nan")])
def test_a_share_outside_0_1_is_refused(tmp_path, share):
    store = DecisionStore(tmp_path / "store.sqlite3")
    store.queues.create("Monday", TEXTS)
    with pytest.raises(team.SettingsError, match="share"):
        team.set_double_review(store, "Monday", share)
    store.close()


def test_a_second_moderator_is_blind_to_the_first_decision_until_they_decide(store_location):
    store = DecisionStore(store_location)
    queue = store.queues.create("Monday", TEXTS, state=QueueState(model_identity="m1"))
    team.set_double_review(store, "Monday", 0.25, seed=1, by="lead")
    drawn = team.sample(store, "Monday")
    assert drawn == team.sample(store, queue.id) and 0 < len(drawn) < len(TEXTS)
    for text in TEXTS:
        decide(store, text, "hate", "ann", queue)
    assert table_decided(store, queue, "ann") == len(TEXTS)  # the first moderator sees their own
    assert table_decided(store, queue, "bob") == len(TEXTS) - len(drawn)  # bob: the drawn items look undecided
    assert store.queues.get(queue.id, moderator="bob").reviewed == len(TEXTS) - len(drawn)
    assert team.visible_history(store, drawn[0], queue.id, "bob") == []
    assert [row.moderator for row in team.visible_history(store, TEXTS[0] if TEXTS[0] not in drawn else drawn[0],
                                                          queue.id, "ann")] == ["ann"]
    looks = team.second_looks(store, "bob")
    assert [(look.queue.name, look.blind, look.disagreements) for look in looks] == [("Monday", len(drawn), 0)]
    assert team.second_looks(store, "ann") == []

    decide(store, drawn[0], "not-hate", "bob", queue)  # bob decides: now everything shows
    assert [row.moderator for row in team.visible_history(store, drawn[0], queue.id, "bob")] == ["ann", "bob"]
    assert table_decided(store, queue, "bob") == len(TEXTS) - len(drawn) + 1
    looks = team.second_looks(store, "bob")
    assert [(look.blind, look.disagreements) for look in looks] == [(len(drawn) - 1, 1)]
    assert "to review blind" in team.queue_view(store, team.SECOND_LOOK, "bob")[0][1]
    store.close()


# ------------------------------------------------------------------------------ adjudication
def test_an_adjudication_settles_a_disagreement_and_wins_in_exports_retraining_and_corrections(store_location, tmp_path):
    store = DecisionStore(store_location)
    queue = store.queues.create("Monday", TEXTS[:3])
    decide(store, TEXTS[0], "hate", "ann", queue)
    decide(store, TEXTS[0], "not-hate", "bob", queue)
    decide(store, TEXTS[1], "hate", "ann", queue)
    decide(store, TEXTS[1], "hate", "bob", queue)
    found = team.disagreements(store, "Monday")
    assert [(item.text, item.labels, sorted(item.decisions)) for item in found] == [
        (TEXTS[0], ["hate", "not-hate"], ["ann", "bob"])]
    assert latest_decisions(store, ExportFilter())[0][0].moderator_label == "not-hate"  # bob's, the latest

    final = team.adjudicate(store, TEXTS[0], "hate", "lead", "Monday", note="policy 3.2")
    assert final.kind == team.ADJUDICATION and final.moderator == "lead" and final.model_id == "m1"
    assert final.threshold == 0.5 and final.queue_id == queue.id
    assert team.disagreements(store, "Monday") == []
    assert [item.adjudication.moderator_label for item in team.disagreements(store, "Monday", settled=True)] == ["hate"]
    decide(store, TEXTS[0], "not-hate", "carol", queue)  # a later ordinary decision does not overturn it
    exported = {decision.text: decision for decision in latest_decisions(store, ExportFilter(queue="Monday"))[0]}
    assert exported[TEXTS[0]].moderator_label == "hate" and exported[TEXTS[0]].kind == team.ADJUDICATION
    assert store_corrections("Monday", store_location)[TEXTS[0]] == "hate"
    assert [row.moderator for row in store.history(TEXTS[0])] == ["ann", "bob", "lead", "carol"]  # all stay
    reopened = team.disagreements(store, "Monday")  # carol disagrees after the adjudication: open again
    assert [item.text for item in reopened] == [TEXTS[0]]

    with pytest.raises(team.SettingsError, match="'spam' is not a label"):
        team.adjudicate(store, TEXTS[1], "spam", "lead")
    with pytest.raises(team.SettingsError, match="nothing to adjudicate"):
        team.adjudicate(store, TEXTS[2], "hate", "lead")
    with pytest.raises(team.QueueError, match="no queue called"):
        team.disagreements(store, "Sunday")
    store.close()


def test_an_undone_adjudication_opens_the_disagreement_and_the_moderators_decisions_count_again(store_location):
    store = DecisionStore(store_location)
    queue = store.queues.create("Monday", TEXTS[:3])
    decide(store, TEXTS[0], "hate", "ann", queue)
    decide(store, TEXTS[0], "not-hate", "bob", queue)
    final = team.adjudicate(store, TEXTS[0], "hate", "lead", "Monday")
    assert store.lookup([TEXTS[0]], "m1") == {TEXTS[0]: "hate"}  # the table shows the final label

    undo = team.undo_adjudication(store, TEXTS[0], "chief", "Monday", note="misread the policy")
    assert (undo.kind, undo.reverts, undo.moderator, undo.note) == ("revert", final.id, "chief", "misread the policy")
    assert undo.decided_at >= final.decided_at and undo.queue_id == queue.id
    assert [(row.moderator, row.kind) for row in store.history(TEXTS[0])] == [  # both rows stay, who and when
        ("ann", "decision"), ("bob", "decision"), ("lead", "adjudication"), ("chief", "revert")]
    assert [item.text for item in team.disagreements(store, "Monday")] == [TEXTS[0]]  # open again
    assert team.disagreements(store, "Monday", settled=True) == []
    assert [(look.queue.name, look.disagreements) for look in team.second_looks(store, "ann")] == [("Monday", 1)]
    exported = latest_decisions(store, ExportFilter(queue="Monday"))[0]
    assert [(row.text, row.moderator_label, row.moderator) for row in exported] == [(TEXTS[0], "not-hate", "bob")]
    assert store_corrections("Monday", store_location) == {TEXTS[0]: "not-hate"}
    assert store.lookup([TEXTS[0]], "m1") == {TEXTS[0]: "not-hate"}  # the table: bob's, the latest decision

    again = team.adjudicate(store, TEXTS[0], "not-hate", "lead", "Monday")  # a later adjudication works
    assert [item.adjudication.id for item in team.disagreements(store, "Monday", settled=True)] == [again.id]
    assert latest_decisions(store, ExportFilter())[0][0].id == again.id
    with pytest.raises(team.SettingsError, match="is not its current one: lead recorded 'not-hate'"):
        team.undo_adjudication(store, TEXTS[0], "lead", adjudication_id=final.id)  # superseded
    team.undo_adjudication(store, TEXTS[0], "lead", adjudication_id=again.id)
    assert [item.text for item in team.disagreements(store)] == [TEXTS[0]]
    with pytest.raises(team.SettingsError, match="'not-hate' of 'comment 0' was undone already \\(by lead"):
        team.undo_adjudication(store, TEXTS[0], "lead")
    with pytest.raises(team.SettingsError, match="no final label to undo"):
        team.undo_adjudication(store, TEXTS[1], "lead")  # never adjudicated
    with pytest.raises(team.SettingsError, match="in the queue 'Tuesday'; there is no final label"):
        store.queues.create("Tuesday", TEXTS[:1])
        team.undo_adjudication(store, TEXTS[0], "lead", "Tuesday")  # adjudicated in another queue only
    with pytest.raises(team.QueueError, match="no queue called 'Sunday'"):
        team.undo_adjudication(store, TEXTS[0], "lead", "Sunday")
    store.close()


def test_an_undone_adjudication_brings_back_neither_the_one_it_replaced_nor_hides_later_decisions(store_location):
    store = DecisionStore(store_location)
    queue = store.queues.create("Monday", TEXTS[:3])
    decide(store, TEXTS[0], "hate", "ann", queue)
    decide(store, TEXTS[0], "not-hate", "bob", queue)
    team.adjudicate(store, TEXTS[0], "hate", "lead")
    team.adjudicate(store, TEXTS[0], "not-hate", "lead")  # replaces the first
    decide(store, TEXTS[0], "hate", "carol", queue)  # decided after it (the adjudication still wins)
    assert latest_decisions(store, ExportFilter())[0][0].moderator_label == "not-hate"
    team.undo_adjudication(store, TEXTS[0], "lead")
    current = latest_decisions(store, ExportFilter())[0]
    assert [(row.moderator, row.moderator_label) for row in current] == [("carol", "hate")]  # the latest decision
    assert [item.settled for item in team.disagreements(store, settled=None)] == [False]
    assert store.lookup([TEXTS[0]], "m1") == {TEXTS[0]: "hate"}
    store.close()


# ------------------------------------------------------------------------------ migration
def store_columns(store, table: str) -> list[str]:
    """`table`'s columns, in order, on either engine."""
    if store.server:
        return [name for name, in store.connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            (table,))]
    return [row[1] for row in store.connection.execute(f"PRAGMA table_info({table})")]


def test_a_version_5_store_gets_the_team_tables_keeping_every_row(store_location):
    store = DecisionStore(store_location)
    queue = store.queues.create("Monday", TEXTS[:5])
    for text in TEXTS[:5]:
        decide(store, text, "hate", "ann", queue)
    old = store.connection  # back to version 5: without the team tables
    old.execute("DROP TABLE queue_assignments")
    old.execute("DROP TABLE queue_review")
    for column in ("moderator_categories", "model_categories", "category_thresholds"):  # version 8's
        old.execute(f"ALTER TABLE decisions DROP COLUMN {column}")
    old.execute("ALTER TABLE queues DROP COLUMN category_thresholds")  # version 9's
    old.execute("UPDATE alembic_version SET version_num = '0005'")
    if not store.server:
        old.execute("PRAGMA user_version = 5")
    tables = ("decisions", "queues", "queue_items")
    before = {table: old.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in tables}
    columns = {table: ", ".join(store_columns(store, table)) for table in tables}
    store.close()
    store = DecisionStore(store_location)  # migrated on opening
    for table in tables:
        assert store.connection.execute(f"SELECT {columns[table]} FROM {table} ORDER BY 1, 2").fetchall() == \
            before[table], table
    assert store.connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD
    assert team.assign(store, "Monday", ["ann"]).assigned == ["ann"]
    assert team.set_double_review(store, "Monday", 0.5).share == 0.5
    store.close()


# ------------------------------------------------------------------------------ command line
def run_cli(capsys, *arguments):
    from moderator_app.cli import main

    try:
        code = main(["decisions", *arguments])
    except SystemExit as usage_error:  # argparse's (one line, commands' OneLineParser)
        code = usage_error.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_assigns_draws_lists_and_adjudicates(store_location, capsys):
    store = DecisionStore(store_location)
    queue = store.queues.create("Monday", TEXTS)
    decide(store, TEXTS[0], "hate", "ann", queue)
    decide(store, TEXTS[0], "not-hate", "bob", queue)
    store.close()
    code, out, err = run_cli(capsys, "assign", "Monday", "--to", "ann,bob", "--as", "lead", "--store", store_location)
    assert code == 0 and "assigned to ann, bob" in out, err
    code, out, _ = run_cli(capsys, "double-review", "Monday", "--share", "0.25", "--seed", "2", "--store", store_location)
    store = DecisionStore(store_location)
    assert code == 0 and out.startswith(f"{len(team.sample(store, 'Monday'))} items of 'Monday' (25%, seed 2)")
    store.close()
    code, out, _ = run_cli(capsys, "disagreements", "--queue", "Monday", "--json", "--store", store_location)
    listed = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [item["text"] for item in listed] == [TEXTS[0]] and not listed[0]["settled"]
    code, out, _ = run_cli(capsys, "adjudicate", TEXTS[0], "--label", "hate", "--queue", "Monday", "--as", "lead",
                           "--store", store_location)
    assert code == 0 and "final label" in out
    code, out, _ = run_cli(capsys, "disagreements", "--store", store_location)
    assert code == 0 and out.startswith("0 disagreements not settled")
    code, out, _ = run_cli(capsys, "disagreements", "--settled", "--store", store_location)
    assert code == 0 and "-> hate by lead" in out
    code, out, _ = run_cli(capsys, "adjudicate", TEXTS[0], "--undo", "--queue", "Monday", "--as", "chief",
                           "--store", store_location)
    assert code == 0 and out.startswith(f"Undid the final label 'hate' of '{TEXTS[0]}' (adjudicated by lead, ")
    assert len(out.strip().splitlines()) == 1
    code, out, _ = run_cli(capsys, "disagreements", "--store", store_location)
    assert code == 0 and out.startswith("1 disagreements not settled")
    code, out, err = run_cli(capsys, "adjudicate", TEXTS[0], "--undo", "--store", store_location)
    assert code == 2 and "was undone already (by chief" in err and len(err.strip().splitlines()) == 1
    code, out, _ = run_cli(capsys, "adjudicate", TEXTS[0], "--label", "not-hate", "--store", store_location)
    assert code == 0 and "final label" in out


@pytest.mark.parametrize("arguments, expected", [
    (["assign", "Sunday", "--to", "ann"], "no queue called 'Sunday'"),
    (["double-review", "Monday", "--share", "0"], "--share between 0 and 1"),
    (["double-review", "Monday", "--share", "1.5"], "--share between 0 and 1"),
    (["double-review", "Sunday", "--share", "0.1"], "no queue called 'Sunday'"),
    (["disagreements", "--queue", "Sunday"], "no queue called 'Sunday'"),
    (["adjudicate", "comment 0", "--label", "spam"], "'spam' is not a label"),
    (["adjudicate", "never decided", "--label", "hate"], "nothing to adjudicate"),
    (["adjudicate", "comment 0", "--undo"], "there is no final label to undo"),
    (["adjudicate", "comment 0", "--undo", "--queue", "Sunday"], "no queue called 'Sunday'"),
    (["adjudicate", "comment 0", "--undo", "--label", "hate"], "--label: not allowed with argument --undo"),
    (["adjudicate", "comment 0"], "one of the arguments --label --undo is required"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, arguments, expected):
    path = str(tmp_path / "store.sqlite3")
    store = DecisionStore(path)
    queue = store.queues.create("Monday", TEXTS)
    decide(store, TEXTS[0], "hate", "ann", queue)
    store.close()
    code, out, err = run_cli(capsys, *arguments, "--store", path)
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_a_missing_store_is_exit_2_and_not_created(tmp_path, capsys, monkeypatch):
    code, _out, err = run_cli(capsys, "assign", "Monday", "--to", "ann", "--store", str(tmp_path / "none.sqlite3"))
    assert code == 2 and "There is no decision store" in err
    monkeypatch.setenv("MODERATOR_APP_DATA", str(tmp_path / "data"))  # the app's default store, not there yet
    code, _out, err = run_cli(capsys, "double-review", "Monday", "--share", "0.1")
    assert code == 2 and "There is no decision store" in err and not (tmp_path / "data").exists()
