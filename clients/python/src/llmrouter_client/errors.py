"""Typed exceptions for failed calls, carrying the google.rpc rich details the router sends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import grpc
from google.protobuf import message as _message
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ProviderFailure",
    "QuotaExceeded",
    "RouterError",
    "Unauthenticated",
    "Unavailable",
    "from_rpc_error",
]

_M = TypeVar("_M", bound=_message.Message)
_DETAILS_KEY = "grpc-status-details-bin"
_DETAIL_TYPES: tuple[type[_message.Message], ...] = (
    error_details_pb2.BadRequest,
    error_details_pb2.ErrorInfo,
    error_details_pb2.QuotaFailure,
    error_details_pb2.PreconditionFailure,
    error_details_pb2.RetryInfo,
    error_details_pb2.RequestInfo,
    error_details_pb2.ResourceInfo,
    error_details_pb2.DebugInfo,
    error_details_pb2.Help,
    error_details_pb2.LocalizedMessage,
)


@dataclass(frozen=True, slots=True)
class ProviderFailure:
    """One failed provider attempt, from an ErrorInfo detail (domain = provider)."""

    provider: str
    reason: str
    error_kind: str
    message: str
    http_status: int | None
    model: str | None


class RouterError(Exception):
    """A failed call: the status code, its message and the rich details, unpacked.

    `details` has every detail message the client knows (google.rpc.BadRequest, ErrorInfo, QuotaFailure,
    PreconditionFailure, RetryInfo, RequestInfo, ...); the properties below read the common ones.
    """

    def __init__(self, code: grpc.StatusCode, message: str, details: tuple[_message.Message, ...] = ()) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def _all(self, kind: type[_M]) -> list[_M]:
        return [d for d in self.details if isinstance(d, kind)]

    @property
    def field_violations(self) -> list[error_details_pb2.BadRequest.FieldViolation]:
        """The bad request fields (INVALID_ARGUMENT)."""
        return [v for d in self._all(error_details_pb2.BadRequest) for v in d.field_violations]

    @property
    def fields(self) -> list[str]:
        """Names of the bad fields, e.g. ["messages"]."""
        return [v.field for v in self.field_violations]

    @property
    def error_infos(self) -> list[error_details_pb2.ErrorInfo]:
        return self._all(error_details_pb2.ErrorInfo)

    @property
    def quota_violations(self) -> list[error_details_pb2.QuotaFailure.Violation]:
        """The exhausted budget or rate limit (RESOURCE_EXHAUSTED)."""
        return [v for d in self._all(error_details_pb2.QuotaFailure) for v in d.violations]

    @property
    def precondition_violations(self) -> list[error_details_pb2.PreconditionFailure.Violation]:
        """The routing constraint no model satisfies (FAILED_PRECONDITION)."""
        return [v for d in self._all(error_details_pb2.PreconditionFailure) for v in d.violations]

    @property
    def retry_delay(self) -> float | None:
        """Seconds the server asks the caller to wait before retrying, when it says."""
        infos = self._all(error_details_pb2.RetryInfo)
        return infos[0].retry_delay.ToNanoseconds() / 1e9 if infos else None

    @property
    def request_id(self) -> str | None:
        """The request id the server reported (internal errors)."""
        infos = self._all(error_details_pb2.RequestInfo)
        return infos[0].request_id if infos else None


class InvalidArgument(RouterError):
    """INVALID_ARGUMENT (or OUT_OF_RANGE): `fields` / `field_violations` name what is wrong."""


class NotFound(RouterError):
    """NOT_FOUND: an unknown model, provider or request id."""


class AlreadyExists(RouterError):
    """ALREADY_EXISTS: the request id was already completed (a request never spends twice)."""


class PermissionDenied(RouterError):
    """PERMISSION_DENIED: the caller key may not use that model or report on that tenant."""


class Unauthenticated(RouterError):
    """UNAUTHENTICATED: a missing or wrong caller key."""


class QuotaExceeded(RouterError):
    """RESOURCE_EXHAUSTED: a budget or rate limit (`quota_violations`, `retry_delay`)."""


class FailedPrecondition(RouterError):
    """FAILED_PRECONDITION: no model satisfies the routing constraints (`precondition_violations`)."""


class Aborted(RouterError):
    """ABORTED: the request id is running already."""


class Unavailable(RouterError):
    """UNAVAILABLE: the server is unreachable or draining, or every candidate failed (`attempts`)."""

    @property
    def attempts(self) -> list[ProviderFailure]:
        """The failed provider attempts, from the ErrorInfo details; empty for a transport failure."""
        out = []
        for info in self.error_infos:
            if "error_kind" not in info.metadata:
                continue
            status = info.metadata.get("http_status", "")
            out.append(ProviderFailure(
                provider=info.domain, reason=info.reason, error_kind=info.metadata["error_kind"],
                message=info.metadata.get("message", ""), http_status=int(status) if status.isdigit() else None,
                model=info.metadata.get("model") or None,
            ))
        return out


class DeadlineExceeded(RouterError):
    """DEADLINE_EXCEEDED: the call's deadline passed."""


class Cancelled(RouterError):
    """CANCELLED: the call was cancelled."""


class Internal(RouterError):
    """INTERNAL: a server bug; `request_id` finds it in the server log."""


_CLASSES: dict[grpc.StatusCode, type[RouterError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: QuotaExceeded,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INTERNAL: Internal,
}


def _unpack(status: status_pb2.Status) -> tuple[_message.Message, ...]:
    out: list[_message.Message] = []
    for detail in status.details:
        for kind in _DETAIL_TYPES:
            if detail.Is(kind.DESCRIPTOR):
                unpacked = kind()
                detail.Unpack(unpacked)
                out.append(unpacked)
                break
    return tuple(out)


def from_rpc_error(error: grpc.RpcError) -> RouterError:
    """The typed exception for a gRPC error (sync or asyncio), with its rich details unpacked."""
    code = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    message = (error.details() if callable(getattr(error, "details", None)) else None) or ""
    details: tuple[_message.Message, ...] = ()
    # grpc's metadata is a sequence of (key, value) pairs; grpc-stubs types it oddly, hence the cast.
    trailing = error.trailing_metadata() if callable(getattr(error, "trailing_metadata", None)) else None
    pairs = cast(Sequence[tuple[str, str | bytes]], trailing or ())
    for key, value in pairs:
        if key == _DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            details = _unpack(status)
            message = message or status.message
    return _CLASSES.get(code, RouterError)(code, message, details)
