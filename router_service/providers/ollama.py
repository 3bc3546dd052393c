"""Ollama: `POST {base}/api/chat` (NDJSON stream ending with a `"done": true` object that carries
`done_reason` and the counts), `GET {base}/api/tags` for models. No key; when one is configured (Ollama
behind an authenticating proxy) it is sent as a bearer token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from router_service.config import ProviderSettings
from router_service.domain import FinishReason, Role, Usage
from router_service.providers.base import Completion, ProviderRequest, StreamEnd, StreamEvent, TextChunk
from router_service.providers.error_mapping import ErrorDetails
from router_service.providers.errors import MalformedResponse, Unavailable
from router_service.providers.generation import (
    ParamLimits,
    as_int,
    check_params,
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
from router_service.tokens import estimate_prompt_tokens


@dataclass(frozen=True, slots=True)
class OllamaQuirks:
    # How long Ollama keeps the model loaded after a request ("5m", "1h", "-1"); None: the server's default.
    keep_alive: str | None = None


_ROLES = {Role.SYSTEM: "system", Role.USER: "user", Role.ASSISTANT: "assistant"}
# "load" / "unload" end requests that generated nothing (an empty message list loads the model).
_FINISH = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH}
INPUT_ESTIMATED = "input tokens estimated: Ollama omitted prompt_eval_count"


def parse_error(status: int, body: Any) -> ErrorDetails:
    """`{"error": "..."}`."""
    if isinstance(body, dict):
        return ErrorDetails(str(body.get("error") or ""))
    return ErrorDetails(body if isinstance(body, str) else "")


def _final(data: Mapping[str, Any], request: ProviderRequest) -> tuple[Usage, FinishReason, list[str]]:
    """Usage and finish reason from the `done` object."""
    warnings: list[str] = []
    # The counts are `omitempty`: a prompt served wholly from Ollama's cache has no prompt_eval_count.
    if data.get("prompt_eval_count") is None:
        input_tokens, estimated = estimate_prompt_tokens(request.messages), True
        warnings.append(INPUT_ESTIMATED)
    else:
        input_tokens, estimated = as_int(data["prompt_eval_count"]), False
    usage = Usage(input_tokens=input_tokens, output_tokens=as_int(data.get("eval_count")), estimated=estimated)
    return usage, _FINISH.get(str(data.get("done_reason") or ""), FinishReason.UNKNOWN), warnings


class _StreamParser:
    def __init__(self, http: ProviderHttpClient, request: ProviderRequest, warnings: list[str]) -> None:
        self._http = http
        self._request = request
        self._warnings = warnings
        self._pieces: list[str] = []
        self._end: StreamEnd | None = None

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        chunk = load_json_event(self._http.provider, data)
        if chunk.get("error"):
            # An error after streaming began arrives as one more line; the status is already 200.
            raise self._http.error_in_stream(chunk, self.partial_usage())
        text = (chunk.get("message") or {}).get("content")
        if chunk.get("done"):
            usage, finish, warnings = _final(chunk, self._request)
            self._end = StreamEnd(usage, finish, str(chunk.get("model") or ""), (*self._warnings, *warnings))
        if text:
            self._pieces.append(text)
            return [TextChunk(text)]
        return []

    def finish(self) -> StreamEnd:
        if self._end is None:
            raise Unavailable(self._http.provider, 'stream ended before "done": true')
        return self._end

    def partial_usage(self) -> Usage:
        return estimated_usage(self._request.messages, "".join(self._pieces))


class OllamaAdapter:
    """`/api/chat` over one pooled client."""

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
        self.quirks = apply_quirks(name, OllamaQuirks(), settings.quirks)
        self._http = ProviderHttpClient(
            name,
            client,
            secret=api_key,
            auth_headers=lambda key: {"Authorization": f"Bearer {key.get_secret_value()}"},
            parse_error=parse_error,
        )

    def __repr__(self) -> str:
        return f"OllamaAdapter(name={self.name!r}, base_url={self.base_url!r})"

    def _payload(self, request: ProviderRequest, *, stream: bool) -> tuple[dict[str, Any], list[str]]:
        params = request.params
        # Ollama documents no upper bound for temperature.
        check_params(self.name, params, ParamLimits(temperature_max=None))
        options: dict[str, Any] = {}
        if params.max_output_tokens is not None:
            options["num_predict"] = params.max_output_tokens
        if params.temperature is not None:
            options["temperature"] = params.temperature
        if params.top_p is not None:
            options["top_p"] = params.top_p
        if params.stop:
            options["stop"] = list(params.stop)
        if params.seed is not None:
            options["seed"] = params.seed
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": _ROLES[m.role], "content": m.content} for m in request.messages],
            # Explicit both ways: Ollama streams unless told not to.
            "stream": stream,
        }
        if options:
            body["options"] = options
        if self.quirks.keep_alive is not None:
            body["keep_alive"] = self.quirks.keep_alive
        return body, names_dropped(request.messages, self.name)

    async def complete(self, request: ProviderRequest) -> Completion:
        body, warnings = self._payload(request, stream=False)
        data = await self._http.request_json("POST", "/api/chat", payload=body, deadline_s=request.timeout)
        if not isinstance(data, dict) or not data.get("done"):
            raise MalformedResponse(self.name, 'response is not a finished ("done": true) chat object')
        text = str((data.get("message") or {}).get("content") or "")
        usage, finish, more = _final(data, request)
        return Completion(text, usage, finish, str(data.get("model") or ""), (*warnings, *more))

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        body, warnings = self._payload(request, stream=True)
        parser = _StreamParser(self._http, request, warnings)
        events = self._http.stream("/api/chat", body, deadline_s=request.timeout, parser=parser, framing=Framing.NDJSON)
        async with aclosing(events):
            async for event in events:
                yield event

    async def list_models(self) -> list[str]:
        data = await self._http.request_json("GET", "/api/tags", deadline_s=PROBE_TIMEOUT_S)
        return [str(m["name"]) for m in data.get("models") or () if isinstance(m, dict) and "name" in m]

    async def probe(self) -> None:
        await self._http.request_json("GET", "/api/tags", deadline_s=PROBE_TIMEOUT_S)

    async def aclose(self) -> None:
        await self._http.aclose()
