"""The composition root: the only place that knows every component and wires them together."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from router_service.analyzer import Analyzer
from router_service.analyzer.coordinator import AgentCoordinator
from router_service.auth.authenticator import Authenticator
from router_service.cache import RoutingDefaults, build_cache
from router_service.catalog import Catalog, load_catalog
from router_service.config import RouterConfig
from router_service.domain import ModelRef
from router_service.executor import DeploymentPool, Executor
from router_service.ledger import Accountant, InMemoryBudgets, InMemoryLedger, InMemoryRateLimits, Journal
from router_service.observability.observer import Observer, build_observer
from router_service.providers.registry import ProviderRegistry, build_registry
from router_service.server.classifier import CheapestModelClassifier
from router_service.server.pipeline import RequestPipeline
from router_service.server.servicer import RouterServicer
from router_service.strategy import Planner

log = logging.getLogger("llm_router")


@dataclass
class RouterApp:
    config: RouterConfig
    catalog: Catalog
    registry: ProviderRegistry
    pool: DeploymentPool
    pipeline: RequestPipeline
    servicer: RouterServicer
    authenticator: Authenticator
    journal: Journal | None = None
    # Called when the router can no longer keep its promises (e.g. the ledger journal fails).
    unhealthy_listeners: list[Callable[[str], None]] = field(default_factory=list)
    # Metrics, request logs and spans; shared by every configuration generation of one server.
    observer: Observer = field(default_factory=Observer)

    def mark_unhealthy(self, reason: str) -> None:
        for listener in self.unhealthy_listeners:
            listener(reason)

    async def aclose(self) -> None:
        await self.registry.aclose()
        if self.pipeline.cache is not None:
            await self.pipeline.cache.aclose()
        if self.journal is not None:
            self.journal.close()


def build_app(
    config: RouterConfig,
    environ: Mapping[str, str] | None = None,
    *,
    observer: Observer | None = None,
    previous: RouterApp | None = None,
) -> RouterApp:
    """Build the router; with `previous` (a config reload) the ledger, budgets and journal carry over."""
    environ = os.environ if environ is None else environ
    if observer is None:
        observer = previous.observer if previous is not None else build_observer(config.admin, config.tenants)
    catalog = load_catalog(config.catalog.models, config.catalog.remove)
    registry = build_registry(config, environ)

    pool = DeploymentPool(catalog, registry.adapters, config.executor)

    def unavailable_reason(ref: ModelRef) -> str:
        if not pool.deployments(ref):
            return registry.reasons.get(ref.provider, f"provider {ref.provider!r} is not configured")
        return pool.unavailable_reason(ref)

    app_ref: list[RouterApp] = []
    if previous is not None:
        journal, accountant = previous.journal, previous.pipeline.accountant
    else:
        journal = (
            Journal(config.ledger.journal_path, config.ledger.journal_fsync) if config.ledger.journal_path else None
        )
        accountant = Accountant(
            InMemoryLedger(config.ledger.recent_entries, config.ledger.remembered_request_ids),
            InMemoryBudgets(),
            InMemoryRateLimits(),
            journal=journal,
            on_journal_failure=lambda: app_ref[0].mark_unhealthy("the ledger journal cannot be written"),
        )
        entries, ratings = accountant.replay()
        if journal is not None:
            log.info("ledger journal %s replayed: %d entries, %d ratings", journal.path, entries, ratings)
    authenticator = Authenticator(config.auth, config.tenants)
    baseline = ModelRef.parse(config.routing.baseline_model)
    executor = Executor(pool, config.executor, observer=observer)
    def available(ref: ModelRef) -> bool:
        return not unavailable_reason(ref)

    classifier = None
    if config.analyzer.llm.enabled:
        classifier = CheapestModelClassifier(executor, catalog, accountant, available, config.analyzer.llm.timeout_s)
    pipeline = RequestPipeline(
        analyzer=Analyzer(config.analyzer, llm_classifier=classifier),
        coordinator=AgentCoordinator(config.agents),
        planner=Planner(catalog, config.routing),
        executor=executor,
        accountant=accountant,
        catalog=catalog,
        unavailable_reason=unavailable_reason,
        baseline=baseline if catalog.get(baseline) is not None else None,
        tenant_limits=authenticator.tenant_limits,
        cache=build_cache(
            config.cache,
            routing_defaults=RoutingDefaults(config.routing.default_strategy, config.routing.default_user_tier),
        ),
        observer=observer,
    )
    pipeline.uses_llm_classifier = classifier is not None
    app = RouterApp(
        config,
        catalog,
        registry,
        pool,
        pipeline,
        RouterServicer(pipeline, config, authenticator),
        authenticator,
        journal,
        observer=observer,
    )
    if previous is not None:
        # Same listeners (health) and same in-flight request ids across generations.
        app.unhealthy_listeners = previous.unhealthy_listeners
        pipeline.in_flight = previous.pipeline.in_flight
    for warning in pipeline.planner.warnings:
        log.warning("routing: %s", warning)
    app_ref.append(app)
    return app
