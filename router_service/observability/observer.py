"""The one seam the request path calls to be observed: metrics, the per-request log line and spans.

`Observer()` is the no-op: every hook returns at once and `span()` hands back one shared object, so an
unobserved router pays a method call per hook. `build_observer()` returns the live `LiveObserver`.
Everything per attempt (provider calls, fallbacks, retries, router overhead) is derived from the ledger
entry in `request_accounted`, so it is counted exactly once per request, whatever path produced it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from contextlib import suppress
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import grpc
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import format_trace_id, get_current_span

from router_service.domain import Complexity, ErrorKind, ModelRef
from router_service.ledger import LedgerEntry, RequestStatus
from router_service.observability.logs import REQUEST_LOGGER, log_fields
from router_service.observability.metrics import BREAKER_STATES, RouterMetrics
from router_service.observability.settings import AdminSettings
from router_service.observability.tracing import Tracing, build_tracing, mark_error

AttributeValue = str | bool | int | float
# Prompt/answer text kept per line when the config asks for it; bounds a log line and the dashboard ring.
TEXT_LIMIT = 4096
PREVIEW_LIMIT = 200


class SpanHandle(Protocol):
    def set_attribute(self, key: str, value: AttributeValue) -> object: ...


class _NullSpan:
    """Shared no-op span and context manager: entering, setting attributes and leaving cost nothing."""

    __slots__ = ()

    def __enter__(self) -> _NullSpan:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        return None


NULL_SPAN = _NullSpan()

# Whether the gRPC call being served is traced: None outside any call (then OpenTelemetry's current span
# decides), else the call's sampling decision. One ContextVar read instead of OpenTelemetry's context
# lookup for every child span of the 90% of calls that are not sampled.
_CALL_TRACED: ContextVar[bool | None] = ContextVar("llm_router_call_traced", default=None)
_TIER_LABELS = {c: c.name.lower() for c in Complexity}


class RpcContext(Protocol):
    """The part of `grpc.aio.ServicerContext` the RPC scope reads."""

    def invocation_metadata(self) -> Any: ...

    def code(self) -> Any: ...


@dataclass(slots=True)
class ProviderHealth:
    """Per-provider counts for the dashboard, kept beside the Prometheus counters (cheap to read)."""

    attempts: int = 0
    errors: int = 0
    last_error: str = ""
    last_error_at: float = 0.0


@dataclass(frozen=True, slots=True)
class RequestText:
    request_id: str
    prompt: str
    answer: str


class Observer:
    """No-op observer; the hooks the request path calls. See WIRING.md for where each one goes."""

    enabled = False
    settings = AdminSettings()
    metrics: RouterMetrics | None = None
    tracing: Tracing | None = None

    def rpc(self, method: str, context: RpcContext) -> Any:
        """Context manager around one gRPC call (the server wraps every RouterService/AdminService call)."""
        return NULL_SPAN

    def span(self, name: str, **attributes: AttributeValue) -> Any:
        """Context manager for a child span (analyze, plan, cache.lookup, attempt); yields a SpanHandle."""
        return NULL_SPAN

    def routed(self, strategy: str, complexity: Complexity | None, model: ModelRef) -> None:
        """A plan was made (every Route, Complete and StreamComplete)."""

    def request_accounted(
        self,
        entry: LedgerEntry,
        time_to_first_token_s: float | None = None,
        prompt: str | None = None,
        answer: str | None = None,
    ) -> None:
        """The request's one ledger entry was written; prompt/answer are dropped unless show_prompts."""

    def cache_result(self, result: str) -> None:
        """A response-cache lookup: "miss", "hit_<kind>" (e.g. hit_exact, hit_semantic) or "bypass"."""

    def cache_stored(self) -> None:
        """An answer was stored in the response cache."""

    def cache_evicted(self, reason: str, count: int = 1) -> None:
        """Entries left the cache: reason "capacity", "bytes" or "expired"."""

    def breaker_state(self, provider: str, deployment: str, state: str) -> None:
        """A circuit breaker entered "closed", "half_open" or "open"."""

    # -- read by the admin port ---------------------------------------------------------------------

    def provider_health(self) -> dict[str, ProviderHealth]:
        return {}

    def breaker_states(self) -> dict[tuple[str, str], str]:
        return {}

    def request_texts(self) -> dict[str, RequestText]:
        return {}

    def shutdown(self) -> None:
        """Flush and stop exporters."""


