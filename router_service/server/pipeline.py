"""One request's path through the components: analyse, plan, admit, execute, account.

gRPC-free so the same steps serve Route, Complete and StreamComplete, the CLI and the benchmarks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, replace

from router_service.analyzer import Analysis, Analyzer
from router_service.analyzer.coordinator import Agent, AgentCoordinator
from router_service.auth import Caller
from router_service.cache import CachedAnswer, CacheHit, CacheRequest, ResponseCache
from router_service.catalog import Catalog
from router_service.domain import ChatMessage, ErrorKind, GenerationParams, ModelRef, Role, Usage
from router_service.executor import Call, ExecutionTrace, Executor, Target
from router_service.ledger import Accountant, Admission, LedgerEntry, RequestStatus, Scope, SpendLimits
from router_service.ledger.memory import FeedbackResult
from router_service.observability.observer import Observer
from router_service.providers.base import Completion, TextChunk
from router_service.server.classifier import CLASSIFYING, ClassifyingFor
from router_service.strategy import Planner, RoutePlan, RoutingPreferences

log = logging.getLogger(__name__)

# Output tokens charged against a tokens-per-minute limit at admission when the caller set no maximum;
# corrected with the real count when the request is accounted.
DEFAULT_OUTPUT_TOKEN_ESTIMATE = 256
AVAILABILITY_CACHE_S = 0.05


@dataclass(frozen=True, slots=True)
class Routed:
    """A request that has been analysed and planned."""

    request_id: str
    caller: Caller
    params: GenerationParams
    prefs: RoutingPreferences
    analysis: Analysis
    agent: str
    plan: RoutePlan
    # time.monotonic() when the request arrived.
    started: float

    @property
    def tenant(self) -> str:
        return self.caller.tenant


def apply_agent(
    agent: Agent, messages: tuple[ChatMessage, ...], prefs: RoutingPreferences
) -> tuple[tuple[ChatMessage, ...], RoutingPreferences]:
    """The agent's system prompt first, and its routing preferences where the caller left them unset."""
    if agent.system_prompt:
        messages = (ChatMessage(Role.SYSTEM, agent.system_prompt), *messages)
    prefs = replace(
        prefs,
        strategy=prefs.strategy or agent.strategy,
        user_tier=prefs.user_tier or agent.user_tier,
        allowed_providers=prefs.allowed_providers or frozenset(agent.allowed_providers),
    )
    return messages, prefs


