"""Request ids for calls that bring none: random UUID4s (32 hex digits), as `uuid.uuid4().hex` gives.

`uuid.uuid4()` reads the OS's randomness with one system call per id; under load that call (and the
UUID object) cost more than the id is worth. Here the OS's randomness is read 256 ids at a time and
each id is formatted straight from its 16 bytes, with the UUID4 version and variant bits set. The ids
stay as unpredictable as uuid4's: every byte comes from `os.urandom`, and none is used twice.
"""

from __future__ import annotations

import os
import threading

_BLOCK = 16 * 256
_VERSION_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)


class RequestIds:
    """A source of fresh UUID4 hex strings; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._block = b""
        self._at = 0

    def new(self) -> str:
        with self._lock:
            at = self._at
            if at >= len(self._block):
                self._block, at = os.urandom(_BLOCK), 0
            self._at = at + 16
            raw = self._block[at : at + 16]
        return f"{int.from_bytes(raw, 'big') & _VERSION_MASK | _VERSION_BITS:032x}"
