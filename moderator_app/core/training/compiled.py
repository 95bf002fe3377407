"""The training step compiled with torch.compile (inductor) when the configuration asks for it.

Compiling costs time once per input shape, so batches are padded to a few length buckets (32, 64, 96,
128, … tokens, the last one `max_length`): with the attention mask the padding changes nothing the model
computes for the real tokens. Only full batches go through the compiled model; the epoch's last, smaller
batch runs uncompiled rather than compile one more shape for a single step.

Compilation that is unavailable (torch.compile raising, no C++ compiler, a platform inductor does not
support) or that fails on the first compiled step leaves the run uncompiled: said in one line, recorded in
the model card, and the step is done again uncompiled, never a traceback. torch is imported inside the
functions, as in the engine.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

BUCKET_STEPS = (32, 64, 96, 128, 192, 256, 384, 512)


def length_buckets(max_length: int) -> tuple[int, ...]:
    """The padded lengths a compiled run's batches take: a few fixed ones below `max_length`, and it."""
    return tuple(length for length in BUCKET_STEPS if length < max_length) + (max_length,)


class BucketPadding:
    """A collator that pads each batch to the smallest bucket holding its longest row while `active`
    (the compiled model is in use); otherwise it pads as `collate` does (to the batch's longest row)."""

    def __init__(self, collate, buckets: tuple[int, ...]):
        self.collate, self.buckets, self.active = collate, buckets, True

    def __call__(self, features: list[dict[str, Any]]):
        if not self.active:
            return self.collate(features)
        longest = max(len(feature["input_ids"]) for feature in features)
        bucket = next((length for length in self.buckets if length >= longest), longest)
        return dataclasses.replace(self.collate, padding="max_length", max_length=bucket,
                                   pad_to_multiple_of=None)(features)


class TrainingStep:
    """Which model a training step calls: the compiled one for full batches once asked for (and while it
    works), the plain one otherwise. `say` gets the one line a fallback is worth."""

    def __init__(self, model, batch_size: int, wanted: bool, say: Callable[[str], None],
                 unavailable: str | None = None):
        self.model, self.batch_size, self.say = model, batch_size, say
        self.compiled = None
        self.proven = False  # a compiled step has run
        self.padding: BucketPadding | None = None
        self.state = "off (as set)"
        if not wanted:
            return
        if unavailable:
            self._fall_back(unavailable)
            return
        try:
            import torch

            self.compiled = torch.compile(model, dynamic=False)
        except Exception as error:  # noqa: BLE001 - any failure to compile means one thing: train uncompiled
            self._fall_back(_one_line(error))
            return
        self.state = "on: torch.compile (inductor)"

    def collator(self, collate, max_length: int):
        """The training batches' collator: padding to length buckets while the compiled model is used."""
        if self.compiled is None:
            return collate
        self.padding = BucketPadding(collate, length_buckets(max_length))
        self.state += ", batches padded to " + "/".join(map(str, self.padding.buckets)) + " tokens"
        return self.padding

    def run(self, rows: int, forward_backward: Callable[[Any], Any], clear: Callable[[], None]):
        """`forward_backward(model)` for a batch of `rows` rows, on the compiled model where it applies. A
        failure of the first compiled step falls back: `clear()` drops its gradients and the step is done
        again on the plain model (whose own failure, then, is the run's)."""
        if self.compiled is None or rows != self.batch_size:
            return forward_backward(self.model)
        if self.proven:
            return forward_backward(self.compiled)
        try:
            result = forward_backward(self.compiled)
        except Exception as error:  # noqa: BLE001 - see run(): the plain model's step decides
            clear()
            result = forward_backward(self.model)  # a failure here is the step's own, not the compiler's
            self._fall_back(_one_line(error))
            return result
        self.proven = True
        return result

    def _fall_back(self, reason: str) -> None:
        self.compiled = None
        if self.padding is not None:
            self.padding.active = False
        self.state = f"asked for but unavailable ({reason}); trained uncompiled"
        self.say(f"Compilation is unavailable here ({reason}): training goes on uncompiled.")


def _one_line(error: BaseException) -> str:
    text = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    text = text if len(text) <= 160 else text[:157] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
