"""A multi-label model's review decisions in the store, on both engines (SQLite, and a real PostgreSQL
server: tests/postgres_server.py): the decision is a set of categories, logged like any decision (undo,
adjudication and its undo), store version 8 migrated from 7 keeping every row, and exported as one yes/no column per
category (blank where the decision's model did not have the category) — from the core and the CLI."""

import csv

import pytest

from moderator_app.cli import main
from moderator_app.core.errors import DataError
from moderator_app.core.review import team
from moderator_app.core.review.decision import NO_CATEGORY, categories_of_text, multi_label_text
from moderator_app.core.review.export import ExportFilter, export_decisions
from moderator_app.core.review.schema import HEAD
from moderator_app.core.review.store import Decision, DecisionStore

CATEGORIES = ("hate", "offensive")
CATEGORY_COLUMNS = ("moderator_categories", "model_categories", "category_thresholds")


def multi(text, chosen, flagged=("hate",), moderator="ann", model="sha256:ml", categories=CATEGORIES, **more):
    """A multi-label decision: the moderator's set `chosen` against the model's `flagged`."""
    probabilities = {name: (0.9 if name in flagged else 0.1) for name in categories}
    return Decision(text, multi_label_text(flagged), max(probabilities.values()), multi_label_text(chosen), model,
                    moderator=moderator, model_name="/models/ml", probabilities=probabilities,
                    moderator_categories=tuple(chosen), model_categories=tuple(flagged),
                    category_thresholds={name: 0.5 for name in categories}, **more)


def single(text, label="hate", moderator="ann"):
    return Decision(text, "hate", 0.8, label, "sha256:m1", moderator=moderator, model_name="/models/m1",
                    threshold=0.5, probabilities={"hate": 0.8, "not-hate": 0.2})


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_a_set_of_categories_is_text_in_the_label_columns_and_back():
    assert multi_label_text(("hate", "offensive")) == "hate;offensive" and multi_label_text(()) == NO_CATEGORY
    assert categories_of_text("hate;offensive") == ("hate", "offensive") and categories_of_text(NO_CATEGORY) == ()


def test_a_multi_label_decision_is_stored_as_a_set_and_read_back(store_location):
    store = DecisionStore(store_location)
    stored = store.record(multi("you people", ("hate", "offensive")))
    none = store.record(multi("nice day", (), flagged=("offensive",)))
    plain = store.record(single("a single-label one"))
    back = store.row(stored.id)
    assert back.moderator_categories == ("hate", "offensive") and back.model_categories == ("hate",)
    assert back.category_thresholds == {"hate": 0.5, "offensive": 0.5} and back.multi_label and back.decided
    assert back.moderator_label == "hate;offensive" and not back.accepted and back.categories == list(CATEGORIES)
    assert store.row(none.id).moderator_categories == () and store.row(none.id).decided  # "none of them" decides
    assert store.row(plain.id).moderator_categories is None and not store.row(plain.id).multi_label
    current, _earlier = store.lookup_for_review(["you people", "nice day"], "sha256:ml", with_model_labels=True)
    assert current == {"you people": ("hate;offensive", "hate"), "nice day": (NO_CATEGORY, "offensive")}
    store.close()


def test_an_undo_of_a_set_restores_the_set_before(store_location):
    store = DecisionStore(store_location)
    store.record(multi("t", ("hate",)))
    second = store.record(multi("t", ("hate", "offensive"), moderator="bob"))
    undo = store.revert(second.id, "bob")
    assert undo.moderator_categories == ("hate",) and undo.moderator_label == "hate" and undo.kind == "revert"
    first_undo = store.revert(store.record(multi("u", ("offensive",))).id, "ann")
    assert first_undo.moderator_categories is None and not first_undo.decided
    assert store.current(["t", "u"], "sha256:ml")["t"].moderator_categories == ("hate",)
    store.close()


