"""Google Gemini API: `POST {base}/v1beta/models/{model}:generateContent`, and `:streamGenerateContent
?alt=sse` for streams (CRLF-framed SSE, no terminal sentinel: the chunk with a finishReason is the end).

The key goes in the `x-goog-api-key` header, never in the URL (URLs end up in logs). Roles are user and
model; system prompts go to `systemInstruction`. Errors are google.rpc statuses; a bad key is a 400
with ErrorInfo reason API_KEY_INVALID, and the suggested wait is RetryInfo.retryDelay, not a header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from router_service.config import ProviderSettings
from router_service.domain import FinishReason, Role, Usage
from router_service.providers.base import Completion, ProviderRequest, StreamEnd, StreamEvent, TextChunk
from router_service.providers.error_mapping import ErrorDetails
from router_service.providers.errors import AuthFailed, MalformedResponse, ProviderError, Unavailable
from router_service.providers.generation import (
    USAGE_ESTIMATED,
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


@dataclass(frozen=True, slots=True)
class GeminiQuirks:
    api_version: str = "v1beta"


_FILTERED = ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY")
_FINISH = {
    "STOP": FinishReason.STOP,
    "MAX_TOKENS": FinishReason.LENGTH,
    **dict.fromkeys(_FILTERED, FinishReason.CONTENT_FILTER),
}
# A key refused, or an account that cannot use the API (region without free tier, billing off): the
# router's problem, not the caller's, so another provider may still answer.
_AUTH_STATUSES = ("UNAUTHENTICATED", "PERMISSION_DENIED", "FAILED_PRECONDITION")
# The generateContent limit on stop sequences.
_MAX_STOP_SEQUENCES = 5


def _seconds(duration: object) -> float | None:
    """A protobuf Duration in JSON form ("41s", "41.19s")."""
    if not isinstance(duration, str) or not duration.endswith("s"):
        return None
    try:
        return float(duration[:-1])
    except ValueError:
        return None


def parse_error(status: int, body: Any) -> ErrorDetails:
    """`{"error": {"code", "message", "status", "details": [{"@type": ...}]}}` (google.rpc.Status)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ErrorDetails(body if isinstance(body, str) else "")
    reason = str(error.get("status") or "")
    retry_after = None
    for detail in error.get("details") or ():
        kind = str(detail.get("@type") or "")
        if kind.endswith("google.rpc.ErrorInfo") and detail.get("reason"):
            reason = str(detail["reason"])
        elif kind.endswith("google.rpc.RetryInfo"):
            retry_after = _seconds(detail.get("retryDelay"))
    cls: type[ProviderError] | None = None
    if reason == "API_KEY_INVALID" or error.get("status") in _AUTH_STATUSES:
        cls = AuthFailed
    return ErrorDetails(
        str(error.get("message") or ""),
        reason=reason,
        status=as_int(error.get("code")),
        error_class=cls,
        retry_after=retry_after,
    )


def _usage(meta: Mapping[str, Any]) -> Usage:
    # promptTokenCount already includes cached tokens; thinking tokens are billed as output.
    return Usage(
        input_tokens=as_int(meta.get("promptTokenCount")),
        output_tokens=as_int(meta.get("candidatesTokenCount")) + as_int(meta.get("thoughtsTokenCount")),
        cached_input_tokens=as_int(meta.get("cachedContentTokenCount")),
    )


def _text(candidate: Mapping[str, Any]) -> str:
    parts = (candidate.get("content") or {}).get("parts") or ()
    # Parts marked `thought` are the model's reasoning summary, not the answer.
    return "".join(str(p.get("text") or "") for p in parts if isinstance(p, dict) and not p.get("thought"))


def _outcome(chunk: Mapping[str, Any]) -> tuple[str, FinishReason | None, str | None]:
    """(text, finish reason once the candidate is finished, why the prompt was blocked)."""
    candidates = chunk.get("candidates") or ()
    candidate = candidates[0] if candidates and isinstance(candidates[0], dict) else {}
    reason = candidate.get("finishReason")
    finish = _FINISH.get(reason, FinishReason.UNKNOWN) if reason else None
    blocked = (chunk.get("promptFeedback") or {}).get("blockReason")
    if blocked and not candidates:
        finish = FinishReason.CONTENT_FILTER
    return _text(candidate), finish, blocked


