"""Every error a caller can see, mapped once to a gRPC status with google.rpc rich details."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from router_service.executor import (
    AllCandidatesFailed,
    DeadlineExceeded,
    ExecutionError,
    Overloaded,
    RequestRejected,
    StreamInterrupted,
)
from router_service.ledger import BudgetExceeded, RateLimited
from router_service.providers.errors import ContextLengthExceeded, ProviderError
from router_service.strategy.plan import ContextTooLarge, NoCandidate, PlanningError, UnknownModel

ERROR_DOMAIN = "llm-router"


class RpcError(Exception):
    """An error to return to the caller as a status with details."""

    def __init__(self, code: grpc.StatusCode, message: str, details: Sequence[Message] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = tuple(details)

    def to_status(self) -> status_pb2.Status:
        packed = []
        for detail in self.details:
            holder = any_pb2.Any()
            holder.Pack(detail)
            packed.append(holder)
        value = self.code.value[0]
        return status_pb2.Status(code=value, message=self.message, details=packed)


def invalid_argument(field: str, description: str) -> RpcError:
    violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
    return RpcError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"{field}: {description}",
        [error_details_pb2.BadRequest(field_violations=[violation])],
    )


def _provider_info(error: ProviderError, model: str = "") -> error_details_pb2.ErrorInfo:
    metadata = {"message": error.message[:1000], "error_kind": error.kind.name}
    if error.http_status:
        metadata["http_status"] = str(error.http_status)
    if model:
        metadata["model"] = model
    reason = (error.reason or error.kind.name).upper().replace(" ", "_").replace(".", "_")[:63]
    return error_details_pb2.ErrorInfo(reason=reason, domain=error.provider, metadata=metadata)


def from_planning(error: PlanningError) -> RpcError:
    if isinstance(error, UnknownModel):
        info = error_details_pb2.ErrorInfo(reason="MODEL_NOT_FOUND", domain=ERROR_DOMAIN)
        return RpcError(grpc.StatusCode.NOT_FOUND, str(error), [info])
    if isinstance(error, NoCandidate):
        violation = error_details_pb2.PreconditionFailure.Violation(
            type="ROUTING_CONSTRAINT", subject=error.constraint, description=str(error)
        )
        return RpcError(
            grpc.StatusCode.FAILED_PRECONDITION,
            str(error),
            [error_details_pb2.PreconditionFailure(violations=[violation])],
        )
    if isinstance(error, ContextTooLarge):
        return invalid_argument("messages", str(error))
    field = getattr(error, "field", "preferences")
    return invalid_argument(str(field), str(error))


def from_execution(error: ExecutionError) -> RpcError:
    if isinstance(error, Overloaded):
        return RpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
    if isinstance(error, DeadlineExceeded):
        return RpcError(grpc.StatusCode.DEADLINE_EXCEEDED, f"deadline exceeded: {error}")
    if isinstance(error, RequestRejected):
        cause = error.error
        field = "messages" if isinstance(cause, ContextLengthExceeded) else "request"
        violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=cause.message)
        return RpcError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{cause.provider} rejected the request: {cause.message}",
            [error_details_pb2.BadRequest(field_violations=[violation]), _provider_info(cause)],
        )
    if isinstance(error, StreamInterrupted):
        return RpcError(
            grpc.StatusCode.UNAVAILABLE,
            f"the stream broke after {error.deltas} deltas and was not spliced with another model: {error.error}",
            [_provider_info(error.error)],
        )
    if isinstance(error, AllCandidatesFailed):
        details: list[Message] = [_provider_info(e) for e in error.errors]
        delays = [e.retry_after for e in error.errors if e.retry_after]
        if delays:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(int(min(delays) * 1e9))
            details.append(error_details_pb2.RetryInfo(retry_delay=delay))
        attempts = "; ".join(str(e) for e in error.errors) or "no candidate was available"
        return RpcError(grpc.StatusCode.UNAVAILABLE, f"every candidate failed: {attempts}", details)
    return RpcError(grpc.StatusCode.UNAVAILABLE, str(error))


def internal(request_id: str) -> RpcError:
    return RpcError(
        grpc.StatusCode.INTERNAL,
        f"internal error (request id {request_id}); the server log has the details",
        [error_details_pb2.RequestInfo(request_id=request_id)],
    )


def from_budget(error: BudgetExceeded) -> RpcError:
    violation = error_details_pb2.QuotaFailure.Violation(
        subject=str(error.scope), description=f"{error.period.value} budget: {error}"
    )
    return RpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED, str(error), [error_details_pb2.QuotaFailure(violations=[violation])]
    )


def from_rate_limit(error: RateLimited) -> RpcError:
    violation = error_details_pb2.QuotaFailure.Violation(subject=str(error.scope), description=str(error))
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(int(error.retry_after_s * 1e9))
    return RpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        str(error),
        [error_details_pb2.QuotaFailure(violations=[violation]), error_details_pb2.RetryInfo(retry_delay=delay)],
    )
