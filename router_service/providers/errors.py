"""The provider exception tree. Adapters raise these; the executor and the server map them, once, to
retry decisions and gRPC statuses. Messages are the provider's own words with any key redacted."""

from __future__ import annotations

from router_service.domain import ErrorKind, Usage


class ProviderError(Exception):
    """A provider call failed."""

    kind: ErrorKind = ErrorKind.UNAVAILABLE
    retryable: bool = True

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        http_status: int = 0,
        retry_after: float | None = None,
        reason: str = "",
        partial_usage: Usage | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.message = message
        self.http_status = http_status
        # Seconds the provider asked us to wait (Retry-After / retry-after-ms), if it said.
        self.retry_after = retry_after
        # The provider's own machine-readable reason, e.g. "rate_limit_exceeded", "overloaded_error".
        self.reason = reason
        # Tokens consumed before the failure (a stream cut midway), so the ledger can charge them.
        self.partial_usage = partial_usage
        # Rate-limit headers kept for the executor (x-ratelimit-*, retry-after).
        self.headers = headers or {}

    def __str__(self) -> str:
        status = f" (HTTP {self.http_status})" if self.http_status else ""
        return f"{self.provider}: {self.message}{status}"


class RateLimited(ProviderError):
    kind = ErrorKind.RATE_LIMITED


class Overloaded(ProviderError):
    kind = ErrorKind.OVERLOADED


class Unavailable(ProviderError):
    kind = ErrorKind.UNAVAILABLE


class ProviderTimeout(ProviderError):
    kind = ErrorKind.TIMEOUT


class MalformedResponse(ProviderError):
    kind = ErrorKind.PROTOCOL


class BadRequest(ProviderError):
    kind = ErrorKind.BAD_REQUEST
    retryable = False


class ContextLengthExceeded(BadRequest):
    kind = ErrorKind.CONTEXT_LENGTH


class AuthFailed(ProviderError):
    """The router's key was refused: not the caller's fault, so another provider may still answer."""

    kind = ErrorKind.AUTH_FAILED
    retryable = False


class ModelNotFound(ProviderError):
    kind = ErrorKind.NOT_FOUND
    retryable = False


class QuotaExhausted(ProviderError):
    kind = ErrorKind.QUOTA_EXHAUSTED
    retryable = False


class UnsupportedParameter(BadRequest):
    """A generation parameter this provider cannot honour (raised before any HTTP call)."""


def is_caller_error(error: ProviderError) -> bool:
    """True when the request itself is at fault, so trying another candidate cannot help."""
    return isinstance(error, BadRequest)
