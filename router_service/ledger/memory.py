"""The in-process ledger: idempotent by request id, aggregates as hourly rollups, raw entries in a ring.

Memory is bounded by the number of distinct (hour, provider, model, tenant, agent, domain, complexity,
strategy, arm) combinations, not by the number of requests, and a report reads rollups, never entries.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from router_service.domain import Complexity, Domain, ModelRef
from router_service.ledger.entry import LedgerEntry, RequestStatus
from router_service.ledger.report import Dimension, GroupKey, Report, ReportQuery, ReportRow

HOUR_S = 3600
DAY_S = 86400
# Upper bounds of the latency histogram buckets, in seconds (log-spaced from 1 ms to ~10 min).
LATENCY_BUCKETS_S: tuple[float, ...] = tuple(0.001 * (1.25**i) for i in range(60))


@dataclass(frozen=True, slots=True)
class _RollupKey:
    hour: int
    provider: str
    model: str
    tenant: str
    agent: str
    domain: Domain
    complexity: Complexity | None
    strategy: str
    experiment_arm: str


@dataclass(slots=True)
class _Rollup:
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cost_nano_usd: int = 0
    baseline_cost_nano_usd: int = 0
    cache_hits: int = 0
    cache_saved_nano_usd: int = 0
    ratings: int = 0
    rating_sum: int = 0
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    model: ModelRef
    replaced: bool
    previous_rating: int | None


class InMemoryLedger:
    """Default ledger backend. Thread-safe so reports can run off the event loop."""

    def __init__(self, recent_entries: int = 10_000, remembered_ids: int = 1_000_000,
                 clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._rollups: dict[_RollupKey, _Rollup] = {}
        self._recent: deque[LedgerEntry] = deque(maxlen=recent_entries)
        # request id -> (rollup key, model, rating); bounded FIFO for idempotency and feedback.
        self._ids: OrderedDict[str, tuple[_RollupKey, ModelRef, int | None]] = OrderedDict()
        self._remembered_ids = remembered_ids
        self._clock = clock
        self.first_timestamp: float | None = None

    def __len__(self) -> int:
        with self._lock:
            return sum(r.requests for r in self._rollups.values())

    def has(self, request_id: str) -> bool:
        with self._lock:
            return request_id in self._ids

    def record(self, entry: LedgerEntry) -> bool:
        """Add the entry; False (and nothing recorded) when its request id is already in the ledger."""
        key = _RollupKey(
            int(entry.timestamp // HOUR_S) * HOUR_S, entry.model.provider, entry.model.model, entry.tenant,
            entry.agent, entry.domain, entry.complexity, entry.strategy, entry.experiment_arm,
        )
        bucket = bisect.bisect_left(LATENCY_BUCKETS_S, entry.latency_s)
        usage = entry.usage
        with self._lock:
            if entry.request_id in self._ids:
                return False
            self._ids[entry.request_id] = (key, entry.model, None)
            if len(self._ids) > self._remembered_ids:
                self._ids.popitem(last=False)
            rollup = self._rollups.get(key)
            if rollup is None:
                rollup = self._rollups[key] = _Rollup()
            rollup.requests += 1
            rollup.errors += entry.status != RequestStatus.OK
            rollup.input_tokens += usage.input_tokens
            rollup.output_tokens += usage.output_tokens
            rollup.cached_input_tokens += usage.cached_input_tokens
            rollup.cost_nano_usd += entry.cost_nano_usd
            rollup.baseline_cost_nano_usd += entry.baseline_cost_nano_usd
            rollup.cache_hits += entry.cache_hit
            rollup.cache_saved_nano_usd += entry.cache_saved_nano_usd
            rollup.latency_counts[bucket] += 1
            self._recent.append(entry)
            if self.first_timestamp is None or entry.timestamp < self.first_timestamp:
                self.first_timestamp = entry.timestamp
        return True

    def record_feedback(self, request_id: str, rating: int) -> FeedbackResult | None:
        """Attach a 1-5 rating to a recorded request; None when the id is unknown."""
        with self._lock:
            found = self._ids.get(request_id)
            if found is None:
                return None
            key, model, previous = found
            rollup = self._rollups[key]
            if previous is not None:
                rollup.rating_sum -= previous
            else:
                rollup.ratings += 1
            rollup.rating_sum += rating
            self._ids[request_id] = (key, model, rating)
            return FeedbackResult(model, previous is not None, previous)

    def recent(self, limit: int = 100) -> list[LedgerEntry]:
        with self._lock:
            return list(self._recent)[-limit:]

    def report(self, query: ReportQuery) -> Report:
        now = self._clock()
        start = query.start if query.start is not None else (self.first_timestamp or now)
        end = query.end if query.end is not None else now + 1
        with self._lock:
            items = list(self._rollups.items())
        totals = ReportRow(GroupKey(), latency_counts=[0] * (len(LATENCY_BUCKETS_S) + 1))
        rows: dict[GroupKey, ReportRow] = {}
        for key, rollup in items:
            # Rollups are hourly: an hour is in the window when it overlaps it.
            if key.hour + HOUR_S <= start or key.hour >= end:
                continue
            if query.tenants and key.tenant not in query.tenants:
                continue
            if query.providers and key.provider not in query.providers:
                continue
            if query.models and key.model not in query.models and f"{key.provider}/{key.model}" not in query.models:
                continue
            _add(totals, rollup)
            if query.group_by:
                group = _group_key(key, query.group_by)
                row = rows.get(group)
                if row is None:
                    row = rows[group] = ReportRow(group, latency_counts=[0] * (len(LATENCY_BUCKETS_S) + 1))
                _add(row, rollup)
        for row in (totals, *rows.values()):
            _percentiles(row)
        ordered = sorted(rows.values(), key=lambda r: (-r.cost_nano_usd, -r.requests, repr(r.key)))
        return Report(totals, tuple(ordered), start, end)


def _group_key(key: _RollupKey, dims: tuple[Dimension, ...]) -> GroupKey:
    d = set(dims)
    bucket: float | None = None
    if Dimension.DAY in d:
        bucket = float(key.hour // DAY_S * DAY_S)
    elif Dimension.HOUR in d:
        bucket = float(key.hour)
    by_model = Dimension.MODEL in d
    return GroupKey(
        provider=key.provider if by_model or Dimension.PROVIDER in d else "",
        model=key.model if by_model else "",
        tenant=key.tenant if Dimension.TENANT in d else "",
        agent=key.agent if Dimension.AGENT in d else "",
        domain=key.domain if Dimension.DOMAIN in d else Domain.UNKNOWN,
        complexity=key.complexity if Dimension.COMPLEXITY in d else None,
        strategy=key.strategy if Dimension.STRATEGY in d else "",
        experiment_arm=key.experiment_arm if Dimension.EXPERIMENT_ARM in d else "",
        bucket_start=bucket,
    )


def _add(row: ReportRow, rollup: _Rollup) -> None:
    row.requests += rollup.requests
    row.errors += rollup.errors
    row.input_tokens += rollup.input_tokens
    row.output_tokens += rollup.output_tokens
    row.cached_input_tokens += rollup.cached_input_tokens
    row.cost_nano_usd += rollup.cost_nano_usd
    row.baseline_cost_nano_usd += rollup.baseline_cost_nano_usd
    row.cache_hits += rollup.cache_hits
    row.cache_saved_nano_usd += rollup.cache_saved_nano_usd
    row.ratings += rollup.ratings
    row.rating_sum += rollup.rating_sum
    counts = row.latency_counts
    for i, n in enumerate(rollup.latency_counts):
        if n:
            counts[i] += n


def _percentiles(row: ReportRow) -> None:
    total = sum(row.latency_counts)
    if not total:
        return
    targets = {"p50": 0.50 * total, "p95": 0.95 * total, "p99": 0.99 * total}
    found: dict[str, float] = {}
    seen = 0
    for i, n in enumerate(row.latency_counts):
        seen += n
        for name, target in targets.items():
            if name not in found and seen >= target:
                found[name] = LATENCY_BUCKETS_S[min(i, len(LATENCY_BUCKETS_S) - 1)]
    row.latency_p50_s, row.latency_p95_s, row.latency_p99_s = found["p50"], found["p95"], found["p99"]
