"""Generation-parameter checks and usage fallbacks shared by the adapters.

A parameter a provider cannot honour is refused with `UnsupportedParameter` before any HTTP call, or
dropped with a warning the caller sees in `Completion.warnings` / `StreamEnd.warnings`; never silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from router_service.domain import ChatMessage, GenerationParams, Usage
from router_service.providers.errors import UnsupportedParameter
from router_service.tokens import estimate_prompt_tokens, estimate_tokens

USAGE_ESTIMATED = "usage estimated: the provider reported no token counts"


@dataclass(frozen=True, slots=True)
class ParamLimits:
    """A provider's documented ranges."""

    temperature_max: float | None = 2.0  # None: the provider documents no upper bound
    max_stop_sequences: int | None = None  # None: no documented limit


def check_params(provider: str, params: GenerationParams, limits: ParamLimits) -> None:
    def refuse(message: str) -> UnsupportedParameter:
        return UnsupportedParameter(provider, message, reason="unsupported_parameter")

    if params.max_output_tokens is not None and params.max_output_tokens < 1:
        raise refuse(f"max_output_tokens must be at least 1, got {params.max_output_tokens}")
    temperature, top = params.temperature, limits.temperature_max
    if temperature is not None and (temperature < 0 or (top is not None and temperature > top)):
        bound = f"between 0 and {top:g}" if top is not None else "at least 0"
        raise refuse(f"temperature must be {bound} for {provider}, got {temperature:g}")
    if params.top_p is not None and not 0 <= params.top_p <= 1:
        raise refuse(f"top_p must be between 0 and 1, got {params.top_p:g}")
    if limits.max_stop_sequences is not None and len(params.stop) > limits.max_stop_sequences:
        raise refuse(f"{provider} accepts at most {limits.max_stop_sequences} stop sequences, got {len(params.stop)}")


def dropped(what: str, why: str) -> str:
    return f"{what} dropped: {why}"


def names_dropped(messages: Iterable[ChatMessage], provider: str) -> list[str]:
    """The warning for message names a provider has no field for (empty when there are none)."""
    if any(m.name for m in messages):
        return [dropped("message name", f"{provider} has no per-message name field")]
    return []


def estimated_usage(messages: Iterable[ChatMessage], output_text: str) -> Usage:
    return Usage(
        input_tokens=estimate_prompt_tokens(messages),
        output_tokens=estimate_tokens(output_text),
        estimated=True,
    )


def as_int(value: object) -> int:
    """A token count from a provider field that may be missing or null."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
