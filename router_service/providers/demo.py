"""The keyless `demo` provider: deterministic local answers so the router runs with no API keys.

It is clearly labelled in every answer and serves only when no real provider is configured (or the
config turns it on). Its token counts are its own exact counts of what it produced, as a real provider
would report them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

from router_service.domain import FinishReason, Role, Usage
from router_service.providers.base import Completion, ProviderRequest, StreamEnd, StreamEvent, TextChunk
from router_service.providers.errors import ModelNotFound
from router_service.tokens import estimate_prompt_tokens

# Answer length in words per demo model: the premium model "thinks" more, as real ones do.
DEMO_MODELS: dict[str, int] = {"demo-fast": 24, "demo-balanced": 48, "demo-premium": 96}

_VOCABULARY = [
    "the",
    "router",
    "picked",
    "this",
    "model",
    "because",
    "the",
    "analysis",
    "judged",
    "the",
    "request",
    "and",
    "the",
    "strategy",
    "weighed",
    "quality",
    "cost",
    "and",
    "latency",
    "against",
    "the",
    "catalog",
    "so",
    "this",
    "deterministic",
    "demo",
    "text",
    "stands",
    "in",
    "for",
    "a",
    "real",
    "provider",
    "answer",
    "until",
    "an",
    "api",
    "key",
    "or",
    "a",
    "local",
    "server",
    "is",
    "configured",
]


class DemoAdapter:
    """Deterministic answers, one word per token, with an optional delay per token."""

    name = "demo"

    def __init__(self, token_delay_s: float = 0.0) -> None:
        self._token_delay_s = token_delay_s

    def _words(self, request: ProviderRequest) -> tuple[list[str], FinishReason]:
        length = DEMO_MODELS.get(request.model)
        if length is None:
            raise ModelNotFound("demo", f"demo model {request.model!r} does not exist", http_status=404)
        last_user = next((m.content for m in reversed(request.messages) if m.role == Role.USER), "")
        digest = hashlib.blake2b(last_user.encode(), digest_size=8).digest()
        start = int.from_bytes(digest, "big")
        words = [f"[demo:{request.model}]"]
        words += [_VOCABULARY[(start + i * 7) % len(_VOCABULARY)] for i in range(length - 1)]
        limit = request.params.max_output_tokens
        finish = FinishReason.STOP
        if limit is not None and limit < len(words):
            words, finish = words[:limit], FinishReason.LENGTH
        for stop in request.params.stop:
            text = " ".join(words)
            cut = text.find(stop)
            if cut >= 0:
                words, finish = text[:cut].split(), FinishReason.STOP
        return words, finish

    async def complete(self, request: ProviderRequest) -> Completion:
        words, finish = self._words(request)
        if self._token_delay_s:
            await asyncio.sleep(self._token_delay_s * len(words))
        usage = Usage(input_tokens=estimate_prompt_tokens(request.messages), output_tokens=len(words))
        return Completion(" ".join(words), usage, finish, provider_model=request.model)

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        words, finish = self._words(request)
        for i, word in enumerate(words):
            if self._token_delay_s:
                await asyncio.sleep(self._token_delay_s)
            yield TextChunk(word if i == 0 else " " + word)
        usage = Usage(input_tokens=estimate_prompt_tokens(request.messages), output_tokens=len(words))
        yield StreamEnd(usage, finish, provider_model=request.model)

    async def probe(self) -> None:
        return None

    async def list_models(self) -> list[str]:
        return list(DEMO_MODELS)

    async def aclose(self) -> None:
        return None
