"""The cost ledger: exactly one entry per request, exact integer nano-USD, bounded rollups."""

from router_service.ledger.entry import AttemptRecord, LedgerEntry, RequestStatus
from router_service.ledger.memory import InMemoryLedger
from router_service.ledger.report import Dimension, GroupKey, Report, ReportQuery, ReportRow

__all__ = [
    "AttemptRecord", "Dimension", "GroupKey", "InMemoryLedger", "LedgerEntry", "Report", "ReportQuery",
    "ReportRow", "RequestStatus",
]
