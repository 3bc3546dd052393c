"""The gRPC servicer: validates, translates and delegates to the pipeline. No routing logic lives here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_status import rpc_status
from llmrouter.v1 import router_pb2 as pb
from llmrouter.v1 import router_pb2_grpc as pb_grpc

from router_service.auth import Caller
from router_service.auth.authenticator import Authenticator, AuthError, BadTenant
from router_service.cache import CacheHit, CacheRequest, replay_chunks
from router_service.config import RouterConfig
from router_service.domain import ChatMessage, GenerationParams
from router_service.executor import Deployment, ExecutionError, ExecutionTrace
from router_service.executor.breaker import BreakerState
from router_service.ledger import (
    Admission,
    BudgetExceeded,
    BudgetState,
    BudgetStatus,
    Dimension,
    Period,
    RateLimited,
    ReportQuery,
    ReportRow,
    Scope,
)
from router_service.providers.base import Completion
from router_service.server import translate as tr
from router_service.server.errors import (
    RpcError,
    from_budget,
    from_execution,
    from_planning,
    from_rate_limit,
    internal,
    invalid_argument,
)
from router_service.server.pipeline import RequestPipeline, Routed
from router_service.server.relay import CoalescingRelay
from router_service.strategy import PlanningError, RoutingPreferences

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]
_GROUP_BY = {
    pb.GROUP_BY_PROVIDER: Dimension.PROVIDER,
    pb.GROUP_BY_MODEL: Dimension.MODEL,
    pb.GROUP_BY_TENANT: Dimension.TENANT,
    pb.GROUP_BY_AGENT: Dimension.AGENT,
    pb.GROUP_BY_DOMAIN: Dimension.DOMAIN,
    pb.GROUP_BY_COMPLEXITY: Dimension.COMPLEXITY,
    pb.GROUP_BY_STRATEGY: Dimension.STRATEGY,
    pb.GROUP_BY_EXPERIMENT_ARM: Dimension.EXPERIMENT_ARM,
    pb.GROUP_BY_HOUR: Dimension.HOUR,
    pb.GROUP_BY_DAY: Dimension.DAY,
}


def _metadata(context: Context) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in context.invocation_metadata() or ():
        if k in ("authorization", "x-tenant-id"):
            out[k] = v if isinstance(v, str) else v.decode("utf-8", "replace")
    return out


@dataclass(frozen=True, slots=True)
class Started:
    """A Complete or StreamComplete past routing: admitted (a miss) or answered by the cache (a hit)."""

    routed: Routed
    admission: Admission | None
    cache_request: CacheRequest | None
    hit: CacheHit | None


class RouterServicer(pb_grpc.RouterServiceServicer):
    def __init__(self, pipeline: RequestPipeline, config: RouterConfig, authenticator: Authenticator) -> None:
        self._pipeline = pipeline
        self._config = config
        self._auth = authenticator
        self._default_timeout = config.limits.default_timeout_s

    # -- helpers ---------------------------------------------------------------------------------------

    def _caller(self, context: Context) -> Caller:
        md = _metadata(context)
        try:
            return self._auth.caller(md.get("authorization", ""), md.get("x-tenant-id", ""))
        except AuthError as exc:
            raise RpcError(grpc.StatusCode.UNAUTHENTICATED, str(exc)) from exc
        except BadTenant as exc:
            raise invalid_argument("metadata x-tenant-id", str(exc)) from exc

    def _deadline(self, context: Context) -> float:
        remaining = context.time_remaining()
        budget = self._default_timeout if remaining is None else min(remaining, self._default_timeout)
        return time.monotonic() + budget

    def _route(self, request: pb.RouteRequest | pb.CompleteRequest, context: Context) -> Routed:
        caller, request_id, messages, params, prefs = self._inputs(request, context)
        try:
            return self._pipeline.route(request_id, caller, messages, params, prefs)
        except PlanningError as exc:
            raise from_planning(exc) from exc

    def _inputs(
        self, request: pb.RouteRequest | pb.CompleteRequest, context: Context
    ) -> tuple[Caller, str, tuple[ChatMessage, ...], GenerationParams, RoutingPreferences]:
        """Authenticate and validate; raises RpcError naming the field."""
        caller = self._caller(context)
        request_id = tr.request_id_of(request.request_id)
        messages = tr.messages_of(request.messages, self._config.limits)
        params = tr.params_of(request.params)
        prefs = tr.preferences_of(request.preferences)
        force = prefs.force_model
        if force is not None and not (
            caller.may_use(force) if force.model else caller.may_use_provider(force.provider)
        ):
            raise RpcError(
                grpc.StatusCode.PERMISSION_DENIED,
                f"caller key {caller.key_id!r} may not use {force.provider}/{force.model or '*'}",
            )
        return caller, request_id, messages, params, prefs

    async def _route_async(self, request: pb.RouteRequest | pb.CompleteRequest, context: Context) -> Routed:
        """Like `_route`, awaiting the analyzer's LLM stage when it is configured."""
        if not self._pipeline.uses_llm_classifier:
            return self._route(request, context)
        caller, request_id, messages, params, prefs = self._inputs(request, context)
        try:
            return await self._pipeline.route_async(request_id, caller, messages, params, prefs)
        except PlanningError as exc:
            raise from_planning(exc) from exc

    def _admit(self, routed: Routed) -> Admission:
        try:
            return self._pipeline.admit(routed)
        except BudgetExceeded as exc:
            raise from_budget(exc) from exc
        except RateLimited as exc:
            raise from_rate_limit(exc) from exc

    async def _start(self, request: pb.CompleteRequest, context: Context) -> Started:
        """Route, claim the request id, consult the cache, and admit a miss; nothing is spent or recorded
        if this raises. A cache hit needs no admission: it spends nothing."""
        routed = await self._route_async(request, context)
        self._claim(routed.request_id)
        try:
            cache_request = self._pipeline.cache_request(routed, request.cache.no_lookup, request.cache.no_store)
            hit = await self._pipeline.cached(cache_request)
            if hit is not None:
                return Started(routed, None, cache_request, hit)
            return Started(routed, self._admit(routed), cache_request, None)
        except BaseException:
            self._pipeline.in_flight.discard(routed.request_id)
            raise

    async def _finish(
        self, context: Context, started: Started, trace: ExecutionTrace, error: BaseException | None, rpc: str,
        answer: str | None,
    ) -> None:
        """End an executed request however it ended: release its id, write its one ledger entry, and turn
        an error into the caller's status (a cancellation just propagates)."""
        routed = started.routed
        self._pipeline.in_flight.discard(routed.request_id)
        try:
            status = self._pipeline.status_for(error)
            self._pipeline.account(routed, trace, status, rpc, started.admission, answer)
        except Exception:
            log.exception("could not account request %s", routed.request_id)
        if isinstance(error, ExecutionError):
            await self._abort(context, from_execution(error))
        elif isinstance(error, Exception):
            await self._fail(context, error, routed.request_id)

    def _cache_info(self, started: Started) -> pb.CacheInfo | None:
        if started.hit is not None:
            kind = pb.CACHE_RESULT_HIT_EXACT if started.hit.kind == "exact" else pb.CACHE_RESULT_HIT_SEMANTIC
            return pb.CacheInfo(result=kind, similarity=started.hit.similarity,
                                saved_cost_nano_usd=started.hit.saved_cost_nano_usd)
        if started.cache_request is None:
            return None
        if self._pipeline.cache_bypassed(started.cache_request):
            return pb.CacheInfo(result=pb.CACHE_RESULT_BYPASS)
        return pb.CacheInfo(result=pb.CACHE_RESULT_MISS)

    def _hit_summary(self, started: Started, rpc: str) -> tuple[str, pb.CompletionSummary]:
        """Account a cache hit and describe it: the original model, usage and text, at no cost."""
        assert started.hit is not None
        _, trace = self._pipeline.account_hit(started.routed, started.hit, rpc)
        self._pipeline.in_flight.discard(started.routed.request_id)
        summary = tr.summary_pb(trace, time.monotonic() - started.routed.started, None, self._cache_info(started))
        summary.usage.CopyFrom(tr.usage_pb(started.hit.answer.usage))
        return started.hit.answer.text, summary

    def _claim(self, request_id: str) -> None:
        """Refuse a request id that is running or already accounted for: it must not spend twice."""
        if request_id in self._pipeline.in_flight:
            raise RpcError(grpc.StatusCode.ABORTED, f"request {request_id} is already running")
        ledger = self._pipeline.ledger
        # A failed request may be retried under its id (its entry is amended); a completed one may not.
        if ledger.has(request_id) and ledger.failed_entry(request_id) is None:
            raise RpcError(grpc.StatusCode.ALREADY_EXISTS, f"request {request_id} was already completed")
        self._pipeline.in_flight.add(request_id)

    async def _abort(self, context: Context, error: RpcError) -> None:
        status = rpc_status.to_status(error.to_status())
        await context.abort(status.code, status.details, status.trailing_metadata)

    async def _fail(self, context: Context, exc: Exception, request_id: str) -> None:
        if isinstance(exc, RpcError):
            await self._abort(context, exc)
        log.exception("unexpected error in request %s", request_id)
        await self._abort(context, internal(request_id))

    # -- RPCs ------------------------------------------------------------------------------------------

    async def Route(self, request: pb.RouteRequest, context: Context) -> pb.RouteResponse:
        try:
            # Route calls no provider (not even the analyzer's optional LLM stage) and records nothing.
            routed = self._route(request, context)
            response = pb.RouteResponse(request_id=routed.request_id)
            tr.decision_into(response.decision, routed.plan, routed.analysis, routed.agent)
            return response
        except Exception as exc:
            await self._fail(context, exc, request.request_id)
            raise

    async def Complete(self, request: pb.CompleteRequest, context: Context) -> pb.CompleteResponse:
        try:
            started = await self._start(request, context)
        except Exception as exc:
            await self._fail(context, exc, request.request_id)
            raise
        routed = started.routed
        decision = tr.decision_pb(
            routed.plan, routed.analysis, routed.agent, alternatives=request.include_alternatives
        )
        if started.hit is not None:
            text, summary = self._hit_summary(started, "Complete")
            return pb.CompleteResponse(request_id=routed.request_id, decision=decision, text=text, summary=summary)
        trace = ExecutionTrace()
        error: BaseException | None = None
        completion: Completion | None = None
        try:
            completion = await self._pipeline.complete(routed, self._deadline(context), trace)
        except BaseException as exc:
            error = exc
            raise
        finally:
            answer = completion.text if completion is not None else None
            await self._finish(context, started, trace, error, "Complete", answer)
        await self._pipeline.remember(started.cache_request, completion.text, trace)
        latency = time.monotonic() - routed.started
        return pb.CompleteResponse(
            request_id=routed.request_id, decision=decision, text=completion.text,
            summary=tr.summary_pb(trace, latency, None, self._cache_info(started)),
        )

    async def StreamComplete(
        self, request: pb.CompleteRequest, context: Context
    ) -> AsyncIterator[pb.StreamCompleteResponse]:
        try:
            started = await self._start(request, context)
        except Exception as exc:
            await self._fail(context, exc, request.request_id)
            raise
        routed = started.routed
        rid = routed.request_id
        if started.hit is not None:
            async for event in self._replay(started, request.include_alternatives):
                yield event
            return
        trace = ExecutionTrace()
        error: BaseException | None = None
        relay: CoalescingRelay | None = None
        parts: list[str] = []
        try:
            # Start the upstream call first, so it overlaps writing the decision.
            relay = CoalescingRelay(self._pipeline.stream(routed, self._deadline(context), trace))
            yield pb.StreamCompleteResponse(
                request_id=rid,
                decision=tr.decision_pb(
                    routed.plan, routed.analysis, routed.agent, alternatives=request.include_alternatives
                ),
            )
            first = True
            async for text in relay.texts():
                parts.append(text)
                delta = pb.TextDelta(text=text)
                if first and trace.answering is not None:
                    delta.model.CopyFrom(tr.model_ref_pb(trace.answering))
                    first = False
                yield pb.StreamCompleteResponse(request_id=rid, delta=delta)
        except BaseException as exc:
            error = exc
            raise
        finally:
            if relay is not None:
                await relay.aclose()
            await self._finish(context, started, trace, error, "StreamComplete", "".join(parts))
        # Only a stream that ended normally is complete enough to cache.
        await self._pipeline.remember(started.cache_request, "".join(parts), trace)
        latency = time.monotonic() - routed.started
        ttft = trace.first_token_at - routed.started if trace.first_token_at is not None else None
        summary = tr.summary_pb(trace, latency, ttft, self._cache_info(started))
        yield pb.StreamCompleteResponse(request_id=rid, summary=summary)

    async def _replay(self, started: Started, alternatives: bool) -> AsyncIterator[pb.StreamCompleteResponse]:
        """A cached answer as a stream: the decision, the text as deltas, the summary."""
        assert started.hit is not None
        routed = started.routed
        rid = routed.request_id
        text, summary = self._hit_summary(started, "StreamComplete")
        yield pb.StreamCompleteResponse(
            request_id=rid,
            decision=tr.decision_pb(routed.plan, routed.analysis, routed.agent, alternatives=alternatives),
        )
        for i, chunk in enumerate(replay_chunks(text)):
            delta = pb.TextDelta(text=chunk)
            if i == 0:
                delta.model.CopyFrom(tr.model_ref_pb(started.hit.answer.model))
            yield pb.StreamCompleteResponse(request_id=rid, delta=delta)
        summary.time_to_first_token.CopyFrom(summary.latency)
        yield pb.StreamCompleteResponse(request_id=rid, summary=summary)

    async def CostReport(self, request: pb.CostReportRequest, context: Context) -> pb.CostReportResponse:
        try:
            caller = self._caller(context)
            query = self._report_query(request, caller)
            report = await asyncio.to_thread(self._pipeline.ledger.report, query)
            response = pb.CostReportResponse(
                totals=_row_pb(report.totals),
                rows=[_row_pb(r) for r in report.rows],
            )
            response.start_time.FromNanoseconds(int(report.start * 1e9))
            response.end_time.FromNanoseconds(int(report.end * 1e9))
            if self._pipeline.baseline is not None:
                response.baseline_model.CopyFrom(tr.model_ref_pb(self._pipeline.baseline))
            response.budgets.extend(_budget_pb(b) for b in self._budgets(query, caller))
            return response
        except Exception as exc:
            await self._fail(context, exc, "")
            raise

    def _budgets(self, query: ReportQuery, caller: Caller) -> list[BudgetStatus]:
        scopes = []
        tenants = query.tenants or frozenset(self._config.tenants) | {caller.tenant}
        for tenant in sorted(tenants):
            limits = self._auth.tenant_limits(tenant)
            if limits is not None:
                scopes.append((Scope("tenant", tenant), limits))
        for key in self._config.auth.keys:
            if key.tenant in tenants and (caller.admin or key.id == caller.key_id):
                scopes.append((Scope("key", key.id), key.limits))
        return self._pipeline.accountant.budget_status(scopes)

    def _report_query(self, request: pb.CostReportRequest, caller: Caller) -> ReportQuery:
        tenants = frozenset(request.tenants)
        if not caller.admin:
            if tenants - {caller.tenant}:
                raise RpcError(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"caller key {caller.key_id!r} may only report on tenant {caller.tenant!r}",
                )
            tenants = frozenset({caller.tenant})
        dims = []
        for i, value in enumerate(request.group_by):
            if value not in _GROUP_BY:
                raise invalid_argument(f"group_by[{i}]", f"unknown group_by value {value}")
            dims.append(_GROUP_BY[value])
        start = request.start_time.ToNanoseconds() / 1e9 if request.HasField("start_time") else None
        end = request.end_time.ToNanoseconds() / 1e9 if request.HasField("end_time") else None
        if start is not None and end is not None and end <= start:
            raise invalid_argument("end_time", "must be after start_time")
        return ReportQuery(
            start=start,
            end=end,
            tenants=tenants,
            providers=frozenset(request.providers),
            models=frozenset(request.models),
            group_by=tuple(dims),
        )

    async def ListModels(self, request: pb.ListModelsRequest, context: Context) -> pb.ListModelsResponse:
        try:
            caller = self._caller(context)
            if request.capability and request.capability not in pb.Capability.values():
                raise invalid_argument("capability", f"unknown capability value {request.capability}")
            if request.tier and request.tier not in pb.ModelTier.values():
                raise invalid_argument("tier", f"unknown tier value {request.tier}")
            models = []
            for entry in self._pipeline.catalog.entries:
                if request.provider and entry.ref.provider != request.provider:
                    continue
                if request.capability and request.capability not in {int(c) for c in entry.capabilities}:
                    continue
                if request.tier and request.tier != int(entry.tier):
                    continue
                info = tr.model_info_pb(entry)
                reason = self._pipeline.unavailable_reason(entry.ref)
                if not reason and not caller.may_use(entry.ref):
                    reason = "not allowed for this caller key"
                info.available = not reason
                info.unavailable_reason = reason
                info.deployments.extend(_deployment_pb(d) for d in self._pipeline.executor.pool.deployments(entry.ref))
                if request.available_only and reason:
                    continue
                models.append(info)
            return pb.ListModelsResponse(models=models)
        except Exception as exc:
            await self._fail(context, exc, "")
            raise

    async def SubmitFeedback(self, request: pb.SubmitFeedbackRequest, context: Context) -> pb.SubmitFeedbackResponse:
        try:
            caller = self._caller(context)
            if not request.request_id:
                raise invalid_argument("request_id", "is required")
            if not 1 <= request.rating <= 5:
                raise invalid_argument("rating", "must be between 1 and 5")
            if len(request.comment) > 4096:
                raise invalid_argument("comment", "at most 4096 characters")
            result = self._pipeline.feedback(
                request.request_id, request.rating, None if caller.admin else caller.tenant
            )
            if result is None:
                raise RpcError(grpc.StatusCode.NOT_FOUND, f"no request {request.request_id} in the ledger")
            return pb.SubmitFeedbackResponse(model=tr.model_ref_pb(result.model), replaced=result.replaced)
        except Exception as exc:
            await self._fail(context, exc, request.request_id)
            raise


