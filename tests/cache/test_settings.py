"""The `cache` section of the configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from router_service.cache import CacheSettings
from router_service.config import ConfigError, RouterConfig, load_config


def test_defaults_off_then_exact_in_process_semantic_off() -> None:
    settings = RouterConfig().cache
    assert settings == CacheSettings()
    assert not settings.enabled and settings.backend == "memory" and not settings.semantic.enabled
    assert not settings.shared_across_tenants


def test_cache_section_loads_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "router.yaml"
    path.write_text(
        "cache:\n"
        "  backend: redis\n"
        "  ttl_s: 600\n"
        "  shared_across_tenants: true\n"
        "  exclude_models: ['ollama/*']\n"
        "  redis: {url: 'redis://cache:6379/1', password_env: REDIS_PASSWORD}\n"
        "  semantic: {enabled: true, threshold: 0.7}\n",
        encoding="utf-8",
    )
    cache = load_config(path, environ={}).cache
    assert cache.backend == "redis" and cache.ttl_s == 600 and cache.shared_across_tenants
    assert cache.exclude_models == ("ollama/*",)
    assert cache.redis.url == "redis://cache:6379/1" and cache.redis.password_env == "REDIS_PASSWORD"
    assert cache.semantic.enabled and cache.semantic.threshold == 0.7


def test_bad_cache_section_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "router.yaml"
    path.write_text("cache:\n  semantic: {threshold: 2}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cache\.semantic\.threshold"):
        load_config(path, environ={})


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="provider/model"):
        CacheSettings(exclude_models=("gpt-5",))
    with pytest.raises(ValueError, match="max_entry_bytes"):
        CacheSettings(max_bytes=100_000, max_entry_bytes=200_000)
    with pytest.raises(ValueError, match="redis://"):
        CacheSettings.model_validate({"redis": {"url": "http://localhost"}})
    with pytest.raises(ValueError, match="extra"):
        CacheSettings.model_validate({"sematic": {}})
