"""A circuit breaker per deployment: closed -> open on a run of failures or a high error rate; open ->
half-open after a cool-down (longer each time it re-opens); half-open -> closed on a successful probe.
A 429 with Retry-After cools the deployment down for that long without counting as a failure run."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

from router_service.executor.settings import BreakerSettings


class BreakerState(Enum):
    CLOSED = 1
    OPEN = 2
    HALF_OPEN = 3


class CircuitBreaker:
    def __init__(
        self,
        settings: BreakerSettings,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self._s = settings
        self._clock = clock
        self._on_change = on_change
        self.state = BreakerState.CLOSED
        self._consecutive = 0
        self._window: deque[tuple[float, bool]] = deque()
        self._opened_at = 0.0
        self._open_for = settings.open_s
        self._probes = 0
        self.cooldown_until = 0.0

    def _set(self, state: BreakerState) -> None:
        if state is not self.state:
            self.state = state
            if self._on_change is not None:
                self._on_change(state)

    def current(self) -> BreakerState:
        """The state now (an open breaker whose cool-down is over reports half-open)."""
        if self.state is BreakerState.OPEN and self._clock() - self._opened_at >= self._open_for:
            self._set(BreakerState.HALF_OPEN)
            self._probes = 0
        return self.state

    def allows(self) -> bool:
        """Whether a call may be planned on this deployment now (no side effect)."""
        if self._clock() < self.cooldown_until:
            return False
        state = self.current()
        return state is BreakerState.CLOSED or (
            state is BreakerState.HALF_OPEN and self._probes < self._s.half_open_probes
        )

    def acquire(self) -> bool:
        """Claim the right to call now (a half-open breaker lets only a few probes through)."""
        if not self.allows():
            return False
        if self.state is BreakerState.HALF_OPEN:
            self._probes += 1
        return True

    def _trim(self, now: float) -> None:
        while self._window and now - self._window[0][0] > self._s.window_s:
            self._window.popleft()

    def record_success(self) -> None:
        now = self._clock()
        self._consecutive = 0
        self._window.append((now, True))
        self._trim(now)
        if self.state is not BreakerState.CLOSED:
            self._open_for = self._s.open_s
            self._window.clear()
            self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        now = self._clock()
        self._consecutive += 1
        self._window.append((now, False))
        self._trim(now)
        if self.state is BreakerState.HALF_OPEN:
            self._open_for = min(self._open_for * 2, self._s.max_open_s)
            self._open(now)
            return
        failures = sum(1 for _, ok in self._window if not ok)
        rate_tripped = len(self._window) >= self._s.min_requests and failures / len(self._window) >= self._s.error_rate
        if self.state is BreakerState.CLOSED and (self._consecutive >= self._s.consecutive_failures or rate_tripped):
            self._open(now)

    def cool_down(self, seconds: float) -> None:
        """The provider asked us to wait (429 Retry-After): take the deployment out of plans until then."""
        self.cooldown_until = max(self.cooldown_until, self._clock() + seconds)

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._consecutive = 0
        self._set(BreakerState.OPEN)
