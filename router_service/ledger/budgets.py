"""Spending budgets per tenant and per key, per UTC day and month.

A request is admitted only if what is spent plus what concurrent requests have reserved plus its own
estimate stays within every limit that applies; its estimate stays reserved until it is settled with the
real cost. So concurrent requests cannot overspend a budget by more than one request's worth (the gap
between one request's estimate and its real cost).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Protocol

from router_service.ledger.limits import SpendLimits

log = logging.getLogger(__name__)


class Period(Enum):
    DAY = "day"
    MONTH = "month"


class BudgetState(Enum):
    OK = "ok"
    SOFT_LIMIT = "soft_limit"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True, slots=True)
class Scope:
    """What a limit applies to: ("tenant", "acme") or ("key", "acme-backend")."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


class BudgetExceeded(Exception):
    def __init__(self, scope: Scope, period: Period, limit: int, spent: int, estimate: int) -> None:
        super().__init__(
            f"{period.value} budget of {scope} exhausted: spent and reserved {spent} of {limit} nano-USD, "
            f"this request is estimated at {estimate}"
        )
        self.scope = scope
        self.period = period
        self.limit = limit
        self.spent = spent
        self.estimate = estimate


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    scope: Scope
    period: Period
    period_start: float
    limit_nano_usd: int
    spent_nano_usd: int
    reserved_nano_usd: int
    state: BudgetState


@dataclass(slots=True)
class Reservation:
    scopes: tuple[tuple[Scope, SpendLimits], ...]
    estimate: int
    # (scope, period start) keys the estimate was reserved under.
    keys: list[tuple[Scope, Period, float]] = field(default_factory=list)
    settled: bool = False


class Budgets(Protocol):
    """The seam for a shared store (e.g. Redis) behind several replicas."""

    def admit(self, scopes: Sequence[tuple[Scope, SpendLimits]], estimate: int) -> Reservation: ...

    def settle(self, reservation: Reservation, actual: int) -> None: ...

    def charge(self, scopes: Sequence[Scope], actual: int, when: float) -> None: ...

    def status(self, scopes: Sequence[tuple[Scope, SpendLimits]]) -> list[BudgetStatus]: ...


def period_start(period: Period, when: float) -> float:
    moment = datetime.fromtimestamp(when, UTC)
    if period is Period.DAY:
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp()


def _limit(limits: SpendLimits, period: Period) -> int | None:
    return limits.daily_nano_usd if period is Period.DAY else limits.monthly_nano_usd


class InMemoryBudgets:
    """Budgets kept in this process; only the current and recent periods are held (bounded)."""

    def __init__(self, clock: Callable[[], float] = time.time, keep_periods: int = 3) -> None:
        self._clock = clock
        self._spent: dict[tuple[Scope, Period, float], int] = {}
        self._reserved: dict[tuple[Scope, Period, float], int] = {}
        self._warned: set[tuple[Scope, Period, float]] = set()
        self._keep_periods = keep_periods

    def admit(self, scopes: Sequence[tuple[Scope, SpendLimits]], estimate: int) -> Reservation:
        now = self._clock()
        reservation = Reservation(tuple(scopes), estimate)
        checks: list[tuple[Scope, Period, float]] = []
        for scope, limits in scopes:
            for period in Period:
                limit = _limit(limits, period)
                if limit is None:
                    continue
                key = (scope, period, period_start(period, now))
                used = self._spent.get(key, 0) + self._reserved.get(key, 0)
                if used + estimate > limit:
                    raise BudgetExceeded(scope, period, limit, used, estimate)
                if used + estimate > limit * limits.soft_threshold and key not in self._warned:
                    self._warned.add(key)
                    log.warning(
                        "%s %s budget past its soft threshold: %d of %d nano-USD",
                        scope,
                        period.value,
                        used + estimate,
                        limit,
                    )
                checks.append(key)
        for key in checks:
            self._reserved[key] = self._reserved.get(key, 0) + estimate
        reservation.keys = checks
        return reservation

    def settle(self, reservation: Reservation, actual: int) -> None:
        """Release the reservation; the real cost arrives through `charge` (from the ledger)."""
        if reservation.settled:
            return
        reservation.settled = True
        for key in reservation.keys:
            left = self._reserved.get(key, 0) - reservation.estimate
            if left > 0:
                self._reserved[key] = left
            else:
                self._reserved.pop(key, None)

    def charge(self, scopes: Sequence[Scope], actual: int, when: float) -> None:
        if not actual:
            return
        for scope in scopes:
            for period in Period:
                key = (scope, period, period_start(period, when))
                self._spent[key] = self._spent.get(key, 0) + actual
        self._trim(when)

    def _trim(self, now: float) -> None:
        if len(self._spent) < 10_000:
            return
        horizon = now - self._keep_periods * 31 * 86400
        for key in [k for k in self._spent if k[2] < horizon]:
            del self._spent[key]

    def status(self, scopes: Sequence[tuple[Scope, SpendLimits]]) -> list[BudgetStatus]:
        now = self._clock()
        out = []
        for scope, limits in scopes:
            for period in Period:
                limit = _limit(limits, period)
                if limit is None:
                    continue
                start = period_start(period, now)
                spent = self._spent.get((scope, period, start), 0)
                reserved = self._reserved.get((scope, period, start), 0)
                if spent >= limit:
                    state = BudgetState.EXHAUSTED
                elif spent >= limit * limits.soft_threshold:
                    state = BudgetState.SOFT_LIMIT
                else:
                    state = BudgetState.OK
                out.append(BudgetStatus(scope, period, start, limit, spent, reserved, state))
        return out