class _RpcScope:
    """Metrics and the server span of one gRPC call; a class rather than a generator for speed."""

    __slots__ = ("_context", "_method", "_observer", "_started", "_token", "_traced", "span")

    def __init__(self, observer: LiveObserver, method: str, context: RpcContext) -> None:
        self._observer = observer
        self._method = _method_info(method)
        self._context = context
        self._token: Any = None
        self._traced: Token[bool | None] | None = None
        self.span: Any = NULL_SPAN

    def __enter__(self) -> Any:
        observer = self._observer
        self._started = time.perf_counter()
        if observer.metrics is not None:
            observer.metrics.grpc_in_flight.inc(self._method.labels)
        if observer.tracing is not None:
            method = self._method
            started = observer.tracing.start_server_span(
                method.span_name, self._context.invocation_metadata(), method.attributes
            )
            if started is not None:
                self.span, self._token = started
            self._traced = _CALL_TRACED.set(started is not None)
        return self.span

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        seconds = time.perf_counter() - self._started
        code = _status_code(self._context, exc)
        observer = self._observer
        metrics = observer.metrics
        method = self._method
        if metrics is not None:
            metrics.grpc_in_flight.dec(method.labels)
            metrics.grpc_requests.inc(method.by_code[code])
            metrics.grpc_duration.observe(method.labels, seconds)
        if self._token is not None and observer.tracing is not None:
            self.span.set_attribute("rpc.grpc.status_code", code.value[0])
            if code is not grpc.StatusCode.OK:
                mark_error(self.span, code.name)
            observer.tracing.end(self.span, self._token)
        if self._traced is not None:
            # A streaming call's generator may be finalised in another context (see tracing._detach).
            with suppress(ValueError):
                _CALL_TRACED.reset(self._traced)


@dataclass(frozen=True, slots=True)
class _MethodInfo:
    """What the scope needs of "/package.Service/Method", computed once per method."""

    # The span is named after the full method ("llmrouter.v1.RouterService/Route"), metrics the short one.
    span_name: str
    labels: tuple[str]
    # Semantic-convention span attributes.
    attributes: dict[str, AttributeValue]
    # The requests counter's label tuple per status code.
    by_code: dict[grpc.StatusCode, tuple[str, str]]


_METHODS: dict[str, _MethodInfo] = {}


