"""Runs a plan: tries the candidates' deployments in order within the caller's deadline, retries
retryable failures in a later round with jittered exponential backoff (honouring Retry-After), keeps
breakers and statistics per deployment, optionally hedges, and records every attempt."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from router_service.catalog import ModelEntry
from router_service.domain import ChatMessage, ErrorKind, GenerationParams, Usage
from router_service.executor.deployments import Deployment, DeploymentPool
from router_service.executor.errors import (
    AllCandidatesFailed,
    DeadlineExceeded,
    Overloaded,
    RequestRejected,
    StreamInterrupted,
)
from router_service.executor.limits import QueueFull
from router_service.executor.settings import ExecutorSettings
from router_service.executor.trace import ExecutionTrace
from router_service.ledger.entry import AttemptRecord
from router_service.observability.observer import Observer
from router_service.providers.base import (
    Completion,
    ProviderRequest,
    StreamEnd,
    StreamEvent,
    TextChunk,
)
from router_service.providers.errors import (
    MalformedResponse,
    ProviderError,
    ProviderTimeout,
    QuotaExhausted,
    RateLimited,
    is_caller_error,
)
from router_service.tokens import estimate_prompt_tokens, estimate_tokens

# A quota-exhausted deployment (billing) will not recover soon: keep it out of plans this long.
QUOTA_COOL_DOWN_S = 300.0


@dataclass(frozen=True, slots=True)
class Target:
    """One candidate model bound to one of its deployments."""

    entry: ModelEntry
    deployment: Deployment



@dataclass(frozen=True, slots=True)
class Call:
    messages: tuple[ChatMessage, ...]
    params: GenerationParams
    request_id: str
    # time.monotonic() value after which the caller no longer waits.
    deadline: float
    # Latency-sensitive: hedge with a second candidate.
    hedge: bool = False


class _Skip(Exception):
    """The deployment was not called (breaker open or queue full)."""

    def __init__(self, reason: str, queue_full: bool) -> None:
        super().__init__(reason)
        self.queue_full = queue_full


class Executor:
    def __init__(
        self,
        pool: DeploymentPool,
        settings: ExecutorSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        observer: Observer | None = None,
    ) -> None:
        self._observer = observer or Observer()
        self.pool = pool
        self._s = settings or ExecutorSettings()
        self._clock = clock
        self._rng = random.Random(self._s.seed)

    # -- planning helpers ------------------------------------------------------------------------------

    def targets(self, candidates: Sequence[ModelEntry]) -> list[Target]:
        return [Target(entry, d) for entry in candidates for d in self.pool.ordered(entry.ref)]

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
        message: str = "",
    ) -> None:
        err_kind = kind if kind is not None else (error.kind if error else ErrorKind.NONE)
        attempt = AttemptRecord(
            model=target.entry.ref,
            deployment=target.deployment.name,
            error_kind=err_kind,
            error_message=error.message if error else message,
            http_status=error.http_status if error else 0,
            latency_s=self._clock() - started,
            usage=usage,
        )
        trace.add(attempt, target.entry.cost_nano_usd(usage))

    def _backoff(self, round_index: int, retry_after: float | None) -> float:
        r = self._s.retry
        delay = min(r.max_delay_s, r.base_delay_s * 2 ** (round_index - 1))
        delay = self._rng.uniform(0, delay)  # full jitter
        return max(delay, retry_after or 0.0)

    @asynccontextmanager
    async def _slot(self, target: Target, call: Call) -> AsyncIterator[float]:
        """Claim the deployment (breaker, concurrency) and yield the time this attempt may take."""
        d = target.deployment
        if not d.breaker.acquire():
            raise _Skip("circuit breaker open", queue_full=False)
        try:
            await asyncio.wait_for(d.limit.acquire(), self._remaining(call))
        except QueueFull as exc:
            raise _Skip(f"queue full: {exc}", queue_full=True) from exc
        except TimeoutError:
            raise DeadlineExceeded("the deadline passed while waiting for a free slot") from None
        d.stats.last_used = self._clock()
        try:
            # The attempt's span covers the whole upstream call (for a stream, to its last chunk).
            with self._observer.span(
                "attempt", provider=d.provider, model=str(target.entry.ref), deployment=f"{d.name}/{d.model_id}"
            ):
                remaining = self._remaining(call)
                yield min(remaining, d.timeout_s) if d.timeout_s else remaining
        finally:
            d.limit.release()

    def _outcome(self, target: Target, error: ProviderError | None, latency: float, ttft: float | None = None) -> None:
        d = target.deployment
        if error is None:
            d.breaker.record_success()
            d.stats.record(True, latency, ttft)
            return
        d.stats.record(False, latency)
        if is_caller_error(error):
            return  # the request was at fault, not the deployment
        if isinstance(error, RateLimited):
            d.breaker.cool_down(error.retry_after or 1.0)
            self.pool.version += 1
        elif isinstance(error, QuotaExhausted):
            d.breaker.cool_down(QUOTA_COOL_DOWN_S)
            self.pool.version += 1
            d.breaker.record_failure()
        else:
            d.breaker.record_failure()

    def _give_up(self, errors: list[ProviderError], skipped_full: int, attempted: int) -> Exception:
        if not attempted and skipped_full:
            return Overloaded("every candidate deployment is at its concurrency limit with a full queue")
        return AllCandidatesFailed(errors)

    # -- whole answers ---------------------------------------------------------------------------------

    async def _complete_one(self, target: Target, call: Call, trace: ExecutionTrace) -> Completion:
        started = self._clock()
        try:
            async with self._slot(target, call) as budget:
                request = ProviderRequest(
                    model=target.deployment.model_id,
                    messages=call.messages,
                    params=call.params,
                    timeout=budget,
                    request_id=call.request_id,
                )
                try:
                    async with asyncio.timeout(budget):
                        completion = await target.deployment.adapter.complete(request)
                except TimeoutError:
                    raise ProviderTimeout(target.entry.ref.provider, f"no answer within {budget:.2f}s") from None
        except ProviderError as exc:
            self._record(trace, target, started, exc.partial_usage or Usage(), exc)
            self._outcome(target, exc, self._clock() - started)
            raise
        except asyncio.CancelledError:
            # Cancelled (caller gone or hedge lost): the provider saw the prompt.
            self._record(trace, target, started, _prompt_only(call), kind=ErrorKind.CANCELLED)
            raise
        self._record(trace, target, started, completion.usage)
        self._outcome(target, None, self._clock() - started)
        return completion

    async def complete(self, targets: Sequence[Target], call: Call, trace: ExecutionTrace) -> Completion:
        errors: list[ProviderError] = []
        retry_later: list[tuple[Target, ProviderError]] = []
        skipped_full = attempted = 0
        queue = list(targets)
        for round_index in range(1, self._s.retry.rounds + 1):
            if round_index > 1:
                queue = await self._next_round(retry_later, round_index, call)
                retry_later = []
                if not queue:
                    break
            while queue:
                target = queue.pop(0)
                try:
                    if call.hedge and queue and self._s.hedging.enabled:
                        completion, winner = await self._hedged(target, queue[0], call, trace)
                        if winner is not target:
                            queue.pop(0)
                        target = winner
                    else:
                        completion = await self._complete_one(target, call, trace)
                except _Skip as skip:
                    self._record(trace, target, self._clock(), Usage(), kind=ErrorKind.SKIPPED, message=str(skip))
                    skipped_full += skip.queue_full
                    continue
                except ProviderError as exc:
                    attempted += 1
                    if isinstance(exc, ProviderTimeout) and call.deadline - self._clock() <= 0:
                        raise DeadlineExceeded(str(exc)) from exc
                    if is_caller_error(exc):
                        raise RequestRejected(exc) from exc
                    self._note_failure(target, exc, errors, retry_later)
                    continue
                trace.answering, trace.deployment = target.entry.ref, target.deployment.name
                trace.finish_reason = completion.finish_reason
                trace.warnings.extend(completion.warnings)
                return completion
        raise self._give_up(errors, skipped_full, attempted)

    def _note_failure(self, target: Target, error: ProviderError, errors: list[ProviderError],
                      retry_later: list[tuple[Target, ProviderError]]) -> None:
        """Remember a provider failure, and whether a later round may retry its deployment."""
        errors.append(error)
        if error.retryable and (error.retry_after or 0) <= self._s.retry.max_retry_after_s:
            retry_later.append((target, error))

    async def _next_round(self, failed: list[tuple[Target, ProviderError]], round_index: int,
                          call: Call) -> list[Target]:
        """The targets worth one more try (each failed deployment once, if its breaker still allows it),
        after a jittered backoff that honours Retry-After; empty when none is worth it or time is short."""
        seen: set[int] = set()
        queue = []
        for target, _ in failed:
            if id(target.deployment) not in seen and target.deployment.breaker.allows():
                seen.add(id(target.deployment))
                queue.append(target)
        if not queue:
            return []
        delay = max(self._backoff(round_index - 1, error.retry_after) for _, error in failed)
        if delay >= self._remaining(call):
            return []
        await asyncio.sleep(delay)
        return queue

    def _hedge_delay(self, target: Target) -> float:
        h = self._s.hedging
        stats = target.deployment.stats
        observed = stats.ttft(h.percentile) if stats.ttft_samples() >= 20 else None
        if observed is None:
            observed = stats.latency(h.percentile) if stats.calls >= 20 else None
        return min(max(observed or h.min_delay_s, h.min_delay_s), h.max_delay_s)

    async def _hedged(
        self, first: Target, second: Target, call: Call, trace: ExecutionTrace
    ) -> tuple[Completion, Target]:
        """Run `first`; if it has not answered within the hedge delay, race `second` against it; the
        loser is cancelled (its prompt tokens are still accounted). Returns the answer and its target."""
        primary = asyncio.ensure_future(self._complete_one(first, call, trace))
        done, _ = await asyncio.wait({primary}, timeout=self._hedge_delay(first))
        if done:
            return primary.result(), first
        backup = asyncio.ensure_future(self._complete_one(second, call, trace))
        owner = {primary: first, backup: second}
        pending = {primary, backup}
        last_error: BaseException | None = None
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.exception() is None:
                        return task.result(), owner[task]
                    last_error = task.exception()
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        assert last_error is not None
        raise last_error

    # -- streams ---------------------------------------------------------------------------------------

    async def stream(
        self, targets: Sequence[Target], call: Call, trace: ExecutionTrace
    ) -> AsyncGenerator[TextChunk, None]:
        """Yield text chunks. Fails over only before the first delta, which fixes the answering model in
        `trace` (answering, deployment, first_token_at)."""
        errors: list[ProviderError] = []
        retry_later: list[tuple[Target, ProviderError]] = []
        skipped_full = attempted = 0
        queue = list(targets)
        for round_index in range(1, self._s.retry.rounds + 1):
            if round_index > 1:
                queue = await self._next_round(retry_later, round_index, call)
                retry_later = []
                if not queue:
                    break
            while queue:
                target = queue.pop(0)
                started = self._clock()
                produced: list[str] = []
                try:
                    async with self._slot(target, call) as budget:
                        request = ProviderRequest(
                            model=target.deployment.model_id,
                            messages=call.messages,
                            params=call.params,
                            timeout=budget,
                            request_id=call.request_id,
                        )
                        async with (
                            asyncio.timeout(budget),
                            _closing(target.deployment.adapter.stream(request)) as events,
                        ):
                            async for event in events:
                                if isinstance(event, TextChunk):
                                    if not produced:
                                        trace.answering, trace.deployment = target.entry.ref, target.deployment.name
                                        trace.first_token_at = self._clock()
                                    produced.append(event.text)
                                    trace.deltas += 1
                                    yield event
                                elif isinstance(event, StreamEnd):
                                    now = self._clock()
                                    self._record(trace, target, started, event.usage)
                                    ttft = (trace.first_token_at - started) if trace.first_token_at else None
                                    self._outcome(target, None, now - started, ttft)
                                    trace.answering, trace.deployment = target.entry.ref, target.deployment.name
                                    trace.finish_reason = event.finish_reason
                                    trace.warnings.extend(event.warnings)
                                    return
                        raise MalformedResponse(target.entry.ref.provider, "stream ended without its final event")
                except _Skip as skip:
                    self._record(trace, target, started, Usage(), kind=ErrorKind.SKIPPED, message=str(skip))
                    skipped_full += skip.queue_full
                    continue
                except TimeoutError:
                    error: ProviderError = ProviderTimeout(target.entry.ref.provider, "no answer in time")
                    self._record(trace, target, started, _consumed(call, produced), error)
                    self._outcome(target, error, self._clock() - started)
                    if produced or call.deadline - self._clock() <= 0:
                        raise DeadlineExceeded(str(error)) from None
                    attempted += 1
                    errors.append(error)
                    continue
                except ProviderError as exc:
                    usage = exc.partial_usage or (_consumed(call, produced) if produced else Usage())
                    self._record(trace, target, started, usage, exc)
                    self._outcome(target, exc, self._clock() - started)
                    attempted += 1
                    if produced:
                        raise StreamInterrupted(exc, len(produced)) from exc
                    if is_caller_error(exc):
                        raise RequestRejected(exc) from exc
                    self._note_failure(target, exc, errors, retry_later)
                    continue
                except (asyncio.CancelledError, GeneratorExit):
                    self._record(trace, target, started, _consumed(call, produced), kind=ErrorKind.CANCELLED)
                    raise
        raise self._give_up(errors, skipped_full, attempted)


@asynccontextmanager
async def _closing(events: AsyncIterator[StreamEvent]) -> AsyncGenerator[AsyncIterator[StreamEvent], None]:
    """Close the adapter's stream (and so its upstream connection) however the loop over it ends."""
    try:
        yield events
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


def _prompt_only(call: Call) -> Usage:
    return Usage(input_tokens=estimate_prompt_tokens(call.messages), estimated=True)


def _consumed(call: Call, produced: list[str]) -> Usage:
    """What a stream cut short consumed, when the provider could not say: the prompt and what was sent."""
    output = sum(estimate_tokens(p) for p in produced)
    return Usage(input_tokens=estimate_prompt_tokens(call.messages), output_tokens=output, estimated=True)
