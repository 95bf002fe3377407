"""The Review tab's state without Qt (core.review.workspace): open a queue, switch models, restore a
position, drop a classification whose queue was closed meanwhile, new texts as a new queue or added
to the open one. The store is a real SQLite decision store; the store thread is a list of jobs the
test runs when it says so; the table is a ReviewSession the test fills from `results_changed`. No Qt
here (that core as a whole loads none is test_layers.py's)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from moderator_app.core.inference.shared_model import Classified, ModelHandle
from moderator_app.core.review.queues import QueueItems, QueueState
from moderator_app.core.review.session import SORT_UNCERTAINTY, ReviewSession
from moderator_app.core.review.store import StoreAccess
from moderator_app.core.review.workspace import (PASTED, QUEUE_SOURCE, Event, ReviewWorkspace, plain_items,
                                                 queue_name)

TEXTS = ["first text", "second text", "third text", "fourth text"]
LABELS = ["not-hate", "hate"]


class Jobs:
    """A background thread that runs its jobs, in order, when the test says so; a newer job with the same
    key supersedes an older one's callbacks (as gui.common.tasks.BackgroundTasks does)."""

    def __init__(self):
        self.waiting: list = []
        self.latest: dict[str, int] = {}
        self.tickets = itertools.count()

    def __call__(self, fn, *args, on_done=None, on_error=None, key=None):
        ticket = next(self.tickets)
        if key is not None:
            self.latest[key] = ticket
        self.waiting.append((fn, args, on_done, on_error, key, ticket))

    def run(self) -> None:
        while self.waiting:
            fn, args, on_done, on_error, key, ticket = self.waiting.pop(0)
            current = key is None or self.latest.get(key) == ticket
            try:
                result = fn(*args)
            except Exception as error:  # noqa: BLE001 - handed on, as the worker does
                if current and on_error is not None:
                    on_error(error)
                continue
            if current:
                self.latest.pop(key, None)
                if on_done is not None:
                    on_done(result)


def decide(probabilities, threshold):
    scores = probabilities[:, 1]
    return [LABELS[int(score >= (threshold if threshold is not None else 0.5))] for score in scores], scores


def model(name: str, labels=LABELS, threshold: float | None = None) -> ModelHandle:
    classifier = SimpleNamespace(is_binary=len(labels) == 2, default_threshold=threshold, positive_index=1,
                                 decide=decide, operating_point=None, multi_label=False, category_thresholds={})
    return ModelHandle(classifier, SimpleNamespace(labels=list(labels), model_id=name, identity=f"identity-{name}"))


def probabilities(count: int, seed: int = 0) -> np.ndarray:
    hate = np.random.default_rng(seed).random(count).astype(np.float32)
    return np.stack([1 - hate, hate], axis=1)


class Front:
    """What the Review tab does with the workspace's events, without widgets: the table is a
    ReviewSession, the rest is recorded."""

    def __init__(self, workspace: ReviewWorkspace, session: ReviewSession):
        self.session, self.seen = session, []
        self.view = QueueState(position=0)
        for name in vars(workspace.events):
            getattr(workspace.events, name).connect(lambda *args, name=name: self.seen.append((name, args)))
        workspace.events.results_changed.connect(self.show)

    def show(self, shown) -> None:
        result = shown.result
        self.session.load(result.texts, result.probabilities, LABELS, 1, decide, 0.5)
        if shown.restore is not None:
            self.view = shown.restore

    def named(self, name: str) -> list[tuple]:
        return [args for event, args in self.seen if event == name]


@pytest.fixture
def parts(tmp_path):
    store, jobs, session = StoreAccess(tmp_path / "decisions.sqlite3"), Jobs(), ReviewSession()
    holder = {}
    workspace = ReviewWorkspace(store, jobs, jobs, session, lambda: holder["front"].view)
    holder["front"] = front = Front(workspace, session)
    yield workspace, front, jobs, store
    store.store().close()


