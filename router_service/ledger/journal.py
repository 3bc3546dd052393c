"""An append-only journal of ledger entries and ratings (JSON lines), replayed at start.

Each record is written with one `os.write` before the caller is answered, so a crashed or killed process
loses nothing it told a caller about (the OS keeps written data); `fsync` makes it survive power loss too.
A torn last line from a crash is skipped and reported, never fatal.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from router_service.domain import Complexity, Domain, ErrorKind, ModelRef, Usage
from router_service.ledger.entry import AttemptRecord, LedgerEntry, RequestStatus

log = logging.getLogger(__name__)


class JournalError(Exception):
    """The journal cannot be written: accounting would be lost on restart."""


def _usage(u: Usage) -> list[int]:
    return [u.input_tokens, u.output_tokens, u.cached_input_tokens, u.cache_write_input_tokens, int(u.estimated)]


def _usage_of(v: list[int]) -> Usage:
    return Usage(v[0], v[1], v[2], v[3], bool(v[4]))


def encode(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "t": "entry",
        "id": entry.request_id,
        "tenant": entry.tenant,
        "ts": entry.timestamp,
        "model": [entry.model.provider, entry.model.model],
        "usage": _usage(entry.usage),
        "cost": entry.cost_nano_usd,
        "baseline": entry.baseline_cost_nano_usd,
        "latency": entry.latency_s,
        "status": entry.status.value,
        "rpc": entry.rpc,
        "agent": entry.agent,
        "domain": entry.domain.value,
        "complexity": entry.complexity.value if entry.complexity is not None else None,
        "strategy": entry.strategy,
        "arm": entry.experiment_arm,
        "cache_hit": entry.cache_hit,
        "cache_saved": entry.cache_saved_nano_usd,
        "key": entry.key_id,
        "attempts": [
            [
                a.model.provider,
                a.model.model,
                a.deployment,
                a.error_kind.value,
                a.error_message,
                a.http_status,
                a.latency_s,
                _usage(a.usage),
            ]
            for a in entry.attempts
        ],
    }


def decode(row: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        request_id=row["id"],
        tenant=row["tenant"],
        timestamp=row["ts"],
        model=ModelRef(*row["model"]),
        usage=_usage_of(row["usage"]),
        cost_nano_usd=row["cost"],
        baseline_cost_nano_usd=row["baseline"],
        latency_s=row["latency"],
        status=RequestStatus(row["status"]),
        rpc=row["rpc"],
        agent=row["agent"],
        domain=Domain(row["domain"]),
        complexity=Complexity(row["complexity"]) if row["complexity"] is not None else None,
        strategy=row["strategy"],
        experiment_arm=row["arm"],
        cache_hit=row["cache_hit"],
        cache_saved_nano_usd=row["cache_saved"],
        key_id=row.get("key", ""),
        attempts=tuple(
            AttemptRecord(ModelRef(a[0], a[1]), a[2], ErrorKind(a[3]), a[4], a[5], a[6], _usage_of(a[7]))
            for a in row["attempts"]
        ),
    )


@dataclass(frozen=True, slots=True)
class Rating:
    request_id: str
    rating: int


class Journal:
    def __init__(self, path: Path, fsync: bool = False) -> None:
        self.path = path
        self._fsync = fsync
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.healthy = True

    def _repair_torn_tail(self) -> None:
        """A crash mid-write leaves a last line without its newline: end it so new records start clean."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")

    def _write(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(f"short write ({written} of {len(data)} bytes)")
            if self._fsync:
                os.fsync(self._fd)
        except OSError as exc:
            self.healthy = False
            raise JournalError(f"cannot write the ledger journal {self.path}: {exc}") from exc

    def append(self, entry: LedgerEntry, amends: bool = False) -> None:
        """Append an entry; `amends` marks a retry's merged entry that replaces the id's failed one."""
        record = encode(entry)
        if amends:
            record["amends"] = True
        self._write(record)

    def append_rating(self, request_id: str, rating: int) -> None:
        self._write({"t": "rating", "id": request_id, "rating": rating})

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def replay(self) -> Iterator[LedgerEntry | Rating]:
        """Every intact record in order; damaged lines are reported and skipped."""
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if row.get("t") == "rating":
                        yield Rating(row["id"], int(row["rating"]))
                    else:
                        yield decode(row)
                except (ValueError, KeyError, TypeError, IndexError) as exc:
                    log.warning("ledger journal %s line %d is damaged and was skipped: %s", self.path, number, exc)
