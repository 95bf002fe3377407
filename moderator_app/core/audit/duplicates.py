"""Duplicates: rows with the same text after normalisation, and near-duplicates by MinHash.

Normalisation undoes what makes copies of one post look different: HTML entities (`&amp;`), case,
spacing, `@user` mentions (each reduced to "@user", so "@bob you …" and "@alice you …" are one
text), URLs (left out: a copy with and without its link is one text), Unicode compatibility forms and
typographic quotes and dashes. Near-duplicates are found among the distinct
normalised texts by datasketch's MinHash LSH over character 5-grams, each candidate pair kept only
when its estimated Jaccard similarity reaches the threshold; the pairs' connected components
(scipy) are the groups. A group is flagged when its labels conflict, when it has rows on both sides
of the validation split (a leak that inflates validation scores) and when it spans sources."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from collections import Counter
from typing import Callable, Sequence

import numpy as np

from moderator_app.core.audit.embeddings import AuditCancelled
from moderator_app.core.errors import UserError

NEAR_THRESHOLD = 0.8
NUM_PERM = 128
SHINGLE = 5
MENTION = re.compile(r"@\w+")
URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:com|org|net|ly|co)/\S*", re.IGNORECASE)
SPACE = re.compile(r"\s+")
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def normalise(text: str) -> str:
    """The form two copies of one text share."""
    text = unicodedata.normalize("NFKC", html.unescape(html.unescape(str(text))))
    text = URL.sub(" ", text)
    text = MENTION.sub(" @user ", text)
    return SPACE.sub(" ", text.lower().translate(QUOTES)).strip()


@dataclass
class DuplicateGroup:
    kind: str  # "exact" or "near"
    rows: list[int]  # indices into the audited rows
    conflict: bool = False  # its rows' labels differ
    leak: bool = False  # rows in training and in validation
    cross_source: bool = False
    similarity: float = 1.0  # the lowest estimated Jaccard similarity of a pair that joined it (near)
    labels: dict[str, int] = field(default_factory=dict)  # label -> rows ("hate yes" -> rows with categories)
    conflict_categories: list[str] = field(default_factory=list)  # a multi-label run's: those yes in one row, no in another


def exact_groups(keys: Sequence[str]) -> list[list[int]]:
    """Rows sharing a non-empty normalised text, in row order, groups by their first row."""
    by_key: dict[str, list[int]] = {}
    for row, key in enumerate(keys):
        if key:
            by_key.setdefault(key, []).append(row)
    return [rows for rows in by_key.values() if len(rows) > 1]


def near_groups(keys: Sequence[str], threshold: float = NEAR_THRESHOLD,
                cancelled: Callable[[], bool] | None = None) -> list[tuple[list[int], float]]:
    """Rows whose normalised texts differ but are near-duplicates: (rows, lowest pair similarity) per
    group of at least two distinct texts."""
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        raise UserError("Finding near-duplicates needs datasketch, which is not installed.",
                        "Install it with: pip install 'moderator-app[audit]'.") from None
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    distinct: dict[str, list[int]] = {}
    for row, key in enumerate(keys):
        if key:
            distinct.setdefault(key, []).append(row)
    texts = list(distinct)
    shingles = [{text[i:i + SHINGLE].encode("utf-8") for i in range(max(1, len(text) - SHINGLE + 1))}
                for text in texts]
    hashes = MinHash.bulk(shingles, num_perm=NUM_PERM, seed=1)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    pairs, lowest = [], {}
    for index, minhash in enumerate(hashes):
        if cancelled is not None and index % 2048 == 0 and cancelled():
            raise AuditCancelled("The audit was cancelled; nothing was written.")
        for other in lsh.query(minhash):
            similarity = minhash.jaccard(hashes[other])
            if similarity >= threshold:
                pairs.append((other, index))
                lowest[(other, index)] = similarity
        lsh.insert(index, minhash)
    if not pairs:
        return []
    first, second = np.array(pairs).T
    graph = coo_matrix((np.ones(len(pairs)), (first, second)), shape=(len(texts), len(texts)))
    _count, component = connected_components(graph, directed=False)
    members: dict[int, list[int]] = {}
    for index in np.unique(np.concatenate([first, second])):
        members.setdefault(int(component[index]), []).append(int(index))
    floor: dict[int, float] = {}
    for (a, _b), similarity in lowest.items():
        group = int(component[a])
        floor[group] = min(floor.get(group, 1.0), similarity)
    groups = []
    for group, indices in members.items():
        rows = sorted(row for index in indices for row in distinct[texts[index]])
        groups.append((rows, floor[group]))
    return sorted(groups, key=lambda item: item[0][0])


def describe_groups(groups: list[tuple[str, list[int], float]], labels: Sequence[str], splits: Sequence[str],
                    sources: Sequence[int]) -> list[DuplicateGroup]:
    """Each group's flags from its rows' labels, splits and sources."""
    described = []
    for kind, rows, similarity in groups:
        counts: dict[str, int] = {}
        for row in rows:
            counts[labels[row]] = counts.get(labels[row], 0) + 1
        described.append(DuplicateGroup(
            kind, rows, conflict=len(counts) > 1, leak=len({splits[row] for row in rows}) > 1,
            cross_source=len({sources[row] for row in rows}) > 1, similarity=similarity, labels=counts))
    return described


def cross_source_disagreements(groups: Sequence[DuplicateGroup], sources: Sequence[int],
                               differ: Callable[[int, int], bool]) -> tuple[Counter, Counter]:
    """Per source: its rows in a duplicate group with another source's rows, and those of them that
    `differ(row, other)` from a row of another source in the group (a label, or a known category value)."""
    shared, disagree = Counter(), Counter()
    for group in groups:
        if not group.cross_source:
            continue
        for row in group.rows:
            others = [other for other in group.rows if sources[other] != sources[row]]
            shared[sources[row]] += 1
            if any(differ(row, other) for other in others):
                disagree[sources[row]] += 1
    return shared, disagree
