"""Ollama /api/chat and /api/tags against the ollama wire files."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from router_service.domain import ChatMessage, FinishReason, Role, Usage
from router_service.providers.base import ProviderAdapter, ProviderRequest
from router_service.providers.errors import BadRequest, ModelNotFound, Unavailable
from router_service.providers.ollama import INPUT_ESTIMATED
from tests.providers.adapter_harness import collect, hello_request, multi_turn_request
from tests.providers.wire_server import Reply, WireServer, split_lines, wire_file

AdapterBuilder = Callable[..., ProviderAdapter]
CHAT = "/api/chat"
MODEL = "llama3.2"


def ollama(wire: WireServer, adapters: AdapterBuilder, **quirks: object) -> ProviderAdapter:
    return adapters("ollama", wire.base_url, key=None, quirks=quirks)


async def test_complete_sends_the_documented_request(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.file("ollama/response.json"))
    completion = await ollama(wire, adapters).complete(hello_request(MODEL, temperature=0))
    assert completion.text == "Hello! How can I help you today?"
    assert completion.usage == Usage(input_tokens=26, output_tokens=10)
    assert completion.finish_reason is FinishReason.STOP
    assert completion.provider_model == MODEL
    sent = wire.requests[0]
    assert sent.json() == json.loads(wire_file("ollama/request.json"))
    assert "authorization" not in sent.headers


async def test_stream(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.ndjson_file("ollama/stream.ndjson"))
    texts, end = await collect(ollama(wire, adapters), hello_request(MODEL))
    assert texts == ["Hello", "!", " How can I help you today?"]
    assert end.usage == Usage(input_tokens=26, output_tokens=10)
    assert end.finish_reason is FinishReason.STOP
    # The documented streaming request, with `stream` made explicit.
    assert wire.requests[0].json() == {**json.loads(wire_file("ollama/request_stream.json")), "stream": True}


async def test_options_and_keep_alive(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.file("ollama/response.json"))
    request = multi_turn_request(MODEL, temperature=3.0, top_p=0.8, max_output_tokens=20, stop=("\n",), seed=1)
    await ollama(wire, adapters, keep_alive="10m").complete(request)
    body = wire.requests[0].json()
    assert body["options"] == {"num_predict": 20, "temperature": 3.0, "top_p": 0.8, "stop": ["\n"], "seed": 1}
    assert body["keep_alive"] == "10m"
    assert body["stream"] is False
    assert [m["role"] for m in body["messages"]] == ["system", "system", "user", "assistant", "user", "user"]


async def test_message_names_dropped_with_warning(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.file("ollama/response.json"))
    request = ProviderRequest(MODEL, (ChatMessage(Role.USER, "hi", name="bob"),))
    completion = await ollama(wire, adapters).complete(request)
    assert wire.requests[0].json()["messages"] == [{"role": "user", "content": "hi"}]
    assert any("name" in w for w in completion.warnings)


async def test_length_and_missing_prompt_count(wire: WireServer, adapters: AdapterBuilder) -> None:
    body = json.loads(wire_file("ollama/response.json"))
    body["done_reason"] = "length"
    del body["prompt_eval_count"]  # omitempty: absent when the whole prompt came from Ollama's cache
    wire.add("POST", CHAT, Reply.json(body))
    completion = await ollama(wire, adapters).complete(hello_request(MODEL))
    assert completion.finish_reason is FinishReason.LENGTH
    assert completion.usage.output_tokens == 10 and completion.usage.estimated
    assert INPUT_ESTIMATED in completion.warnings


async def test_model_not_found(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.file("ollama/error_404_model.json", status=404))
    adapter = ollama(wire, adapters)
    for call in (adapter.complete, lambda r: collect(adapter, r)):
        with pytest.raises(ModelNotFound) as caught:
            await call(hello_request(MODEL))
        assert caught.value.message == 'model "llama3.2" not found, try pulling it first'
        assert not caught.value.retryable


async def test_bad_request(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("POST", CHAT, Reply.json({"error": "invalid options"}, status=400))
    with pytest.raises(BadRequest, match="invalid options"):
        await ollama(wire, adapters).complete(hello_request(MODEL))


async def test_error_line_mid_stream(wire: WireServer, adapters: AdapterBuilder) -> None:
    lines = split_lines(wire_file("ollama/stream.ndjson"))
    wire.add(
        "POST",
        CHAT,
        Reply(200, [("content-type", "application/x-ndjson")], events=[lines[0], b'{"error":"GPU lost"}\n']),
    )
    with pytest.raises(Unavailable, match="GPU lost") as caught:
        await collect(ollama(wire, adapters), hello_request(MODEL))
    assert caught.value.partial_usage is not None and caught.value.partial_usage.output_tokens > 0


async def test_list_models_and_probe(wire: WireServer, adapters: AdapterBuilder) -> None:
    wire.add("GET", "/api/tags", Reply.file("ollama/tags.json"))
    adapter = ollama(wire, adapters)
    assert await adapter.list_models() == ["llama3.2:latest", "qwen2.5:7b"]
    await adapter.probe()
    assert len(wire.requests) == 2
