"""Admission (budgets, rate limits) before a provider is called, and exactly-once accounting after."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from router_service.ledger.budgets import Budgets, BudgetStatus, Reservation, Scope
from router_service.ledger.entry import LedgerEntry
from router_service.ledger.journal import Journal, JournalError, Rating
from router_service.ledger.limits import SpendLimits
from router_service.ledger.memory import FeedbackResult, InMemoryLedger
from router_service.ledger.ratelimit import RateLimits

log = logging.getLogger(__name__)

Scopes = Sequence[tuple[Scope, SpendLimits]]


@dataclass(slots=True)
class Admission:
    scopes: tuple[tuple[Scope, SpendLimits], ...]
    reservation: Reservation | None
    tokens_charged: int


def amended(previous: LedgerEntry, retry: LedgerEntry) -> LedgerEntry:
    """One entry for a request and its retry under the same id: every attempt, all tokens and all
    spending; the retry's outcome, model and time."""
    return replace(
        retry,
        usage=previous.usage + retry.usage,
        cost_nano_usd=previous.cost_nano_usd + retry.cost_nano_usd,
        baseline_cost_nano_usd=previous.baseline_cost_nano_usd + retry.baseline_cost_nano_usd,
        latency_s=previous.latency_s + retry.latency_s,
        attempts=previous.attempts + retry.attempts,
    )


class Accountant:
    def __init__(
        self,
        ledger: InMemoryLedger,
        budgets: Budgets,
        rate_limits: RateLimits,
        journal: Journal | None = None,
        on_journal_failure: Callable[[], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.budgets = budgets
        self.rate_limits = rate_limits
        self.journal = journal
        self._on_journal_failure = on_journal_failure

    def admit(self, scopes: Scopes, estimate_nano_usd: int, estimate_tokens: int) -> Admission:
        """Raise BudgetExceeded or RateLimited before any provider is called; otherwise reserve."""
        if not scopes:
            return Admission((), None, 0)
        self.rate_limits.acquire(scopes, estimate_tokens)
        reservation = self.budgets.admit(scopes, estimate_nano_usd)
        return Admission(tuple(scopes), reservation, estimate_tokens)

    def record(self, entry: LedgerEntry, admission: Admission | None = None) -> bool:
        """Write the request's one entry: memory, journal, budgets; release its reservation. A retry of a
        failed request under the same id amends that request's entry instead of adding a second one."""
        charged = entry.cost_nano_usd
        previous = self.ledger.failed_entry(entry.request_id)
        if previous is not None:
            entry = amended(previous, entry)
            added = self.ledger.replace(entry)
        else:
            added = self.ledger.record(entry)
        if added:
            if self.journal is not None:
                try:
                    self.journal.append(entry, amends=previous is not None)
                except JournalError:
                    log.exception("ledger journal write failed for request %s", entry.request_id)
                    if self._on_journal_failure is not None:
                        self._on_journal_failure()
            self.budgets.charge(self.scope_names(entry), charged, entry.timestamp)
        if admission is not None:
            if admission.reservation is not None:
                self.budgets.settle(admission.reservation, charged)
            if admission.tokens_charged:
                used = entry.usage.total_tokens - (previous.usage.total_tokens if previous is not None else 0)
                self.rate_limits.adjust_tokens(admission.scopes, used - admission.tokens_charged)
        return added

    @staticmethod
    def scope_names(entry: LedgerEntry) -> list[Scope]:
        scopes = [Scope("tenant", entry.tenant)]
        if entry.key_id:
            scopes.append(Scope("key", entry.key_id))
        return scopes

    def feedback(self, request_id: str, rating: int, tenant: str | None = None) -> FeedbackResult | None:
        result = self.ledger.record_feedback(request_id, rating, tenant)
        if result is not None and self.journal is not None:
            try:
                self.journal.append_rating(request_id, rating)
            except JournalError:
                log.exception("ledger journal write failed for a rating of %s", request_id)
                if self._on_journal_failure is not None:
                    self._on_journal_failure()
        return result

    def replay(self) -> tuple[int, int]:
        """Load the journal into memory and budgets; returns (entries, ratings) replayed."""
        if self.journal is None:
            return 0, 0
        entries = ratings = 0
        for record in self.journal.replay():
            if isinstance(record, Rating):
                ratings += self.ledger.record_feedback(record.request_id, record.rating) is not None
            elif (previous := self.ledger.failed_entry(record.request_id)) is not None and self.ledger.replace(record):
                # A retry that amended a failed request: only the difference is new spending.
                self.budgets.charge(self.scope_names(record), record.cost_nano_usd - previous.cost_nano_usd,
                                    record.timestamp)
            elif self.ledger.record(record):
                entries += 1
                self.budgets.charge(self.scope_names(record), record.cost_nano_usd, record.timestamp)
        return entries, ratings

    def budget_status(self, scopes: Scopes) -> list[BudgetStatus]:
        return self.budgets.status(scopes)
