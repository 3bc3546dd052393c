"""The similarity index of the semantic cache: one embedding matrix per conversation context.

A semantic match must agree exactly on everything but the last user turn (system prompt, earlier turns,
parameters, routing inputs, tenant scope): that is the context key. Rows are grouped by it, so a lookup
scans only the rows that could match, with one vectorised matrix-vector product, narrowed further by an
inverted index on the words the guard requires (see `_candidate_rows`). The index holds keys,
never answers: the answer is read from the exact store, so it expires and is evicted there, and a row
whose answer is gone is dropped when found.

The index is per process. With the Redis backend each replica indexes what it stored and every exact
hit it served, so replicas learn each other's frequent questions as they see them; embeddings are not
shipped through Redis (a replica would have to pull every other replica's rows to scan them locally).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from router_service.cache.embedding import Vector
from router_service.cache.guard import QuestionShape, blocking_requirements, compatible, index_keys

# Rows checked against the guard per lookup: enough that near misses ranked above the true match
# ("basic plan" above "the pro plan's price") cannot hide it, few enough to stay cheap.
_CANDIDATES = 16
_INITIAL_ROWS = 16
# Per row beyond its embedding: shape, word-index postings, row maps. Measured with tracemalloc by
# bench/bench_cache.py (about 0.9 KB).
_ROW_OVERHEAD_BYTES = 900


@dataclass(slots=True)
class _Group:
    """The rows of one context; rows [0, size) are live, kept dense by moving the last row into a hole."""

    matrix: Vector
    keys: list[bytes] = field(default_factory=list)
    shapes: list[QuestionShape] = field(default_factory=list)
    rows: dict[bytes, int] = field(default_factory=dict)
    # Index key (guard.index_keys) -> entry keys; empty when the guard does not require shared words.
    postings: dict[str, set[bytes]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.keys)


@dataclass(frozen=True, slots=True)
class SemanticMatch:
    key: bytes
    similarity: float


class SemanticIndex:
    def __init__(self, *, dim: int, max_entries: int, threshold: float, same_content_words: bool) -> None:
        self._dim = dim
        self._max_entries = max_entries
        self._threshold = threshold
        self._same_content_words = same_content_words
        self._groups: dict[bytes, _Group] = {}
        # Every key with its context, least recently used first: the bound evicts from the front.
        self._where: OrderedDict[bytes, bytes] = OrderedDict()
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: bytes) -> bool:
        return key in self._where

    @property
    def nbytes(self) -> int:
        """Estimated memory: the matrices (allocated rows) plus a measured overhead per row."""
        return sum(g.matrix.nbytes for g in self._groups.values()) + len(self._where) * _ROW_OVERHEAD_BYTES

    def add(self, context: bytes, key: bytes, vector: Vector, shape: QuestionShape) -> None:
        if not vector.any():
            return  # no words at all ("???"): nothing to be similar to
        if key in self._where:
            self.remove(key)
        group = self._groups.get(context)
        if group is None:
            group = self._groups[context] = _Group(np.empty((_INITIAL_ROWS, self._dim), dtype=np.float32))
        if group.size == group.matrix.shape[0]:
            # Grow by half: amortised copies stay cheap, and at most a third of the matrix is slack.
            grown = np.empty((group.size + group.size // 2, self._dim), dtype=np.float32)
            grown[: group.size] = group.matrix
            group.matrix = grown
        group.matrix[group.size] = vector
        group.rows[key] = group.size
        group.keys.append(key)
        group.shapes.append(shape)
        if self._same_content_words:
            for index_key in index_keys(shape):
                group.postings.setdefault(index_key, set()).add(key)
        self._where[key] = context
        while len(self._where) > self._max_entries:
            self.remove(next(iter(self._where)))
            self.evictions += 1

    def remove(self, key: bytes) -> None:
        context = self._where.pop(key, None)
        if context is None:
            return
        group = self._groups[context]
        row = group.rows.pop(key)
        if self._same_content_words:
            for index_key in index_keys(group.shapes[row]):
                posting = group.postings[index_key]
                posting.discard(key)
                if not posting:
                    del group.postings[index_key]
        last = group.size - 1
        if row != last:
            moved = group.keys[last]
            group.matrix[row] = group.matrix[last]
            group.keys[row] = moved
            group.shapes[row] = group.shapes[last]
            group.rows[moved] = row
        group.keys.pop()
        group.shapes.pop()
        if not group.keys:
            del self._groups[context]
        elif group.matrix.shape[0] > _INITIAL_ROWS and group.size * 4 <= group.matrix.shape[0]:
            group.matrix = group.matrix[: group.matrix.shape[0] // 2].copy()

    def matches(self, context: bytes, vector: Vector, shape: QuestionShape) -> list[SemanticMatch]:
        """Rows of this context at or above the threshold that pass the guard, most similar first."""
        group = self._groups.get(context)
        if group is None:
            return []
        rows = self._candidate_rows(group, shape)
        if rows is None:
            similarities = group.matrix[: group.size] @ vector
            rows = np.arange(group.size)
        else:
            similarities = group.matrix[rows] @ vector
        if len(rows) > _CANDIDATES:
            top = np.argpartition(similarities, -_CANDIDATES)[-_CANDIDATES:]
            rows, similarities = rows[top], similarities[top]
        keep = similarities >= self._threshold
        rows, similarities = rows[keep], similarities[keep]
        order = np.argsort(-similarities, kind="stable")
        rows, similarities = rows[order], similarities[order]
        found = []
        for row, similarity in zip(rows.tolist(), similarities.tolist(), strict=True):
            if compatible(shape, group.shapes[row], same_content_words=self._same_content_words):
                found.append(SemanticMatch(group.keys[row], similarity))
        return found

    def _candidate_rows(self, group: _Group, shape: QuestionShape) -> npt.NDArray[np.intp] | None:
        """Rows carrying the index keys the guard requires; None to scan every row instead.

        With the same-content-words guard only rows sharing the question's numbers and (fuzzily) its
        content words can pass, so the scan is narrowed to them: in the benchmark's context of 100k
        questions, to the few thousand that share the question's rarest word. Past a quarter of the
        group, one product over every row is cheaper than collecting the rows.
        """
        if not self._same_content_words:
            return None
        requirements = blocking_requirements(shape)
        if not requirements:
            return None
        postings = group.postings
        sized = sorted(
            ((sum(len(postings.get(k, ())) for k in keys), keys) for keys in requirements), key=lambda x: x[0]
        )
        smallest, keys = sized[0]
        if smallest * 4 > group.size:
            return None
        candidates: set[bytes] = set().union(*(postings.get(k, ()) for k in keys))
        for _, keys in sized[1:]:
            # Set operations run in C and cost the size of `candidates`, not of the postings.
            matched = [candidates.intersection(postings[k]) for k in keys if k in postings]
            candidates = set().union(*matched)
            if not candidates:
                break
        return np.fromiter((group.rows[c] for c in candidates), dtype=np.intp, count=len(candidates))

    def touch(self, key: bytes) -> None:
        """Mark a row as used (it answered), so the bound evicts it last."""
        if key in self._where:
            self._where.move_to_end(key)