def test_a_version_7_store_gets_the_category_columns_keeping_every_row(store_location):
    store = DecisionStore(store_location)
    queue = store.queues.create("Monday", ["a", "b", "c"])
    for text in ("a", "b", "c"):
        store.record(single(text))
    store.revert(store.record(single("a", "not-hate")).id, "ann")
    old = store.connection  # back to version 7: without the category columns
    for column in CATEGORY_COLUMNS:
        old.execute(f"ALTER TABLE decisions DROP COLUMN {column}")
    old.execute("ALTER TABLE queues DROP COLUMN category_thresholds")  # version 9's
    old.execute("UPDATE alembic_version SET version_num = '0007'")
    if not store.server:
        old.execute("PRAGMA user_version = 7")
    before = old.execute("SELECT * FROM decisions ORDER BY id").fetchall()
    store.close()
    store = DecisionStore(store_location)  # migrated on opening
    assert store.connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD == "0010"
    after = store.connection.execute(f"SELECT *, {', '.join(CATEGORY_COLUMNS)} FROM decisions ORDER BY id").fetchall()
    assert [tuple(row[:len(before[0])]) for row in after] == [tuple(row) for row in before]
    assert all(value is None for row in after for value in row[-3:])  # every earlier row: single-label
    assert [decision.moderator_label for decision in store.decisions()] == ["hate", "hate", "hate", "not-hate", "hate"]
    assert store.queues.items(queue.id).texts == ["a", "b", "c"]
    assert store.row(store.record(multi("d", ("offensive",))).id).moderator_categories == ("offensive",)
    store.close()


def test_the_export_has_one_yes_no_column_per_category_blank_where_the_model_had_none(store_location, tmp_path):
    store = DecisionStore(store_location)
    store.record(multi("one", ("hate", "offensive")))
    store.record(multi("two", ()))
    store.record(multi("three", ("threat",), model="sha256:ml3", categories=("hate", "offensive", "threat")))
    store.record(multi("one", ("offensive",), moderator="bob"))  # the latest decision of "one" wins
    summary = export_decisions(store, tmp_path / "out.csv", ExportFilter(), provenance=True)
    rows = read_csv(tmp_path / "out.csv")
    assert summary.rows == 3
    assert rows[0] == ["text", "hate", "offensive", "threat", "moderator", "decided_at", "model", "model_id", "queue"]
    assert [row[:4] for row in rows[1:]] == [["two", "no", "no", ""], ["three", "no", "no", "yes"],
                                            ["one", "no", "yes", ""]]
    assert [row[4] for row in rows[1:]] == ["ann", "ann", "bob"]
    store.close()


def test_an_export_mixing_single_and_multi_label_decisions_is_refused_and_one_model_is_not(store_location, tmp_path):
    store = DecisionStore(store_location)
    store.record(multi("one", ("hate",)))
    store.record(single("two"))
    with pytest.raises(DataError) as refused:
        export_decisions(store, tmp_path / "out.csv", ExportFilter())
    assert "1 of multi-label models" in refused.value.message and refused.value.setting == "model"
    assert not (tmp_path / "out.csv").exists()
    export_decisions(store, tmp_path / "single.csv", ExportFilter(model="sha256:m1"))
    assert read_csv(tmp_path / "single.csv") == [["text", "label"], ["two", "hate"]]  # as before
    store.close()


def test_the_cli_exports_multi_label_decisions_and_refuses_a_mix_in_one_line(store_location, tmp_path, capsys):
    store = DecisionStore(store_location)
    store.record(multi("one", ("hate", "offensive")))
    store.record(multi("two", ()))
    store.close()
    out = tmp_path / "decisions.csv"
    assert main(["decisions", "export", "--output", str(out), "--store", store_location]) == 0
    assert read_csv(out) == [["text", "hate", "offensive"], ["one", "yes", "yes"], ["two", "no", "no"]]
    assert "Wrote 2 decisions" in capsys.readouterr().out
    store = DecisionStore(store_location)
    store.record(single("three"))
    store.close()
    code = main(["decisions", "export", "--output", str(tmp_path / "mixed.csv"), "--store", store_location])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "--model" in error and "Traceback" not in error, error
    assert not (tmp_path / "mixed.csv").exists()


