"""Gemini generateContent / streamGenerateContent against the gemini wire files."""

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
    RateLimited,
    UnsupportedParameter,
)
from tests.providers.adapter_harness import FAKE_KEY, collect, hello_request, multi_turn_request
from tests.providers.wire_server import Reply, WireServer, split_sse, wire_file

AdapterBuilder = Callable[..., ProviderAdapter]
MODEL = "gemini-2.5-flash"
GENERATE = f"/v1beta/models/{MODEL}:generateContent"
STREAM = f"/v1beta/models/{MODEL}:streamGenerateContent"


def gemini(wire: WireServer, adapters: AdapterBuilder) -> ProviderAdapter:
    return adapters("gemini", wire.base_url)


async def test_complete_sends_the_documented_request(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", GENERATE, Reply.file("gemini/response.json"))
    completion = await gemini(wire, adapters).complete(hello_request(MODEL, temperature=0, max_output_tokens=256))
    assert completion.text == "Hello! How can I help you today?"
    # promptTokenCount includes the cached tokens; thoughtsTokenCount is billed as output.
    assert completion.usage == Usage(input_tokens=2061, output_tokens=9 + 18, cached_input_tokens=2032)
    assert completion.finish_reason is FinishReason.STOP
    assert completion.provider_model == MODEL
    sent = wire.requests[0]
    assert sent.json() == json.loads(wire_file("gemini/request.json"))
    assert sent.headers["x-goog-api-key"] == FAKE_KEY
    assert sent.query == ""  # the key never goes in the URL
    assert "authorization" not in sent.headers


@pytest.mark.parametrize("relative", ["gemini/stream.sse", "gemini/stream_lf.sse"], ids=["crlf", "lf"])
async def test_stream(wire: WireServer, adapters: AdapterBuilder, relative: str) -> None:
    wire.add("POST", STREAM, Reply.sse_file(relative))
    texts, end = await collect(gemini(wire, adapters), hello_request(MODEL, temperature=0, max_output_tokens=256))
    assert texts == ["Hello", "! How can I help you today?"]
    assert end.usage == Usage(input_tokens=11, output_tokens=9 + 18)  # the last running total
    assert end.finish_reason is FinishReason.STOP
    assert end.provider_model == MODEL
    sent = wire.requests[0]
    assert sent.query == "alt=sse"
    assert sent.json() == json.loads(wire_file("gemini/request.json"))


async def test_multi_turn_roles_merging_and_generation_config(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", GENERATE, Reply.file("gemini/response.json"))
    request = multi_turn_request(MODEL, temperature=1.2, top_p=0.5, max_output_tokens=64, stop=("END",), seed=9)
    await gemini(wire, adapters).complete(request)
    assert wire.requests[0].json() == {
        "systemInstruction": {"parts": [{"text": "Be terse."}, {"text": "Answer in English."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hi."}]},
            {"role": "model", "parts": [{"text": "Hello!"}]},
            {"role": "user", "parts": [{"text": "What is 2+2?"}, {"text": "Just the number."}]},
        ],
        "generationConfig": {
            "temperature": 1.2,
            "topP": 0.5,
            "maxOutputTokens": 64,
            "stopSequences": ["END"],
            "seed": 9,
        },
    }


async def test_more_than_five_stop_sequences_are_refused(wire: WireServer, adapters: AdapterBuilder) -> None:
    with pytest.raises(UnsupportedParameter, match="stop"):
        await gemini(wire, adapters).complete(hello_request(MODEL, stop=tuple("abcdef")))
    assert wire.requests == []


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("MAX_TOKENS", FinishReason.LENGTH),
        ("SAFETY", FinishReason.CONTENT_FILTER),
        ("RECITATION", FinishReason.CONTENT_FILTER),
        ("PROHIBITED_CONTENT", FinishReason.CONTENT_FILTER),
        ("OTHER", FinishReason.UNKNOWN),
    ],
)
async def test_finish_reasons(wire: WireServer, adapters: AdapterBuilder, reason: str, expected: FinishReason) -> None:
    body = json.loads(wire_file("gemini/response.json"))
    body["candidates"][0]["finishReason"] = reason
    wire.add("POST", GENERATE, Reply.json(body))
    stream = wire_file("gemini/stream.sse").replace(b'"finishReason": "STOP"', f'"finishReason": "{reason}"'.encode())
    wire.add("POST", STREAM, Reply.sse(split_sse(stream)))
    adapter = gemini(wire, adapters)
    assert (await adapter.complete(hello_request(MODEL))).finish_reason is expected
    assert (await collect(adapter, hello_request(MODEL)))[1].finish_reason is expected


async def test_blocked_prompt_is_a_content_filter_answer(wire: WireServer, adapters: AdapterBuilder) -> None:
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7}}
    wire.add("POST", GENERATE, Reply.json(body))
    completion = await gemini(wire, adapters).complete(hello_request(MODEL))
    assert completion.text == ""
    assert completion.finish_reason is FinishReason.CONTENT_FILTER
    assert completion.usage == Usage(input_tokens=7)
    assert "prompt blocked: SAFETY" in completion.warnings


