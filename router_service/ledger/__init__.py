"""The cost ledger: exactly one entry per request, exact integer nano-USD, bounded rollups, budgets."""

from router_service.ledger.accountant import Accountant, Admission
from router_service.ledger.budgets import BudgetExceeded, BudgetState, BudgetStatus, InMemoryBudgets, Period, Scope
from router_service.ledger.entry import AttemptRecord, LedgerEntry, RequestStatus
from router_service.ledger.journal import Journal, JournalError
from router_service.ledger.limits import SpendLimits, TenantSettings
from router_service.ledger.memory import InMemoryLedger
from router_service.ledger.ratelimit import InMemoryRateLimits, RateLimited
from router_service.ledger.report import Dimension, GroupKey, Report, ReportQuery, ReportRow

__all__ = [
    "Accountant",
    "Admission",
    "AttemptRecord",
    "BudgetExceeded",
    "BudgetState",
    "BudgetStatus",
    "Dimension",
    "GroupKey",
    "InMemoryBudgets",
    "InMemoryLedger",
    "InMemoryRateLimits",
    "Journal",
    "JournalError",
    "LedgerEntry",
    "Period",
    "RateLimited",
    "Report",
    "ReportQuery",
    "ReportRow",
    "RequestStatus",
    "Scope",
    "SpendLimits",
    "TenantSettings",
]
