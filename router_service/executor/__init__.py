"""The executor: runs a route plan through provider adapters with fallback, within the deadline."""

from router_service.executor.errors import (
    AllCandidatesFailed,
    DeadlineExceeded,
    ExecutionError,
    RequestRejected,
    StreamInterrupted,
)
from router_service.executor.executor import Call, Executor, StreamStarted, Target
from router_service.executor.trace import ExecutionTrace

__all__ = [
    "AllCandidatesFailed",
    "Call",
    "DeadlineExceeded",
    "ExecutionError",
    "ExecutionTrace",
    "Executor",
    "RequestRejected",
    "StreamInterrupted",
    "StreamStarted",
    "Target",
]