async def test_thought_parts_are_not_answer_text(wire: WireServer, adapters: AdapterBuilder) -> None:
    body = json.loads(wire_file("gemini/response.json"))
    body["candidates"][0]["content"]["parts"].insert(0, {"text": "Let me think.", "thought": True})
    wire.add("POST", GENERATE, Reply.json(body))
    assert (await gemini(wire, adapters).complete(hello_request(MODEL))).text == "Hello! How can I help you today?"


ERRORS = [
    ("error_400.json", 400, AuthFailed, "API_KEY_INVALID"),
    ("error_400_invalid_argument.json", 400, BadRequest, "INVALID_ARGUMENT"),
    ("error_400_context_length.json", 400, ContextLengthExceeded, "INVALID_ARGUMENT"),
    ("error_404_model.json", 404, ModelNotFound, "NOT_FOUND"),
    ("error_429.json", 429, RateLimited, "RESOURCE_EXHAUSTED"),
    ("error_503_overloaded.json", 503, Overloaded, "UNAVAILABLE"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
async def test_wire_errors(
    wire: WireServer, adapters: AdapterBuilder, case: tuple[str, int, type[ProviderError], str]
) -> None:
    body_file, status, error, reason = case
    wire.add("POST", GENERATE, Reply.file(f"gemini/{body_file}", status=status))
    wire.add("POST", STREAM, Reply.file(f"gemini/{body_file}", status=status))
    adapter = gemini(wire, adapters)
    for call in (adapter.complete, lambda r: collect(adapter, r)):
        with pytest.raises(ProviderError) as caught:
            await call(hello_request(MODEL))
        raised = caught.value
        assert type(raised) is error
        assert (raised.http_status, raised.reason) == (status, reason)
        assert raised.message == json.loads(wire_file(f"gemini/{body_file}"))["error"]["message"]
        assert raised.retryable is (status in (429, 503))


async def test_rate_limit_wait_comes_from_retry_info(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", GENERATE, Reply.file("gemini/error_429.json", status=429))
    with pytest.raises(RateLimited) as caught:
        await gemini(wire, adapters).complete(hello_request(MODEL))
    assert caught.value.retry_after == 41.0


async def test_error_event_mid_stream(wire: WireServer, adapters: AdapterBuilder) -> None:
    first = split_sse(wire_file("gemini/stream.sse"))[0]
    error = json.loads(wire_file("gemini/error_503_overloaded.json"))
    wire.add("POST", STREAM, Reply.sse([first, b"data: " + json.dumps(error).encode() + b"\r\n\r\n"]))
    with pytest.raises(Overloaded) as caught:
        await collect(gemini(wire, adapters), hello_request(MODEL))
    assert caught.value.http_status == 503
    # Gemini reports running totals in every chunk: the partial usage is the provider's own.
    assert caught.value.partial_usage == Usage(input_tokens=11, output_tokens=1 + 18)


async def test_list_models_filters_and_pages(wire: WireServer, adapters: AdapterBuilder) -> None:
    page1 = {
        "models": [
            {"name": "models/gemini-2.5-flash", "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]},
        ],
        "nextPageToken": "tok2",
    }
    page2 = {"models": [{"name": "models/gemini-2.5-pro", "supportedGenerationMethods": ["generateContent"]}]}
    wire.add("GET", "/v1beta/models", Reply.json(page1), Reply.json(page2))
    adapter = gemini(wire, adapters)
    assert await adapter.list_models() == ["gemini-2.5-flash", "gemini-2.5-pro"]
    assert wire.requests[1].query == "pageSize=1000&pageToken=tok2"
    await adapter.probe()
    assert wire.requests[2].headers["x-goog-api-key"] == FAKE_KEY
    assert "key=" not in wire.requests[2].query
