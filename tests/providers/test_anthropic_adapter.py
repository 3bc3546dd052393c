"""Anthropic Messages against the anthropic wire files."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from router_service.domain import FinishReason, Usage
from router_service.providers.base import ProviderAdapter
from router_service.providers.errors import (
    AuthFailed,
    BadRequest,
    ContextLengthExceeded,
    ModelNotFound,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    QuotaExhausted,
    RateLimited,
    UnsupportedParameter,
)
from tests.providers.adapter_harness import FAKE_KEY, collect, hello_request, multi_turn_request
from tests.providers.wire_server import Reply, WireServer, wire_file

AdapterBuilder = Callable[..., ProviderAdapter]
MESSAGES = "/v1/messages"
MODEL = "claude-sonnet-4-5-20250929"
# input_tokens 21 + cache reads 1800 (+ cache writes 0): the router's input count includes the cache.
WIRE_USAGE = Usage(input_tokens=1821, output_tokens=12, cached_input_tokens=1800, cache_write_input_tokens=0)


def anthropic(wire: WireServer, adapters: AdapterBuilder, **quirks: object) -> ProviderAdapter:
    return adapters("anthropic", wire.base_url, quirks=quirks)


async def test_complete_sends_the_documented_request(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", MESSAGES, Reply.file("anthropic/response.json"))
    completion = await anthropic(wire, adapters).complete(hello_request(MODEL, temperature=0, max_output_tokens=1024))
    assert completion.text == "Hello! How can I help you today?"
    assert completion.usage == WIRE_USAGE
    assert completion.finish_reason is FinishReason.STOP
    assert completion.provider_model == MODEL
    sent = wire.requests[0]
    assert sent.json() == json.loads(wire_file("anthropic/request.json"))
    assert sent.headers["x-api-key"] == FAKE_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers


async def test_stream_reads_usage_from_start_and_delta(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", MESSAGES, Reply.sse_file("anthropic/stream.sse", headers_file="anthropic/headers_200_stream.txt"))
    texts, end = await collect(anthropic(wire, adapters), hello_request(MODEL, temperature=0, max_output_tokens=1024))
    assert texts == ["Hello", "! How can I ", "help you today?"]
    assert end.usage == WIRE_USAGE
    assert end.finish_reason is FinishReason.STOP
    assert end.provider_model == MODEL
    assert wire.requests[0].json() == json.loads(wire_file("anthropic/request_stream.json"))


async def test_stream_usage_falls_back_to_message_start(wire: WireServer, adapters: AdapterBuilder) -> None:
    # Older API versions repeat only output_tokens in message_delta.
    data = wire_file("anthropic/stream.sse").replace(
        b'"usage":{"input_tokens":21,"cache_creation_input_tokens":0,"cache_read_input_tokens":1800,"output_tokens":12}',
        b'"usage":{"output_tokens":12}',
    )
    assert data != wire_file("anthropic/stream.sse")
    wire.add("POST", MESSAGES, Reply.sse([e + b"\n\n" for e in data.split(b"\n\n") if e]))
    _, end = await collect(anthropic(wire, adapters), hello_request(MODEL))
    assert end.usage == WIRE_USAGE


async def test_error_event_mid_stream_is_overloaded_with_partial_usage(
    wire: WireServer, adapters: AdapterBuilder
) -> None:
    wire.add("POST", MESSAGES, Reply.sse_file("anthropic/stream_error_midstream.sse"))
    seen: list[str] = []
    with pytest.raises(Overloaded) as caught:
        async for event in anthropic(wire, adapters).stream(hello_request(MODEL)):
            seen.append(getattr(event, "text", "END"))
    assert seen == ["Hello"]
    error = caught.value
    assert error.retryable and error.reason == "overloaded_error" and error.message == "Overloaded"
    assert error.partial_usage is not None
    assert error.partial_usage.input_tokens == 1821 and error.partial_usage.cached_input_tokens == 1800
    assert error.partial_usage.output_tokens >= 1 and error.partial_usage.estimated


async def test_default_max_tokens_and_quirk(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", MESSAGES, Reply.file("anthropic/response.json"))
    await anthropic(wire, adapters).complete(hello_request(MODEL))
    await anthropic(wire, adapters, default_max_tokens=512).complete(hello_request(MODEL))
    assert [r.json()["max_tokens"] for r in wire.requests] == [4096, 512]


async def test_multi_turn_merges_roles_and_lifts_system_prompts(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", MESSAGES, Reply.file("anthropic/response.json"))
    await anthropic(wire, adapters).complete(multi_turn_request(MODEL, temperature=0.3, stop=("END",)))
    assert wire.requests[0].json() == {
        "model": MODEL,
        "max_tokens": 4096,
        "system": [{"type": "text", "text": "Be terse."}, {"type": "text", "text": "Answer in English."}],
        "messages": [
            {"role": "user", "content": "Hi."},
            {"role": "assistant", "content": "Hello!"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "What is 2+2?"}, {"type": "text", "text": "Just the number."}],
            },
        ],
        "temperature": 0.3,
        "stop_sequences": ["END"],
    }


async def test_seed_is_dropped_with_a_warning(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", MESSAGES, Reply.file("anthropic/response.json"), Reply.sse_file("anthropic/stream.sse"))
    adapter = anthropic(wire, adapters)
    completion = await adapter.complete(hello_request(MODEL, seed=42))
    _, end = await collect(adapter, hello_request(MODEL, seed=42))
    for warnings in (completion.warnings, end.warnings):
        assert any(w.startswith("seed dropped") for w in warnings), warnings
    assert all("seed" not in r.json() for r in wire.requests)


async def test_top_p_with_temperature_is_dropped_unless_the_quirk_allows(
    wire: WireServer, adapters: AdapterBuilder
) -> None:
    wire.add("POST", MESSAGES, Reply.file("anthropic/response.json"))
    both = hello_request(MODEL, temperature=0.5, top_p=0.9)
    default = await anthropic(wire, adapters).complete(both)
    allowed = await anthropic(wire, adapters, temperature_with_top_p=True).complete(both)
    only_top_p = await anthropic(wire, adapters).complete(hello_request(MODEL, top_p=0.9))
    bodies = [r.json() for r in wire.requests]
    assert "top_p" not in bodies[0] and bodies[0]["temperature"] == 0.5
    assert any(w.startswith("top_p dropped") for w in default.warnings)
    assert bodies[1]["top_p"] == 0.9 and allowed.warnings == ()
    assert bodies[2]["top_p"] == 0.9 and only_top_p.warnings == ()


async def test_temperature_above_one_is_refused(wire: WireServer, adapters: AdapterBuilder) -> None:
    with pytest.raises(UnsupportedParameter, match="temperature"):
        await anthropic(wire, adapters).complete(hello_request(MODEL, temperature=1.5))
    assert wire.requests == []


@pytest.mark.parametrize(
    ("stop_reason", "expected"),
    [
        ("end_turn", FinishReason.STOP),
        ("stop_sequence", FinishReason.STOP),
        ("max_tokens", FinishReason.LENGTH),
        ("tool_use", FinishReason.TOOL_CALLS),
        ("refusal", FinishReason.CONTENT_FILTER),
        ("pause_turn", FinishReason.UNKNOWN),
    ],
)
async def test_stop_reasons(
    wire: WireServer, adapters: AdapterBuilder, stop_reason: str, expected: FinishReason
) -> None:
    body = json.loads(wire_file("anthropic/response.json"))
    body["stop_reason"] = stop_reason
    wire.add("POST", MESSAGES, Reply.json(body))
    stream = wire_file("anthropic/stream.sse").replace(
        b'"stop_reason":"end_turn"', f'"stop_reason":"{stop_reason}"'.encode()
    )
    wire.add("POST", "/v2" + MESSAGES, Reply.sse([e + b"\n\n" for e in stream.split(b"\n\n") if e]))
    assert (await anthropic(wire, adapters).complete(hello_request(MODEL))).finish_reason is expected
    _, end = await collect(adapters("anthropic", wire.base_url + "/v2"), hello_request(MODEL))
    assert end.finish_reason is expected


ERRORS = [
    ("error_400_invalid_request.json", None, 400, ContextLengthExceeded, "invalid_request_error"),
    ("error_401.json", None, 401, AuthFailed, "authentication_error"),
    ("error_429.json", "headers_429.txt", 429, RateLimited, "rate_limit_error"),
    ("error_529_overloaded.json", None, 529, Overloaded, "overloaded_error"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
async def test_wire_errors(
    wire: WireServer, adapters: AdapterBuilder, case: tuple[str, str | None, int, type[ProviderError], str]
) -> None:
    body_file, headers_file, status, error, reason = case
    reply = Reply.file(f"anthropic/{body_file}", status=status)
    if headers_file:
        reply = Reply.file(f"anthropic/{body_file}", headers_file=f"anthropic/{headers_file}")
    wire.add("POST", MESSAGES, reply)
    for call in (anthropic(wire, adapters).complete, lambda r: collect(anthropic(wire, adapters), r)):
        with pytest.raises(ProviderError) as caught:
            await call(hello_request(MODEL))
        raised = caught.value
        assert type(raised) is error
        assert (raised.http_status, raised.reason) == (status, reason)
        assert raised.message == json.loads(wire_file(f"anthropic/{body_file}"))["error"]["message"]
        assert raised.retryable is (status in (429, 529))


async def test_rate_limit_headers_and_retry_after(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", MESSAGES, Reply.file("anthropic/error_429.json", headers_file="anthropic/headers_429.txt"))
    with pytest.raises(RateLimited) as caught:
        await anthropic(wire, adapters).complete(hello_request(MODEL))
    assert caught.value.retry_after == 12.0
    assert caught.value.headers["anthropic-ratelimit-input-tokens-remaining"] == "0"
    assert caught.value.headers["request-id"] == "req_011CSHoF3r9uJ2mYtZbWq8Lk"


@pytest.mark.parametrize(
    ("status", "kind", "error"),
    [
        (402, "billing_error", QuotaExhausted),
        (403, "permission_error", AuthFailed),
        (404, "not_found_error", ModelNotFound),
        (413, "request_too_large", BadRequest),
        (500, "api_error", ProviderError),
        (504, "timeout_error", ProviderTimeout),
    ],
)
async def test_documented_error_types(
    wire: WireServer, adapters: AdapterBuilder, status: int, kind: str, error: type[ProviderError]
) -> None:
    body = {"type": "error", "error": {"type": kind, "message": f"{kind} happened"}, "request_id": "req_1"}
    wire.add("POST", MESSAGES, Reply.json(body, status=status))
    with pytest.raises(error) as caught:
        await anthropic(wire, adapters).complete(hello_request(MODEL))
    assert caught.value.retryable is (status >= 500)
    assert caught.value.message == f"{kind} happened"


async def test_list_models_pages_and_probe(wire: WireServer, adapters: AdapterBuilder) -> None:
    # Shape of GET /v1/models: data[], has_more, first_id, last_id; `after_id` asks for the next page.
    page1 = {
        "data": [{"type": "model", "id": "claude-opus-4-6"}],
        "has_more": True,
        "first_id": "claude-opus-4-6",
        "last_id": "claude-opus-4-6",
    }
    page2 = {"data": [{"type": "model", "id": "claude-haiku-4-5"}], "has_more": False,
             "first_id": "claude-haiku-4-5", "last_id": "claude-haiku-4-5"}  # fmt: skip
    wire.add("GET", "/v1/models", Reply.json(page1), Reply.json(page2))
    adapter = anthropic(wire, adapters)
    assert await adapter.list_models() == ["claude-opus-4-6", "claude-haiku-4-5"]
    assert wire.requests[1].query == "limit=1000&after_id=claude-opus-4-6"
    await adapter.probe()
    assert wire.requests[2].query == "limit=1"
    assert wire.requests[2].headers["x-api-key"] == FAKE_KEY


async def test_version_header_is_sent_without_a_key(wire: WireServer, adapters: AdapterBuilder) -> None:
    # A gateway in front of Anthropic may hold the key itself; the protocol header must still go.
    wire.add("POST", MESSAGES, Reply.file("anthropic/response.json"))
    await adapters("anthropic", wire.base_url, key=None).complete(hello_request(MODEL))
    assert wire.requests[0].headers["anthropic-version"] == "2023-06-01"
    assert "x-api-key" not in wire.requests[0].headers
