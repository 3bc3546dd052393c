"""Configuration: one YAML file validated by pydantic at start, plus environment variables.

Secrets never live in the YAML itself: a provider names the environment variable (or a file) its key
comes from. A bad file stops start-up with the file, the field and the reason (`ConfigError`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from router_service.analyzer.settings import AgentsSettings, AnalyzerSettings
from router_service.auth.settings import AuthSettings
from router_service.cache.settings import CacheSettings
from router_service.executor.settings import ExecutorSettings
from router_service.ledger.limits import TenantSettings
from router_service.observability.settings import AdminSettings
from router_service.strategy import settings as _routing

ProviderKind = Literal["openai", "anthropic", "gemini", "ollama", "demo"]


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderSettings(_Strict):
    """One provider endpoint. `kind` is the wire protocol it speaks."""

    kind: ProviderKind
    base_url: str | None = None
    # Environment variables tried in order for the key; the first non-empty one wins.
    api_key_env: tuple[str, ...] = ()
    # A file holding the key (for Kubernetes secrets mounted as files).
    api_key_file: Path | None = None
    # Environment variable that overrides base_url (e.g. OPENAI_BASE_URL).
    base_url_env: str | None = None
    # None: enabled when a key (or, for keyless kinds, a base URL) is present. True/False forces it.
    enabled: bool | None = None
    requires_key: bool = True
    timeout_s: float = Field(default=120.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=200, ge=1)
    # Extra non-secret headers sent with every request (e.g. an OpenAI-Organization id).
    headers: dict[str, str] = Field(default_factory=dict)
    # Provider-specific switches, read only by that provider's adapter (e.g. {"stream_usage": false}).
    quirks: dict[str, Any] = Field(default_factory=dict)


def default_providers() -> dict[str, ProviderSettings]:
    """The providers users expect to enable with nothing but an environment variable."""
    return {
        "openai": ProviderSettings(
            kind="openai",
            base_url="https://api.openai.com/v1",
            api_key_env=("OPENAI_API_KEY",),
            base_url_env="OPENAI_BASE_URL",
        ),
        "anthropic": ProviderSettings(
            kind="anthropic",
            base_url="https://api.anthropic.com",
            api_key_env=("ANTHROPIC_API_KEY",),
            base_url_env="ANTHROPIC_BASE_URL",
        ),
        "gemini": ProviderSettings(
            kind="gemini",
            base_url="https://generativelanguage.googleapis.com",
            api_key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
            base_url_env="GEMINI_BASE_URL",
        ),
        "groq": ProviderSettings(
            kind="openai",
            base_url="https://api.groq.com/openai/v1",
            api_key_env=("GROQ_API_KEY",),
            base_url_env="GROQ_BASE_URL",
        ),
        "xai": ProviderSettings(
            kind="openai",
            base_url="https://api.x.ai/v1",
            api_key_env=("XAI_API_KEY",),
            base_url_env="XAI_BASE_URL",
        ),
        "ollama": ProviderSettings(
            kind="ollama",
            base_url=None,
            base_url_env="OLLAMA_BASE_URL",
            requires_key=False,
        ),
    }


class DemoSettings(_Strict):
    # None: demo serves only while no real provider is enabled. True: always on. False: never.
    enabled: bool | None = None
    token_delay_ms: float = Field(default=5.0, ge=0, le=1000)


class RoutingSettings(_Strict):
    default_strategy: Literal[
        "cost_optimized", "quality_optimized", "balanced", "weighted", "cheapest_first", "rules"
    ] = "balanced"
    # The premium model savings are measured against ("provider/model").
    baseline_model: str = "anthropic/claude-opus-4-6"
    max_fallbacks: int = Field(default=3, ge=0, le=20)
    # The strategy router's policy; the types and defaults live in router_service/strategy/settings.py.
    default_user_tier: str = "enterprise"
    user_tiers: dict[str, _routing.UserTierPolicy] = Field(default_factory=_routing.default_user_tiers)
    complexity: dict[str, _routing.ComplexityPolicy] = Field(default_factory=_routing.default_complexity_policies)
    rules: dict[str, list[str]] = Field(default_factory=_routing.default_rules)
    balanced_weights: _routing.WeightSettings = _routing.WeightSettings(quality=1.0, cost=1.0, latency=0.25)
    weighted_weights: _routing.WeightSettings = _routing.WeightSettings()
    experiment: _routing.ExperimentSettings | None = None
    learning: _routing.LearningSettings = _routing.LearningSettings()
    # Prompt tokens are estimated, so a model is planned only when the estimate plus this share fits.
    context_margin: float = Field(default=0.05, ge=0, le=1)
    # Interleave providers in the fallback chain so one provider's outage cannot take every fallback.
    diverse_fallbacks: bool = True

    _merge_user_tiers = field_validator("user_tiers", mode="before")(_routing.merge_user_tiers)
    _merge_complexity = field_validator("complexity", mode="before")(_routing.merge_complexity)
    _merge_rules = field_validator("rules", mode="before")(_routing.merge_rules)
    _check_rules = field_validator("rules")(_routing.check_rules)

    @model_validator(mode="after")
    def _check_routing(self) -> RoutingSettings:
        _routing.check_routing(self.default_user_tier, self.user_tiers)
        return self


class LimitsSettings(_Strict):
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_messages: int = Field(default=1000, ge=1)
    # Deadline applied when the caller sets none.
    default_timeout_s: float = Field(default=120.0, gt=0)


class ServerSettings(_Strict):
    listen: str = "0.0.0.0:50051"
    grace_period_s: float = Field(default=30.0, ge=0)
    reflection: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "text"
    # Let several processes share the port (SO_REUSEPORT), the standard way past the GIL.
    reuse_port: bool = True

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("must be HOST:PORT, e.g. 0.0.0.0:50051")
        return value


class LedgerSettings(_Strict):
    # Raw entries kept in memory (a ring); aggregates are kept separately as rollups.
    # (The dashboard's "recent requests"; the ledger's totals never depend on it.)
    recent_entries: int = Field(default=2_000, ge=0)
    # How many recent request ids are remembered, so a retry with the same id is never charged twice
    # and feedback can find its request (about 150 bytes each).
    remembered_request_ids: int = Field(default=200_000, ge=1000)
    # Append-only journal replayed at start, so a restart loses no accounting. None: memory only.
    journal_path: Path | None = None
    # fsync after every entry (survives power loss, not only a process crash); slower.
    journal_fsync: bool = False


class CatalogSettings(_Strict):
    # Extra or overriding entries, in the same shape as the built-in catalog's `models` list.
    models: list[dict[str, Any]] = Field(default_factory=list)
    # "provider/model" ids to remove from the built-in catalog.
    remove: list[str] = Field(default_factory=list)


class RouterConfig(_Strict):
    server: ServerSettings = ServerSettings()
    providers: dict[str, ProviderSettings] = Field(default_factory=default_providers)
    demo: DemoSettings = DemoSettings()
    routing: RoutingSettings = RoutingSettings()
    limits: LimitsSettings = LimitsSettings()
    ledger: LedgerSettings = LedgerSettings()
    catalog: CatalogSettings = CatalogSettings()
    auth: AuthSettings = AuthSettings()
    executor: ExecutorSettings = ExecutorSettings()
    analyzer: AnalyzerSettings = AnalyzerSettings()
    agents: AgentsSettings = AgentsSettings()
    tenants: dict[str, TenantSettings] = Field(default_factory=dict)
    cache: CacheSettings = CacheSettings()
    admin: AdminSettings = AdminSettings()

    @field_validator("providers", mode="before")
    @classmethod
    def _merge_default_providers(cls, value: Any) -> Any:
        # A file that configures one provider keeps the built-in ones; `null` removes a built-in one.
        if not isinstance(value, Mapping):
            return value
        merged: dict[str, Any] = {k: v.model_dump() for k, v in default_providers().items()}
        for name, settings in value.items():
            if settings is None:
                merged.pop(name, None)
            elif name in merged and isinstance(settings, Mapping):
                merged[name] = {**merged[name], **settings}
            else:
                merged[name] = settings
        return merged


def _format_error(path: Path | None, error: ValidationError) -> str:
    where = str(path) if path else "configuration"
    lines = [f"{where}: invalid configuration"]
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        lines.append(f"  {field}: {item['msg']}")
    return "\n".join(lines)


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> RouterConfig:
    """Load and validate the YAML file (or the defaults when `path` is None), then apply env overrides."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from exc
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
            raise ConfigError(f"{path}:{line} not valid YAML: {getattr(exc, 'problem', exc)}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        data = loaded or {}
    listen = environ.get("LLM_ROUTER_LISTEN")
    if listen:
        data.setdefault("server", {})
        data["server"] = {**data["server"], "listen": listen}
    strategy = environ.get("ROUTING_STRATEGY")
    if strategy:
        data["routing"] = {**data.get("routing", {}), "default_strategy": strategy.lower()}
    try:
        return RouterConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(path, exc)) from exc


def read_secret(settings: ProviderSettings, environ: Mapping[str, str]) -> SecretStr | None:
    """The provider's key from its environment variables or key file; never logged."""
    for name in settings.api_key_env:
        value = environ.get(name, "").strip()
        if value:
            return SecretStr(value)
    if settings.api_key_file is not None:
        try:
            value = settings.api_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read key file {settings.api_key_file}: {exc.strerror}") from exc
        if value:
            return SecretStr(value)
    return None
