"""OpenAI Chat Completions and compatible servers (Groq, xAI, generic) against the OpenAI wire files."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from router_service.config import ConfigError
from router_service.domain import ChatMessage, FinishReason, Role, Usage
from router_service.providers.base import ProviderAdapter, ProviderRequest
from router_service.providers.errors import (
    AuthFailed,
    BadRequest,
    ContextLengthExceeded,
    ModelNotFound,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    Unavailable,
    UnsupportedParameter,
)
from router_service.providers.generation import USAGE_ESTIMATED
from tests.providers.adapter_harness import FAKE_KEY, collect, hello_request, multi_turn_request
from tests.providers.wire_server import Reply, WireServer, split_sse, wire_file

AdapterBuilder = Callable[..., ProviderAdapter]
CHAT = "/v1/chat/completions"
MODEL = "gpt-4o-mini"
# The usage object of openai/response.json and the final chunk of openai/stream.sse.
WIRE_USAGE = Usage(input_tokens=2006, output_tokens=9, cached_input_tokens=1920)


def wire_request(name: str) -> object:
    return json.loads(wire_file(f"openai/{name}"))


def openai(wire: WireServer, adapters: AdapterBuilder, name: str = "openai", **quirks: object) -> ProviderAdapter:
    return adapters("openai", wire.base_url + "/v1", name=name, quirks=quirks)


async def test_complete_sends_the_documented_request_and_reads_usage(
    wire: WireServer, adapters: AdapterBuilder
) -> None:
    wire.add("POST", CHAT, Reply.file("openai/response.json"))
    # A generic compatible server gets max_tokens: exactly the wire file's request.
    adapter = openai(wire, adapters, name="local-vllm")
    completion = await adapter.complete(hello_request(MODEL, temperature=0, max_output_tokens=32))
    assert completion.text == "Hello! How can I help you today?"
    assert completion.usage == WIRE_USAGE
    assert completion.finish_reason is FinishReason.STOP
    assert completion.provider_model == "gpt-4o-mini-2024-07-18"
    assert completion.warnings == ()
    sent = wire.requests[0]
    assert sent.json() == wire_request("request.json")
    assert sent.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert sent.headers["content-type"] == "application/json"


async def test_openai_profile_uses_max_completion_tokens(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.file("openai/response.json"))
    await openai(wire, adapters).complete(hello_request(MODEL, temperature=0, max_output_tokens=32))
    expected = wire_request("request.json")
    assert isinstance(expected, dict)
    expected["max_completion_tokens"] = expected.pop("max_tokens")
    assert wire.requests[0].json() == expected


async def test_stream_sends_stream_options_and_reads_the_usage_chunk(
    wire: WireServer, adapters: AdapterBuilder
) -> None:
    wire.add("POST", CHAT, Reply.sse_file("openai/stream.sse", headers_file="openai/headers_200_stream.txt"))
    texts, end = await collect(
        openai(wire, adapters, name="together"), hello_request(MODEL, temperature=0, max_output_tokens=32)
    )
    assert texts == ["Hello", "!", " How can I help you today?"]
    assert end.usage == WIRE_USAGE
    assert end.finish_reason is FinishReason.STOP
    assert end.provider_model == "gpt-4o-mini-2024-07-18"
    assert end.warnings == ()
    assert wire.requests[0].json() == wire_request("request_stream.json")


async def test_stream_without_usage_is_estimated_and_says_so(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.sse_file("openai/stream_no_usage.sse"))
    adapter = openai(wire, adapters, name="llamacpp", stream_usage=False)
    texts, end = await collect(adapter, hello_request(MODEL))
    assert "".join(texts) == "Hello! How can I help you today?"
    assert end.usage.estimated
    assert end.usage.input_tokens > 0 and end.usage.output_tokens > 0
    assert USAGE_ESTIMATED in end.warnings
    assert "stream_options" not in wire.requests[0].json()


async def test_groq_usage_comes_from_x_groq(wire: WireServer, adapters: AdapterBuilder) -> None:
    # The final-chunk shape of groq/NOTES.md: usage only inside x_groq, no top-level usage chunk.
    first, hello, *_ = split_sse(wire_file("openai/stream_no_usage.sse"))
    final = {
        "id": "chatcmpl-e7f8e220",
        "object": "chat.completion.chunk",
        "model": "llama-3.3-70b-versatile",
        "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}],
        "x_groq": {
            "id": "req_01jadadp0femyae9kav1gpkhe8",
            "usage": {"queue_time": 0.06, "prompt_tokens": 18, "prompt_time": 0.0002, "completion_tokens": 439,
                      "completion_time": 0.79, "total_tokens": 457, "total_time": 0.79},
        },
    }  # fmt: skip
    events = [first, hello, b"data: " + json.dumps(final).encode() + b"\n\n", b"data: [DONE]\n\n"]
    wire.add("POST", CHAT, Reply.sse(events))
    texts, end = await collect(openai(wire, adapters, name="groq"), hello_request("llama-3.3-70b-versatile"))
    assert texts == ["Hello"]
    assert end.usage == Usage(input_tokens=18, output_tokens=439)
    assert not end.warnings


async def test_xai_reasoning_tokens_count_as_output(wire: WireServer, adapters: AdapterBuilder) -> None:
    body = json.loads(wire_file("openai/response.json"))
    # xai/NOTES.md: completion_tokens leaves out reasoning_tokens, which are billed as output.
    body["usage"] = {
        "prompt_tokens": 32, "completion_tokens": 9, "total_tokens": 135,
        "prompt_tokens_details": {"text_tokens": 32, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 6},
        "completion_tokens_details": {"reasoning_tokens": 94, "audio_tokens": 0},
        "num_sources_used": 0, "cost_in_usd_ticks": 123000,
    }  # fmt: skip
    wire.add("POST", CHAT, Reply.json(body))
    completion = await openai(wire, adapters, name="xai").complete(hello_request("grok-3-mini"))
    assert completion.usage == Usage(input_tokens=32, output_tokens=103, cached_input_tokens=6)


async def test_multi_turn_body_is_exact(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.file("openai/response.json"))
    request = multi_turn_request(MODEL, temperature=0.5, top_p=0.9, max_output_tokens=50, stop=("\n\n",), seed=7)
    await openai(wire, adapters).complete(request)
    assert wire.requests[0].json() == {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "system", "content": "Answer in English."},
            {"role": "user", "content": "Hi."},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "user", "content": "Just the number."},
        ],
        "temperature": 0.5,
        "top_p": 0.9,
        "max_completion_tokens": 50,
        "stop": ["\n\n"],
        "seed": 7,
    }


async def test_message_names_kept_for_openai_dropped_with_warning_for_groq(
    wire: WireServer, adapters: AdapterBuilder
) -> None:
    wire.add("POST", CHAT, Reply.file("openai/response.json"))
    request = ProviderRequest(MODEL, (ChatMessage(Role.USER, "hi", name="alice"),))
    plain = await openai(wire, adapters).complete(request)
    groq = await openai(wire, adapters, name="groq").complete(request)
    assert wire.requests[0].json()["messages"] == [{"role": "user", "content": "hi", "name": "alice"}]
    assert wire.requests[1].json()["messages"] == [{"role": "user", "content": "hi"}]
    assert plain.warnings == ()
    assert any("name" in w for w in groq.warnings)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"stop": ("a", "b", "c", "d", "e")}, "stop"),
    ],
)
async def test_unsupported_parameters_are_refused_before_any_call(
    wire: WireServer, adapters: AdapterBuilder, params: dict[str, object], match: str
) -> None:
    adapter = openai(wire, adapters)
    with pytest.raises(UnsupportedParameter, match=match) as caught:
        await adapter.complete(hello_request(MODEL, **params))
    assert not caught.value.retryable
    with pytest.raises(UnsupportedParameter):
        await collect(adapter, hello_request(MODEL, **params))
    assert wire.requests == []


WIRE_ERRORS = [
    ("error_429.json", "headers_429.txt", 429, RateLimited, "rate_limit_exceeded"),
    ("error_429_insufficient_quota.json", None, 429, QuotaExhausted, "insufficient_quota"),
    ("error_400_context_length.json", None, 400, ContextLengthExceeded, "context_length_exceeded"),
    ("error_401.json", None, 401, AuthFailed, "invalid_api_key"),
]


@pytest.mark.parametrize("case", WIRE_ERRORS, ids=[c[0] for c in WIRE_ERRORS])
async def test_wire_errors_map_to_the_right_class(
    wire: WireServer, adapters: AdapterBuilder, case: tuple[str, str | None, int, type[ProviderError], str]
) -> None:
    body_file, headers_file, status, error, reason = case
    reply = Reply.file(f"openai/{body_file}", status=status)
    if headers_file:
        reply = Reply.file(f"openai/{body_file}", headers_file=f"openai/{headers_file}")
    wire.add("POST", CHAT, reply)
    with pytest.raises(ProviderError) as caught:
        await openai(wire, adapters).complete(hello_request(MODEL))
    raised = caught.value
    assert type(raised) is error
    assert raised.http_status == status
    assert raised.reason == reason
    provider_message = json.loads(wire_file(f"openai/{body_file}"))["error"]["message"]
    assert raised.message.split(":")[0] == provider_message.split(":")[0]  # the provider's own words


async def test_rate_limit_keeps_retry_after_and_headers(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.file("openai/error_429.json", headers_file="openai/headers_429.txt"))
    with pytest.raises(RateLimited) as caught:
        await collect(openai(wire, adapters), hello_request(MODEL))
    assert caught.value.retryable
    assert caught.value.retry_after == 1.0
    assert caught.value.headers["x-ratelimit-remaining-tokens"] == "0"
    assert caught.value.headers["x-ratelimit-reset-tokens"] == "560ms"
    assert "content-type" not in caught.value.headers
    assert caught.value.partial_usage is None


async def test_retry_after_ms_wins_over_retry_after(wire: WireServer, adapters: AdapterBuilder) -> None:
    headers = [("retry-after", "3"), ("retry-after-ms", "250")]
    wire.add("POST", CHAT, Reply.json(wire_file("openai/error_429.json"), status=429, headers=headers))
    with pytest.raises(RateLimited) as caught:
        await openai(wire, adapters).complete(hello_request(MODEL))
    assert caught.value.retry_after == 0.25


async def test_quota_exhausted_is_not_retryable(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.file("openai/error_429_insufficient_quota.json", status=429))
    with pytest.raises(QuotaExhausted) as caught:
        await openai(wire, adapters).complete(hello_request(MODEL))
    assert not caught.value.retryable


async def test_401_masked_key_is_redacted(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.file("openai/error_401.json", status=401))
    with pytest.raises(AuthFailed) as caught:
        await openai(wire, adapters).complete(hello_request(MODEL))
    assert "****" not in caught.value.message and "1234" not in caught.value.message
    assert caught.value.message.startswith("Incorrect API key provided: [REDACTED]")


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, {"error": {"message": "The model `gpt-9` does not exist", "type": "invalid_request_error",
                         "param": None, "code": "model_not_found"}}, ModelNotFound),
        (403, {"error": {"message": "Project does not have access", "type": "invalid_request_error",
                         "code": None}}, AuthFailed),
        (413, {"error": {"message": "Request too large", "type": "invalid_request_error", "code": None}}, BadRequest),
        (400, {"error": {"message": "Invalid value for temperature", "type": "invalid_request_error",
                         "param": "temperature", "code": "invalid_value"}}, BadRequest),
        # vLLM / llama.cpp style: no code, only the message says it.
        (400, {"object": "error", "message": "x", "error": {"message": "This model's maximum context length is "
                                                            "4096 tokens"}}, ContextLengthExceeded),
        # xAI: a flat body, and 400 for a bad key.
        (400, {"code": "Client specified an invalid argument",
               "error": "Incorrect API key provided: xa***yz. You can obtain an API key from https://console.x.ai."},
         AuthFailed),
    ],
)  # fmt: skip
async def test_other_errors(
    wire: WireServer, adapters: AdapterBuilder, status: int, body: dict[str, object], error: type[ProviderError]
) -> None:
    wire.add("POST", CHAT, Reply.json(body, status=status))
    with pytest.raises(ProviderError) as caught:
        await openai(wire, adapters).complete(hello_request(MODEL))
    assert type(caught.value) is error
    assert not caught.value.retryable
    assert "xa***yz" not in caught.value.message


async def test_error_chunk_mid_stream_is_raised_with_partial_usage(wire: WireServer, adapters: AdapterBuilder) -> None:
    first, hello, *_ = split_sse(wire_file("openai/stream.sse"))
    error = (
        b'data: {"error":{"message":"The server had an error while processing your request.",'
        b'"type":"server_error"}}\n\n'
    )
    wire.add("POST", CHAT, Reply.sse([first, hello, error]))
    with pytest.raises(Unavailable) as caught:
        await collect(openai(wire, adapters), hello_request(MODEL))
    assert caught.value.retryable
    assert caught.value.message.startswith("The server had an error")
    assert caught.value.partial_usage is not None and caught.value.partial_usage.estimated


async def test_finish_reasons(wire: WireServer, adapters: AdapterBuilder) -> None:
    adapter = openai(wire, adapters)
    for reason, expected in [
        ("length", FinishReason.LENGTH),
        ("content_filter", FinishReason.CONTENT_FILTER),
        ("tool_calls", FinishReason.TOOL_CALLS),
        ("something_new", FinishReason.UNKNOWN),
    ]:
        body = json.loads(wire_file("openai/response.json"))
        body["choices"][0]["finish_reason"] = reason
        wire.add("POST", CHAT, Reply.json(body))
        assert (await adapter.complete(hello_request(MODEL))).finish_reason is expected


async def test_list_models_and_probe(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("GET", "/v1/models", Reply.file("openai/models.json"))
    adapter = openai(wire, adapters)
    models = await adapter.list_models()
    assert models[:3] == ["gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-4o"]
    assert len(models) == 5
    await adapter.probe()
    assert [r.path for r in wire.requests] == ["/v1/models", "/v1/models"]
    assert wire.requests[1].headers["authorization"] == f"Bearer {FAKE_KEY}"


async def test_probe_raises_the_mapped_error(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("GET", "/v1/models", Reply.file("openai/error_401.json", status=401))
    with pytest.raises(AuthFailed):
        await openai(wire, adapters).probe()


async def test_keyless_server_gets_no_authorization_header(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.file("openai/response.json"))
    await adapters("openai", wire.base_url + "/v1", name="lmstudio", key=None).complete(hello_request(MODEL))
    assert "authorization" not in wire.requests[0].headers


def test_quirks_are_validated(wire: WireServer, adapters: AdapterBuilder) -> None:
    with pytest.raises(ConfigError, match="unknown switch"):
        adapters("openai", "http://127.0.0.1:9/v1", quirks={"stream_usgae": False})
    with pytest.raises(ConfigError, match="stream_usage"):
        adapters("openai", "http://127.0.0.1:9/v1", quirks={"stream_usage": "no"})
    with pytest.raises(ConfigError, match="profile"):
        adapters("openai", "http://127.0.0.1:9/v1", quirks={"profile": "nonesuch"})
    with pytest.raises(ConfigError, match="max_tokens_field"):
        adapters("openai", "http://127.0.0.1:9/v1", quirks={"max_tokens_field": "n_predict"})
    chosen = adapters("openai", "http://127.0.0.1:9/v1", name="my-groq", quirks={"profile": "groq"})
    assert chosen.quirks.message_names is False  # type: ignore[attr-defined]
