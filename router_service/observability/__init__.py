"""Observability: Prometheus metrics, request logs, OpenTelemetry traces, the admin port and admin RPCs.

Kept import-light on purpose (the config imports the settings from here): the request path imports
`router_service.observability.observer`, the server imports the admin modules it starts.
"""

from router_service.observability.settings import AdminSettings, TracingSettings

__all__ = ["AdminSettings", "TracingSettings"]
