"""The one protocol every provider adapter implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from router_service.domain import ChatMessage, FinishReason, GenerationParams, Usage


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """What an adapter needs for one call."""

    model: str
    messages: tuple[ChatMessage, ...]
    params: GenerationParams = GenerationParams()
    # Seconds left of the caller's deadline; None means no deadline (the adapter's own timeout applies).
    timeout: float | None = None
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole answer."""

    text: str
    usage: Usage
    finish_reason: FinishReason
    # The model id the provider says answered (may be a dated snapshot of the requested id).
    provider_model: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TextChunk:
    """A piece of streamed text."""

    text: str


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last record of a stream: usage and why generation stopped."""

    usage: Usage
    finish_reason: FinishReason
    provider_model: str = ""
    warnings: tuple[str, ...] = field(default=())


StreamEvent = TextChunk | StreamEnd


@runtime_checkable
class ProviderAdapter(Protocol):
    """A provider's wire protocol behind one interface.

    `complete` returns the whole answer; `stream` yields TextChunks then exactly one StreamEnd, and
    raises a ProviderError (with partial usage when known) if the stream breaks. Cancelling the awaiting
    task closes the upstream connection. `probe` checks reachability without spending tokens.
    """

    name: str

    async def complete(self, request: ProviderRequest) -> Completion: ...

    def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]: ...

    async def probe(self) -> None: ...

    async def list_models(self) -> list[str]: ...

    async def aclose(self) -> None: ...
