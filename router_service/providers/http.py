"""The HTTP layer every adapter shares: one pooled `httpx.AsyncClient` per provider with its auth
headers, the caller's deadline on every call and every read, SSE (via httpx-sse) and NDJSON streams, and
every failure turned into a ProviderError by `error_mapping`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from enum import Enum
from typing import Any, Protocol

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError
from pydantic import SecretStr

from router_service.domain import Usage
from router_service.providers.base import StreamEnd, StreamEvent
from router_service.providers.error_mapping import (
    MAX_MESSAGE_CHARS,
    ErrorDetails,
    ErrorParser,
    build_error,
    transport_error,
)
from router_service.providers.errors import MalformedResponse, ProviderError

# Health probes and model listings answer in milliseconds when the provider is well; no caller deadline.
PROBE_TIMEOUT_S = 10.0


def load_json_event(provider: str, data: str) -> dict[str, Any]:
    """One streamed JSON object; anything else is a malformed (retryable) response."""
    try:
        value = json.loads(data)
    except ValueError:
        raise MalformedResponse(provider, f"stream event is not JSON: {data[:200]!r}") from None
    if not isinstance(value, dict):
        raise MalformedResponse(provider, f"stream event is not a JSON object: {data[:200]!r}")
    return value


class Deadline:
    """The caller's deadline as an event-loop time, applied to httpx and to every await on the wire."""

    __slots__ = ("at",)

    def __init__(self, seconds: float | None) -> None:
        self.at = None if seconds is None else asyncio.get_running_loop().time() + max(seconds, 0.0)

    def guard(self) -> asyncio.Timeout:
        # Entered around network awaits only, never across a `yield`, so it fires in our own frame.
        return asyncio.timeout_at(self.at)

    def httpx_timeout(self, default: httpx.Timeout) -> httpx.Timeout:
        """The client's own timeouts, each cut to what is left of the deadline."""
        if self.at is None:
            return default
        left = max(self.at - asyncio.get_running_loop().time(), 0.001)
        return httpx.Timeout(
            connect=min(left, default.connect or left),
            read=min(left, default.read or left),
            write=min(left, default.write or left),
            pool=min(left, default.pool or left),
        )


class _BoundedReads:
    """A stream's records read under the caller's deadline, with one timer for the whole stream.

    An `asyncio.timeout` around each read costs a timer per record (about 3.5 µs, a third of what the
    adapter adds per delta). This timer cancels the task only while it is inside one of these reads, so it
    never fires into the consumer's own code between two yields; past the deadline the next read refuses.
    """

    def __init__(self, records: AsyncGenerator[ServerSentEvent, None], at: float | None) -> None:
        self._records = records
        self._at = at
        self._task = asyncio.current_task()
        self._reading = False
        self._expired = False
        self._cancelled_task = False
        self._timer = None if at is None else asyncio.get_running_loop().call_at(at, self._expire)

    def _expire(self) -> None:
        self._expired = True
        if self._reading and self._task is not None:
            self._cancelled_task = True
            self._task.cancel()

    async def next(self) -> ServerSentEvent | None:
        """The next record, None at the end of the body; TimeoutError past the deadline."""
        if self._expired:
            raise TimeoutError
        task = asyncio.current_task()
        if task is None or task is not self._task:
            # Iterated from another task than the one that opened the stream: a timer per read.
            async with asyncio.timeout_at(self._at):
                return await anext(self._records, None)
        cancelling = task.cancelling()
        self._reading = True
        try:
            return await anext(self._records, None)
        except asyncio.CancelledError:
            # Ours alone (as asyncio.timeout decides): the deadline passed; anyone else's: cancellation.
            if self._cancelled_task and task.uncancel() <= cancelling:
                raise TimeoutError from None
            raise
        finally:
            self._reading = False

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self._records.aclose()


class Framing(Enum):
    SSE = "sse"
    NDJSON = "ndjson"


class StreamParser(Protocol):
    """Turns a provider's stream records into TextChunks; `finish` gives the StreamEnd or raises when the
    provider's terminal event never came."""

    def feed(self, event: str, data: str) -> Iterable[StreamEvent]: ...

    def finish(self) -> StreamEnd: ...

    def partial_usage(self) -> Usage: ...


async def _ndjson_records(response: httpx.Response) -> AsyncGenerator[ServerSentEvent, None]:
    # Split on b"\n" ourselves: httpx's aiter_lines also splits on Unicode separators that JSON strings
    # may legally carry unescaped.
    buffer = b""
    async for chunk in response.aiter_bytes():
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield ServerSentEvent(data=line.decode("utf-8", "replace"))
    if buffer.strip():
        yield ServerSentEvent(data=buffer.decode("utf-8", "replace"))


