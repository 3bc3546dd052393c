"""The one mapping from a failed provider call to the provider exception tree.

HTTP statuses (and, for errors inside a 200 stream, the status the provider's error body stands for)
and transport failures become exceptions here and nowhere else; provider modules only translate their
own error bodies into `ErrorDetails`. Messages keep the provider's words with any key redacted, and
errors keep Retry-After and the rate-limit headers.
"""

from __future__ import annotations

import contextlib
import email.utils
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import SSEError
from pydantic import SecretStr

from router_service.domain import Usage
from router_service.providers.errors import (
    AuthFailed,
    BadRequest,
    ContextLengthExceeded,
    MalformedResponse,
    ModelNotFound,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    QuotaExhausted,
    RateLimited,
    Unavailable,
)

REDACTED = "[REDACTED]"
# Key shapes providers echo back, whole or masked ("sk-proj-****1234", "xa***yz"): the visible ends of a
# masked key are still part of the real one, so the whole token goes.
_KEY_LIKE = re.compile(
    r"\b(?:sk|gsk|xai)[-_][A-Za-z0-9_\-*]{4,}|\bAIza[0-9A-Za-z_\-]{20,}|[A-Za-z0-9_\-]*\*{3,}[A-Za-z0-9_\-]*"
)
_CONTEXT_LENGTH = re.compile(
    r"context[ _-]?length|context window|maximum context|prompt is too long|maximum number of tokens allowed",
    re.IGNORECASE,
)
# Response headers worth keeping on an error: the executor paces retries with them.
_KEPT_HEADER_PREFIXES = (
    "x-ratelimit-",
    "anthropic-ratelimit-",
    "retry-after",
    "x-should-retry",
    "x-request-id",
    "request-id",
)
MAX_MESSAGE_CHARS = 2000


def redact(text: str, secret: SecretStr | None) -> str:
    """`text` without the key, or anything shaped like a (masked) key."""
    if secret is not None:
        value = secret.get_secret_value()
        if value:
            text = text.replace(value, REDACTED)
    return _KEY_LIKE.sub(REDACTED, text)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` (Azure OpenAI) or `retry-after` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        with contextlib.suppress(ValueError):
            return max(float(millis) / 1000, 0.0)
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith(_KEPT_HEADER_PREFIXES)}


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """What a provider's error body says, in its own words."""

    message: str
    reason: str = ""
    # The HTTP status the error stands for when it arrives inside a 200 stream (Anthropic `event: error`,
    # a google.rpc `code`); 0 when the body does not say.
    status: int = 0
    # A provider verdict the status alone cannot give (OpenAI `insufficient_quota` on a 429).
    error_class: type[ProviderError] | None = None
    retry_after: float | None = None


# (HTTP status, the body decoded as JSON, or its text when it is not JSON) -> details
ErrorParser = Callable[[int, Any], ErrorDetails]


def error_class_for(status: int, message: str) -> type[ProviderError]:
    """The one status -> exception mapping."""
    if status in (400, 413, 422) and _CONTEXT_LENGTH.search(message):
        return ContextLengthExceeded
    if status == 429:
        return RateLimited
    if status == 529 or (status == 503 and "overload" in message.lower()):
        return Overloaded
    if status in (408, 504):
        return ProviderTimeout
    if status >= 500:
        return Unavailable
    if status in (401, 403):
        return AuthFailed
    if status == 402:
        return QuotaExhausted
    if status == 404:
        return ModelNotFound
    if 400 <= status < 500:
        return BadRequest
    return Unavailable  # 1xx / 3xx: nothing a client can use


def build_error(
    provider: str,
    http_status: int,
    details: ErrorDetails,
    *,
    headers: Mapping[str, str],
    secret: SecretStr | None,
    partial_usage: Usage | None = None,
) -> ProviderError:
    # An error event inside a 200 stream carries its own status; without one it is a server failure.
    status = http_status if http_status >= 400 else (details.status or 500)
    message = redact(details.message.strip() or f"HTTP {status}", secret)[:MAX_MESSAGE_CHARS]
    cls = details.error_class or error_class_for(status, message)
    retry_after = details.retry_after if details.retry_after is not None else parse_retry_after(headers)
    return cls(
        provider,
        message,
        http_status=status,
        retry_after=retry_after,
        reason=details.reason,
        partial_usage=partial_usage,
        headers=kept_headers(headers),
    )


def transport_error(
    provider: str, exc: BaseException, secret: SecretStr | None, partial_usage: Usage | None = None
) -> ProviderError:
    """A failure below HTTP (timeout, refused or reset connection, broken framing) as a provider error."""
    detail = redact(str(exc), secret) or type(exc).__name__
    error: ProviderError
    if isinstance(exc, TimeoutError):
        error = ProviderTimeout(provider, "deadline exceeded waiting for the provider")
    elif isinstance(exc, httpx.TimeoutException):
        what = {
            httpx.ConnectTimeout: "connect timeout",
            httpx.ReadTimeout: "read timeout",
            httpx.WriteTimeout: "write timeout",
            httpx.PoolTimeout: "no free pooled connection in time",
        }.get(type(exc), "timeout")
        error = ProviderTimeout(provider, f"{what}: {detail}")
    elif isinstance(exc, SSEError | httpx.DecodingError):
        error = MalformedResponse(provider, f"malformed stream: {detail}")
    elif isinstance(exc, httpx.ConnectError):
        error = Unavailable(provider, f"connection failed: {detail}")
    elif isinstance(exc, httpx.RemoteProtocolError):
        error = Unavailable(provider, f"connection closed mid-response: {detail}")
    else:
        error = Unavailable(provider, f"network error: {detail}")
    error.partial_usage = partial_usage
    return error
