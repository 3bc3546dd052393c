"""What every adapter must do whatever its wire format: deadlines, cancellation, broken streams, keys.

Each case replays the provider's own stream file from shared/data/wire through the real adapter.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from router_service.config import ProviderKind
from router_service.providers.base import ProviderAdapter, StreamEnd, TextChunk
from router_service.providers.errors import (
    AuthFailed,
    MalformedResponse,
    ProviderError,
    ProviderTimeout,
    Unavailable,
)
from tests.providers.adapter_harness import FAKE_KEY, collect, hello_request
from tests.providers.wire_server import Reply, WireServer, split_lines, split_sse, wire_file

# How much later than the deadline a ProviderTimeout may surface.
DEADLINE_SLACK_S = 0.05
DEADLINE_S = 0.25


@dataclass(frozen=True)
class Case:
    kind: ProviderKind
    model: str
    base_path: str  # appended to the server URL to form the provider's base URL
    complete_path: str
    stream_path: str
    stream_file: str
    whole_file: str
    # Stream records up to and including the first one that carries text.
    first_text_at: int
    texts: tuple[str, ...]

    @property
    def ndjson(self) -> bool:
        return self.stream_file.endswith(".ndjson")

    def events(self) -> list[bytes]:
        data = wire_file(self.stream_file)
        return split_lines(data) if self.ndjson else split_sse(data)

    def stream_reply(self, events: list[bytes] | None = None, **options: object) -> Reply:
        events = self.events() if events is None else events
        if self.ndjson:
            return Reply(200, [("content-type", "application/x-ndjson")], events=events, **options)  # type: ignore[arg-type]
        return Reply.sse(events, **options)  # type: ignore[arg-type]

    def malformed_event(self) -> bytes:
        return b"{not json\n" if self.ndjson else b"data: {not json\n\n"


CASES = [
    Case(
        "openai", "gpt-4o-mini", "/v1", "/v1/chat/completions", "/v1/chat/completions",
        "openai/stream.sse", "openai/response.json", 2, ("Hello", "!", " How can I help you today?"),
    ),
    Case(
        "anthropic", "claude-sonnet-4-5-20250929", "", "/v1/messages", "/v1/messages",
        "anthropic/stream.sse", "anthropic/response.json", 4, ("Hello", "! How can I ", "help you today?"),
    ),
    Case(
        "gemini", "gemini-2.5-flash", "",
        "/v1beta/models/gemini-2.5-flash:generateContent", "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        "gemini/stream.sse", "gemini/response.json", 1, ("Hello", "! How can I help you today?"),
    ),
    Case(
        "ollama", "llama3.2", "", "/api/chat", "/api/chat",
        "ollama/stream.ndjson", "ollama/response.json", 1, ("Hello", "!", " How can I help you today?"),
    ),
]  # fmt: skip

AdapterBuilder = Callable[..., ProviderAdapter]


@pytest.fixture(params=CASES, ids=[c.kind for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    result: Case = request.param
    return result


def adapter_for(case: Case, wire: WireServer, adapters: AdapterBuilder, **options: object) -> ProviderAdapter:
    return adapters(case.kind, wire.base_url + case.base_path, **options)


async def test_streams_the_wire_file(case: Case, wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", case.stream_path, case.stream_reply())
    texts, end = await collect(adapter_for(case, wire, adapters), hello_request(case.model))
    assert tuple(texts) == case.texts
    assert end.usage.input_tokens > 0 and end.usage.output_tokens > 0
    assert not end.usage.estimated


async def test_slow_first_byte_complete_times_out_within_deadline(
    case: Case, wire: WireServer, adapters: AdapterBuilder
) -> None:
    reply = Reply.file(case.whole_file)
    reply.first_byte_delay = 5
    wire.add("POST", case.complete_path, reply)
    adapter = adapter_for(case, wire, adapters)
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout) as caught:
        await adapter.complete(replace(hello_request(case.model), timeout=DEADLINE_S))
    elapsed = time.perf_counter() - started
    assert DEADLINE_S - 0.01 <= elapsed <= DEADLINE_S + DEADLINE_SLACK_S, elapsed
    assert caught.value.retryable
    # The upstream request does not outlive the caller.
    await asyncio.wait_for(wire.requests[0].client_closed.wait(), 1)


async def test_slow_first_byte_stream_times_out_within_deadline(
    case: Case, wire: WireServer, adapters: AdapterBuilder
) -> None:
    wire.add("POST", case.stream_path, case.stream_reply(first_byte_delay=5))
    adapter = adapter_for(case, wire, adapters)
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout) as caught:
        await collect(adapter, replace(hello_request(case.model), timeout=DEADLINE_S))
    elapsed = time.perf_counter() - started
    assert DEADLINE_S - 0.01 <= elapsed <= DEADLINE_S + DEADLINE_SLACK_S, elapsed
    assert caught.value.partial_usage is None  # nothing was generated
    await asyncio.wait_for(wire.requests[0].client_closed.wait(), 1)


async def test_deadline_also_bounds_a_slow_stream(case: Case, wire: WireServer, adapters: AdapterBuilder) -> None:
    # Each event arrives well within the deadline; the whole stream would not (the first text event is
    # repeated so that even Gemini's two-event stream takes long enough).
    events = case.events()
    events = events[: case.first_text_at] + events[case.first_text_at - 1 :]
    wire.add("POST", case.stream_path, case.stream_reply(events, event_delay=0.2))
    adapter = adapter_for(case, wire, adapters)
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout) as caught:
        await collect(adapter, replace(hello_request(case.model), timeout=DEADLINE_S))
    assert time.perf_counter() - started <= DEADLINE_S + DEADLINE_SLACK_S
    assert caught.value.partial_usage is not None


async def test_cancelling_the_consumer_closes_the_upstream_connection(
    case: Case, wire: WireServer, adapters: AdapterBuilder
) -> None:
    wire.add("POST", case.stream_path, case.stream_reply(stall_after=case.first_text_at))
    adapter = adapter_for(case, wire, adapters)
    first_text = asyncio.Event()

    async def consume() -> None:
        async for event in adapter.stream(hello_request(case.model)):
            if isinstance(event, TextChunk):
                first_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_text.wait(), 2)
    record = wire.requests[0]
    assert not record.client_closed.is_set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(record.client_closed.wait(), 2)
    assert not record.completed


async def test_closing_the_stream_early_closes_the_upstream_connection(
    case: Case, wire: WireServer, adapters: AdapterBuilder
) -> None:
    wire.add("POST", case.stream_path, case.stream_reply(stall_after=case.first_text_at))
    stream = adapter_for(case, wire, adapters).stream(hello_request(case.model))
    async for event in stream:
        if isinstance(event, TextChunk):
            break
    await stream.aclose()  # type: ignore[attr-defined]
    await asyncio.wait_for(wire.requests[0].client_closed.wait(), 2)


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
async def test_stream_cut_midway_raises_with_partial_usage(
    case: Case, wire: WireServer, adapters: AdapterBuilder, reset: bool
) -> None:
    wire.add("POST", case.stream_path, case.stream_reply(cut_after=case.first_text_at, reset=reset))
    seen: list[str] = []
    with pytest.raises(Unavailable) as caught:
        async for event in adapter_for(case, wire, adapters).stream(hello_request(case.model)):
            assert not isinstance(event, StreamEnd), "a cut stream must not end normally"
            seen.append(event.text)
    assert seen == [case.texts[0]]
    assert caught.value.retryable
    partial = caught.value.partial_usage
    assert partial is not None and partial.input_tokens > 0 and partial.output_tokens > 0


async def test_stream_without_its_terminal_event_is_an_error(
    case: Case, wire: WireServer, adapters: AdapterBuilder
) -> None:
    # The body ends cleanly, but before [DONE] / message_stop / the finishReason chunk / "done": true.
    wire.add("POST", case.stream_path, case.stream_reply(case.events()[:-1]))
    with pytest.raises(Unavailable) as caught:
        await collect(adapter_for(case, wire, adapters), hello_request(case.model))
    assert caught.value.partial_usage is not None
    assert wire.requests[0].completed


async def test_malformed_event_is_a_retryable_protocol_error(
    case: Case, wire: WireServer, adapters: AdapterBuilder
) -> None:
    events = case.events()
    wire.add("POST", case.stream_path, case.stream_reply([events[0], case.malformed_event(), *events[1:]]))
    with pytest.raises(MalformedResponse) as caught:
        await collect(adapter_for(case, wire, adapters), hello_request(case.model))
    assert caught.value.retryable


async def test_connection_refused_is_unavailable(case: Case, adapters: AdapterBuilder) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = adapters(case.kind, f"http://127.0.0.1:{port}{case.base_path}")
    with pytest.raises(Unavailable) as caught:
        await adapter.complete(hello_request(case.model))
    assert caught.value.retryable
    with pytest.raises(Unavailable):
        await collect(adapter, hello_request(case.model))


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (502, True), (503, True), (504, True)])
async def test_server_errors_are_retryable(
    case: Case, wire: WireServer, adapters: AdapterBuilder, status: int, retryable: bool
) -> None:
    wire.add("POST", case.complete_path, Reply.json(b"<html>upstream trouble</html>", status=status))
    with pytest.raises(ProviderError) as caught:
        await adapter_for(case, wire, adapters).complete(hello_request(case.model))
    assert caught.value.retryable is retryable
    assert caught.value.http_status == status


async def test_key_never_leaks(
    case: Case, wire: WireServer, adapters: AdapterBuilder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A provider that echoes the key it was sent, whole and masked the way OpenAI masks keys.
    masked = FAKE_KEY[:8] + "*" * 20 + FAKE_KEY[-4:]
    echo = {"error": {"message": f"Incorrect API key provided: {FAKE_KEY} ({masked})", "type": "x", "code": 401}}
    echo_text = f'{{"error": "Incorrect API key provided: {FAKE_KEY} ({masked})"}}'.encode()
    body = echo_text if case.kind == "ollama" else Reply.json(echo).body
    wire.add("POST", case.complete_path, Reply.json(body, status=401))
    wire.add("POST", case.stream_path, Reply.json(body, status=401))
    adapter = adapter_for(case, wire, adapters)
    errors: list[ProviderError] = []
    for call in (adapter.complete(hello_request(case.model)), collect(adapter, hello_request(case.model))):
        with pytest.raises(AuthFailed) as caught:
            await call
        errors.append(caught.value)
    # The key was really sent, so the test would see a leak if there were one.
    assert FAKE_KEY in str(wire.requests[0].headers)
    dumps = [repr(adapter), str(adapter), caplog.text]
    for error in errors:
        dumps += [str(error), repr(error), error.message, str(error.headers), *traceback.format_exception(error)]
    for dump in dumps:
        assert FAKE_KEY not in dump
        assert FAKE_KEY[-4:] + ")" not in dump  # not even the masked key's visible tail
    assert "Incorrect API key provided" in errors[0].message
