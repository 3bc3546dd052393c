"""Token estimates for when no provider count exists (planning, and providers that report no usage)."""

from __future__ import annotations

from collections.abc import Iterable

from router_service.domain import ChatMessage

# Chat formats wrap each message in a few framing tokens (role markers, separators).
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_tokens(text: str) -> int:
    """About four characters per token for English-like text; never zero for non-empty text."""
    if not text:
        return 0
    return (len(text) + 3) // 4


def estimate_prompt_tokens(messages: Iterable[ChatMessage]) -> int:
    return sum(estimate_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in messages)