def _method_info(method: str) -> _MethodInfo:
    found = _METHODS.get(method)
    if found is None:
        _, service, name = method.split("/")
        found = _METHODS[method] = _MethodInfo(
            method.lstrip("/"),
            (name,),
            {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
            {code: (name, code.name) for code in grpc.StatusCode},
        )
    return found


def _status_code(context: RpcContext, exc: BaseException | None) -> grpc.StatusCode:
    if isinstance(exc, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED
    try:
        code = context.code()
    except Exception:  # a context that cannot tell (tests' fakes, an already-finished call)
        code = None
    if isinstance(code, grpc.StatusCode):
        return code
    return grpc.StatusCode.OK if exc is None else grpc.StatusCode.UNKNOWN


class LiveObserver(Observer):
    enabled = True

    def __init__(
        self,
        settings: AdminSettings,
        metrics: RouterMetrics | None,
        tracing: Tracing | None,
        recent_texts: int = 200,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.tracing = tracing
        self._log = logging.getLogger(REQUEST_LOGGER)
        self._health: dict[str, ProviderHealth] = {}
        self._breakers: dict[tuple[str, str], str] = {}
        self._texts: deque[RequestText] = deque(maxlen=recent_texts)

    def rpc(self, method: str, context: RpcContext) -> Any:
        if self.metrics is None and self.tracing is None:
            return NULL_SPAN
        return _RpcScope(self, method, context)

    def span(self, name: str, **attributes: AttributeValue) -> Any:
        tracing = self.tracing
        if tracing is None:
            return NULL_SPAN
        traced = _CALL_TRACED.get()
        if not (traced if traced is not None else tracing.recording()):
            return NULL_SPAN
        return tracing.span(name, attributes)

    def routed(self, strategy: str, complexity: Complexity | None, model: ModelRef) -> None:
        metrics = self.metrics
        if metrics is not None:
            tier = _TIER_LABELS[complexity] if complexity is not None else "unknown"
            metrics.decisions.inc((strategy or "unknown", tier, model.provider, model.model))

    def request_accounted(
        self,
        entry: LedgerEntry,
        time_to_first_token_s: float | None = None,
        prompt: str | None = None,
        answer: str | None = None,
    ) -> None:
        if self.metrics is not None:
            self._count(entry, time_to_first_token_s)
        self._health_from(entry)
        show = self.settings.show_prompts and (prompt is not None or answer is not None)
        if show:
            self._texts.append(RequestText(entry.request_id, (prompt or "")[:TEXT_LIMIT], (answer or "")[:TEXT_LIMIT]))
        if self.settings.request_logs:
            level = logging.WARNING if entry.status == RequestStatus.FAILED else logging.INFO
            if self._log.isEnabledFor(level):
                fields = request_fields(entry, time_to_first_token_s)
                if show:
                    fields["prompt"] = (prompt or "")[:TEXT_LIMIT]
                    fields["answer"] = (answer or "")[:TEXT_LIMIT]
                log_fields(self._log, level, "request", fields)

    def _count(self, entry: LedgerEntry, ttft: float | None) -> None:
        m = self.metrics
        assert m is not None
        provider, model = entry.model.provider, entry.model.model
        tenant = m.tenants.label(entry.tenant)
        m.requests.inc((entry.rpc, provider, model, entry.status.name.lower()))
        m.request_duration.observe((entry.rpc, provider, model), entry.latency_s)
        if ttft is not None:
            m.time_to_first_token.observe((provider, model), ttft)
        usage = entry.usage
        for token_kind, tokens in (
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
            ("cached_input", usage.cached_input_tokens),
        ):
            if tokens:
                m.tokens.inc((provider, model, tenant, token_kind), tokens)
        if entry.cost_nano_usd:
            m.cost.inc((provider, model, tenant), entry.cost_nano_usd)
        if entry.baseline_cost_nano_usd:
            m.baseline_cost.inc((tenant,), entry.baseline_cost_nano_usd)
        if entry.cache_hit and entry.cache_saved_nano_usd:
            m.cache_saved.inc((tenant,), entry.cache_saved_nano_usd)
        upstream = 0.0
        attempts = entry.attempts
        for i, attempt in enumerate(attempts):
            ref = attempt.model
            kind = attempt.error_kind
            m.attempts.inc((ref.provider, ref.model, _outcome(kind)))
            if kind != ErrorKind.SKIPPED:
                m.attempt_duration.observe((ref.provider, ref.model), attempt.latency_s)
                upstream += attempt.latency_s
            if kind not in (ErrorKind.NONE, ErrorKind.SKIPPED) and i + 1 < len(attempts):
                family = m.retries if attempts[i + 1].model == ref else m.fallbacks
                family.inc((ref.provider, ref.model, kind.name.lower()))
        m.overhead.observe((entry.rpc,), max(0.0, entry.latency_s - upstream))

    def _health_from(self, entry: LedgerEntry) -> None:
        for attempt in entry.attempts:
            if attempt.error_kind == ErrorKind.SKIPPED:
                continue
            health = self._health.get(attempt.model.provider)
            if health is None:
                health = self._health[attempt.model.provider] = ProviderHealth()
            health.attempts += 1
            if attempt.error_kind not in (ErrorKind.NONE, ErrorKind.CANCELLED):
                health.errors += 1
                health.last_error = attempt.error_kind.name.lower()
                health.last_error_at = entry.timestamp

    def cache_result(self, result: str) -> None:
        if self.metrics is not None:
            self.metrics.cache_lookups.inc((result,))

    def cache_stored(self) -> None:
        if self.metrics is not None:
            self.metrics.cache_stores.inc()

    def cache_evicted(self, reason: str, count: int = 1) -> None:
        if self.metrics is not None:
            self.metrics.cache_evictions.inc((reason,), count)

    def breaker_state(self, provider: str, deployment: str, state: str) -> None:
        self._breakers[(provider, deployment)] = state
        if self.metrics is not None:
            self.metrics.breaker_state.set((provider, deployment), BREAKER_STATES.get(state, 2))
            self.metrics.breaker_transitions.inc((provider, deployment, state))

    def provider_health(self) -> dict[str, ProviderHealth]:
        return dict(self._health)

    def breaker_states(self) -> dict[tuple[str, str], str]:
        return dict(self._breakers)

    def request_texts(self) -> dict[str, RequestText]:
        return {t.request_id: t for t in self._texts}

    def shutdown(self) -> None:
        if self.tracing is not None:
            self.tracing.shutdown()


def _outcome(kind: ErrorKind) -> str:
    return "ok" if kind == ErrorKind.NONE else kind.name.lower()


def request_fields(entry: LedgerEntry, time_to_first_token_s: float | None) -> dict[str, Any]:
    """The structured fields of a request's log line: identifiers, decision, outcome, tokens, money.
    Empty values are left out, and the attempt path only appears when there was more than one attempt."""
    usage = entry.usage
    fields: dict[str, Any] = {
        "request_id": entry.request_id,
        "tenant": entry.tenant,
        "rpc": entry.rpc,
        "status": entry.status.name.lower(),
        "strategy": entry.strategy,
        "complexity": entry.complexity.name.lower() if entry.complexity is not None else "",
        "domain": entry.domain.name.lower(),
        "model": f"{entry.model.provider}/{entry.model.model}",
        "attempts": len(entry.attempts),
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_nano_usd": entry.cost_nano_usd,
        "baseline_cost_nano_usd": entry.baseline_cost_nano_usd,
        "latency_ms": round(entry.latency_s * 1000, 3),
    }
    if time_to_first_token_s is not None:
        fields["ttft_ms"] = round(time_to_first_token_s * 1000, 3)
    if usage.cached_input_tokens:
        fields["cached_input_tokens"] = usage.cached_input_tokens
    if usage.estimated:
        fields["tokens_estimated"] = True
    if entry.cache_hit:
        fields["cache_hit"] = True
        fields["cache_saved_nano_usd"] = entry.cache_saved_nano_usd
    for name in ("key_id", "agent", "experiment_arm"):
        value = getattr(entry, name)
        if value:
            fields[name] = value
    if len(entry.attempts) > 1:
        fields["attempt_path"] = [
            f"{a.model.provider}/{a.model.model}:{_outcome(a.error_kind)}" for a in entry.attempts
        ]
    span_context = get_current_span().get_span_context()
    if span_context.is_valid:
        fields["trace_id"] = format_trace_id(span_context.trace_id)
    return fields


def build_observer(
    settings: AdminSettings, tenants: Iterable[str] = (), span_exporter: SpanExporter | None = None
) -> Observer:
    """The live observer for these settings; `span_exporter` replaces the configured one (tests)."""
    metrics = RouterMetrics(settings.max_tenant_labels, tenants) if settings.metrics else None
    tracing = build_tracing(settings.tracing, span_exporter)
    return LiveObserver(settings, metrics, tracing)
