"""Fitting a conversation into a context window by dropping its oldest turns, only when allowed.

System messages and the last user turn (with anything after it) are always kept; what goes is the
oldest history. The result never starts the history with an assistant turn, which several providers
reject. Nothing is ever cut silently: the caller gets the count and the planner adds a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from router_service.domain import ChatMessage, Role
from router_service.tokens import MESSAGE_OVERHEAD_TOKENS, estimate_tokens


@dataclass(frozen=True, slots=True)
class Trimmed:
    messages: tuple[ChatMessage, ...]
    dropped: int
    prompt_tokens: int


def trim_to_fit(messages: Sequence[ChatMessage], prompt_tokens: int, budget_tokens: int) -> Trimmed | None:
    """Drop the oldest droppable turns until the prompt fits `budget_tokens`; None if it cannot fit.

    `prompt_tokens` is the analyzer's estimate for the whole conversation; per-message sizes are
    scaled to agree with it so the planner and this function count the same way.
    """
    sizes = [estimate_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in messages]
    own_total = sum(sizes) or 1
    scale = prompt_tokens / own_total if prompt_tokens > 0 else 1.0
    last_user = max((i for i, m in enumerate(messages) if m.role is Role.USER), default=len(messages) - 1)
    droppable = [i for i in range(max(last_user, 0)) if messages[i].role is not Role.SYSTEM]
    total = float(prompt_tokens if prompt_tokens > 0 else own_total)
    dropped: set[int] = set()
    for i in droppable:
        if total <= budget_tokens:
            break
        dropped.add(i)
        total -= sizes[i] * scale
    if total > budget_tokens:
        return None
    # Keep the history starting with a user turn: drop assistant turns left at its head.
    for i in droppable:
        if i in dropped:
            continue
        if messages[i].role is Role.ASSISTANT:
            dropped.add(i)
            total -= sizes[i] * scale
        else:
            break
    kept = tuple(m for i, m in enumerate(messages) if i not in dropped)
    return Trimmed(kept, len(dropped), max(round(total), 0))
