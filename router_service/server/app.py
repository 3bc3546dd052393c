"""Serving: the gRPC server with health and reflection, start-up logging, graceful shutdown."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from llmrouter.v1 import router_pb2

from router_service import native
from router_service.auth import TlsSettings
from router_service.config import ConfigError, RouterConfig, load_config
from router_service.executor import Deployment
from router_service.executor.breaker import BreakerState
from router_service.observability.logs import log_event
from router_service.observability.observer import Observer
from router_service.observability.serving import Operations
from router_service.server.composition import RouterApp, build_app

log = logging.getLogger("llm_router")

SERVICE_NAME: str = router_pb2.DESCRIPTOR.services_by_name["RouterService"].full_name


class RunningServer:
    """A started server; `port` is the bound port (useful with port 0 in tests)."""

    def __init__(self, app: RouterApp, server: grpc.aio.Server, health: HealthServicer, port: int) -> None:
        self.app = app
        self.server = server
        self.health = health
        self.port = port
        self._stopped = False
        self.probe_task: asyncio.Task[None] | None = None
        # Admin port, admin RPCs, config generations (router_service/observability/serving.py).
        self.ops: Operations | None = None

    async def stop(self, grace: float | None = None) -> None:
        """Health turns NOT_SERVING, new calls are refused, in-flight calls get `grace` seconds."""
        if self._stopped:
            return
        self._stopped = True
        if self.probe_task is not None:
            self.probe_task.cancel()
        grace = self.app.config.server.grace_period_s if grace is None else grace
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        if self.ops is not None:
            await self.ops.stop()
        await self.app.aclose()


async def start_server(
    config: RouterConfig,
    environ: Mapping[str, str] | None = None,
    *,
    config_path: Path | None = None,
    observer: Observer | None = None,
) -> RunningServer:
    """`config_path` is what a reload reads again; `observer` replaces the one the config describes (tests)."""
    app = build_app(config, environ, observer=observer)
    ops = Operations(
        app,
        lambda: _reload_source(config_path, environ),
        lambda new_config, previous: build_app(new_config, environ, previous=previous),
    )
    transport_limit = config.limits.max_request_bytes * 2 + 65536
    options = [
        ("grpc.max_receive_message_length", transport_limit),
        ("grpc.so_reuseport", 1 if config.server.reuse_port else 0),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    server = grpc.aio.server(options=options)
    health = HealthServicer()
    services = ops.add_services(server, health.enter_graceful_shutdown)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    services.append(health_pb2.DESCRIPTOR.services_by_name["Health"].full_name)
    if config.server.reflection:
        reflection.enable_server_reflection([*services, reflection.SERVICE_NAME], server)
    tls = config.auth.tls
    if tls is not None:
        port = server.add_secure_port(config.server.listen, _server_credentials(tls))
    else:
        port = server.add_insecure_port(config.server.listen)
    if port == 0:
        raise OSError(f"cannot listen on {config.server.listen}")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    for provider in app.registry.adapters:
        await health.set(provider_service(provider), health_pb2.HealthCheckResponse.SERVING)
    app.pool.add_listener(_provider_health(app, health))

    def unhealthy(reason: str) -> None:
        log.error("health NOT_SERVING: %s", reason)
        for name in ("", SERVICE_NAME):
            task = asyncio.get_running_loop().create_task(health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING))
            _background.add(task)
            task.add_done_callback(_background.discard)

    app.unhealthy_listeners.append(unhealthy)
    running = RunningServer(app, server, health, port)
    running.ops = ops
    await ops.start()

    def new_generation(new: RouterApp) -> None:
        new.pool.add_listener(_provider_health(new, health))
        running.app = new

    ops.reloader.on_new_generation.append(new_generation)
    if config.executor.probe_idle_s > 0:
        running.probe_task = asyncio.get_running_loop().create_task(
            _probe_idle(running, config.executor.probe_idle_s)
        )
    return running


def provider_service(provider: str) -> str:
    """The gRPC health service name of one provider: NOT_SERVING while all its deployments are open."""
    return f"{SERVICE_NAME}/provider/{provider}"


def _provider_health(app: RouterApp, health: HealthServicer) -> Callable[[Deployment, BreakerState], None]:
    def changed(deployment: Deployment, state: BreakerState) -> None:
        peers = [d for d in app.pool.all if d.provider == deployment.provider]
        down = all(d.breaker.state is BreakerState.OPEN for d in peers)
        status = health_pb2.HealthCheckResponse.NOT_SERVING if down else health_pb2.HealthCheckResponse.SERVING
        log.log(
            logging.WARNING if state is BreakerState.OPEN else logging.INFO,
            "circuit breaker of %s (%s) is %s",
            deployment.name,
            deployment.model_id,
            state.name,
        )
        task = asyncio.get_running_loop().create_task(health.set(provider_service(deployment.provider), status))
        _background.add(task)
        task.add_done_callback(_background.discard)

    return changed


async def _probe_idle(running: RunningServer, idle_s: float) -> None:
    """Refresh providers that have been idle (or are open) with a probe that spends no tokens."""
    while True:
        await asyncio.sleep(max(idle_s / 2, 1.0))
        app = running.app  # the live configuration generation (a reload swaps it)
        now = time.monotonic()
        by_adapter: dict[int, list[Deployment]] = {}
        for d in app.pool.all:
            if now - d.stats.last_used >= idle_s or d.breaker.current() is not BreakerState.CLOSED:
                by_adapter.setdefault(id(d.adapter), []).append(d)
        for deployments in by_adapter.values():
            try:
                async with asyncio.timeout(10):
                    await deployments[0].adapter.probe()
            except Exception as exc:  # a probe failure is an observation, never a crash
                log.info("probe of %s failed: %s", deployments[0].provider, exc)
                for d in deployments:
                    if d.breaker.current() is BreakerState.CLOSED:
                        d.breaker.record_failure()
                continue
            for d in deployments:
                d.stats.last_used = now
                if d.breaker.current() is BreakerState.HALF_OPEN and d.breaker.acquire():
                    d.breaker.record_success()


_background: set[asyncio.Task[None]] = set()


def _server_credentials(tls: TlsSettings) -> grpc.ServerCredentials:
    try:
        key = tls.key_file.read_bytes()
        cert = tls.cert_file.read_bytes()
        client_ca = tls.client_ca_file.read_bytes() if tls.client_ca_file else None
    except OSError as exc:
        raise OSError(f"cannot read TLS files: {exc}") from exc
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=tls.require_client_cert and bool(client_ca)
    )


def log_startup(running: RunningServer, listen: str) -> None:
    app = running.app
    host = listen.rpartition(":")[0]
    log.info(
        "llm-router listening on %s:%d (health and %s)",
        host,
        running.port,
        "reflection on" if app.config.server.reflection else "reflection off",
    )
    for name, reason in sorted(app.registry.reasons.items()):
        log.info("provider %-10s %s", name, reason)
    if app.registry.demo_only:
        log.warning(
            "only the keyless demo provider is enabled: answers are deterministic demo text. "
            "Set OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GROQ_API_KEY, XAI_API_KEY or "
            "OLLAMA_BASE_URL to route to real models."
        )
    log.info("catalog: %d models; default strategy %s", len(app.catalog), app.config.routing.default_strategy)
    log.info("analysis and planning hot loops: %s", native.DESCRIPTION)
    real = [name for name in app.registry.adapters if name != "demo"]
    if real and not app.authenticator.required and not _is_loopback(host):
        log.warning(
            "SECURITY: the router holds provider keys (%s) and listens on %s without caller keys: anyone who "
            "can reach this port can spend on your accounts. Configure auth.keys (llm-router keys create) "
            "or listen on 127.0.0.1.",
            ", ".join(sorted(real)),
            listen,
        )


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(
    config: RouterConfig, config_path: Path | None = None, environ: Mapping[str, str] | None = None
) -> None:
    running = await start_server(config, environ, config_path=config_path)
    log_startup(running, config.server.listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if running.ops is not None:
        # SIGHUP reloads the configuration file; a bad file is logged and the running config kept.
        loop.add_signal_handler(signal.SIGHUP, running.ops.reload_in_background)
    await stop.wait()
    log.info(
        "shutting down: health NOT_SERVING, refusing new calls, %.1fs grace for in-flight calls",
        config.server.grace_period_s,
    )
    await running.stop()
    log_event("stopped", "stopped")


def _reload_source(config_path: Path | None, environ: Mapping[str, str] | None) -> RouterConfig:
    """What a reload reads: the file the server started with (a server without one has nothing to reload)."""
    if config_path is None:
        raise ConfigError("the router was started without a configuration file: there is nothing to reload")
    return load_config(config_path, environ)
