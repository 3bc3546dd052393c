"""Settings for the admin port, metrics, request logs and traces (the `admin:` section of the config)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TracingSettings(_Strict):
    """OpenTelemetry spans. `none` keeps tracing off at near-zero cost; the OTLP exporters batch in a thread."""

    exporter: Literal["none", "otlp_grpc", "otlp_http"] = "none"
    # e.g. http://otel-collector:4317 (gRPC) or http://otel-collector:4318/v1/traces (HTTP).
    endpoint: str | None = None
    service_name: str = "llm-router"
    # Share of new traces kept; a caller's sampled `traceparent` is always followed (parent-based), so a
    # request can be traced on demand. A recorded span costs ~20 µs of CPU in the Python SDK, an unsampled
    # one ~3 µs: at 0.1 tracing stays a few percent of even the cheapest RPC (Route); raise it at low volume.
    sample_ratio: float = Field(default=0.1, ge=0, le=1)
    insecure: bool = True


class AdminSettings(_Strict):
    """The admin HTTP port (/metrics, /healthz, dashboard), metrics, request logs, traces and admin RPCs."""

    enabled: bool = True
    # Loopback by default: the dashboard shows spend per tenant. In a pod set 0.0.0.0:9464 for scraping.
    listen: str = "127.0.0.1:9464"
    # Prompt previews on the dashboard and prompt/answer text in request logs. Off: never shown or logged.
    show_prompts: bool = False
    # SHA-256 (hex) of the key that guards the admin RPCs and the dashboard (`authorization: Bearer <key>`;
    # browsers: HTTP Basic with the key as password). None: admin RPCs need an admin caller key, or come
    # from loopback when no caller key is configured; the dashboard is open to whoever reaches the port.
    admin_key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    metrics: bool = True
    # One JSON (or text) line per request at INFO on the `llm_router.requests` logger.
    request_logs: bool = True
    # Distinct tenant label values kept in metrics; the rest are folded into "other" (bounded cardinality).
    max_tenant_labels: int = Field(default=50, ge=1, le=10_000)
    tracing: TracingSettings = TracingSettings()

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:9464")
        return value
