"""A mutable record of one execution that survives exceptions and cancellation, so the caller can always
write exactly one ledger entry for what was consumed."""

from __future__ import annotations

from dataclasses import dataclass, field

from router_service.domain import FinishReason, ModelRef, Usage
from router_service.ledger.entry import AttemptRecord


@dataclass(slots=True)
class ExecutionTrace:
    attempts: list[AttemptRecord] = field(default_factory=list)
    # Cost of every attempt so far, priced on each attempt's own model.
    cost_nano_usd: int = 0
    usage: Usage = Usage()
    # The model that produced the answer (or is producing the stream), once known.
    answering: ModelRef | None = None
    deployment: str = ""
    finish_reason: FinishReason = FinishReason.UNKNOWN
    deltas: int = 0
    first_token_at: float | None = None
    warnings: list[str] = field(default_factory=list)

    def add(self, attempt: AttemptRecord, cost_nano_usd: int) -> None:
        self.attempts.append(attempt)
        self.usage = self.usage + attempt.usage
        self.cost_nano_usd += cost_nano_usd

    @property
    def last_model(self) -> ModelRef | None:
        if self.answering is not None:
            return self.answering
        return self.attempts[-1].model if self.attempts else None
