"""The in-process ledger: idempotent by request id, aggregates in a columnar rollup table, raw entries in
a bounded ring. Memory is bounded by the rollups (days x combinations in use) and the fixed-size id
window and ring, not by the number of requests; a report reads rollups, never entries."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from router_service.domain import Complexity, Domain, ModelRef
from router_service.ledger.entry import LedgerEntry, RequestStatus
from router_service.ledger.report import Dimension, GroupKey, Report, ReportQuery, ReportRow
from router_service.ledger.rollups import (
    HOUR_S,
    K_AGENT,
    K_ARM,
    K_BUCKET,
    K_COMPLEXITY,
    K_DOMAIN,
    K_MODEL,
    K_STRATEGY,
    K_TENANT,
    M_BASELINE,
    M_CACHE_HITS,
    M_CACHE_SAVED,
    M_CACHED,
    M_COST,
    M_ERRORS,
    M_INPUT,
    M_OUTPUT,
    M_RATING_SUM,
    M_RATINGS,
    M_REQUESTS,
    Key,
    RollupTable,
    latency_bucket,
)

_COLUMNS = {
    Dimension.MODEL: K_MODEL,
    Dimension.PROVIDER: K_MODEL,
    Dimension.TENANT: K_TENANT,
    Dimension.AGENT: K_AGENT,
    Dimension.DOMAIN: K_DOMAIN,
    Dimension.COMPLEXITY: K_COMPLEXITY,
    Dimension.STRATEGY: K_STRATEGY,
    Dimension.EXPERIMENT_ARM: K_ARM,
    Dimension.HOUR: K_BUCKET,
    Dimension.DAY: K_BUCKET,
}


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    model: ModelRef
    replaced: bool
    previous_rating: int | None


class InMemoryLedger:
    """Default ledger backend. Thread-safe so reports can run off the event loop."""

    def __init__(
        self,
        recent_entries: int = 10_000,
        remembered_ids: int = 200_000,
        clock: Callable[[], float] = time.time,
        hourly_horizon_s: float = 48 * HOUR_S,
    ) -> None:
        self._lock = threading.Lock()
        self._table = RollupTable(hourly_horizon_s)
        self._recent: deque[LedgerEntry] = deque(maxlen=recent_entries)
        # request id -> rollup key (a shared object): the idempotency and feedback window, bounded FIFO.
        # A dict plus a deque of insertion order is smaller than an OrderedDict and O(1) to trim.
        self._ids: dict[str, Key] = {}
        # Ratings of requests still in the window (few requests are rated).
        self._ratings: dict[str, int] = {}
        # Entries of failed requests still in the window: a retry under the same id amends them.
        self._failed: dict[str, LedgerEntry] = {}
        self._id_order: deque[str] = deque()
        self._remembered_ids = remembered_ids
        self._clock = clock
        self.first_timestamp: float | None = None

    @property
    def rollups(self) -> int:
        return len(self._table)

    def has(self, request_id: str) -> bool:
        with self._lock:
            return request_id in self._ids

    def record(self, entry: LedgerEntry) -> bool:
        """Add the entry; False (and nothing recorded) when its request id is already in the ledger."""
        now = self._clock()
        with self._lock:
            if entry.request_id in self._ids:
                return False
            self._ids[entry.request_id] = self._add(entry, now)
            self._id_order.append(entry.request_id)
            if len(self._id_order) > self._remembered_ids:
                forgotten = self._id_order.popleft()
                self._ids.pop(forgotten, None)
                self._ratings.pop(forgotten, None)
                self._failed.pop(forgotten, None)
            self._recent.append(entry)
            if self.first_timestamp is None or entry.timestamp < self.first_timestamp:
                self.first_timestamp = entry.timestamp
            self._table.compact(now)
        return True

    def _add(self, entry: LedgerEntry, now: float, count: int = 1) -> Key:
        """Add (count 1) or take back out (count -1) one entry's figures; remember a failure's entry."""
        usage = entry.usage
        values: tuple[int, ...] = (
            1, entry.status != RequestStatus.OK, usage.input_tokens, usage.output_tokens, usage.cached_input_tokens,
            entry.cost_nano_usd, entry.baseline_cost_nano_usd, entry.cache_hit, entry.cache_saved_nano_usd,
        )
        if count < 0:
            values = tuple(-v for v in values)
        key = self._table.key(
            entry.timestamp, now, entry.model.provider, entry.model.model, entry.tenant, entry.agent,
            int(entry.domain), int(entry.complexity or 0), entry.strategy, entry.experiment_arm,
        )
        canonical = self._table.add(key, latency_bucket(entry.latency_s), values, count)
        if count > 0 and entry.status != RequestStatus.OK:
            self._failed[entry.request_id] = entry
        return canonical

    def failed_entry(self, request_id: str) -> LedgerEntry | None:
        """The entry of a request that failed (or was cancelled) and may be retried under its id."""
        with self._lock:
            return self._failed.get(request_id)

    def replace(self, merged: LedgerEntry) -> bool:
        """Replace a failed request's entry by `merged` (its retry, amended into the same entry): still one
        entry per request id. False when the id has no failed entry."""
        now = self._clock()
        with self._lock:
            old = self._failed.pop(merged.request_id, None)
            if old is None:
                return False
            self._add(old, now, count=-1)
            self._ids[merged.request_id] = self._add(merged, now)
            self._recent.append(merged)
        return True

    def record_feedback(self, request_id: str, rating: int, tenant: str | None = None) -> FeedbackResult | None:
        """Attach a 1-5 rating to a recorded request; None when the id is unknown (to `tenant`, if given)."""
        with self._lock:
            key = self._ids.get(request_id)
            if key is None:
                return None
            previous = self._ratings.get(request_id)
            if tenant is not None and self._table.strings.values[key[K_TENANT]] != tenant:
                return None
            self._table.add_rating(key, rating, previous)
            self._ratings[request_id] = rating
            provider, model = self._table.models.values[key[K_MODEL]]
            return FeedbackResult(ModelRef(provider, model), previous is not None, previous)

    def recent(self, limit: int = 100) -> list[LedgerEntry]:
        with self._lock:
            return list(self._recent)[-limit:]

    def report(self, query: ReportQuery) -> Report:
        now = self._clock()
        start = query.start if query.start is not None else (self.first_timestamp or now)
        end = query.end if query.end is not None else now + 1
        with self._lock:
            table = self._table
            strings, models = table.strings, table.models
            tenants = [strings.codes[t] for t in query.tenants if t in strings.codes] if query.tenants else None
            model_codes = None
            if query.models or query.providers:
                model_codes = [
                    code
                    for code, (provider, model) in enumerate(models.values)
                    if (not query.providers or provider in query.providers)
                    and (not query.models or model in query.models or f"{provider}/{model}" in query.models)
                ]
            dims = set(query.group_by)
            cols = sorted({_COLUMNS[d] for d in dims})
            provider_of_model = None
            if Dimension.PROVIDER in dims and Dimension.MODEL not in dims:
                provider_of_model = np.array(
                    [strings.code(p) for p, _ in models.values] or [0],
                    dtype=np.int64,
                )
            totals, groups = table.group(
                start, end, tenants, model_codes, cols, Dimension.DAY in dims, provider_of_model
            )
            by_provider = provider_of_model is not None
            rows = [
                self._row(k, m, q, dims, by_provider)
                for k, m, q in zip(groups.keys.tolist(), groups.metrics.tolist(), groups.latency.tolist(), strict=True)
            ]
            total = self._row(
                totals.keys.tolist()[0], totals.metrics.tolist()[0], totals.latency.tolist()[0], set(), False
            )
        rows.sort(key=lambda r: (-r.cost_nano_usd, -r.requests, repr(r.key)))
        return Report(total, tuple(rows), start, end)

    def _row(self, k: list[int], m: list[int], q: list[float], dims: set[Dimension], by_provider: bool) -> ReportRow:
        strings = self._table.strings.values
        provider = model = ""
        if by_provider:
            provider = str(strings[k[K_MODEL]])
        elif Dimension.MODEL in dims:
            provider, model = self._table.models.values[k[K_MODEL]]
        key = GroupKey(
            provider=provider,
            model=model,
            tenant=str(strings[k[K_TENANT]]) if Dimension.TENANT in dims else "",
            agent=str(strings[k[K_AGENT]]) if Dimension.AGENT in dims else "",
            domain=Domain(k[K_DOMAIN]) if Dimension.DOMAIN in dims else Domain.UNKNOWN,
            complexity=Complexity(k[K_COMPLEXITY]) if Dimension.COMPLEXITY in dims and k[K_COMPLEXITY] else None,
            strategy=str(strings[k[K_STRATEGY]]) if Dimension.STRATEGY in dims else "",
            experiment_arm=str(strings[k[K_ARM]]) if Dimension.EXPERIMENT_ARM in dims else "",
            bucket_start=float(k[K_BUCKET]) if dims & {Dimension.HOUR, Dimension.DAY} else None,
        )
        p50, p95, p99 = q
        return ReportRow(
            key=key,
            requests=m[M_REQUESTS],
            errors=m[M_ERRORS],
            input_tokens=m[M_INPUT],
            output_tokens=m[M_OUTPUT],
            cached_input_tokens=m[M_CACHED],
            cost_nano_usd=m[M_COST],
            baseline_cost_nano_usd=m[M_BASELINE],
            cache_hits=m[M_CACHE_HITS],
            cache_saved_nano_usd=m[M_CACHE_SAVED],
            ratings=m[M_RATINGS],
            rating_sum=m[M_RATING_SUM],
            latency_p50_s=p50,
            latency_p95_s=p95,
            latency_p99_s=p99,
        )
