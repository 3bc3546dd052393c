"""Runs a plan: tries candidates in order within the caller's deadline and records every attempt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from router_service.catalog import ModelEntry
from router_service.domain import ChatMessage, ErrorKind, GenerationParams, Usage
from router_service.executor.errors import (
    AllCandidatesFailed,
    DeadlineExceeded,
    RequestRejected,
    StreamInterrupted,
)
from router_service.executor.trace import ExecutionTrace
from router_service.ledger.entry import AttemptRecord
from router_service.providers.base import (
    Completion,
    ProviderAdapter,
    ProviderRequest,
    StreamEnd,
    StreamEvent,
    TextChunk,
)
from router_service.providers.errors import MalformedResponse, ProviderError, ProviderTimeout, is_caller_error
from router_service.tokens import estimate_prompt_tokens, estimate_tokens


@dataclass(frozen=True, slots=True)
class Target:
    """One candidate bound to the adapter (deployment) that will serve it."""

    entry: ModelEntry
    adapter: ProviderAdapter
    deployment: str


@dataclass(frozen=True, slots=True)
class StreamStarted:
    """The first delta of `target` is about to be relayed; the answering model is now fixed."""

    target: Target


@dataclass(frozen=True, slots=True)
class Call:
    messages: tuple[ChatMessage, ...]
    params: GenerationParams
    request_id: str
    # time.monotonic() value after which the caller no longer waits.
    deadline: float


class Executor:
    """Sequential fallback across the plan's candidates."""

    def __init__(
        self, resolve: Callable[[ModelEntry], Target | None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._resolve = resolve
        self._clock = clock

    def targets(self, candidates: Sequence[ModelEntry]) -> list[Target]:
        return [t for t in (self._resolve(c) for c in candidates) if t is not None]

    def _remaining(self, call: Call) -> float:
        remaining = call.deadline - self._clock()
        if remaining <= 0:
            raise DeadlineExceeded("the deadline passed before an answer")
        return remaining

    def _record(
        self,
        trace: ExecutionTrace,
        target: Target,
        started: float,
        usage: Usage,
        error: ProviderError | None = None,
        kind: ErrorKind | None = None,
    ) -> None:
        err_kind = kind if kind is not None else (error.kind if error else ErrorKind.NONE)
        attempt = AttemptRecord(
            model=target.entry.ref,
            deployment=target.deployment,
            error_kind=err_kind,
            error_message=error.message if error else "",
            http_status=error.http_status if error else 0,
            latency_s=self._clock() - started,
            usage=usage,
        )
        trace.add(attempt, target.entry.cost_nano_usd(usage))

    def _request(self, call: Call, target: Target) -> ProviderRequest:
        return ProviderRequest(
            model=target.entry.ref.model,
            messages=call.messages,
            params=call.params,
            timeout=self._remaining(call),
            request_id=call.request_id,
        )

    async def complete(self, targets: Sequence[Target], call: Call, trace: ExecutionTrace) -> Completion:
        errors: list[ProviderError] = []
        for target in targets:
            request = self._request(call, target)
            started = self._clock()
            try:
                async with asyncio.timeout(request.timeout):
                    completion = await target.adapter.complete(request)
            except TimeoutError:
                error: ProviderError = ProviderTimeout(target.entry.ref.provider, "no answer before the deadline")
                self._record(trace, target, started, Usage(), error)
                raise DeadlineExceeded(str(error)) from None
            except ProviderError as exc:
                self._record(trace, target, started, exc.partial_usage or Usage(), exc)
                if is_caller_error(exc):
                    raise RequestRejected(exc) from exc
                errors.append(exc)
                continue
            except asyncio.CancelledError:
                self._record(trace, target, started, Usage(), kind=ErrorKind.CANCELLED)
                raise
            self._record(trace, target, started, completion.usage)
            trace.answering, trace.deployment = target.entry.ref, target.deployment
            trace.finish_reason = completion.finish_reason
            trace.warnings.extend(completion.warnings)
            return completion
        raise AllCandidatesFailed(errors)

    async def stream(
        self, targets: Sequence[Target], call: Call, trace: ExecutionTrace
    ) -> AsyncGenerator[StreamStarted | TextChunk, None]:
        """Yield StreamStarted, then text chunks. Fails over only before the first delta."""
        errors: list[ProviderError] = []
        for target in targets:
            request = self._request(call, target)
            started = self._clock()
            produced: list[str] = []
            try:
                async with asyncio.timeout(request.timeout), _closing(target.adapter.stream(request)) as events:
                    async for event in events:
                        if isinstance(event, TextChunk):
                            if not produced:
                                trace.answering, trace.deployment = target.entry.ref, target.deployment
                                trace.first_token_at = self._clock()
                                yield StreamStarted(target)
                            produced.append(event.text)
                            trace.deltas += 1
                            yield event
                        elif isinstance(event, StreamEnd):
                            self._record(trace, target, started, event.usage)
                            trace.answering, trace.deployment = target.entry.ref, target.deployment
                            trace.finish_reason = event.finish_reason
                            trace.warnings.extend(event.warnings)
                            return
                raise MalformedResponse(target.entry.ref.provider, "stream ended without its final event")
            except TimeoutError:
                error: ProviderError = ProviderTimeout(target.entry.ref.provider, "no answer before the deadline")
                self._record(trace, target, started, _consumed(call, produced), error)
                raise DeadlineExceeded(str(error)) from None
            except ProviderError as exc:
                usage = exc.partial_usage or (_consumed(call, produced) if produced else Usage())
                self._record(trace, target, started, usage, exc)
                if produced:
                    raise StreamInterrupted(exc, len(produced)) from exc
                if is_caller_error(exc):
                    raise RequestRejected(exc) from exc
                errors.append(exc)
                continue
            except (asyncio.CancelledError, GeneratorExit):
                self._record(trace, target, started, _consumed(call, produced), kind=ErrorKind.CANCELLED)
                raise
        raise AllCandidatesFailed(errors)


@asynccontextmanager
async def _closing(events: AsyncIterator[StreamEvent]) -> AsyncGenerator[AsyncIterator[StreamEvent], None]:
    """Close the adapter's stream (and so its upstream connection) however the loop over it ends."""
    try:
        yield events
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


def _consumed(call: Call, produced: list[str]) -> Usage:
    """What a stream cut short consumed, when the provider could not say: the prompt and what was sent."""
    output = sum(estimate_tokens(p) for p in produced)
    return Usage(input_tokens=estimate_prompt_tokens(call.messages), output_tokens=output, estimated=True)
