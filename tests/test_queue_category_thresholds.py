"""A queue keeps a multi-label model's per-category thresholds as it keeps the binary threshold (store
version 9, issue 27), on both engines (SQLite, and a real PostgreSQL server: tests/postgres_server.py):
store version 9 migrated from 8 keeping every queue row, the thresholds saved and read back, a
binary queue's left NULL, and what a reopened queue restores for a model with other categories (the
Review tab's side: test_gui_multi_label_thresholds.py)."""

from moderator_app.core.review.queues import QueueState
from moderator_app.core.review.schema import HEAD, VERSION
from moderator_app.core.review.store import Decision, DecisionStore
from test_team_review import store_columns

MOVED = {"hate": 0.3, "offensive": 0.62}


def binary_state(**more) -> QueueState:
    return QueueState(model_name="/models/m1", threshold=0.41, filter="decided", search="you", sort_key="score",
                      descending=True, position=1, shown_columns=["id"], **more)


def test_a_version_8_store_gets_the_queues_column_keeping_every_row(store_location):
    store = DecisionStore(store_location)
    monday = store.queues.create("Monday", ["a", "b", "c"], ["id"], [["1"], ["2"], ["3"]], "monday.csv",
                                 binary_state(model_identity="sha256:m1"))
    store.queues.create("Pasted", ["d"])
    store.record(Decision("a", "hate", 0.8, "hate", "sha256:m1", moderator="ann", queue="Monday", queue_id=monday.id))
    old = store.connection  # back to version 8: without the queues' category thresholds
    old.execute("ALTER TABLE queues DROP COLUMN category_thresholds")
    old.execute("UPDATE alembic_version SET version_num = '0008'")
    if not store.server:
        old.execute("PRAGMA user_version = 8")
    tables = ("queues", "queue_items", "queue_review", "decisions")
    columns = {table: ", ".join(store_columns(store, table)) for table in tables}
    before = {table: old.execute(f"SELECT {columns[table]} FROM {table} ORDER BY 1, 2").fetchall() for table in tables}
    assert len(before["queues"]) == 2 and len(before["queue_items"]) == 4
    store.close()

    store = DecisionStore(store_location)  # migrated on opening
    assert store.connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD == "0010"
    if not store.server:
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == VERSION == 10
    for table in tables:
        assert store.connection.execute(f"SELECT {columns[table]} FROM {table} ORDER BY 1, 2").fetchall() == \
            before[table], table
    assert "category_thresholds" in store_columns(store, "queues")
    assert store.connection.execute("SELECT category_thresholds FROM queues ORDER BY id").fetchall() == [(None,), (None,)]
    queue = store.queues.get(monday.id)
    assert queue.state == binary_state(model_identity="sha256:m1") and queue.state.category_thresholds is None
    assert store.queues.items(monday.id).extras[2] == ["3"] and queue.reviewed == 1
    store.queues.save_state(monday.id, QueueState(model_name="/models/ml", category_thresholds=MOVED))
    assert store.queues.get(monday.id).state.category_thresholds == MOVED  # the new column is written
    store.close()


def test_a_queue_keeps_its_category_thresholds_and_a_binary_queue_none(store_location):
    store = DecisionStore(store_location)
    multi = store.queues.create("Multi", ["a", "b"], state=QueueState(model_name="/models/ml", category_thresholds=MOVED))
    binary = store.queues.create("Binary", ["c"], state=binary_state())
    assert store.queues.get(multi.id).state.category_thresholds == MOVED
    store.queues.save_state(multi.id, QueueState(model_name="/models/ml", category_thresholds={**MOVED, "hate": 0.7}))
    store.close()
    store = DecisionStore(store_location)  # read back after reopening the store
    assert store.queues.get(multi.id).state.category_thresholds == {"hate": 0.7, "offensive": 0.62}
    assert store.queues.get(binary.id).state == binary_state()  # the binary threshold as before
    assert store.connection.execute("SELECT category_thresholds FROM queues WHERE id = ?",
                                    (binary.id,)).fetchone()[0] is None
    store.close()


def test_a_reopened_queue_restores_the_categories_the_model_has_and_names_the_others():
    model = {"hate": 0.55, "offensive": 0.5, "threat": 0.4}
    saved = QueueState(category_thresholds={"hate": 0.3, "insult": 0.2, "offensive": 0.62})
    assert saved.thresholds_for(model) == ({"hate": 0.3, "offensive": 0.62, "threat": 0.4}, ["insult"])
    assert QueueState().thresholds_for(model) == (model, [])  # none saved (binary, or before version 9)