def make_queue(store: StoreAccess, name: str = "comments", texts=TEXTS, state: QueueState | None = None) -> int:
    extras = [[f"id-{number}"] for number in range(len(texts))]
    return store.store().queues.create(name, texts, ["id"], extras, "comments.csv", state or QueueState()).id


def test_an_event_calls_its_callbacks_in_order_until_disconnected():
    event, calls = Event("changed"), []
    first = event.connect(lambda value: calls.append(("first", value)))
    event.connect(lambda value: calls.append(("second", value)))
    event.emit(1)
    event.disconnect(first)
    event.emit(2)
    assert calls == [("first", 1), ("second", 1), ("second", 2)]


def test_opening_a_queue_loads_its_model_classifies_its_items_and_keeps_the_scores(parts):
    workspace, front, jobs, store = parts
    queue_id = make_queue(store, state=QueueState(model_name="model-a", threshold=0.3, position=2))
    workspace.open_queue(queue_id)
    assert workspace.queue is None  # not before the store has answered
    jobs.run()
    assert workspace.queue.id == queue_id and front.named("remembered") == [(queue_id,)]
    assert front.named("threshold_set") == [(0.3,)] and front.named("load_requested") == [("model-a",)]
    assert front.named("decision_queue") == [("comments", queue_id)]  # the decisions after it go there
    assert workspace.pending_items.texts == TEXTS and workspace.restore_view.position == 2
    assert workspace.keeps_queue_threshold  # a calibrated model would not move the queue's slider

    a = model("model-a")
    workspace.set_model(a)
    jobs.run()  # no scores kept yet: classified
    assert front.named("classify_requested") == [(TEXTS,)]
    assert workspace.queue_classified(Classified(list(TEXTS), probabilities(4), a, 0.5))
    (shown,) = front.named("results_changed")
    assert shown[0].restore.position == 2 and shown[0].items.extras[3] == ["id-3"] and not shown[0].saved
    assert workspace.results_handle is a and workspace.pending_items is None and workspace.restore_view is None
    jobs.run()
    kept = store.store().queues.scores(queue_id, a.identity, LABELS, len(TEXTS))
    np.testing.assert_allclose(kept, probabilities(4))


def test_a_queue_reopens_with_the_scores_kept_and_where_the_moderator_left_off(parts, tmp_path):
    workspace, front, jobs, store = parts
    a = model("model-a")
    queue_id = make_queue(store, state=QueueState(model_name="model-a"))
    store.store().queues.save_scores(queue_id, a.identity, LABELS, probabilities(4))
    workspace.set_model(a)
    workspace.open_queue(queue_id)
    jobs.run()
    assert not front.named("load_requested") and not front.named("classify_requested")
    (shown,) = front.named("results_changed")
    assert shown[0].saved and shown[0].source == QUEUE_SOURCE
    front.view = QueueState(threshold=0.42, filter="flagged", sort_key="score", descending=True, position=3)
    workspace.save_state()
    jobs.run()

    session = ReviewSession()
    again = ReviewWorkspace(store, jobs, jobs, session, lambda: QueueState())
    seen = []
    again.events.results_changed.connect(seen.append)
    again.events.threshold_set.connect(lambda value: seen.append(("threshold", value)))
    again.set_model(a)
    again.reopen(queue_id)
    jobs.run()
    assert seen[0] == ("threshold", 0.42)
    restore = seen[1].restore
    assert (restore.model_name, restore.filter, restore.sort_key, restore.descending, restore.position) == (
        "model-a", "flagged", "score", True, 3)


def test_the_state_of_an_opened_queue_not_shown_yet_is_not_overwritten(parts):
    workspace, front, jobs, store = parts
    queue_id = make_queue(store, state=QueueState(model_name="model-a", position=2))
    workspace.open_queue(queue_id)
    jobs.run()  # waits for its model
    front.view = QueueState(position=0)
    workspace.save_state()
    jobs.run()
    assert store.store().queues.get(queue_id).state.position == 2


