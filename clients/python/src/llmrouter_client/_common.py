"""What the sync and asyncio clients share: options, metadata, request building, stream state."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from llmrouter.v1 import router_pb2 as pb

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_ATTEMPTS = 3
SERVICE = "llmrouter.v1.RouterService"

Prompt = str | Sequence[pb.Message]
"""A user message as text, or a whole conversation."""
Metadata = Sequence[tuple[str, str]]


def service_config(max_attempts: int) -> str:
    """gRPC service config retrying UNAVAILABLE up to max_attempts tries (gRPC caps it at 5).

    gRPC retries a call only before any response message has arrived, so a StreamComplete is never retried
    after its first event and no text is ever repeated.
    """
    method: dict[str, Any] = {"name": [{"service": SERVICE}]}
    if max_attempts > 1:
        method["retryPolicy"] = {
            "maxAttempts": min(max_attempts, 5),
            "initialBackoff": "0.1s",
            "maxBackoff": "2s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        }
    return json.dumps({"methodConfig": [method]})


def channel_options(max_attempts: int, extra: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [
        ("grpc.enable_retries", 1 if max_attempts > 1 else 0),
        ("grpc.service_config", service_config(max_attempts)),
    ]
    return options + list(extra)


def call_metadata(tenant: str | None, api_key: str | None, extra: Metadata) -> tuple[tuple[str, str], ...]:
    md: list[tuple[str, str]] = []
    if tenant:
        md.append(("x-tenant-id", tenant))
    if api_key:
        md.append(("authorization", f"Bearer {api_key}"))
    md.extend(extra)
    return tuple(md)


def user(text: str) -> pb.Message:
    """A user message."""
    return pb.Message(role=pb.ROLE_USER, content=text)


def system(text: str) -> pb.Message:
    """A system message (instructions for the model)."""
    return pb.Message(role=pb.ROLE_SYSTEM, content=text)


def assistant(text: str) -> pb.Message:
    """An earlier model answer."""
    return pb.Message(role=pb.ROLE_ASSISTANT, content=text)


def model_ref(name: str) -> pb.ModelRef:
    """"provider/model" (or "provider" for any model of it) as a ModelRef."""
    provider, _, model = name.partition("/")
    return pb.ModelRef(provider=provider, model=model)


def _messages(prompt: Prompt) -> list[pb.Message]:
    return [user(prompt)] if isinstance(prompt, str) else list(prompt)


def _preferences(
    preferences: pb.RoutingPreferences | None, model: str | None, strategy: pb.Strategy.ValueType | None
) -> pb.RoutingPreferences | None:
    if model is None and strategy is None:
        return preferences
    prefs = pb.RoutingPreferences()
    if preferences is not None:
        prefs.CopyFrom(preferences)
    if model is not None:
        prefs.force_model.CopyFrom(model_ref(model))
    if strategy is not None:
        prefs.strategy = strategy
    return prefs


def route_request(
    prompt: Prompt | pb.RouteRequest,
    *,
    model: str | None,
    strategy: pb.Strategy.ValueType | None,
    preferences: pb.RoutingPreferences | None,
    params: pb.GenerationParams | None,
    request_id: str | None,
) -> pb.RouteRequest:
    request = pb.RouteRequest()
    if isinstance(prompt, pb.RouteRequest):
        request.CopyFrom(prompt)
    else:
        request.messages.extend(_messages(prompt))
    if preferences is None and request.HasField("preferences"):
        preferences = request.preferences
    prefs = _preferences(preferences, model, strategy)
    if prefs is not None:
        request.preferences.CopyFrom(prefs)
    if params is not None:
        request.params.CopyFrom(params)
    if request_id is not None:
        request.request_id = request_id
    return request


def complete_request(
    prompt: Prompt | pb.CompleteRequest,
    *,
    model: str | None,
    strategy: pb.Strategy.ValueType | None,
    preferences: pb.RoutingPreferences | None,
    params: pb.GenerationParams | None,
    request_id: str | None,
    cache: pb.CacheControl | None,
) -> pb.CompleteRequest:
    request = pb.CompleteRequest()
    if isinstance(prompt, pb.CompleteRequest):
        request.CopyFrom(prompt)
    else:
        request.messages.extend(_messages(prompt))
    if preferences is None and request.HasField("preferences"):
        preferences = request.preferences
    prefs = _preferences(preferences, model, strategy)
    if prefs is not None:
        request.preferences.CopyFrom(prefs)
    if params is not None:
        request.params.CopyFrom(params)
    if request_id is not None:
        request.request_id = request_id
    if cache is not None:
        request.cache.CopyFrom(cache)
    return request


def cost_report_request(
    request: pb.CostReportRequest | None,
    *,
    group_by: Sequence[pb.GroupBy.ValueType],
    tenants: Sequence[str],
    providers: Sequence[str],
    models: Sequence[str],
    start: datetime | None,
    end: datetime | None,
) -> pb.CostReportRequest:
    out = pb.CostReportRequest()
    if request is not None:
        out.CopyFrom(request)
    out.group_by.extend(group_by)
    out.tenants.extend(tenants)
    out.providers.extend(providers)
    out.models.extend(models)
    if start is not None:
        out.start_time.FromDatetime(start)
    if end is not None:
        out.end_time.FromDatetime(end)
    return out


class StreamState:
    """What a StreamComplete has delivered so far; shared by the sync and asyncio streams."""

    def __init__(self) -> None:
        self.request_id = ""
        self.decision: pb.RouteDecision | None = None
        self.summary: pb.CompletionSummary | None = None
        self.model: pb.ModelRef | None = None
        self.text = ""
        self.done = False

    def take(self, event: pb.StreamCompleteResponse) -> str | None:
        """Records an event; returns the text of a delta, None for the other events."""
        self.request_id = event.request_id
        kind = event.WhichOneof("event")
        if kind == "decision":
            self.decision = event.decision
        elif kind == "delta":
            if self.model is None and event.delta.HasField("model"):
                self.model = event.delta.model
            self.text += event.delta.text
            return event.delta.text
        elif kind == "summary":
            self.summary = event.summary
        return None

    @property
    def usage(self) -> pb.Usage | None:
        return self.summary.usage if self.summary is not None else None

    @property
    def cost_nano_usd(self) -> int | None:
        return self.summary.cost_nano_usd if self.summary is not None else None
