"""Requests-per-minute and tokens-per-minute limits: one token bucket per scope and kind."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from router_service.ledger.budgets import Scope
from router_service.ledger.limits import SpendLimits


class RateLimited(Exception):
    def __init__(self, scope: Scope, kind: str, limit: int, retry_after_s: float) -> None:
        super().__init__(f"{kind} rate limit of {scope} reached ({limit} per minute); retry in {retry_after_s:.1f}s")
        self.scope = scope
        self.kind = kind
        self.limit = limit
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class _Bucket:
    level: float
    updated: float


class RateLimits(Protocol):
    def acquire(self, scopes: Sequence[tuple[Scope, SpendLimits]], tokens: int) -> None: ...

    def adjust_tokens(self, scopes: Sequence[tuple[Scope, SpendLimits]], delta: int) -> None: ...


class InMemoryRateLimits:
    """A bucket holds at most one minute's allowance and refills continuously."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_buckets: int = 100_000) -> None:
        self._clock = clock
        self._buckets: dict[tuple[Scope, str], _Bucket] = {}
        self._max_buckets = max_buckets

    def _bucket(self, scope: Scope, kind: str, per_minute: int, now: float) -> _Bucket:
        bucket = self._buckets.get((scope, kind))
        if bucket is None:
            if len(self._buckets) >= self._max_buckets:
                self._buckets.clear()  # a full table only forgets partial usage; it never blocks anyone
            bucket = self._buckets[(scope, kind)] = _Bucket(float(per_minute), now)
        else:
            bucket.level = min(float(per_minute), bucket.level + (now - bucket.updated) * per_minute / 60.0)
            bucket.updated = now
        return bucket

    def acquire(self, scopes: Sequence[tuple[Scope, SpendLimits]], tokens: int) -> None:
        now = self._clock()
        wanted: list[tuple[_Bucket, float]] = []
        for scope, limits in scopes:
            for kind, per_minute, amount in (
                ("requests", limits.requests_per_minute, 1),
                ("tokens", limits.tokens_per_minute, tokens),
            ):
                if per_minute is None:
                    continue
                bucket = self._bucket(scope, kind, per_minute, now)
                # A request larger than a whole minute's allowance may pass alone when the bucket is full.
                need = float(min(amount, per_minute))
                if bucket.level < need:
                    retry = (need - bucket.level) * 60.0 / per_minute
                    raise RateLimited(scope, kind, per_minute, retry)
                wanted.append((bucket, float(amount)))
        for bucket, taken in wanted:
            bucket.level -= taken

    def adjust_tokens(self, scopes: Sequence[tuple[Scope, SpendLimits]], delta: int) -> None:
        """Correct the token estimate charged at admission with the real count (may go negative)."""
        now = self._clock()
        for scope, limits in scopes:
            if limits.tokens_per_minute is not None:
                self._bucket(scope, "tokens", limits.tokens_per_minute, now).level -= delta