def test_switching_models_classifies_the_open_queue_again(parts):
    workspace, front, jobs, store = parts
    a, b = model("model-a"), model("model-b", labels=["ok", "abuse"])
    queue_id = make_queue(store, state=QueueState(model_name="model-a"))
    store.store().queues.save_scores(queue_id, a.identity, LABELS, probabilities(4))
    workspace.set_model(a)
    workspace.open_queue(queue_id)
    jobs.run()
    assert workspace.results_handle is a and not workspace.relabels(a)
    workspace.set_model(b)
    assert workspace.relabels(b)  # other labels: the table is configured anew
    jobs.run()
    assert front.named("classify_requested")[-1] == (TEXTS,)
    assert workspace.queue_classified(Classified(list(TEXTS), probabilities(4, seed=1), b, 0.2))
    assert workspace.results_handle is b and front.named("results_changed")[-1][0].relabel
    assert workspace.view_state().model_name == "model-b"  # the queue reopens with it
    jobs.run()
    assert store.store().queues.scores(queue_id, b.identity, ["ok", "abuse"], 4) is not None


def test_a_classification_for_a_queue_deleted_meanwhile_is_dropped(parts):
    workspace, front, jobs, store = parts
    a = model("model-a")
    workspace.set_model(a)
    queue_id = make_queue(store, state=QueueState(model_name="model-a"))
    workspace.open_queue(queue_id)
    jobs.run()
    assert front.named("classify_requested") == [(TEXTS,)]
    workspace.queue_deleted(queue_id)
    jobs.run()
    assert workspace.queue is None and workspace.pending_items is None
    assert front.named("remembered")[-1] == (None,) and front.named("queue_changed")[-1] == (None,)
    assert front.named("decision_queue")[-1] == ("", None)
    assert not workspace.queue_classified(Classified(list(TEXTS), probabilities(4), a, 0.5))
    jobs.run()
    assert not front.named("results_changed") and workspace.results_handle is None
    assert store.store().queues.scores(queue_id, a.identity, LABELS, 4) is None


def test_a_classification_for_the_queue_left_is_dropped_when_another_opens_from_its_scores(parts):
    workspace, front, jobs, store = parts
    a = model("model-a")
    workspace.set_model(a)
    first = make_queue(store, "first", state=QueueState(model_name="model-a"))
    second = make_queue(store, "second", texts=["other one", "other two"], state=QueueState(model_name="model-a"))
    store.store().queues.save_scores(second, a.identity, LABELS, probabilities(2))
    workspace.open_queue(first)
    jobs.run()  # first: being classified
    workspace.open_queue(second)
    jobs.run()  # second: shown from its scores
    assert front.named("results_changed")[-1][0].items.texts == ["other one", "other two"]
    assert not workspace.queue_classified(Classified(list(TEXTS), probabilities(4), a, 0.5))
    assert workspace.queue.id == second and list(front.session.texts) == ["other one", "other two"]


def test_new_texts_become_a_new_queue_starting_at_the_models_threshold(parts):
    workspace, front, jobs, store = parts
    a = model("model-a", threshold=0.7)
    workspace.set_model(a)
    assert workspace.model_threshold() == 0.7 and model("plain").classifier.default_threshold is None
    assert workspace.model_threshold(model("plain")) == 0.5
    assert workspace.model_threshold(model("three", labels=["a", "b", "c"])) is None
    items = QueueItems(list(TEXTS), [[f"author-{n}"] for n in range(4)], ["author"])
    workspace.start_queue(Classified(list(TEXTS), probabilities(4), a, 1.0), items, "/data/comments.csv")
    assert front.named("threshold_set") == [(0.7,)]
    (shown,) = front.named("results_changed")
    assert shown[0].restore.sort_key == SORT_UNCERTAINTY and shown[0].restore.position == -1  # least sure first
    jobs.run()
    queue = workspace.queue
    assert queue.name == "comments" and queue.columns == ["author"] and queue.source == "/data/comments.csv"
    assert front.named("decision_queue") == [("comments", queue.id)] and front.named("remembered") == [(queue.id,)]
    assert store.store().queues.scores(queue.id, a.identity, LABELS, 4) is not None
    assert store.store().queues.items(queue.id).extras[1] == ["author-1"]


