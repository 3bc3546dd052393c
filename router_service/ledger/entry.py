"""One ledger entry per request: what was asked, who answered, every attempt, tokens and exact cost."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from router_service.domain import Complexity, Domain, ErrorKind, ModelRef, Usage


class RequestStatus(IntEnum):
    OK = 1
    FAILED = 2
    CANCELLED = 3


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    model: ModelRef
    deployment: str
    error_kind: ErrorKind
    error_message: str
    http_status: int
    latency_s: float
    usage: Usage


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    request_id: str
    tenant: str
    # Unix time (seconds) when the request finished.
    timestamp: float
    # The model that answered (or the last one tried when every attempt failed).
    model: ModelRef
    usage: Usage
    cost_nano_usd: int
    baseline_cost_nano_usd: int
    latency_s: float
    status: RequestStatus
    attempts: tuple[AttemptRecord, ...] = ()
    rpc: str = "Complete"
    agent: str = ""
    domain: Domain = Domain.UNKNOWN
    complexity: Complexity | None = None
    strategy: str = ""
    experiment_arm: str = ""
    cache_hit: bool = False
    cache_saved_nano_usd: int = 0
    # The caller key's id when caller keys are configured.
    key_id: str = ""
