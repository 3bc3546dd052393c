"""The executor: runs a route plan through provider deployments with fallback, within the deadline."""

from router_service.executor.deployments import Deployment, DeploymentPool
from router_service.executor.errors import (
    AllCandidatesFailed,
    DeadlineExceeded,
    ExecutionError,
    Overloaded,
    RequestRejected,
    StreamInterrupted,
)
from router_service.executor.executor import Call, Executor, Target
from router_service.executor.settings import ExecutorSettings
from router_service.executor.trace import ExecutionTrace

__all__ = [
    "AllCandidatesFailed",
    "Call",
    "DeadlineExceeded",
    "Deployment",
    "DeploymentPool",
    "ExecutionError",
    "ExecutionTrace",
    "Executor",
    "ExecutorSettings",
    "Overloaded",
    "RequestRejected",
    "StreamInterrupted",
    "Target",
]
