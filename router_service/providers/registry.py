"""Decides which providers are enabled (key present, base URL set, demo only) and builds their adapters,
each with its own pooled `httpx.AsyncClient`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from router_service.config import ProviderKind, ProviderSettings, RouterConfig, read_secret
from router_service.providers.base import ProviderAdapter
from router_service.providers.demo import DemoAdapter

log = logging.getLogger(__name__)

# (name, settings, base_url, api_key, client) -> adapter. One entry per wire protocol.
AdapterFactory = Callable[[str, ProviderSettings, str, SecretStr | None, httpx.AsyncClient], ProviderAdapter]


def _factories() -> dict[ProviderKind, AdapterFactory]:
    # Imported here so that a provider module's import cost is paid only by the registry.
    from router_service.providers import adapters

    return adapters.FACTORIES


@dataclass
class ProviderRegistry:
    """The enabled adapters by provider name, and why each configured provider is on or off."""

    adapters: dict[str, ProviderAdapter] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def demo_only(self) -> bool:
        return list(self.adapters) == ["demo"]

    def get(self, name: str) -> ProviderAdapter | None:
        return self.adapters.get(name)

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()


def make_http_client(settings: ProviderSettings, base_url: str) -> httpx.AsyncClient:
    timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
        keepalive_expiry=30.0,
    )
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits, headers=settings.headers)


def build_registry(
    config: RouterConfig,
    environ: Mapping[str, str],
    client_factory: Callable[[ProviderSettings, str], httpx.AsyncClient] = make_http_client,
) -> ProviderRegistry:
    registry = ProviderRegistry()
    factories = _factories()
    for name, settings in config.providers.items():
        if settings.kind == "demo":
            continue
        base_url = (environ.get(settings.base_url_env, "") if settings.base_url_env else "") or (
            settings.base_url or ""
        )
        key = read_secret(settings, environ)
        if settings.enabled is False:
            registry.reasons[name] = "disabled by config"
            continue
        if settings.requires_key and key is None and settings.enabled is None:
            names = " or ".join(settings.api_key_env) or "api_key_file"
            registry.reasons[name] = f"off: no {names}"
            continue
        if not base_url:
            registry.reasons[name] = f"off: no base URL ({settings.base_url_env or 'base_url'})"
            continue
        factory = factories.get(settings.kind)
        if factory is None:
            registry.reasons[name] = f"off: no adapter for kind {settings.kind!r}"
            continue
        registry.adapters[name] = factory(name, settings, base_url, key, client_factory(settings, base_url))
        registry.reasons[name] = "on: key present" if key is not None else "on: base URL set"
    demo = config.demo
    if demo.enabled or (demo.enabled is None and not registry.adapters):
        registry.adapters["demo"] = DemoAdapter(token_delay_s=demo.token_delay_ms / 1000)
        registry.reasons["demo"] = (
            "on: enabled by config" if demo.enabled else "on: demo only (no real provider configured)"
        )
    else:
        registry.reasons["demo"] = "off: real providers configured" if demo.enabled is None else "off: config"
    return registry
