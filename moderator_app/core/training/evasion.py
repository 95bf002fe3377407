"""Evasion-robust training (`TrainingConfig.evasion_augment`): each epoch, a seeded share of the epoch's
training rows gets an obfuscated copy (core/text/obfuscation: letters swapped or dropped, spaces, leetspeak,
look-alike letters, zero-width characters), with the row's label (and soft target), added to that epoch.

The copies are a pure function of (seed, epoch, the epoch's rows), so a resumed run and every process of
a distributed one see the same ones. They join the epoch's rows before batching, so that length-grouped
batches mix them with the originals of similar length. With the option at 0 nothing here runs and the
batches are exactly those of a run without it."""

from __future__ import annotations

import random
from typing import Any, Callable, Sequence

from moderator_app.core.text.obfuscation import FAMILIES, obfuscate


def copies_per_epoch(rows_per_epoch: int, share: float) -> int:
    return round(share * rows_per_epoch)


def choose_copies(texts: Sequence[str], rows: Sequence[int], share: float, seed: int,
                  epoch: int) -> list[tuple[int, str, str]]:
    """(row, family, obfuscated text) for this epoch's copies: `copies_per_epoch` of the epoch's `rows`,
    each with a family drawn at random, all drawn from (seed, epoch)."""
    rng = random.Random(f"evasion:{seed}:{epoch}")  # a str seed is hashed with SHA-512: the same in any process
    positions = sorted(rng.sample(range(len(rows)), copies_per_epoch(len(rows), share)))
    chosen = []
    for position in positions:
        row = rows[position]
        family = FAMILIES[rng.randrange(len(FAMILIES))]
        chosen.append((row, family, obfuscate(texts[row], family, rng)))
    return chosen


class _EpochRows:
    """The training rows followed by this epoch's copies, as a map-style dataset for the DataLoader."""

    def __init__(self, base, copies: list[dict[str, Any]]):
        self.base, self.copies = base, copies

    def __len__(self) -> int:
        return len(self.base) + len(self.copies)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.base[index] if index < len(self.base) else self.copies[index - len(self.base)]


class EvasionCopies:
    """The engine's side: `extend` adds an epoch's copies to its rows and lengths (batching),
    `dataset` gives the rows the loader reads them from (the tokenized training set plus the copies)."""

    def __init__(self, train_set, texts: Sequence[str], share: float, seed: int,
                 tokenize: Callable[[list[str]], dict[str, list]]):
        self.train_set, self.texts, self.share, self.seed, self.tokenize = train_set, list(texts), share, seed, tokenize
        self._epoch: int | None = None
        self._copies: list[dict[str, Any]] = []
        self.families: dict[str, int] = {}

    def extend(self, epoch: int, lengths: list[int], rows: list[int]) -> tuple[list[int], list[int]]:
        if self._epoch != epoch:
            chosen = choose_copies(self.texts, rows, self.share, self.seed, epoch)
            encoded = self.tokenize([text for _, _, text in chosen]) if chosen else {}
            self._copies = []
            for position, (row, _, _) in enumerate(chosen):
                copy = dict(self.train_set[row])  # the label and any soft target of the original
                copy.update({column: values[position] for column, values in encoded.items()})
                self._copies.append(copy)
            self.families = {family: sum(1 for _, used, _ in chosen if used == family) for family in FAMILIES}
            self._epoch = epoch
        first = len(self.train_set)
        copy_lengths = [len(copy["input_ids"]) for copy in self._copies]
        return lengths + copy_lengths, rows + list(range(first, first + len(self._copies)))

    def dataset(self, epoch: int):
        assert epoch == self._epoch, "extend() the epoch's rows first"
        return _EpochRows(self.train_set, self._copies)


def report_copies(data, share: float) -> None:
    """Say in the data report how many obfuscated copies each epoch gets (`data` is a LoadedData)."""
    if not share:
        return
    rows = len(data.train)
    if data.train_sources and data.source_weights and any(weight != 1 for weight in data.source_weights):
        from collections import Counter

        per_source = Counter(data.train_sources)
        rows = sum(round(count * data.source_weights[source]) for source, count in per_source.items())
    data.report.evasion_copies = copies_per_epoch(rows, share)
    data.report.evasion_share = share
