"""The shared HTTP layer: status mapping, Retry-After, redaction, quirks, and the stream deadline."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from router_service.config import ConfigError
from router_service.providers.base import ProviderAdapter, TextChunk
from router_service.providers.error_mapping import REDACTED, error_class_for, kept_headers, parse_retry_after, redact
from router_service.providers.errors import (
    AuthFailed,
    BadRequest,
    ContextLengthExceeded,
    ModelNotFound,
    Overloaded,
    ProviderTimeout,
    QuotaExhausted,
    RateLimited,
    Unavailable,
)
from router_service.providers.quirks import apply_quirks
from tests.providers.adapter_harness import FAKE_KEY, hello_request
from tests.providers.wire_server import Reply, WireServer

AdapterBuilder = Callable[..., ProviderAdapter]


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (400, "bad", BadRequest),
        (400, "This model's maximum context length is 8192 tokens", ContextLengthExceeded),
        (413, "prompt is too long: 215000 tokens > 200000 maximum", ContextLengthExceeded),
        (401, "", AuthFailed),
        (403, "", AuthFailed),
        (402, "", QuotaExhausted),
        (404, "", ModelNotFound),
        (408, "", ProviderTimeout),
        (422, "", BadRequest),
        (429, "", RateLimited),
        (500, "", Unavailable),
        (502, "", Unavailable),
        (503, "", Unavailable),
        (503, "The model is overloaded.", Overloaded),
        (504, "", ProviderTimeout),
        (529, "Overloaded", Overloaded),
        (302, "", Unavailable),
    ],
)
def test_status_mapping(status: int, message: str, expected: type) -> None:
    assert error_class_for(status, message) is expected


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "20", "retry-after": "9"}) == 0.02
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (parse_retry_after({"retry-after": later}) or 0) <= 30
    earlier = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert parse_retry_after({"retry-after": earlier}) == 0.0


def test_kept_headers_are_the_rate_limit_ones() -> None:
    headers = {"X-RateLimit-Remaining-Tokens": "0", "Retry-After": "1", "Content-Type": "x", "Set-Cookie": "a"}
    assert kept_headers(headers) == {"x-ratelimit-remaining-tokens": "0", "retry-after": "1"}


@given(st.text(), st.text())
def test_redact_removes_the_key_wherever_it_is(before: str, after: str) -> None:
    redacted = redact(before + FAKE_KEY + after, SecretStr(FAKE_KEY))
    assert FAKE_KEY not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-********************************************1234.",
        "Incorrect API key provided: xa***yz. You can obtain an API key",
        "bad key gsk_abcdEFGH1234",
        "bad key " + "AIza" + "SyA1234567890abcdefghijklmnop",  # split: the tree must hold no key-shaped literal
    ],
)
def test_redact_removes_key_shapes_it_was_not_given(text: str) -> None:
    redacted = redact(text, None)
    assert REDACTED in redacted
    assert "1234" not in redacted and "xa***yz" not in redacted


def test_redact_leaves_ordinary_words() -> None:
    text = "task-force skills: disk-based risk-free"
    assert redact(text, None) == text


@dataclass(frozen=True)
class _Switches:
    flag: bool = False
    limit: int | None = None
    ratio: float = 1.0
    name: str = "x"


def test_apply_quirks_validates_names_and_types() -> None:
    assert apply_quirks("p", _Switches(), {"flag": True, "limit": 3, "ratio": 2}) == _Switches(True, 3, 2)
    assert apply_quirks("p", _Switches(limit=4), {"limit": None}).limit is None
    for bad in ({"flag": 1}, {"limit": "3"}, {"limit": True}, {"ratio": "1"}, {"name": 5}, {"nope": 1}):
        with pytest.raises(ConfigError, match=r"providers\.p\.quirks\."):
            apply_quirks("p", _Switches(), bad)


async def test_deadline_never_fires_into_the_consumers_code(wire: WireServer, adapters: AdapterBuilder) -> None:
    # The consumer is slow between two deltas and overruns the deadline there: it must not be cancelled
    # in its own code; the next read of the stream raises ProviderTimeout instead.
    wire.add("POST", "/v1/chat/completions", Reply.sse_file("openai/stream.sse"))
    adapter = adapters("openai", wire.base_url + "/v1")
    stream = adapter.stream(replace(hello_request("gpt-4o-mini"), timeout=0.2))
    texts = []
    with pytest.raises(ProviderTimeout):
        async for event in stream:
            if isinstance(event, TextChunk):
                texts.append(event.text)
                await asyncio.sleep(0.3)  # a CancelledError here would fail the test
    assert texts == ["Hello"]
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0


async def test_outside_cancellation_with_a_deadline_stays_a_cancellation(
    wire: WireServer, adapters: AdapterBuilder
) -> None:
    wire.add("POST", "/v1/chat/completions", Reply.sse_file("openai/stream.sse", stall_after=2))
    adapter = adapters("openai", wire.base_url + "/v1")
    got_text = asyncio.Event()

    async def consume() -> None:
        async for event in adapter.stream(replace(hello_request("gpt-4o-mini"), timeout=5)):
            if isinstance(event, TextChunk):
                got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(wire.requests[0].client_closed.wait(), 2)


async def test_a_stream_iterated_from_another_task_still_has_its_deadline(
    wire: WireServer, adapters: AdapterBuilder
) -> None:
    wire.add("POST", "/v1/chat/completions", Reply.sse_file("openai/stream.sse", stall_after=2))
    stream = adapters("openai", wire.base_url + "/v1").stream(replace(hello_request("gpt-4o-mini"), timeout=0.3))
    first = await anext(stream)  # opened in this task...
    assert first == TextChunk("Hello")
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout):
        await asyncio.create_task(anext(stream))  # type: ignore[arg-type]  # ...read on in another one
    assert time.perf_counter() - started < 0.35
