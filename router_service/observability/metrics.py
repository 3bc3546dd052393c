"""Prometheus metrics of one router, in a registry of its own (tests run several routers in one process).

Label values come only from bounded sets: RPC names, catalog models and providers, strategies, complexity
tiers, error kinds, and tenants capped by `TenantLabels`. Request ids and prompts are never labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from router_service.ledger import BudgetState, BudgetStatus
from router_service.observability.families import LoopCounter, LoopGauge, LoopHistogram

PREFIX = "llm_router"
OTHER_TENANT = "other"
# Whole requests span milliseconds (a cache hit, Route) to minutes (a long stream).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# The router's own time per request: the DESIGN target is well under a millisecond.
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
BUDGET_STATES = {BudgetState.OK: 0, BudgetState.SOFT_LIMIT: 1, BudgetState.EXHAUSTED: 2}


class TenantLabels:
    """Caps distinct tenant label values: the first `limit` tenants seen keep their name, later ones are
    counted as "other", so a flood of tenant ids cannot blow up the series count."""

    def __init__(self, limit: int, preset: Iterable[str] = ()) -> None:
        self._limit = limit
        self._kept: set[str] = set()
        for tenant in preset:
            self.label(tenant)

    def label(self, tenant: str) -> str:
        if tenant in self._kept:
            return tenant
        if len(self._kept) < self._limit:
            self._kept.add(tenant)
            return tenant
        return OTHER_TENANT


@dataclass(frozen=True, slots=True)
class RouterState:
    """What the state collector reads at scrape time, from whichever app generation is current."""

    providers_enabled: dict[str, bool] = field(default_factory=dict)
    budgets: Sequence[BudgetStatus] = ()
    ledger_recent_entries: int = 0
    ledger_rollups: int = 0
    generation: int = 1
    draining: bool = False


class _StateCollector(Collector):
    def __init__(self) -> None:
        self.source: Callable[[], RouterState] | None = None

    def collect(self) -> Iterable[Metric]:
        # Without a bound source the families are still listed (empty), so dashboards can be checked.
        state = self.source() if self.source is not None else RouterState()
        enabled = GaugeMetricFamily(
            f"{PREFIX}_provider_enabled", "1 when the provider is configured and enabled", labels=["provider"]
        )
        for provider, on in sorted(state.providers_enabled.items()):
            enabled.add_metric([provider], 1.0 if on else 0.0)
        yield enabled
        limit = GaugeMetricFamily(
            f"{PREFIX}_budget_limit_nano_usd", "Budget limit per scope and period", labels=["scope", "period"]
        )
        spent = GaugeMetricFamily(
            f"{PREFIX}_budget_spent_nano_usd", "Spent in the current period", labels=["scope", "period"]
        )
        reserved = GaugeMetricFamily(
            f"{PREFIX}_budget_reserved_nano_usd", "Reserved by in-flight requests", labels=["scope", "period"]
        )
        budget_state = GaugeMetricFamily(
            f"{PREFIX}_budget_state", "0 ok, 1 past the soft threshold, 2 exhausted", labels=["scope", "period"]
        )
        for status in state.budgets:
            labels = [str(status.scope), status.period.value]
            limit.add_metric(labels, float(status.limit_nano_usd))
            spent.add_metric(labels, float(status.spent_nano_usd))
            reserved.add_metric(labels, float(status.reserved_nano_usd))
            budget_state.add_metric(labels, float(BUDGET_STATES[status.state]))
        yield from (limit, spent, reserved, budget_state)
        yield GaugeMetricFamily(
            f"{PREFIX}_ledger_recent_entries", "Raw ledger entries held in the ring", value=state.ledger_recent_entries
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_ledger_rollups", "Aggregate rows held by the ledger", value=state.ledger_rollups
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_config_generation", "Configuration generation in use (1 at start)", value=state.generation
        )
        yield GaugeMetricFamily(f"{PREFIX}_draining", "1 while draining", value=1.0 if state.draining else 0.0)


class RouterMetrics:
    """Every metric family of one router, updated from the event loop (see families.py for why)."""

    def __init__(self, max_tenant_labels: int = 50, tenants: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.tenants = TenantLabels(max_tenant_labels, tenants)
        r, p = self.registry, PREFIX
        self.grpc_requests = LoopCounter(
            f"{p}_grpc_requests", "gRPC calls handled, by method and status code", ["method", "code"], registry=r
        )
        self.grpc_duration = LoopHistogram(
            f"{p}_grpc_request_duration_seconds",
            "gRPC call duration, by method",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.grpc_in_flight = LoopGauge(
            f"{p}_grpc_in_flight_requests", "gRPC calls running now", ["method"], registry=r
        )
        self.requests = LoopCounter(
            f"{p}_requests",
            "Accounted requests, by RPC, answering provider and model, and status",
            ["rpc", "provider", "model", "status"],
            registry=r,
        )
        self.request_duration = LoopHistogram(
            f"{p}_request_duration_seconds",
            "Whole request latency (arrival to last byte), by RPC and answering model",
            ["rpc", "provider", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.time_to_first_token = LoopHistogram(
            f"{p}_time_to_first_token_seconds",
            "Streamed requests: arrival to first text delta",
            ["provider", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.overhead = LoopHistogram(
            f"{p}_router_overhead_seconds",
            "The router's own time per request: total latency minus time spent in provider calls",
            ["rpc"],
            buckets=OVERHEAD_BUCKETS,
            registry=r,
        )
        self.tokens = LoopCounter(
            f"{p}_tokens",
            "Tokens by model, tenant and kind (input, output, cached_input)",
            ["provider", "model", "tenant", "kind"],
            registry=r,
        )
        self.cost = LoopCounter(
            f"{p}_cost_nano_usd", "Spend in nano-USD by model and tenant", ["provider", "model", "tenant"], registry=r
        )
        self.baseline_cost = LoopCounter(
            f"{p}_baseline_cost_nano_usd",
            "What the same tokens would have cost on the baseline model, by tenant",
            ["tenant"],
            registry=r,
        )
        self.decisions = LoopCounter(
            f"{p}_routing_decisions",
            "Routing decisions by strategy, complexity and selected model",
            ["strategy", "complexity", "provider", "model"],
            registry=r,
        )
        self.attempts = LoopCounter(
            f"{p}_provider_attempts",
            "Provider calls by model and outcome (ok or the error kind)",
            ["provider", "model", "outcome"],
            registry=r,
        )
        self.attempt_duration = LoopHistogram(
            f"{p}_provider_attempt_duration_seconds",
            "Duration of one provider call",
            ["provider", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.fallbacks = LoopCounter(
            f"{p}_fallbacks",
            "Failed attempts followed by an attempt on another model, by the failed model and error kind",
            ["provider", "model", "error_kind"],
            registry=r,
        )
        self.retries = LoopCounter(
            f"{p}_retries",
            "Failed attempts followed by another attempt on the same model",
            ["provider", "model", "error_kind"],
            registry=r,
        )
        self.cache_lookups = LoopCounter(
            f"{p}_cache_lookups", "Response cache lookups by result", ["result"], registry=r
        )
        self.cache_stores = LoopCounter(f"{p}_cache_stores", "Answers stored in the response cache", registry=r)
        self.cache_evictions = LoopCounter(
            f"{p}_cache_evictions",
            "Cache entries dropped, by reason (capacity, bytes, expired)",
            ["reason"],
            registry=r,
        )
        self.cache_saved = LoopCounter(
            f"{p}_cache_saved_nano_usd", "Spend avoided by cache hits, by tenant", ["tenant"], registry=r
        )
        self.breaker_state = LoopGauge(
            f"{p}_circuit_breaker_state",
            "Circuit breaker per deployment: 0 closed, 1 half-open, 2 open",
            ["provider", "deployment"],
            registry=r,
        )
        self.breaker_transitions = LoopCounter(
            f"{p}_circuit_breaker_transitions",
            "Breaker state changes, by the state entered",
            ["provider", "deployment", "state"],
            registry=r,
        )
        self.reloads = LoopCounter(
            f"{p}_config_reloads", "Configuration reloads by result (applied, rejected)", ["result"], registry=r
        )
        self._state = _StateCollector()
        r.register(self._state)

    def bind_state(self, source: Callable[[], RouterState]) -> None:
        """Name the function the scrape-time collector reads ledger, budget and provider state from."""
        self._state.source = source

    def names(self) -> set[str]:
        """Every sample name this registry can expose (for dashboards and their tests)."""
        names: set[str] = set()
        for metric in self.registry.collect():
            names.add(metric.name)
            suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}.get(metric.type, ())
            names.update(metric.name + s for s in suffixes)
        return names