class ProviderHttpClient:
    """One provider's pooled client with its auth headers, deadlines and error mapping."""

    def __init__(
        self,
        provider: str,
        client: httpx.AsyncClient,
        *,
        secret: SecretStr | None,
        auth_headers: Callable[[SecretStr], dict[str, str]],
        parse_error: ErrorParser,
        protocol_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self._client = client
        self._secret = secret
        self._auth_headers = auth_headers
        self._parse_error = parse_error
        # Non-secret headers the wire protocol needs on every call (e.g. anthropic-version).
        self._protocol_headers = dict(protocol_headers or {})

    def __repr__(self) -> str:
        return f"ProviderHttpClient(provider={self.provider!r}, base_url={str(self._client.base_url)!r})"

    def _headers(self) -> dict[str, str]:
        # Built per call so the key lives only in the request being sent, not in a long-lived object.
        if self._secret is None:
            return self._protocol_headers
        return {**self._protocol_headers, **self._auth_headers(self._secret)}

    def _details(self, status: int, body: Any) -> ErrorDetails:
        try:
            return self._parse_error(status, body)
        except (AttributeError, KeyError, TypeError, ValueError):
            # A body in no shape the provider documents: keep its text as the message.
            return ErrorDetails(body if isinstance(body, str) else json.dumps(body)[:MAX_MESSAGE_CHARS])

    def status_error(self, status: int, content: bytes, headers: Mapping[str, str]) -> ProviderError:
        text = content.decode("utf-8", "replace")
        body: Any
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        return build_error(self.provider, status, self._details(status, body), headers=headers, secret=self._secret)

    def error_in_stream(self, body: Any, partial_usage: Usage) -> ProviderError:
        """An error object that arrived inside a 200 stream."""
        details = self._details(0, body)
        return build_error(self.provider, 0, details, headers={}, secret=self._secret, partial_usage=partial_usage)

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        deadline_s: float | None,
        payload: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        deadline = Deadline(deadline_s)
        try:
            async with deadline.guard():
                response = await self._client.request(
                    method,
                    path,
                    json=payload,
                    params=params,
                    headers=self._headers(),
                    timeout=deadline.httpx_timeout(self._client.timeout),
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            raise transport_error(self.provider, exc, self._secret) from None
        if not 200 <= response.status_code < 300:
            raise self.status_error(response.status_code, response.content, response.headers)
        try:
            return response.json()
        except ValueError:
            raise MalformedResponse(
                self.provider, "response body is not JSON", http_status=response.status_code
            ) from None

    async def stream(
        self,
        path: str,
        payload: Any,
        *,
        deadline_s: float | None,
        parser: StreamParser,
        framing: Framing,
        params: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """POST `payload` and yield what `parser` makes of the streamed records, then its StreamEnd.

        Leaving early (cancellation, aclose) closes the upstream connection; any failure is raised as a
        ProviderError carrying the usage consumed so far.
        """
        deadline = Deadline(deadline_s)
        started = False  # a 2xx arrived: from here on, failures may have consumed tokens
        try:
            async with contextlib.AsyncExitStack() as stack:
                async with deadline.guard():
                    response = await stack.enter_async_context(
                        self._client.stream(
                            "POST",
                            path,
                            json=payload,
                            params=params,
                            headers=self._headers(),
                            timeout=deadline.httpx_timeout(self._client.timeout),
                        )
                    )
                    if not 200 <= response.status_code < 300:
                        content = await response.aread()
                        raise self.status_error(response.status_code, content, response.headers)
                started = True
                records = EventSource(response).aiter_sse() if framing is Framing.SSE else _ndjson_records(response)
                reads = _BoundedReads(records, deadline.at)
                try:
                    while (record := await reads.next()) is not None:
                        for event in parser.feed(record.event, record.data):
                            yield event
                finally:
                    await reads.aclose()
                # Only now, with the body read to its end, so the connection goes back to the pool even
                # when the consumer stops at the StreamEnd.
                yield parser.finish()
        except ProviderError as exc:
            if exc.partial_usage is None and started:
                exc.partial_usage = parser.partial_usage()
            raise
        except (httpx.HTTPError, SSEError, TimeoutError) as exc:
            partial = parser.partial_usage() if started else None
            raise transport_error(self.provider, exc, self._secret, partial) from None

    async def aclose(self) -> None:
        await self._client.aclose()
