"""Aggregates of ledger entries as a columnar table, so a report over millions of requests is a few
vectorised passes rather than a Python loop.

Each row is one combination of (time bucket, model, tenant, agent, domain, complexity, strategy, arm)
with integer metric sums and a latency histogram. Recording appends to a small write buffer that is
folded into the numpy columns in bulk. Time buckets are hourly for the last `hourly_horizon_s` and
daily before that: older hourly rows are compacted into daily ones, so memory grows with days x
combinations in use, never with requests. Integer sums stay exact (int64; no float).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

HOUR_S = 3600
DAY_S = 86400
# Upper bounds of the latency histogram buckets in seconds: 1 ms x 1.25^i, up to about 11 minutes.
LATENCY_BOUNDS_S: tuple[float, ...] = tuple(0.001 * 1.25**i for i in range(61))
N_BUCKETS = len(LATENCY_BOUNDS_S) + 1

# Key columns. MODEL is an interned (provider, model) pair; the string dimensions are interned too.
K_BUCKET, K_MODEL, K_TENANT, K_AGENT, K_DOMAIN, K_COMPLEXITY, K_STRATEGY, K_ARM, K_SPAN = range(9)
N_KEYS = 9
# Metric columns.
(
    M_REQUESTS,
    M_ERRORS,
    M_INPUT,
    M_OUTPUT,
    M_CACHED,
    M_COST,
    M_BASELINE,
    M_CACHE_HITS,
    M_CACHE_SAVED,
    M_RATINGS,
    M_RATING_SUM,
) = range(11)
N_METRICS = 11

Key = tuple[int, int, int, int, int, int, int, int, int]
IntArray = npt.NDArray[np.int64]
T = TypeVar("T")


def latency_bucket(seconds: float) -> int:
    return bisect.bisect_left(LATENCY_BOUNDS_S, seconds)


class Interner(Generic[T]):
    """Strings (or pairs) <-> small ints, so key columns are integers."""

    def __init__(self) -> None:
        self.codes: dict[T, int] = {}
        self.values: list[T] = []

    def code(self, value: T) -> int:
        found = self.codes.get(value)
        if found is None:
            found = self.codes[value] = len(self.values)
            self.values.append(value)
        return found


@dataclass(slots=True)
class Grouped:
    """Aggregated metrics per group: `keys` (G x N_KEYS, -1 where not grouped), sums, latency quantiles."""

    keys: IntArray
    metrics: IntArray
    # G x len(QUANTILES) seconds.
    latency: npt.NDArray[np.float64]


QUANTILES = (0.50, 0.95, 0.99)
_LOWER = np.array((0.0, *LATENCY_BOUNDS_S[:-1], LATENCY_BOUNDS_S[-1]), dtype=np.float64)
_UPPER = np.array((*LATENCY_BOUNDS_S, LATENCY_BOUNDS_S[-1]), dtype=np.float64)


def quantiles(hist: IntArray) -> npt.NDArray[np.float64]:
    """Latency quantiles of each histogram row, interpolated linearly inside the bucket holding the rank."""
    out = np.zeros((len(hist), len(QUANTILES)), dtype=np.float64)
    if not len(hist):
        return out
    cumulative = np.cumsum(hist, axis=1)
    totals = cumulative[:, -1].astype(np.float64)
    rows = np.arange(len(hist))
    for j, q in enumerate(QUANTILES):
        rank = q * totals
        index = (cumulative < rank[:, None]).sum(axis=1)
        index = np.minimum(index, hist.shape[1] - 1)
        before = np.where(index > 0, cumulative[rows, np.maximum(index - 1, 0)], 0).astype(np.float64)
        count = np.maximum(hist[rows, index], 1).astype(np.float64)
        fraction = np.clip((rank - before) / count, 0.0, 1.0)
        out[:, j] = np.where(totals > 0, _LOWER[index] + (_UPPER[index] - _LOWER[index]) * fraction, 0.0)
    return out


class RollupTable:
    def __init__(self, hourly_horizon_s: float = 48 * HOUR_S, buffer_size: int = 4096) -> None:
        self.models: Interner[tuple[str, str]] = Interner()
        self.strings: Interner[str] = Interner()
        self._index: dict[Key, int] = {}
        # The key object of each row, so callers can hold one shared tuple per row instead of a copy each.
        self._key_objects: list[Key] = []
        self._keys: IntArray = np.zeros((1024, N_KEYS), dtype=np.int64)
        self._metrics: IntArray = np.zeros((1024, N_METRICS), dtype=np.int64)
        self._hist: IntArray = np.zeros((1024, N_BUCKETS), dtype=np.int64)
        self._size = 0
        self._pending: list[tuple[int, int, tuple[int, ...], int]] = []
        self._buffer_size = buffer_size
        self._hourly_horizon_s = hourly_horizon_s
        self._compacted_before = 0.0

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        return int(self._keys.nbytes + self._metrics.nbytes + self._hist.nbytes)

    def key(
        self,
        timestamp: float,
        now: float,
        provider: str,
        model: str,
        tenant: str,
        agent: str,
        domain: int,
        complexity: int,
        strategy: str,
        arm: str,
    ) -> Key:
        hourly = timestamp >= now - self._hourly_horizon_s
        span = HOUR_S if hourly else DAY_S
        s = self.strings.code
        return (
            int(timestamp // span) * span,
            self.models.code((provider, model)),
            s(tenant),
            s(agent),
            domain,
            complexity,
            s(strategy),
            s(arm),
            span,
        )

    def _row(self, key: Key) -> int:
        row = self._index.get(key)
        if row is None:
            row = self._size
            if row == len(self._keys):
                self._grow()
            self._keys[row] = key
            self._index[key] = row
            self._key_objects.append(key)
            self._size += 1
        return row

    def _grow(self) -> None:
        capacity = len(self._keys) * 2
        for name in ("_keys", "_metrics", "_hist"):
            old: IntArray = getattr(self, name)
            new = np.zeros((capacity, old.shape[1]), dtype=np.int64)
            new[: len(old)] = old
            setattr(self, name, new)

    def add(self, key: Key, bucket: int, values: tuple[int, ...], count: int = 1) -> Key:
        """Add one entry's values (count -1 with negated values takes an entry back out); returns the
        row's canonical key object (share it, don't copy it)."""
        row = self._row(key)
        self._pending.append((row, bucket, values, count))
        if len(self._pending) >= self._buffer_size:
            self.flush()
        return self._key_objects[row]

    def flush(self) -> None:
        if not self._pending:
            return
        rows = np.fromiter((p[0] for p in self._pending), dtype=np.int64, count=len(self._pending))
        buckets = np.fromiter((p[1] for p in self._pending), dtype=np.int64, count=len(self._pending))
        values = np.array([p[2] for p in self._pending], dtype=np.int64)
        counts = np.fromiter((p[3] for p in self._pending), dtype=np.int64, count=len(self._pending))
        self._pending.clear()
        np.add.at(self._metrics[:, : values.shape[1]], rows, values)
        np.add.at(self._hist, (rows, buckets), counts)

    def find(self, key: Key) -> int | None:
        """The row of a key, following it into its daily row if it was compacted."""
        row = self._index.get(key)
        if row is None and key[K_SPAN] == HOUR_S:
            row = self._index.get(self._day_key(key))
        return row

    def add_rating(self, key: Key, rating: int, previous: int | None) -> None:
        self.flush()
        row = self.find(key)
        if row is None:
            return
        if previous is None:
            self._metrics[row, M_RATINGS] += 1
        else:
            self._metrics[row, M_RATING_SUM] -= previous
        self._metrics[row, M_RATING_SUM] += rating

    @staticmethod
    def _day_key(key: Key) -> Key:
        return (key[0] // DAY_S * DAY_S, *key[1:8], DAY_S)

    def compact(self, now: float) -> None:
        """Fold hourly rows older than the horizon into daily rows (at most once per hour)."""
        if now - self._compacted_before < HOUR_S:
            return
        self._compacted_before = now
        self.flush()
        size = self._size
        old = (self._keys[:size, K_SPAN] == HOUR_S) & (self._keys[:size, K_BUCKET] < now - self._hourly_horizon_s)
        if not old.any():
            return
        keep = ~old
        moved_keys = self._keys[:size][old].copy()
        moved_metrics = self._metrics[:size][old].copy()
        moved_hist = self._hist[:size][old].copy()
        kept = int(keep.sum())
        for name in ("_keys", "_metrics", "_hist"):
            arr: IntArray = getattr(self, name)
            arr[:kept] = arr[:size][keep]
            arr[kept:size] = 0
        self._size = kept
        self._key_objects = [k for k, was_old in zip(self._key_objects, old.tolist(), strict=True) if not was_old]
        self._index = {k: i for i, k in enumerate(self._key_objects)}
        moved_keys[:, K_BUCKET] = moved_keys[:, K_BUCKET] // DAY_S * DAY_S
        moved_keys[:, K_SPAN] = DAY_S
        for i in range(len(moved_keys)):
            row = self._row(tuple(int(v) for v in moved_keys[i]))  # type: ignore[arg-type]
            self._metrics[row] += moved_metrics[i]
            self._hist[row] += moved_hist[i]

    def group(
        self,
        start: float,
        end: float,
        tenants: Sequence[int] | None,
        models: Sequence[int] | None,
        group_cols: Sequence[int],
        day_buckets: bool,
        provider_of_model: IntArray | None,
    ) -> tuple[Grouped, Grouped]:
        """(totals, per-group) over rows overlapping [start, end) and matching the filters."""
        self.flush()
        size = self._size
        keys = self._keys[:size]
        mask = (keys[:, K_BUCKET] + keys[:, K_SPAN] > start) & (keys[:, K_BUCKET] < end)
        if tenants is not None:
            mask &= np.isin(keys[:, K_TENANT], np.asarray(tenants, dtype=np.int64))
        if models is not None:
            mask &= np.isin(keys[:, K_MODEL], np.asarray(models, dtype=np.int64))
        sel_keys = keys[mask]
        sel_metrics = self._metrics[:size][mask]
        sel_hist = self._hist[:size][mask]
        total_hist = sel_hist.sum(axis=0, keepdims=True)
        totals = Grouped(
            np.full((1, N_KEYS), -1, dtype=np.int64), sel_metrics.sum(axis=0, keepdims=True), quantiles(total_hist)
        )
        if not group_cols or not len(sel_keys):
            return totals, Grouped(
                np.zeros((0, N_KEYS), dtype=np.int64),
                np.zeros((0, N_METRICS), dtype=np.int64),
                np.zeros((0, len(QUANTILES)), dtype=np.float64),
            )
        grouping = np.full_like(sel_keys, -1)
        for col in group_cols:
            grouping[:, col] = sel_keys[:, col]
        if K_BUCKET in group_cols:
            span = DAY_S if day_buckets else HOUR_S
            grouping[:, K_BUCKET] = sel_keys[:, K_BUCKET] // span
        if provider_of_model is not None:
            # Grouping by provider only: the model column carries the provider's code (see ledger.memory).
            grouping[:, K_MODEL] = provider_of_model[sel_keys[:, K_MODEL]]
        # One int64 per row (mixed radix over the grouped columns) makes the grouping a 1-D unique.
        combined = np.zeros(len(grouping), dtype=np.int64)
        for col in group_cols:
            column = grouping[:, col] - grouping[:, col].min()
            combined = combined * (int(column.max()) + 1) + column
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        starts = np.searchsorted(inverse[order], np.arange(len(first)))
        metrics = np.add.reduceat(sel_metrics[order], starts, axis=0)
        hist = np.add.reduceat(sel_hist[order], starts, axis=0)
        keys = grouping[first]
        if K_BUCKET in group_cols:
            keys[:, K_BUCKET] *= DAY_S if day_buckets else HOUR_S
        return totals, Grouped(keys, metrics, quantiles(hist))
