"""Anthropic Messages: `POST {base}/v1/messages` with `x-api-key` and `anthropic-version: 2023-06-01`.

System prompts go to the top-level `system`, consecutive same-role turns are merged into one turn of
text blocks, `max_tokens` is always sent (the API requires it). The stream is named SSE events:
message_start (input and cache usage), content_block_delta (text), message_delta (stop reason, output
usage), message_stop (the end; there is no [DONE]); `ping` is ignored, `event: error` is raised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any

import httpx
from pydantic import SecretStr

from router_service.config import ProviderSettings
from router_service.domain import FinishReason, Role, Usage
from router_service.providers.base import Completion, ProviderRequest, StreamEnd, StreamEvent, TextChunk
from router_service.providers.error_mapping import ErrorDetails
from router_service.providers.errors import MalformedResponse, Unavailable
from router_service.providers.generation import (
    USAGE_ESTIMATED,
    ParamLimits,
    as_int,
    check_params,
    dropped,
    estimated_usage,
    names_dropped,
)
from router_service.providers.http import (
    PROBE_TIMEOUT_S,
    Framing,
    ProviderHttpClient,
    load_json_event,
)
from router_service.providers.quirks import apply_quirks
from router_service.tokens import estimate_tokens

API_VERSION = "2023-06-01"


@dataclass(frozen=True, slots=True)
class AnthropicQuirks:
    # Sent when the request sets no max_output_tokens: the API has no default of its own.
    default_max_tokens: int = 4096
    # Claude 4.5 and later refuse temperature and top_p together ("temperature and top_p cannot both be
    # specified for this model"); by default top_p is dropped (with a warning) when both are set.
    temperature_with_top_p: bool = False


_FINISH = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
    "refusal": FinishReason.CONTENT_FILTER,
}
# The HTTP status each documented error type comes with, for errors that arrive inside a 200 stream.
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def parse_error(status: int, body: Any) -> ErrorDetails:
    """`{"type": "error", "error": {"type", "message"}, "request_id"}`."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ErrorDetails(body if isinstance(body, str) else "")
    kind = str(error.get("type") or "")
    return ErrorDetails(str(error.get("message") or ""), reason=kind, status=_ERROR_STATUS.get(kind, 0))


class _UsageCounts:
    """Anthropic counts cache reads and writes apart from `input_tokens`; the router's input includes them."""

    def __init__(self) -> None:
        self.input = self.cache_read = self.cache_write = self.output = 0

    def update(self, raw: Mapping[str, Any]) -> None:
        # message_delta repeats only some counts (newer API versions): keep what it leaves out.
        if raw.get("input_tokens") is not None:
            self.input = as_int(raw["input_tokens"])
        if raw.get("cache_read_input_tokens") is not None:
            self.cache_read = as_int(raw["cache_read_input_tokens"])
        if raw.get("cache_creation_input_tokens") is not None:
            self.cache_write = as_int(raw["cache_creation_input_tokens"])
        if raw.get("output_tokens") is not None:
            self.output = as_int(raw["output_tokens"])

    def usage(self, *, estimated: bool = False) -> Usage:
        return Usage(
            input_tokens=self.input + self.cache_read + self.cache_write,
            output_tokens=self.output,
            cached_input_tokens=self.cache_read,
            cache_write_input_tokens=self.cache_write,
            estimated=estimated,
        )


class _StreamParser:
    def __init__(self, http: ProviderHttpClient, request: ProviderRequest, warnings: list[str]) -> None:
        self._http = http
        self._request = request
        self._warnings = warnings
        self._counts = _UsageCounts()
        self._started = False
        self._pieces: list[str] = []
        self._finish = FinishReason.UNKNOWN
        self._model = ""
        self._stopped = False

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        if event == "ping":
            return []
        payload = load_json_event(self._http.provider, data)
        kind = payload.get("type", event)
        if kind == "content_block_delta":
            delta = payload.get("delta") or {}
            # thinking_delta, signature_delta and input_json_delta carry no answer text.
            if delta.get("type") == "text_delta" and delta.get("text"):
                self._pieces.append(delta["text"])
                return [TextChunk(delta["text"])]
        elif kind == "message_start":
            message = payload.get("message") or {}
            self._model = str(message.get("model") or "")
            self._counts.update(message.get("usage") or {})
            self._started = True
        elif kind == "message_delta":
            stop_reason = (payload.get("delta") or {}).get("stop_reason")
            if stop_reason:
                self._finish = _FINISH.get(stop_reason, FinishReason.UNKNOWN)
            self._counts.update(payload.get("usage") or {})
        elif kind == "message_stop":
            self._stopped = True
        elif kind == "error":
            raise self._http.error_in_stream(payload, self.partial_usage())
        # content_block_start/stop and event types added later carry nothing the router uses.
        return []

    def finish(self) -> StreamEnd:
        if not self._stopped:
            raise Unavailable(self._http.provider, "stream ended before message_stop")
        return StreamEnd(self._counts.usage(), self._finish, self._model, tuple(self._warnings))

    def partial_usage(self) -> Usage:
        if not self._started:
            return estimated_usage(self._request.messages, "".join(self._pieces))
        # message_start's output count is a placeholder until message_delta: estimate what was sent.
        usage = self._counts.usage(estimated=True)
        return replace(usage, output_tokens=max(usage.output_tokens, estimate_tokens("".join(self._pieces))))


