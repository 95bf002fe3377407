"""One loaded classifier shared by a reviewer's quick jobs (classify, explain) and a long batch
labelling run, without either waiting for the other more than one batch.

A fast tokenizer must not be called from two threads at once, so `ModelGate` makes the users take
turns, and the reviewer goes first: the batch labeller (through `GatedClassifier`) pauses between two
batches of its chunk whenever a classification or explanation waits. Everything here is plain Python,
run by whichever front end on whichever thread it likes."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from moderator_app.core.inference.classifier import Classifier
from moderator_app.core.inference.explain import explain
from moderator_app.core.inference.model_info import ModelInfo, describe_model, model_source


class JobCancelled(Exception):
    """A classification was cancelled by its caller (should_cancel() said so)."""


def batch_progress(report: Callable[[int], None], cancelled: Callable[[], bool]) -> Callable[[int], None]:
    """An on_batch callback for a background job: stops it when cancelled, else reports the rows done so far."""
    done = 0

    def on_batch(rows: int) -> None:
        nonlocal done
        done += rows
        if cancelled():
            raise JobCancelled()
        report(done)

    return on_batch


class ModelGate:
    """Turns at one model: one user at a time, interactive jobs before the batch labeller.

    Interactive jobs (classify, explain) take `interactive()`; the batch labeller takes `batch()` for
    each chunk and calls `yield_to_interactive()` after each batch of it, which lets a waiting
    interactive job run while the labeller is paused between batches (its chunk is tokenized
    already, so nothing of it is in use)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._busy = False
        self._waiting = 0  # interactive jobs waiting for their turn

    @contextmanager
    def interactive(self):
        with self._condition:
            self._waiting += 1
            try:
                while self._busy:
                    self._condition.wait()
            finally:
                self._waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def batch(self):
        with self._condition:
            while self._busy or self._waiting:
                self._condition.wait()
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def yield_to_interactive(self) -> None:
        """Called by the holder of batch(): let waiting interactive jobs run, then carry on."""
        with self._condition:
            if not self._waiting:
                return
            self._busy = False
            self._condition.notify_all()
            while self._busy or self._waiting:
                self._condition.wait()
            self._busy = True

    def _release(self) -> None:
        with self._condition:
            self._busy = False
            self._condition.notify_all()


@dataclass
class ModelHandle:
    classifier: Any  # core.inference.classifier.Classifier
    info: ModelInfo
    gate: ModelGate = field(default_factory=ModelGate)

    @property
    def model_id(self) -> str:
        """Where the model was loaded from (a folder or hub id): for people to read."""
        return self.info.model_id

    @property
    def identity(self) -> str:
        """A hash of the weights and labels: what decisions are keyed by."""
        return self.info.identity


class GatedClassifier:
    """The Classifier as batch labelling is given it: each prediction call takes the handle's gate
    and pauses between batches for a moderator's classification or explanation."""

    def __init__(self, handle: ModelHandle):
        self._handle = handle

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle.classifier, name)

    def predict_probabilities(self, texts, batch_size=None, on_batch=None):
        gate = self._handle.gate

        def between_batches(rows: int) -> None:
            if on_batch is not None:
                on_batch(rows)  # may raise to cancel
            gate.yield_to_interactive()

        with gate.batch():
            return self._handle.classifier.predict_probabilities(texts, batch_size, on_batch=between_batches)


def load_model(name: str, allow_pickle: bool = False, device: str = "auto", precision: str = "auto") -> ModelHandle:
    """Load a classifier (a folder or a hub id) for sharing, predicting at `precision` (auto, bf16, fp32).
    Raises what Classifier.load raises."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    classifier = Classifier.load(model_source(name), device=device, allow_pickle=allow_pickle, precision=precision)
    return ModelHandle(classifier, describe_model(classifier))


@dataclass
class Classified:
    texts: list[str]
    probabilities: np.ndarray
    handle: ModelHandle
    seconds: float


def classify(handle: ModelHandle, texts: list[str], on_progress: Callable[[int, int], None] | None = None,
             should_cancel: Callable[[], bool] = lambda: False) -> Classified:
    """Class probabilities of `texts`; on_progress(done, total) after each batch, and should_cancel()
    checked as often (True raises JobCancelled)."""
    started = time.perf_counter()
    done = 0

    def on_batch(rows: int) -> None:
        nonlocal done
        done += rows
        if should_cancel():
            raise JobCancelled()
        if on_progress is not None:
            on_progress(done, len(texts))

    with handle.gate.interactive():
        if should_cancel():
            raise JobCancelled()
        probabilities = handle.classifier.predict_probabilities(texts, on_batch=on_batch)
    return Classified(texts, probabilities, handle, time.perf_counter() - started)


@dataclass
class Explained:
    text: str
    label: str
    label_index: int
    probability: float
    influences: list  # core.inference.explain.WordInfluence


def explain_text(handle: ModelHandle, text: str, label_index: int,
                 still_wanted: Callable[[], bool] = lambda: True) -> Explained | None:
    """Word influences on the probability of `label_index` (occlusion). None when the request was
    superseded before the job started (`still_wanted()` is False)."""
    if not still_wanted():
        return None

    classifier = handle.classifier
    rows: list[np.ndarray] = []

    def probabilities(texts):
        with handle.gate.interactive():  # all occlusions at once: as few forward passes as the token budget allows
            result = classifier.predict_probabilities(list(texts), batch_size=max(len(texts), 1))
        rows.append(result[0])
        return result

    influences = explain(text, probabilities, label_index)
    probability = float(rows[0][label_index]) if rows else float("nan")
    return Explained(text, classifier.labels[label_index], label_index, probability, influences)