class RequestPipeline:
    def __init__(
        self,
        analyzer: Analyzer,
        coordinator: AgentCoordinator,
        planner: Planner,
        executor: Executor,
        accountant: Accountant,
        catalog: Catalog,
        unavailable_reason: Callable[[ModelRef], str],
        baseline: ModelRef | None,
        tenant_limits: Callable[[str], SpendLimits | None],
        cache: ResponseCache | None = None,
        observer: Observer | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        remembered_analyses: int = 20_000,
    ) -> None:
        self.analyzer = analyzer
        self.cache = cache
        self.observer = observer or Observer()
        self.coordinator = coordinator
        self.planner = planner
        self.executor = executor
        self.accountant = accountant
        self.ledger = accountant.ledger
        self.catalog = catalog
        self.unavailable_reason = unavailable_reason
        self.baseline = baseline
        self._tenant_limits = tenant_limits
        self._clock = clock
        self._wall_clock = wall_clock
        # Request ids being executed now: a concurrent duplicate must not spend twice.
        self.in_flight: set[str] = set()
        # Analyses of recent requests, so feedback can update the right domain's statistics (bounded).
        self._analyses: OrderedDict[str, Analysis] = OrderedDict()
        self._analyses_limit = remembered_analyses
        # The analyzer's LLM stage is on: routing awaits it for unsure prompts.
        self.uses_llm_classifier = False
        self._available_set: frozenset[ModelRef] = frozenset()
        self._available_version = -1
        self._available_expires = 0.0

    def available(self, ref: ModelRef) -> bool:
        return not self.unavailable_reason(ref)

    def _available_now(self) -> frozenset[ModelRef]:
        """The models available for planning, re-checked on breaker changes (and at least every 50 ms for
        changes that only time brings, such as a cool-down ending). The same set object is kept while its
        contents do not change: the planner caches what it derives from it per set."""
        now = self._clock()
        version = self.executor.pool.version
        if version != self._available_version or now >= self._available_expires:
            current = frozenset(e.ref for e in self.catalog.entries if self.available(e.ref))
            if current != self._available_set:
                self._available_set = current
            self._available_version = version
            self._available_expires = now + AVAILABILITY_CACHE_S
        return self._available_set

    def route(
        self,
        request_id: str,
        caller: Caller,
        messages: tuple[ChatMessage, ...],
        params: GenerationParams,
        prefs: RoutingPreferences,
    ) -> Routed:
        started = self._clock()
        with self.observer.span("analyze"):
            analysis = self.analyzer.analyze(messages)
        return self._plan(request_id, caller, messages, params, prefs, started, analysis)

    async def route_async(
        self,
        request_id: str,
        caller: Caller,
        messages: tuple[ChatMessage, ...],
        params: GenerationParams,
        prefs: RoutingPreferences,
    ) -> Routed:
        """`route`, with the analyzer's optional LLM stage for unsure labels (its cost is accounted)."""
        started = self._clock()
        token = CLASSIFYING.set(ClassifyingFor(request_id, caller.tenant, caller.key_id))
        try:
            with self.observer.span("analyze"):
                analysis = await self.analyzer.analyze_with_llm(messages)
        finally:
            CLASSIFYING.reset(token)
        return self._plan(request_id, caller, messages, params, prefs, started, analysis)

    def _plan(
        self,
        request_id: str,
        caller: Caller,
        messages: tuple[ChatMessage, ...],
        params: GenerationParams,
        prefs: RoutingPreferences,
        started: float,
        analysis: Analysis,
    ) -> Routed:
        agent = self.coordinator.select(analysis)
        if prefs.use_agent:
            messages, prefs = apply_agent(agent, messages, prefs)
        up = self._available_now()
        available: frozenset[ModelRef] | Callable[[ModelRef], bool] = up
        if caller.allowed_models:

            def allowed_and_up(ref: ModelRef) -> bool:
                return caller.may_use(ref) and ref in up

            available = allowed_and_up

        with self.observer.span("plan") as span:
            plan = self.planner.plan(analysis, messages, params, prefs, available, routing_key=caller.tenant)
            span.set_attribute("strategy", plan.strategy)
            span.set_attribute("model", str(plan.selected.ref))
        self.observer.routed(plan.strategy, analysis.complexity, plan.selected.ref)
        return Routed(request_id, caller, params, prefs, analysis, agent.name, plan, started)

    def scopes(self, caller: Caller) -> list[tuple[Scope, SpendLimits]]:
        scopes = []
        tenant_limits = self._tenant_limits(caller.tenant)
        if tenant_limits is not None:
            scopes.append((Scope("tenant", caller.tenant), tenant_limits))
        if caller.key_id and caller.limits is not None:
            scopes.append((Scope("key", caller.key_id), caller.limits))
        return scopes

    def admit(self, routed: Routed) -> Admission:
        """Refuse (BudgetExceeded / RateLimited) before any provider is called, or reserve the estimate."""
        tokens = routed.analysis.features.token_estimate + (
            routed.params.max_output_tokens or DEFAULT_OUTPUT_TOKEN_ESTIMATE
        )
        return self.accountant.admit(self.scopes(routed.caller), routed.plan.estimated_cost_nano_usd, tokens)

    def targets(self, routed: Routed) -> list[Target]:
        return self.executor.targets(routed.plan.candidates)

    def call(self, routed: Routed, deadline: float) -> Call:
        return Call(
            routed.plan.messages, routed.params, routed.request_id, deadline, hedge=routed.prefs.latency_sensitive
        )

    async def complete(self, routed: Routed, deadline: float, trace: ExecutionTrace) -> Completion:
        return await self.executor.complete(self.targets(routed), self.call(routed, deadline), trace)

    def stream(
        self, routed: Routed, deadline: float, trace: ExecutionTrace
    ) -> AsyncGenerator[TextChunk, None]:
        return self.executor.stream(self.targets(routed), self.call(routed, deadline), trace)

    def account(
        self,
        routed: Routed,
        trace: ExecutionTrace,
        status: RequestStatus,
        rpc: str,
        admission: Admission | None,
        answer: str | None = None,
    ) -> LedgerEntry:
        """Write the request's one ledger entry and feed the planner's statistics."""
        latency = self._clock() - routed.started
        model = trace.last_model or routed.plan.selected.ref
        baseline = routed.plan.baseline
        baseline_cost = baseline.cost_nano_usd(trace.usage) if baseline is not None else 0
        entry = LedgerEntry(
            request_id=routed.request_id,
            tenant=routed.tenant,
            timestamp=self._wall_clock(),
            model=model,
            usage=trace.usage,
            cost_nano_usd=trace.cost_nano_usd,
            baseline_cost_nano_usd=baseline_cost,
            latency_s=latency,
            status=status,
            attempts=tuple(trace.attempts),
            rpc=rpc,
            agent=routed.agent,
            domain=routed.analysis.domain,
            complexity=routed.analysis.complexity,
            strategy=routed.plan.strategy,
            experiment_arm=routed.plan.experiment_arm,
            key_id=routed.caller.key_id,
        )
        if not self.accountant.record(entry, admission):
            log.error("ledger already had request %s; the duplicate was not recorded", routed.request_id)
        ttft = trace.first_token_at - routed.started if trace.first_token_at is not None else None
        self._observe(routed, entry, ttft, answer)
        self._analyses[routed.request_id] = routed.analysis
        if len(self._analyses) > self._analyses_limit:
            self._analyses.popitem(last=False)
        for attempt in trace.attempts:
            if attempt.error_kind in (ErrorKind.CANCELLED, ErrorKind.SKIPPED):
                continue
            self.planner.record_outcome(
                attempt.model, routed.analysis, attempt.error_kind == ErrorKind.NONE, attempt.latency_s
            )
        return entry

    # -- response cache -----------------------------------------------------------------------------

    def cache_request(self, routed: Routed, no_lookup: bool, no_store: bool) -> CacheRequest | None:
        if self.cache is None:
            return None
        return CacheRequest(
            tenant=routed.tenant, messages=routed.plan.messages, params=routed.params, preferences=routed.prefs,
            no_lookup=no_lookup, no_store=no_store,
        )

    async def cached(self, request: CacheRequest | None) -> CacheHit | None:
        if self.cache is None or request is None:
            return None
        with self.observer.span("cache.lookup"):
            hit = await self.cache.lookup(request)
        if self.cache.bypassed(request):
            self.observer.cache_result("bypass")
        else:
            self.observer.cache_result("miss" if hit is None else f"hit_{hit.kind}")
        return hit

    def cache_bypassed(self, request: CacheRequest | None) -> bool:
        return self.cache is not None and request is not None and self.cache.bypassed(request)

    async def remember(self, request: CacheRequest | None, text: str, trace: ExecutionTrace) -> None:
        """Store a complete, successful answer with what its answering attempt cost."""
        if self.cache is None or request is None or request.no_store or not trace.attempts:
            return
        last = trace.attempts[-1]
        entry = self.catalog.get(last.model)
        if entry is None or trace.answering is None:
            return
        await self.cache.store(request, CachedAnswer(
            text=text, model=trace.answering, usage=last.usage, finish_reason=trace.finish_reason,
            cost_nano_usd=entry.cost_nano_usd(last.usage), created_at=self._wall_clock(),
        ))
        self.observer.cache_stored()

    def account_hit(self, routed: Routed, hit: CacheHit, rpc: str) -> tuple[LedgerEntry, ExecutionTrace]:
        """A cache hit's one ledger entry: nothing consumed, nothing spent, the original cost avoided."""
        answer = hit.answer
        trace = ExecutionTrace(answering=answer.model, deployment="cache", finish_reason=answer.finish_reason)
        baseline = routed.plan.baseline
        entry = LedgerEntry(
            request_id=routed.request_id, tenant=routed.tenant, timestamp=self._wall_clock(), model=answer.model,
            usage=Usage(), cost_nano_usd=0,
            baseline_cost_nano_usd=baseline.cost_nano_usd(answer.usage) if baseline is not None else 0,
            latency_s=self._clock() - routed.started, status=RequestStatus.OK, rpc=rpc, agent=routed.agent,
            domain=routed.analysis.domain, complexity=routed.analysis.complexity, strategy=routed.plan.strategy,
            experiment_arm=routed.plan.experiment_arm, cache_hit=True, cache_saved_nano_usd=hit.saved_cost_nano_usd,
            key_id=routed.caller.key_id,
        )
        if not self.accountant.record(entry):
            log.error("ledger already had request %s; the duplicate was not recorded", routed.request_id)
        self._observe(routed, entry, 0.0, answer.text)
        return entry, trace

    def _observe(self, routed: Routed, entry: LedgerEntry, ttft: float | None, answer: str | None) -> None:
        """Metrics, the request's log line and its span attributes; text only when the config asks."""
        if self.observer.settings.show_prompts:
            prompt = next((m.content for m in reversed(routed.plan.messages) if m.role == Role.USER), None)
            self.observer.request_accounted(entry, ttft, prompt=prompt, answer=answer)
        else:
            self.observer.request_accounted(entry, ttft)

    def feedback(self, request_id: str, rating: int, tenant: str | None = None) -> FeedbackResult | None:
        result = self.accountant.feedback(request_id, rating, tenant)
        if result is not None:
            analysis = self._analyses.get(request_id)
            if analysis is not None and self.catalog.get(result.model) is not None:
                self.planner.record_feedback(result.model, analysis, rating)
        return result

    @staticmethod
    def status_for(error: BaseException | None) -> RequestStatus:
        if error is None:
            return RequestStatus.OK
        if isinstance(error, asyncio.CancelledError | GeneratorExit):
            return RequestStatus.CANCELLED
        return RequestStatus.FAILED
