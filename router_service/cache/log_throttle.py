"""Warnings that cannot flood the log when something fails on every request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ThrottledWarning:
    """Logs a warning at most once per `interval_s`, saying how many were held back meanwhile."""

    def __init__(self, logger: logging.Logger, interval_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self._logger = logger
        self._interval_s = interval_s
        self._clock = clock
        self._next_at = float("-inf")
        self._held_back = 0

    def warn(self, message: str, *args: object, exc_info: bool = False) -> bool:
        now = self._clock()
        if now < self._next_at:
            self._held_back += 1
            return False
        if self._held_back:
            message += " (%d similar warnings held back)"
            args = (*args, self._held_back)
        self._logger.warning(message, *args, exc_info=exc_info)
        self._next_at = now + self._interval_s
        self._held_back = 0
        return True
