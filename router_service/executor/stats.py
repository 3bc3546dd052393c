"""Rolling outcome statistics per deployment: success rate and latency percentiles over the last N
calls (a fixed-size ring: bounded memory however long the process runs)."""

from __future__ import annotations

from collections import deque


class RollingStats:
    def __init__(self, window: int = 256) -> None:
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._latency: deque[float] = deque(maxlen=window)
        self._ttft: deque[float] = deque(maxlen=window)
        self.last_used = 0.0

    def record(self, success: bool, latency_s: float, ttft_s: float | None = None) -> None:
        self._outcomes.append(success)
        if success:
            self._latency.append(latency_s)
            if ttft_s is not None:
                self._ttft.append(ttft_s)

    @property
    def calls(self) -> int:
        return len(self._outcomes)

    @property
    def success_rate(self) -> float:
        return sum(self._outcomes) / len(self._outcomes) if self._outcomes else 1.0

    @staticmethod
    def _quantile(values: deque[float], q: float) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]

    def latency(self, q: float) -> float | None:
        return self._quantile(self._latency, q)

    def ttft(self, q: float) -> float | None:
        return self._quantile(self._ttft, q)

    def ttft_samples(self) -> int:
        return len(self._ttft)