def test_pasted_texts_are_a_queue_named_when_and_an_imports_items_must_match_the_texts():
    assert queue_name(PASTED).startswith("Pasted ") and queue_name("/x/y/report.parquet") == "report"
    assert plain_items(["a", "b"]) == QueueItems(["a", "b"], [[], []], [])


def test_added_texts_join_the_open_queue_with_the_scores_it_has(parts):
    workspace, front, jobs, store = parts
    a = model("model-a")
    workspace.set_model(a)
    workspace.start_queue(Classified(TEXTS[:2], probabilities(2), a, 1.0), None, PASTED)
    jobs.run()
    queue_id = workspace.queue.id
    front.session.set_decisions({0: "hate"})
    assert workspace.queue_has_work()
    new = QueueItems(TEXTS[2:], [["x"], ["y"]], ["id"])
    workspace.add_to_queue(Classified(TEXTS[2:], probabilities(2, seed=3), a, 1.0), new)
    shown = front.named("results_changed")[-1][0]
    assert shown.items.texts == TEXTS and shown.source == QUEUE_SOURCE and shown.result.probabilities.shape == (4, 2)
    assert not front.named("classify_requested")  # the model of the table: nothing classified again
    jobs.run()
    assert workspace.queue.id == queue_id and workspace.queue.items == 4
    assert store.store().queues.scores(queue_id, a.identity, LABELS, 4) is not None


def test_added_texts_by_another_model_classify_the_whole_queue(parts):
    workspace, front, jobs, store = parts
    a, b = model("model-a"), model("model-b")
    workspace.set_model(a)
    workspace.start_queue(Classified(TEXTS[:2], probabilities(2), a, 1.0), None, PASTED)
    jobs.run()
    workspace.set_model(b)
    jobs.run()
    workspace.queue_classified(Classified(TEXTS[:2], probabilities(2), b, 1.0))
    workspace.add_to_queue(Classified(TEXTS[2:], probabilities(2), a, 1.0), None)  # classified by a meanwhile
    assert front.named("classify_requested")[-1] == (TEXTS,)
    assert workspace.queue_classified(Classified(list(TEXTS), probabilities(4), b, 1.0))


def test_reopening_without_a_queue_loads_the_last_model_and_a_lost_queue_is_forgotten(parts, tmp_path):
    workspace, front, jobs, store = parts
    folder = tmp_path / "model"
    folder.mkdir()
    workspace.reopen(None, str(folder))
    assert front.named("load_requested") == [(str(folder),)]
    assert not front.named("queues_changed")  # a first start does not create the store
    workspace.reopen(None, str(tmp_path / "gone"))
    assert len(front.named("load_requested")) == 1
    workspace.reopen(99)
    jobs.run()
    assert front.named("remembered") == [(None,)] and front.named("queues_changed") == [()]
    assert not front.named("failed")
    workspace.open_queue(99)
    jobs.run()
    assert front.named("failed")[0][1] == "Cannot open the queue"


def test_a_renamed_queue_keeps_its_decisions_under_the_new_name(parts):
    workspace, front, jobs, store = parts
    queue_id = make_queue(store)
    workspace.open_queue(queue_id)
    jobs.run()
    renamed = store.store().queues.rename(queue_id, "renamed")
    workspace.queue_renamed(renamed)
    jobs.run()
    assert workspace.queue.name == "renamed" and front.named("decision_queue")[-1] == ("renamed", queue_id)