class _StreamParser:
    def __init__(self, http: ProviderHttpClient, request: ProviderRequest, warnings: list[str]) -> None:
        self._http = http
        self._request = request
        self._warnings = warnings
        self._pieces: list[str] = []
        self._usage: Usage | None = None
        self._finish: FinishReason | None = None
        self._model = ""

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        chunk = load_json_event(self._http.provider, data)
        if chunk.get("error"):
            raise self._http.error_in_stream(chunk, self.partial_usage())
        self._model = str(chunk.get("modelVersion") or self._model)
        if isinstance(chunk.get("usageMetadata"), dict):
            self._usage = _usage(chunk["usageMetadata"])  # running totals: the last one counts
        text, finish, blocked = _outcome(chunk)
        if blocked:
            self._warnings.append(f"prompt blocked: {blocked}")
        if finish is not None:
            self._finish = finish
        if text:
            self._pieces.append(text)
            return [TextChunk(text)]
        return []

    def finish(self) -> StreamEnd:
        if self._finish is None:
            raise Unavailable(self._http.provider, "stream ended before a finishReason")
        warnings = self._warnings
        usage = self._usage
        if usage is None:
            usage = estimated_usage(self._request.messages, "".join(self._pieces))
            warnings = [*warnings, USAGE_ESTIMATED]
        return StreamEnd(usage, self._finish, self._model, tuple(warnings))

    def partial_usage(self) -> Usage:
        return self._usage or estimated_usage(self._request.messages, "".join(self._pieces))


class GeminiAdapter:
    """generateContent / streamGenerateContent over one pooled client."""

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
        self.quirks = apply_quirks(name, GeminiQuirks(), settings.quirks)
        self._http = ProviderHttpClient(
            name,
            client,
            secret=api_key,
            auth_headers=lambda key: {"x-goog-api-key": key.get_secret_value()},
            parse_error=parse_error,
        )

    def __repr__(self) -> str:
        return f"GeminiAdapter(name={self.name!r}, base_url={self.base_url!r})"

    def _path(self, model: str, method: str) -> str:
        model = model.removeprefix("models/")
        return f"/{self.quirks.api_version}/models/{quote(model, safe='-._')}:{method}"

    def _payload(self, request: ProviderRequest) -> tuple[dict[str, Any], list[str]]:
        params = request.params
        check_params(self.name, params, ParamLimits(2.0, _MAX_STOP_SEQUENCES))
        warnings = names_dropped(request.messages, self.name)
        body: dict[str, Any] = {}
        system = [{"text": m.content} for m in request.messages if m.role == Role.SYSTEM]
        if system:
            body["systemInstruction"] = {"parts": system}
        contents: list[dict[str, Any]] = []
        for message in request.messages:
            if message.role == Role.SYSTEM:
                continue
            role = "user" if message.role == Role.USER else "model"
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"].append({"text": message.content})
            else:
                contents.append({"role": role, "parts": [{"text": message.content}]})
        body["contents"] = contents
        config: dict[str, Any] = {}
        if params.temperature is not None:
            config["temperature"] = params.temperature
        if params.top_p is not None:
            config["topP"] = params.top_p
        if params.max_output_tokens is not None:
            config["maxOutputTokens"] = params.max_output_tokens
        if params.stop:
            config["stopSequences"] = list(params.stop)
        if params.seed is not None:
            config["seed"] = params.seed
        if config:
            body["generationConfig"] = config
        return body, warnings

    async def complete(self, request: ProviderRequest) -> Completion:
        body, warnings = self._payload(request)
        path = self._path(request.model, "generateContent")
        data = await self._http.request_json("POST", path, payload=body, deadline_s=request.timeout)
        if not isinstance(data, dict):
            raise MalformedResponse(self.name, "response is not a JSON object")
        text, finish, blocked = _outcome(data)
        if blocked:
            warnings.append(f"prompt blocked: {blocked}")
        if isinstance(data.get("usageMetadata"), dict):
            usage = _usage(data["usageMetadata"])
        else:
            usage = estimated_usage(request.messages, text)
            warnings.append(USAGE_ESTIMATED)
        model = str(data.get("modelVersion") or "")
        return Completion(text, usage, finish or FinishReason.UNKNOWN, model, tuple(warnings))

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        body, warnings = self._payload(request)
        parser = _StreamParser(self._http, request, warnings)
        events = self._http.stream(
            self._path(request.model, "streamGenerateContent"),
            body,
            params={"alt": "sse"},
            deadline_s=request.timeout,
            parser=parser,
            framing=Framing.SSE,
        )
        async with aclosing(events):
            async for event in events:
                yield event

    async def list_models(self) -> list[str]:
        models: list[str] = []
        path = f"/{self.quirks.api_version}/models"
        params: dict[str, str | int] = {"pageSize": 1000}
        while True:
            page = await self._http.request_json("GET", path, params=params, deadline_s=PROBE_TIMEOUT_S)
            for model in page.get("models") or ():
                methods = model.get("supportedGenerationMethods")
                if methods is None or "generateContent" in methods:
                    models.append(str(model.get("name") or "").removeprefix("models/"))
            if not page.get("nextPageToken"):
                return models
            params = {"pageSize": 1000, "pageToken": str(page["nextPageToken"])}

    async def probe(self) -> None:
        path = f"/{self.quirks.api_version}/models"
        await self._http.request_json("GET", path, params={"pageSize": 1}, deadline_s=PROBE_TIMEOUT_S)

    async def aclose(self) -> None:
        await self._http.aclose()