def test_conflicts_and_an_adjudication_of_a_multi_label_text_are_sets(store_location, tmp_path):
    store = DecisionStore(store_location)
    store.record(multi("one", ("hate",), moderator="ann"))
    store.record(multi("one", ("hate", "offensive"), moderator="bob"))
    store.record(multi("two", (), moderator="ann"))
    store.record(multi("two", (), moderator="bob"))
    assert [item.text for item in team.disagreements(store)] == ["one"]
    final = team.adjudicate(store, "one", "offensive;hate", "lead")  # in any order: kept in the model's
    assert final.moderator_categories == ("hate", "offensive") and final.moderator_label == "hate;offensive"
    assert team.adjudicate(store, "two", NO_CATEGORY, "lead").moderator_categories == ()
    with pytest.raises(Exception, match="'threat' is not a category"):
        team.adjudicate(store, "one", "hate;threat", "lead")
    export_decisions(store, tmp_path / "out.csv", ExportFilter())
    assert read_csv(tmp_path / "out.csv")[1:] == [["one", "yes", "yes"], ["two", "no", "no"]]
    undo = team.undo_adjudication(store, "one", "lead")  # back to bob's set, the latest decision
    assert undo.moderator_categories == ("hate", "offensive") and undo.reverts == final.id
    team.adjudicate(store, "one", "hate", "lead")
    team.undo_adjudication(store, "one", "lead")
    export_decisions(store, tmp_path / "undone.csv", ExportFilter())
    assert read_csv(tmp_path / "undone.csv")[1:] == [["one", "yes", "yes"], ["two", "no", "no"]]  # not hate alone
    assert [item.text for item in team.disagreements(store)] == ["one"]
    store.close()


def test_agreement_per_category_and_the_model_against_the_moderators_from_the_cli(store_location, tmp_path, capsys):
    import json

    from moderator_app.core.review.agreement import measure_category_agreement

    store = DecisionStore(store_location)
    for n in range(6):  # ann and bob agree on hate everywhere, on offensive only for the even texts
        flagged = ("hate",) if n % 2 else ("hate", "offensive")
        store.record(multi(f"text {n}", ("hate",) if n < 3 else (), flagged=flagged, moderator="ann"))
        bob = (("hate",) if n < 3 else ()) + (("offensive",) if n % 2 else ())
        store.record(multi(f"text {n}", bob, flagged=flagged, moderator="bob"))
    reports = measure_category_agreement(store, resamples=0)
    assert list(reports) == ["hate", "offensive"]
    assert reports["hate"].pairs[0].agreement == 1.0 and reports["hate"].labels == ["no", "yes"]
    assert reports["offensive"].pairs[0].agreement == 0.5
    store.close()
    code = main(["decisions", "agreement", "--resamples", "0", "--json", str(tmp_path / "a.json"),
                 "--store", store_location])
    out = capsys.readouterr().out
    assert code == 0 and "Per category" in out and "  hate: alpha 1.00 (n=6)" in out, out
    written = json.loads((tmp_path / "a.json").read_text())
    assert written["categories"]["offensive"]["pairs"][0]["agreement"] == 0.5
    model = written["categories"]["hate"]["model"]  # bob's decisions are the current ones (the latest rows)
    assert (model["decided"], model["moderator_yes"], model["model_yes"], model["both"]) == (6, 3, 6, 3)
    assert model["precision"] == 0.5 and model["recall"] == 1.0


def test_the_cli_lists_conflicts_and_disagreements_and_adjudicates_a_set(store_location, tmp_path, capsys):
    import json

    store = DecisionStore(store_location)
    store.record(multi("one", ("hate",), moderator="ann"))
    store.record(multi("one", ("hate", "offensive"), moderator="bob"))
    store.close()
    assert main(["decisions", "conflicts", "--output", str(tmp_path / "c.csv"), "--store", store_location]) == 0
    assert [row[:3] for row in read_csv(tmp_path / "c.csv")[1:]] == [["one", "ann", "hate"],
                                                                     ["one", "bob", "hate;offensive"]]
    capsys.readouterr()
    assert main(["decisions", "disagreements", "--json", "--store", store_location]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["categories"] for entry in listed["decisions"]] == [["hate"], ["hate", "offensive"]]
    assert main(["decisions", "adjudicate", "one", "--label", "offensive;hate", "--as", "lead",
                 "--store", store_location]) == 0
    assert "Recorded 'hate;offensive' as the final label" in capsys.readouterr().out
    assert main(["decisions", "adjudicate", "one", "--label", "threat", "--store", store_location]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'threat' is not a category of this text's model" in error, error
