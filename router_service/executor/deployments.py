"""Deployments: the concrete endpoints that serve a catalog model, with their live state, and the
balancing policy that orders them. A model fails over between its deployments before the next model."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from router_service.catalog import Catalog
from router_service.domain import ModelRef
from router_service.executor.breaker import BreakerState, CircuitBreaker
from router_service.executor.limits import ConcurrencyLimit
from router_service.executor.settings import DeploymentSpec, ExecutorSettings
from router_service.executor.stats import RollingStats
from router_service.providers.base import ProviderAdapter


@dataclass(eq=False)
class Deployment:
    name: str
    # The configured provider endpoint (key of the registry's adapters).
    provider: str
    # The model id this endpoint expects.
    model_id: str
    adapter: ProviderAdapter
    weight: float
    timeout_s: float | None
    limit: ConcurrencyLimit
    breaker: CircuitBreaker
    stats: RollingStats = field(default_factory=RollingStats)


BreakerListener = Callable[[Deployment, BreakerState], None]


class DeploymentPool:
    def __init__(
        self,
        catalog: Catalog,
        adapters: Mapping[str, ProviderAdapter],
        settings: ExecutorSettings,
        clock: Callable[[], float] = time.monotonic,
        on_breaker_change: BreakerListener | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._rng = random.Random(settings.seed)
        self._listeners: list[BreakerListener] = [on_breaker_change] if on_breaker_change else []
        self._by_model: dict[ModelRef, list[Deployment]] = {}
        self._missing: dict[ModelRef, str] = {}
        shared: dict[tuple[str, str], Deployment] = {}
        for entry in catalog.entries:
            specs = settings.deployments.get(str(entry.ref)) or [DeploymentSpec(provider=entry.ref.provider)]
            deployments = []
            for spec in specs:
                adapter = adapters.get(spec.provider)
                if adapter is None:
                    continue
                model_id = spec.model or entry.ref.model
                key = (spec.provider, model_id)
                if key not in shared:
                    shared[key] = self._make(spec, model_id, adapter)
                deployments.append(shared[key])
            if deployments:
                self._by_model[entry.ref] = deployments
            else:
                self._missing[entry.ref] = ", ".join(s.provider for s in specs)
        self.all: list[Deployment] = list(shared.values())
        # Bumped whenever a deployment's availability may have changed (breaker change, cool-down), so
        # callers can cache what is available between changes.
        self.version = 0

    def add_listener(self, listener: BreakerListener) -> None:
        self._listeners.append(listener)

    def _make(self, spec: DeploymentSpec, model_id: str, adapter: ProviderAdapter) -> Deployment:
        s = self._settings
        name = spec.name or spec.provider
        holder: list[Deployment] = []

        def changed(state: BreakerState) -> None:
            self.version += 1
            for listener in self._listeners:
                listener(holder[0], state)

        deployment = Deployment(
            name=name,
            provider=spec.provider,
            model_id=model_id,
            adapter=adapter,
            weight=spec.weight,
            timeout_s=spec.timeout_s or s.timeout_s,
            limit=ConcurrencyLimit(
                spec.max_concurrency or s.max_concurrency, spec.max_queue if spec.max_queue is not None else s.max_queue
            ),
            breaker=CircuitBreaker(s.breaker, self._clock, changed),
            stats=RollingStats(s.stats_window),
        )
        holder.append(deployment)
        return deployment

    def deployments(self, ref: ModelRef) -> list[Deployment]:
        return self._by_model.get(ref, [])

    def available(self, ref: ModelRef) -> bool:
        return any(d.breaker.allows() for d in self._by_model.get(ref, ()))

    def unavailable_reason(self, ref: ModelRef) -> str:
        deployments = self._by_model.get(ref)
        if not deployments:
            return ""  # the registry explains why its provider is off
        if any(d.breaker.allows() for d in deployments):
            return ""
        return "every deployment's circuit breaker is open or cooling down"

    def ordered(self, ref: ModelRef) -> list[Deployment]:
        """The model's deployments in the order to try them (open breakers last)."""
        deployments = self._by_model.get(ref, [])
        if len(deployments) <= 1:
            return list(deployments)
        policy = self._settings.balancing
        if policy == "weighted":
            # Efraimidis-Spirakis: a weighted random permutation in one sort.
            keyed = [(-math.log(1.0 - self._rng.random()) / d.weight, i) for i, d in enumerate(deployments)]
            order = [deployments[i] for _, i in sorted(keyed)]
        elif policy == "lowest_latency":
            # Unmeasured deployments first, so every deployment gets observed.
            order = sorted(deployments, key=lambda d: (d.stats.latency(0.5) or 0.0) / d.weight)
        else:
            order = sorted(deployments, key=lambda d: ((d.limit.in_flight + d.limit.waiting) / d.weight, -d.weight))
        return sorted(order, key=lambda d: not d.breaker.allows())