_BUDGET_STATES = {
    BudgetState.OK: pb.BUDGET_STATE_OK,
    BudgetState.SOFT_LIMIT: pb.BUDGET_STATE_SOFT_LIMIT,
    BudgetState.EXHAUSTED: pb.BUDGET_STATE_EXHAUSTED,
}


_BREAKER_STATES = {
    BreakerState.CLOSED: pb.BREAKER_STATE_CLOSED,
    BreakerState.OPEN: pb.BREAKER_STATE_OPEN,
    BreakerState.HALF_OPEN: pb.BREAKER_STATE_HALF_OPEN,
}


def _deployment_pb(d: Deployment) -> pb.DeploymentHealth:
    p50 = d.stats.latency(0.5)
    return pb.DeploymentHealth(
        name=d.name,
        breaker=_BREAKER_STATES[d.breaker.current()],
        success_rate=d.stats.success_rate,
        latency_p50=tr.duration_pb(p50 or 0.0),
        in_flight=d.limit.in_flight,
    )


def _budget_pb(status: BudgetStatus) -> pb.BudgetStatus:
    out = pb.BudgetStatus(
        scope=str(status.scope),
        period=pb.BUDGET_PERIOD_DAY if status.period is Period.DAY else pb.BUDGET_PERIOD_MONTH,
        limit_nano_usd=status.limit_nano_usd,
        spent_nano_usd=status.spent_nano_usd,
        reserved_nano_usd=status.reserved_nano_usd,
        state=_BUDGET_STATES[status.state],
    )
    out.period_start.FromNanoseconds(int(status.period_start * 1e9))
    return out


