"""OpenAI Chat Completions, and every server that speaks it: Groq, xAI, Together, vLLM, llama.cpp server,
LM Studio.

`POST {base}/chat/completions` (the base URL includes `/v1`), `Authorization: Bearer`, SSE `data:` lines
ending with `data: [DONE]`, models from `GET {base}/models`. Where those servers differ, the difference is
a quirk: a profile picked by `quirks.profile` (default: the provider's name when it names a profile, else
`generic`), each switch overridable one by one in the provider's config `quirks`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from router_service.config import ConfigError, ProviderSettings
from router_service.domain import FinishReason, Role, Usage
from router_service.providers.base import Completion, ProviderRequest, StreamEnd, StreamEvent, TextChunk
from router_service.providers.error_mapping import ErrorDetails
from router_service.providers.errors import (
    AuthFailed,
    ContextLengthExceeded,
    MalformedResponse,
    ModelNotFound,
    ProviderError,
    QuotaExhausted,
    Unavailable,
)
from router_service.providers.generation import (
    USAGE_ESTIMATED,
    ParamLimits,
    as_int,
    check_params,
    dropped,
    estimated_usage,
)
from router_service.providers.http import (
    PROBE_TIMEOUT_S,
    Framing,
    ProviderHttpClient,
    load_json_event,
)
from router_service.providers.quirks import apply_quirks


@dataclass(frozen=True, slots=True)
class OpenAIQuirks:
    # OpenAI's current name is max_completion_tokens (its reasoning models refuse max_tokens); many
    # compatible servers only know max_tokens.
    max_tokens_field: Literal["max_completion_tokens", "max_tokens"] = "max_tokens"
    # Ask for the final usage chunk with stream_options.include_usage; some servers reject the field.
    stream_usage: bool = True
    max_stop_sequences: int | None = None
    # Groq refuses messages[].name.
    message_names: bool = True
    # xAI leaves reasoning tokens out of completion_tokens although they are billed as output.
    reasoning_outside_completion: bool = False


PROFILES: dict[str, OpenAIQuirks] = {
    "openai": OpenAIQuirks(max_tokens_field="max_completion_tokens", max_stop_sequences=4),
    "groq": OpenAIQuirks(max_tokens_field="max_completion_tokens", message_names=False),
    "xai": OpenAIQuirks(max_tokens_field="max_completion_tokens", reasoning_outside_completion=True),
    # Together, vLLM, llama.cpp server, LM Studio.
    "generic": OpenAIQuirks(),
}

_ROLES = {Role.SYSTEM: "system", Role.USER: "user", Role.ASSISTANT: "assistant"}
_FINISH = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
}


def quirks_for(provider: str, options: Mapping[str, Any]) -> OpenAIQuirks:
    switches = dict(options)
    profile = switches.pop("profile", provider if provider in PROFILES else "generic")
    if profile not in PROFILES:
        raise ConfigError(
            f"providers.{provider}.quirks.profile: unknown profile {profile!r} (known: {', '.join(PROFILES)})"
        )
    return apply_quirks(provider, PROFILES[profile], switches)


def parse_error(status: int, body: Any) -> ErrorDetails:
    """OpenAI's `{"error": {message, type, param, code}}`, or xAI's flat `{"code": ..., "error": "..."}`."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message, code, kind = str(error.get("message") or ""), error.get("code"), error.get("type")
    elif isinstance(error, str):
        message, code, kind = error, body.get("code"), None
    else:
        return ErrorDetails(body if isinstance(body, str) else "")
    code, kind = str(code or ""), str(kind or "")
    cls: type[ProviderError] | None = None
    if "insufficient_quota" in (code, kind):
        cls = QuotaExhausted  # billing, not pacing: waiting will not help
    elif code == "context_length_exceeded":
        cls = ContextLengthExceeded
    elif code == "invalid_api_key" or (status == 400 and "api key" in message.lower()):
        cls = AuthFailed  # xAI answers a bad key with 400
    elif code == "model_not_found":
        cls = ModelNotFound
    # An error object inside a 200 stream is a server failure unless its code says otherwise.
    return ErrorDetails(message, reason=code or kind, status=500, error_class=cls)


def _usage(data: Mapping[str, Any], quirks: OpenAIQuirks) -> Usage | None:
    """`usage`, else Groq's `x_groq.usage`; None when the provider reported neither."""
    raw = data.get("usage")
    if not isinstance(raw, dict):
        groq = data.get("x_groq")
        raw = groq.get("usage") if isinstance(groq, dict) else None
    if not isinstance(raw, dict):
        return None
    output = as_int(raw.get("completion_tokens"))
    if quirks.reasoning_outside_completion:
        output += as_int((raw.get("completion_tokens_details") or {}).get("reasoning_tokens"))
    return Usage(
        input_tokens=as_int(raw.get("prompt_tokens")),
        output_tokens=output,
        cached_input_tokens=as_int((raw.get("prompt_tokens_details") or {}).get("cached_tokens")),
    )