def test_the_status_line_says_who_the_queue_the_rate_and_the_disagreement(parts):
    workspace, front, jobs, store = parts
    a = model("model-a")
    workspace.set_moderator("ann")
    assert front.named("moderator_changed") == [("ann",)] and workspace.stats_line() == "Moderator: ann"
    workspace.set_model(a)
    workspace.start_queue(Classified(list(TEXTS), probabilities(4), a, 1.0), None, "/data/batch.csv")
    jobs.run()
    front.session.set_decisions({0: "hate", 1: "not-hate"}, {0: "not-hate", 1: "not-hate"})
    assert workspace.stats_line(120.0) == ("Moderator: ann · 'batch': 2 of 4 reviewed · 120 items/hour · "
                                           "50% relabelled (disagree with the model)")


def test_a_comparison_is_offered_only_for_the_prepared_run(parts, tmp_path):
    workspace, front, jobs, store = parts
    assert not workspace.compare(str(tmp_path))  # nothing prepared
    workspace.prepare_retrain()  # no model: nothing to retrain
    assert not jobs.waiting


def test_the_queue_list_and_the_status_line_count_the_same_when_another_queue_decided_the_texts(parts):
    from moderator_app.core.review.store import Decision

    workspace, front, jobs, store = parts
    a = model("model-a")
    workspace.set_moderator("bob")
    workspace.set_model(a)
    workspace.start_queue(Classified(list(TEXTS), probabilities(4), a, 1.0), None, "/data/monday.csv")
    jobs.run()
    monday = workspace.queue
    for text in TEXTS[:2]:  # decided in Monday's queue
        store.store().record(Decision(text, "hate", 0.9, "hate", a.identity, moderator="ann", queue=monday.name,
                                      queue_id=monday.id))
    workspace.start_queue(Classified(list(TEXTS), probabilities(4), a, 1.0), None, "/data/tuesday.csv")
    jobs.run()
    tuesday = workspace.queue
    current, _earlier = store.lookup(list(TEXTS), a.identity, "bob", tuesday.id)  # what the table looks up
    items = {TEXTS.index(text): labels for text, labels in current.items()}
    front.session.set_decisions({item: label for item, (label, _seen) in items.items()},
                                {item: seen for item, (_label, seen) in items.items()})
    assert "'tuesday': 2 of 4 reviewed" in workspace.stats_line()
    assert store.store().queues.get(tuesday.id, moderator="bob").progress == "2 of 4 reviewed"


def multi_label_model(name: str, thresholds: dict[str, float]) -> ModelHandle:
    classifier = SimpleNamespace(is_binary=False, default_threshold=None, positive_index=None, decide=decide,
                                 operating_point=None, multi_label=True, category_thresholds=dict(thresholds))
    return ModelHandle(classifier, SimpleNamespace(labels=list(thresholds), model_id=name, identity=f"identity-{name}"))


def test_a_multi_label_queue_restores_its_category_thresholds_and_names_those_the_model_lacks(parts):
    workspace, front, jobs, store = parts
    ml = multi_label_model("model-ml", {"hate": 0.55, "offensive": 0.5})
    queue_id = make_queue(store, state=QueueState(model_name="model-ml",
                                                  category_thresholds={"hate": 0.3, "threat": 0.2}))
    store.store().queues.save_scores(queue_id, ml.identity, ["hate", "offensive"], probabilities(4))
    workspace.set_model(ml)
    workspace.open_queue(queue_id)
    jobs.run()
    assert not front.named("threshold_set")  # no binary threshold
    (shown,) = front.named("results_changed")
    assert shown[0].category_thresholds == {"hate": 0.3, "offensive": 0.5}  # the model's for one it has none of
    assert shown[0].note == ("The queue's saved threshold of 'threat' was not restored: the model model-ml has no "
                             "such category.")
    workspace.start_queue(Classified(["new"], probabilities(1), ml, 0.1), None, PASTED)  # a new queue: the model's
    assert front.named("results_changed")[-1][0].category_thresholds == {"hate": 0.55, "offensive": 0.5}
    assert front.named("results_changed")[-1][0].note == ""
    jobs.run()
    workspace.start_queue(Classified(["other"], probabilities(1), model("model-a"), 0.1), None, PASTED)
    assert front.named("results_changed")[-1][0].category_thresholds is None  # a binary model's queue: none
