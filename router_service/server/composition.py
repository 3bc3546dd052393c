"""The composition root: the only place that knows every component and wires them together."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from router_service.analyzer import Analyzer
from router_service.catalog import Catalog, ModelEntry, load_catalog
from router_service.config import RouterConfig
from router_service.domain import ModelRef
from router_service.executor import Executor, Target
from router_service.ledger import InMemoryLedger
from router_service.providers.registry import ProviderRegistry, build_registry
from router_service.server.pipeline import RequestPipeline
from router_service.server.servicer import RouterServicer
from router_service.strategy import Planner


@dataclass
class RouterApp:
    config: RouterConfig
    catalog: Catalog
    registry: ProviderRegistry
    pipeline: RequestPipeline
    servicer: RouterServicer

    async def aclose(self) -> None:
        await self.registry.aclose()


def build_app(config: RouterConfig, environ: Mapping[str, str] | None = None) -> RouterApp:
    environ = os.environ if environ is None else environ
    catalog = load_catalog(config.catalog.models, config.catalog.remove)
    registry = build_registry(config, environ)

    def resolve(entry: ModelEntry) -> Target | None:
        adapter = registry.get(entry.ref.provider)
        return Target(entry, adapter, entry.ref.provider) if adapter is not None else None

    def unavailable_reason(ref: ModelRef) -> str:
        if ref.provider in registry.adapters:
            return ""
        return registry.reasons.get(ref.provider, f"provider {ref.provider!r} is not configured")

    baseline = ModelRef.parse(config.routing.baseline_model)
    pipeline = RequestPipeline(
        analyzer=Analyzer(),
        planner=Planner(catalog, config.routing),
        executor=Executor(resolve),
        ledger=InMemoryLedger(recent_entries=config.ledger.recent_entries),
        catalog=catalog,
        unavailable_reason=unavailable_reason,
        baseline=baseline if catalog.get(baseline) is not None else None,
    )
    return RouterApp(config, catalog, registry, pipeline, RouterServicer(pipeline, config))