class AnthropicAdapter:
    """The Messages API over one pooled client."""

    def __init__(
        self,
        name: str,
        settings: ProviderSettings,
        base_url: str,
        api_key: SecretStr | None,
        client: httpx.AsyncClient,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self.quirks = apply_quirks(name, AnthropicQuirks(), settings.quirks)
        self._http = ProviderHttpClient(
            name,
            client,
            secret=api_key,
            auth_headers=lambda key: {"x-api-key": key.get_secret_value()},
            parse_error=parse_error,
            protocol_headers={"anthropic-version": API_VERSION},
        )

    def __repr__(self) -> str:
        return f"AnthropicAdapter(name={self.name!r}, base_url={self.base_url!r})"

    def _payload(self, request: ProviderRequest, *, stream: bool) -> tuple[dict[str, Any], list[str]]:
        params = request.params
        check_params(self.name, params, ParamLimits(temperature_max=1.0))
        warnings = names_dropped(request.messages, self.name)
        system = [m.content for m in request.messages if m.role == Role.SYSTEM]
        turns: list[tuple[str, list[str]]] = []
        for message in request.messages:
            if message.role == Role.SYSTEM:
                continue
            role = "user" if message.role == Role.USER else "assistant"
            if turns and turns[-1][0] == role:
                turns[-1][1].append(message.content)
            else:
                turns.append((role, [message.content]))
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": params.max_output_tokens or self.quirks.default_max_tokens,
        }
        if len(system) == 1:
            body["system"] = system[0]
        elif system:
            body["system"] = [{"type": "text", "text": text} for text in system]
        body["messages"] = [
            {"role": role, "content": parts[0] if len(parts) == 1 else [{"type": "text", "text": t} for t in parts]}
            for role, parts in turns
        ]
        if params.temperature is not None:
            body["temperature"] = params.temperature
        if params.top_p is not None:
            if params.temperature is None or self.quirks.temperature_with_top_p:
                body["top_p"] = params.top_p
            else:
                warnings.append(dropped("top_p", "Anthropic refuses temperature and top_p together"))
        if params.stop:
            body["stop_sequences"] = list(params.stop)
        if params.seed is not None:
            warnings.append(dropped("seed", "Anthropic has no seed parameter"))
        if stream:
            body["stream"] = True
        return body, warnings

    async def complete(self, request: ProviderRequest) -> Completion:
        body, warnings = self._payload(request, stream=False)
        data = await self._http.request_json("POST", "/v1/messages", payload=body, deadline_s=request.timeout)
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise MalformedResponse(self.name, "response has no content list")
        text = "".join(
            str(block.get("text") or "")
            for block in data["content"]
            if isinstance(block, dict) and block.get("type") == "text"
        )
        if isinstance(data.get("usage"), dict):
            counts = _UsageCounts()
            counts.update(data["usage"])
            usage = counts.usage()
        else:
            usage = estimated_usage(request.messages, text)
            warnings.append(USAGE_ESTIMATED)
        finish = _FINISH.get(data.get("stop_reason") or "", FinishReason.UNKNOWN)
        return Completion(text, usage, finish, str(data.get("model") or ""), tuple(warnings))

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        body, warnings = self._payload(request, stream=True)
        parser = _StreamParser(self._http, request, warnings)
        events = self._http.stream("/v1/messages", body, deadline_s=request.timeout, parser=parser, framing=Framing.SSE)
        async with aclosing(events):
            async for event in events:
                yield event

    async def list_models(self) -> list[str]:
        models: list[str] = []
        params: dict[str, str | int] = {"limit": 1000}
        while True:
            page = await self._http.request_json("GET", "/v1/models", params=params, deadline_s=PROBE_TIMEOUT_S)
            models += [str(m["id"]) for m in page.get("data") or () if isinstance(m, dict) and "id" in m]
            if not page.get("has_more") or not page.get("last_id"):
                return models
            params = {"limit": 1000, "after_id": str(page["last_id"])}

    async def probe(self) -> None:
        await self._http.request_json("GET", "/v1/models", params={"limit": 1}, deadline_s=PROBE_TIMEOUT_S)

    async def aclose(self) -> None:
        await self._http.aclose()
