"""Evasion-robust training (`TrainingConfig.evasion_augment`): each epoch, a seeded share of the epoch's
training rows gets an obfuscated copy (core/text/obfuscation: letters swapped or dropped, spaces, leetspeak,
look-alike letters, zero-width characters), with the row's label (and soft target), added to that epoch.
`TrainingConfig.evasion_families` picks the kinds the copies use: all six, or only those the model's own
reading of a text does not undo (`training_families`).

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


def training_families(config) -> tuple[str, ...]:
    """The obfuscation families of a run's copies. `not_undone` leaves out those the inference normalisation
    (core/text/normalise) turns back into the clean text: zero-width characters, removed with `normalise_text`
    (a BERT tokenizer drops them from the copy too, which then repeats its original), and look-alike letters,
    folded back to Latin with `normalise_evasion` as well. Their copies would train on spellings the model
    never reads; the families it does read disguised (swapped and dropped letters, spaces, leetspeak) get them."""
    if getattr(config, "evasion_families", "all") != "not_undone" or not getattr(config, "normalise_text", True):
        return FAMILIES
    undone = {"zero_width", "homoglyphs"} if getattr(config, "normalise_evasion", False) else {"zero_width"}
    return tuple(family for family in FAMILIES if family not in undone)


def choose_copies(texts: Sequence[str], rows: Sequence[int], share: float, seed: int, epoch: int,
                  families: Sequence[str] = FAMILIES) -> list[tuple[int, str, str]]:
    """(row, family, obfuscated text) for this epoch's copies: `copies_per_epoch` of the epoch's `rows`,
    each with one of `families` drawn at random, all drawn from (seed, epoch)."""
    rng = random.Random(f"evasion:{seed}:{epoch}")  # a str seed is hashed with SHA-512: the same in any process
    positions = sorted(rng.sample(range(len(rows)), copies_per_epoch(len(rows), share)))
    chosen = []
    for position in positions:
        row = rows[position]
        family = families[rng.randrange(len(families))]
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
                 tokenize: Callable[[list[str]], dict[str, list]], families: Sequence[str] = FAMILIES):
        self.train_set, self.texts, self.share, self.seed, self.tokenize = train_set, list(texts), share, seed, tokenize
        self.kinds = tuple(families)
        self._epoch: int | None = None
        self._copies: list[dict[str, Any]] = []
        self.families: dict[str, int] = {}

    def extend(self, epoch: int, lengths: list[int], rows: list[int]) -> tuple[list[int], list[int]]:
        if self._epoch != epoch:
            chosen = choose_copies(self.texts, rows, self.share, self.seed, epoch, self.kinds)
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


def report_copies(data, share: float, families: Sequence[str] = FAMILIES) -> None:
    """Say in the data report how many obfuscated copies each epoch gets, and of which kinds when not all
    (`data` is a LoadedData)."""
    if not share:
        return
    rows = len(data.train)
    if data.train_sources and data.source_weights and any(weight != 1 for weight in data.source_weights):
        from collections import Counter

        per_source = Counter(data.train_sources)
        rows = sum(round(count * data.source_weights[source]) for source, count in per_source.items())
    data.report.evasion_copies = copies_per_epoch(rows, share)
    data.report.evasion_share = share
    data.report.evasion_families = [] if tuple(families) == FAMILIES else list(families)
