"""What observability and operations add to a running server, in one object the server starts and stops:
the generation holder and the forwarding RouterService handlers, the AdminService, config reload (RPC
and SIGHUP), and the admin HTTP port."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

import grpc
from llmrouter.v1 import admin_pb2, admin_pb2_grpc, router_pb2, router_pb2_grpc

from router_service.config import RouterConfig
from router_service.executor import Deployment
from router_service.executor.breaker import BreakerState
from router_service.ledger import Scope
from router_service.observability.admin import ADMIN_SERVICE_NAME, AdminServicer
from router_service.observability.admin_http import AdminHttpServer
from router_service.observability.dashboard import DashboardRoutes
from router_service.observability.generations import AppHolder, Generation, forwarding_servicer
from router_service.observability.logs import log_event
from router_service.observability.metrics import RouterState
from router_service.observability.reload import Reloader, ReloadRejected

if TYPE_CHECKING:
    from router_service.server.composition import RouterApp

log = logging.getLogger(__name__)
BuildApp = Callable[[RouterConfig, "RouterApp"], "RouterApp"]


class Operations:
    def __init__(self, app: RouterApp, load_config: Callable[[], RouterConfig], build: BuildApp) -> None:
        self.observer = app.observer
        self.holder = AppHolder(app)
        self.reloader = Reloader(self.holder, load_config, build, self.observer)
        self.admin_http: AdminHttpServer | None = None
        self._started_at = time.time()
        self._tasks: set[asyncio.Task[None]] = set()
        if self.observer.metrics is not None:
            self.observer.metrics.bind_state(self.state)
        self._watch_breakers(app)
        self.reloader.on_new_generation.append(self._watch_breakers)

    def _watch_breakers(self, app: RouterApp) -> None:
        """Breaker transitions of the executor's deployments feed the metrics and the dashboard."""
        observer = self.observer

        def changed(deployment: Deployment, state: BreakerState) -> None:
            observer.breaker_state(deployment.provider, f"{deployment.name}/{deployment.model_id}", state.name.lower())

        app.pool.add_listener(changed)

    @property
    def admin_port(self) -> int:
        return self.admin_http.port if self.admin_http is not None else 0

    def add_services(self, server: grpc.aio.Server, stop_serving: Callable[[], Awaitable[None]]) -> list[str]:
        """Register RouterService (forwarded to the current generation) and AdminService; returns their names."""
        router = router_pb2.DESCRIPTOR.services_by_name["RouterService"]

        def current_servicer(generation: Generation | None) -> object:
            assert generation is not None
            return generation.app.servicer

        # The forwarder has every RouterService method, as the generated registration expects.
        forwarder = forwarding_servicer(router, current_servicer, self.observer, self.holder)
        router_pb2_grpc.add_RouterServiceServicer_to_server(
            cast(router_pb2_grpc.RouterServiceServicer, forwarder), server
        )
        admin = AdminServicer(self.holder, self.reloader, stop_serving)
        admin_forwarder = forwarding_servicer(
            admin_pb2.DESCRIPTOR.services_by_name["AdminService"], lambda _: admin, self.observer, None
        )
        admin_pb2_grpc.add_AdminServiceServicer_to_server(
            cast(admin_pb2_grpc.AdminServiceServicer, admin_forwarder), server
        )
        return [router.full_name, ADMIN_SERVICE_NAME]

    async def start(self) -> None:
        """Start the admin port. A port that cannot be bound is logged, not fatal: the router serves anyway."""
        settings = self.holder.app.config.admin
        if not settings.enabled:
            return
        routes = DashboardRoutes(self.holder, self.observer, self._started_at).routes()
        server = AdminHttpServer(routes, lambda: self.holder.app.config.admin.admin_key_sha256)
        host, _, port = settings.listen.rpartition(":")
        try:
            await server.start(host, int(port))
        except OSError as exc:
            log.error("admin port %s unavailable, metrics and dashboard are off: %s", settings.listen, exc)
            return
        self.admin_http = server
        log_event(
            "admin_listening", f"admin port on http://{host}:{server.port}/ (metrics, dashboard)", port=server.port
        )

    def reload_in_background(self) -> None:
        """SIGHUP: reload and log the outcome (a rejected file keeps the running config)."""

        async def run() -> None:
            try:
                await self.reloader.reload()
            except ReloadRejected:
                return  # the reloader logged the reason; the running config stays
            except Exception:
                log.exception("configuration reload failed")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def state(self) -> RouterState:
        """Scrape-time state of the current generation (read by the metrics collector)."""
        app = self.holder.app
        registry = app.registry
        scopes = []
        for tenant in app.config.tenants:
            limits = app.authenticator.tenant_limits(tenant)
            if limits is not None:
                scopes.append((Scope("tenant", tenant), limits))
        scopes += [(Scope("key", key.id), key.limits) for key in app.config.auth.keys]
        ledger = app.pipeline.ledger
        return RouterState(
            providers_enabled={name: name in registry.adapters for name in {*registry.reasons, *registry.adapters}},
            budgets=app.pipeline.accountant.budget_status(scopes),
            ledger_recent_entries=len(ledger.recent(1 << 30)),
            ledger_rollups=ledger.rollups,
            generation=self.holder.current.number,
            draining=self.holder.draining,
        )

    async def stop(self) -> None:
        if self.admin_http is not None:
            await self.admin_http.close()
        for task in list(self._tasks):
            task.cancel()
        await self.holder.aclose()
        self.observer.shutdown()
