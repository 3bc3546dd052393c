"""Ledger entries for feeding the Observer directly."""

from __future__ import annotations

from router_service.domain import Complexity, Domain, ErrorKind, ModelRef, Usage
from router_service.ledger import AttemptRecord, LedgerEntry, RequestStatus

CHEAP = ModelRef("demo", "demo-fast")
PREMIUM = ModelRef("demo", "demo-premium")


def attempt(model: ModelRef, kind: ErrorKind = ErrorKind.NONE, latency_s: float = 0.05) -> AttemptRecord:
    usage = Usage(10, 20) if kind == ErrorKind.NONE else Usage()
    return AttemptRecord(model, model.provider, kind, "" if kind == ErrorKind.NONE else "boom", 0, latency_s, usage)


def entry(
    request_id: str = "req-1",
    tenant: str = "acme",
    attempts: tuple[AttemptRecord, ...] | None = None,
    status: RequestStatus = RequestStatus.OK,
    rpc: str = "Complete",
    latency_s: float = 0.2,
) -> LedgerEntry:
    attempts = attempts if attempts is not None else (attempt(CHEAP),)
    return LedgerEntry(
        request_id=request_id,
        tenant=tenant,
        timestamp=1_700_000_000.0,
        model=attempts[-1].model,
        usage=Usage(10, 20, 5),
        cost_nano_usd=1234,
        baseline_cost_nano_usd=50_000,
        latency_s=latency_s,
        status=status,
        attempts=attempts,
        rpc=rpc,
        agent="GENERAL",
        domain=Domain.CODING,
        complexity=Complexity.SIMPLE,
        strategy="balanced",
    )