class _StreamParser:
    def __init__(
        self, http: ProviderHttpClient, request: ProviderRequest, warnings: list[str], quirks: OpenAIQuirks
    ) -> None:
        self._http = http
        self._request = request
        self._warnings = warnings
        self._quirks = quirks
        self._pieces: list[str] = []
        self._usage: Usage | None = None
        self._finish = FinishReason.UNKNOWN
        self._model = ""
        self._done = False

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        if data == "[DONE]":
            self._done = True
            return []
        chunk = load_json_event(self._http.provider, data)
        if chunk.get("error"):
            raise self._http.error_in_stream(chunk, self.partial_usage())
        self._model = chunk.get("model") or self._model
        self._usage = _usage(chunk, self._quirks) or self._usage
        out: list[StreamEvent] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            text = (choice.get("delta") or {}).get("content")
            if text:
                self._pieces.append(text)
                out.append(TextChunk(text))
            if choice.get("finish_reason"):
                self._finish = _FINISH.get(choice["finish_reason"], FinishReason.UNKNOWN)
        return out

    def finish(self) -> StreamEnd:
        if not self._done:
            raise Unavailable(self._http.provider, "stream ended before data: [DONE]")
        warnings = self._warnings
        usage = self._usage
        if usage is None:
            usage = estimated_usage(self._request.messages, "".join(self._pieces))
            warnings = [*warnings, USAGE_ESTIMATED]
        return StreamEnd(usage, self._finish, self._model, tuple(warnings))

    def partial_usage(self) -> Usage:
        return self._usage or estimated_usage(self._request.messages, "".join(self._pieces))


class OpenAICompatibleAdapter:
    """Chat Completions over one pooled client; `quirks` adapt it to each compatible server."""

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
        self.quirks = quirks_for(name, settings.quirks)
        self._http = ProviderHttpClient(
            name,
            client,
            secret=api_key,
            auth_headers=lambda key: {"Authorization": f"Bearer {key.get_secret_value()}"},
            parse_error=parse_error,
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleAdapter(name={self.name!r}, base_url={self.base_url!r})"

    def _payload(self, request: ProviderRequest, *, stream: bool) -> tuple[dict[str, Any], list[str]]:
        quirks, params = self.quirks, request.params
        check_params(self.name, params, ParamLimits(2.0, quirks.max_stop_sequences))
        warnings: list[str] = []
        messages: list[dict[str, str]] = []
        for message in request.messages:
            item = {"role": _ROLES[message.role], "content": message.content}
            if message.name and quirks.message_names:
                item["name"] = message.name
            messages.append(item)
        if not quirks.message_names and any(m.name for m in request.messages):
            warnings.append(dropped("message name", f"{self.name} refuses messages[].name"))
        body: dict[str, Any] = {"model": request.model, "messages": messages}
        if params.temperature is not None:
            body["temperature"] = params.temperature
        if params.top_p is not None:
            body["top_p"] = params.top_p
        if params.max_output_tokens is not None:
            body[quirks.max_tokens_field] = params.max_output_tokens
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if stream:
            body["stream"] = True
            if quirks.stream_usage:
                body["stream_options"] = {"include_usage": True}
        return body, warnings

    async def complete(self, request: ProviderRequest) -> Completion:
        body, warnings = self._payload(request, stream=False)
        data = await self._http.request_json("POST", "/chat/completions", payload=body, deadline_s=request.timeout)
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise MalformedResponse(self.name, "response has no choices")
        message = choices[0].get("message") or {}
        text = message.get("content") or ""
        finish = _FINISH.get(choices[0].get("finish_reason") or "", FinishReason.UNKNOWN)
        if message.get("refusal"):
            finish = FinishReason.CONTENT_FILTER
            warnings.append(f"model refused: {message['refusal']}")
        usage = _usage(data, self.quirks)
        if usage is None:
            usage = estimated_usage(request.messages, text)
            warnings.append(USAGE_ESTIMATED)
        return Completion(text, usage, finish, str(data.get("model") or ""), tuple(warnings))

    async def stream(self, request: ProviderRequest) -> AsyncIterator[StreamEvent]:
        body, warnings = self._payload(request, stream=True)
        parser = _StreamParser(self._http, request, warnings, self.quirks)
        events = self._http.stream(
            "/chat/completions", body, deadline_s=request.timeout, parser=parser, framing=Framing.SSE
        )
        async with aclosing(events):
            async for event in events:
                yield event

    async def list_models(self) -> list[str]:
        data = await self._http.request_json("GET", "/models", deadline_s=PROBE_TIMEOUT_S)
        return [str(m["id"]) for m in data.get("data") or () if isinstance(m, dict) and "id" in m]

    async def probe(self) -> None:
        # Listing models spends no tokens and fails the same way a chat call would on a bad key.
        await self._http.request_json("GET", "/models", deadline_s=PROBE_TIMEOUT_S)

    async def aclose(self) -> None:
        await self._http.aclose()