def _row_pb(row: ReportRow) -> pb.CostRow:
    key = row.key
    out = pb.CostRow(
        provider=key.provider,
        model=key.model,
        tenant=key.tenant,
        agent=key.agent,
        domain=pb.Domain.ValueType(key.domain),
        complexity=pb.ComplexityTier.ValueType(key.complexity or 0),
        strategy=tr.STRATEGY_ENUMS.get(key.strategy, pb.STRATEGY_UNSPECIFIED),
        experiment_arm=key.experiment_arm,
        requests=row.requests,
        errors=row.errors,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cached_input_tokens=row.cached_input_tokens,
        cost_nano_usd=row.cost_nano_usd,
        baseline_cost_nano_usd=row.baseline_cost_nano_usd,
        savings_nano_usd=row.savings_nano_usd,
        savings_percent=row.savings_percent,
        cache_hits=row.cache_hits,
        cache_saved_nano_usd=row.cache_saved_nano_usd,
        latency_p50=tr.duration_pb(row.latency_p50_s),
        latency_p95=tr.duration_pb(row.latency_p95_s),
        latency_p99=tr.duration_pb(row.latency_p99_s),
        ratings=row.ratings,
        average_rating=row.average_rating,
    )
    if key.bucket_start is not None:
        out.bucket_start.FromNanoseconds(int(key.bucket_start * 1e9))
    return out
