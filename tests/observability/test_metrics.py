"""Metric families, label bounds and what one accounted request adds (the Observer called directly)."""

from __future__ import annotations

import time

from prometheus_client import generate_latest

from router_service.domain import Complexity, ErrorKind, ModelRef
from router_service.ledger import RequestStatus
from router_service.observability.metrics import OTHER_TENANT, RouterMetrics, TenantLabels
from router_service.observability.observer import NULL_SPAN, LiveObserver, Observer, build_observer
from router_service.observability.settings import AdminSettings
from tests.observability.factories import CHEAP, PREMIUM, attempt, entry


def sample(observer: Observer, name: str, **labels: str) -> float:
    assert observer.metrics is not None
    value = observer.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def live(**settings: object) -> LiveObserver:
    observer = build_observer(AdminSettings.model_validate(settings))
    assert isinstance(observer, LiveObserver)
    return observer


def test_tenant_labels_are_capped_and_the_rest_folded_into_other() -> None:
    labels = TenantLabels(2, preset=["configured"])
    assert labels.label("configured") == "configured"
    assert labels.label("a") == "a"
    assert labels.label("b") == OTHER_TENANT
    assert labels.label("a") == "a"


def test_each_router_has_its_own_registry() -> None:
    one, two = RouterMetrics(), RouterMetrics()
    one.requests.inc(("Complete", "demo", "m", "ok"))
    assert (
        two.registry.get_sample_value(
            "llm_router_requests_total", {"rpc": "Complete", "provider": "demo", "model": "m", "status": "ok"}
        )
        is None
    )


def test_names_follow_prometheus_conventions() -> None:
    names = RouterMetrics().names()
    counters = {n for n in names if n.endswith("_total")}
    assert "llm_router_requests_total" in counters
    assert "llm_router_cost_nano_usd_total" in counters
    assert "llm_router_request_duration_seconds_bucket" in names
    assert "llm_router_time_to_first_token_seconds_bucket" in names
    assert "llm_router_circuit_breaker_state" in names
    assert "llm_router_budget_spent_nano_usd" in names
    assert all(n.startswith("llm_router_") for n in names)


def test_accounted_request_counts_tokens_cost_latency_and_attempts() -> None:
    observer = live()
    observer.request_accounted(entry(), time_to_first_token_s=0.03)
    labels = {"provider": CHEAP.provider, "model": CHEAP.model}
    assert sample(observer, "llm_router_requests_total", rpc="Complete", status="ok", **labels) == 1
    assert sample(observer, "llm_router_tokens_total", tenant="acme", kind="input", **labels) == 10
    assert sample(observer, "llm_router_tokens_total", tenant="acme", kind="output", **labels) == 20
    assert sample(observer, "llm_router_tokens_total", tenant="acme", kind="cached_input", **labels) == 5
    assert sample(observer, "llm_router_cost_nano_usd_total", tenant="acme", **labels) == 1234
    assert sample(observer, "llm_router_baseline_cost_nano_usd_total", tenant="acme") == 50_000
    assert sample(observer, "llm_router_request_duration_seconds_count", rpc="Complete", **labels) == 1
    assert sample(observer, "llm_router_time_to_first_token_seconds_count", **labels) == 1
    assert sample(observer, "llm_router_provider_attempts_total", outcome="ok", **labels) == 1
    # Router overhead = total latency minus the provider call.
    assert abs(sample(observer, "llm_router_router_overhead_seconds_sum", rpc="Complete") - 0.15) < 1e-9


def test_fallbacks_and_retries_are_told_apart() -> None:
    observer = live()
    attempts = (
        attempt(CHEAP, ErrorKind.RATE_LIMITED),
        attempt(CHEAP, ErrorKind.OVERLOADED),
        attempt(PREMIUM),
    )
    observer.request_accounted(entry(attempts=attempts))
    cheap = {"provider": CHEAP.provider, "model": CHEAP.model}
    assert sample(observer, "llm_router_retries_total", error_kind="rate_limited", **cheap) == 1
    assert sample(observer, "llm_router_fallbacks_total", error_kind="overloaded", **cheap) == 1
    assert sample(observer, "llm_router_provider_attempts_total", outcome="rate_limited", **cheap) == 1
    assert observer.provider_health()["demo"].errors == 2


def test_tenant_cardinality_is_bounded_in_series() -> None:
    observer = live(max_tenant_labels=3)
    for i in range(50):
        observer.request_accounted(entry(request_id=f"r{i}", tenant=f"tenant-{i}"))
    assert observer.metrics is not None
    text = generate_latest(observer.metrics.registry).decode()
    tenants = {line.split('tenant="')[1].split('"')[0] for line in text.splitlines() if 'tenant="' in line}
    assert tenants == {"tenant-0", "tenant-1", "tenant-2", OTHER_TENANT}
    assert '"r49"' not in text  # request ids never become label values


def test_routing_cache_and_breaker_hooks() -> None:
    observer = live()
    observer.routed("balanced", Complexity.EXPERT, ModelRef("anthropic", "claude"))
    observer.routed("balanced", None, ModelRef("anthropic", "claude"))
    observer.cache_result("hit")
    observer.cache_result("miss")
    observer.cache_stored()
    observer.cache_evicted("capacity", 3)
    observer.breaker_state("openai", "openai-east", "open")
    labels = {"strategy": "balanced", "provider": "anthropic", "model": "claude"}
    assert sample(observer, "llm_router_routing_decisions_total", complexity="expert", **labels) == 1
    assert sample(observer, "llm_router_routing_decisions_total", complexity="unknown", **labels) == 1
    assert sample(observer, "llm_router_cache_lookups_total", result="hit") == 1
    assert sample(observer, "llm_router_cache_stores_total") == 1
    assert sample(observer, "llm_router_cache_evictions_total", reason="capacity") == 3
    assert sample(observer, "llm_router_circuit_breaker_state", provider="openai", deployment="openai-east") == 2
    assert observer.breaker_states() == {("openai", "openai-east"): "open"}


def test_failed_and_cancelled_requests_are_labelled_by_status() -> None:
    observer = live()
    observer.request_accounted(entry("a", status=RequestStatus.FAILED, attempts=(attempt(CHEAP, ErrorKind.TIMEOUT),)))
    observer.request_accounted(entry("b", status=RequestStatus.CANCELLED))
    labels = {"rpc": "Complete", "provider": CHEAP.provider, "model": CHEAP.model}
    assert sample(observer, "llm_router_requests_total", status="failed", **labels) == 1
    assert sample(observer, "llm_router_requests_total", status="cancelled", **labels) == 1


def test_noop_observer_costs_next_to_nothing() -> None:
    observer = Observer()
    assert observer.span("analyze", a=1) is NULL_SPAN
    one = entry()
    n = 20_000
    started = time.perf_counter()
    for _ in range(n):
        with observer.span("plan") as span:
            span.set_attribute("k", 1)
        observer.routed("balanced", None, CHEAP)
        observer.request_accounted(one)
    per_call = (time.perf_counter() - started) / n
    # Four hooks per iteration; generous bound for a loaded CI machine (typically ~0.5 µs).
    assert per_call < 20e-6


def test_metrics_off_keeps_logs_and_spans_usable() -> None:
    observer = live(metrics=False)
    assert observer.metrics is None
    observer.request_accounted(entry())
    observer.routed("balanced", None, CHEAP)
    observer.breaker_state("demo", "demo", "closed")
