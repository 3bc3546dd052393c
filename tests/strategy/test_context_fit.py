"""A prompt never goes to a model whose window it exceeds; trimming only when allowed, and never silently."""

from __future__ import annotations

import pytest

from router_service.catalog import Catalog
from router_service.domain import ChatMessage, Role, Usage
from router_service.strategy import ContextTooLarge, NoCandidate
from router_service.strategy.context_fit import trim_to_fit
from router_service.tokens import estimate_prompt_tokens
from tests.strategy.factories import analysis, model, plan, planner, refs

SMALL = model("a/small", "fast", "0.1", "0.4", 0.7, window=8_000)
MEDIUM = model("b/medium", "fast", "0.2", "0.8", 0.7, window=32_000)
LARGE = model("c/large", "fast", "1", "4", 0.7, window=128_000)


def catalog() -> Catalog:
    return Catalog([SMALL, MEDIUM, LARGE])


def conversation(turns: int, size: int) -> tuple[ChatMessage, ...]:
    """A system prompt, `turns` user/assistant pairs of `size` characters, then the last user turn."""
    messages = [ChatMessage(Role.SYSTEM, "You are terse.")]
    for i in range(turns):
        messages += [ChatMessage(Role.USER, f"q{i} " + "x" * size), ChatMessage(Role.ASSISTANT, f"a{i} " + "y" * size)]
    messages.append(ChatMessage(Role.USER, "And now the real question?"))
    return tuple(messages)


def test_a_prompt_larger_than_a_window_skips_that_model() -> None:
    result = plan(planner(catalog(), baseline_model="c/large"), analysis(tokens=20_000), strategy="cheapest_first")
    assert refs(result) == ["b/medium", "c/large"]
    small = next(a for a in result.alternatives if a.entry.ref == SMALL.ref)
    assert not small.eligible and "context window 8,000 too small" in small.excluded_reason


def test_the_margin_keeps_near_misses_out() -> None:
    # 7,900 estimated tokens fit 8,000 on paper, not with the 5% margin for estimation error.
    result = plan(planner(catalog(), baseline_model="c/large"), analysis(tokens=7_900), strategy="cheapest_first")
    assert SMALL.ref not in {e.ref for e in result.candidates}


def test_too_large_for_every_model_without_trimming() -> None:
    with pytest.raises(ContextTooLarge) as caught:
        plan(planner(catalog(), baseline_model="c/large"), analysis(tokens=500_000))
    assert caught.value.prompt_tokens == 500_000
    assert caught.value.largest_window == 128_000
    assert "allow_context_trimming" in str(caught.value)


def test_fits_only_an_unavailable_model_is_not_a_client_error() -> None:
    with pytest.raises(NoCandidate) as caught:
        plan(planner(catalog(), baseline_model="c/large"), analysis(tokens=50_000),
             available=lambda r: r != LARGE.ref)
    assert caught.value.constraint == "availability"


def test_trimming_drops_the_oldest_turns_and_says_so() -> None:
    messages = conversation(turns=20, size=40_000)  # about 10k tokens per message, 400k in all
    tokens = estimate_prompt_tokens(messages)
    result = plan(planner(catalog(), baseline_model="c/large"), analysis(tokens=tokens), messages=messages,
                  allow_context_trimming=True)
    assert refs(result) == ["c/large"]
    assert result.trimmed_messages > 0
    assert len(result.messages) == len(messages) - result.trimmed_messages
    assert result.messages[0] == messages[0]
    assert result.messages[-1] == messages[-1]
    assert result.messages[1].role is Role.USER
    assert estimate_prompt_tokens(result.messages) <= LARGE.context_window
    assert any("dropped the" in w and "oldest message" in w for w in result.warnings)
    assert f"trimmed {result.trimmed_messages} oldest message(s)" in result.reason
    # Costs are estimated on what is actually sent.
    assert result.estimated_cost_nano_usd < LARGE.cost_nano_usd(Usage(tokens, 400))


def test_trimming_that_cannot_help() -> None:
    huge_last_turn = (ChatMessage(Role.SYSTEM, "s"), ChatMessage(Role.USER, "z" * 2_000_000))
    with pytest.raises(ContextTooLarge):
        plan(planner(catalog(), baseline_model="c/large"), analysis(tokens=500_001), messages=huge_last_turn,
             allow_context_trimming=True)


def test_no_trimming_when_it_fits() -> None:
    messages = conversation(turns=2, size=100)
    result = plan(planner(catalog(), baseline_model="c/large"), analysis(tokens=200), messages=messages,
                  allow_context_trimming=True)
    assert result.trimmed_messages == 0 and result.messages == messages and not result.warnings


class TestTrimToFit:
    def test_keeps_system_and_last_user_turn(self) -> None:
        messages = conversation(turns=3, size=400)
        trimmed = trim_to_fit(messages, estimate_prompt_tokens(messages), budget_tokens=150)
        assert trimmed is not None
        assert trimmed.messages[0].role is Role.SYSTEM
        assert trimmed.messages[-1] == messages[-1]
        assert trimmed.prompt_tokens <= 150

    def test_history_never_starts_with_an_assistant_turn(self) -> None:
        messages = conversation(turns=3, size=400)
        for budget in range(30, 700, 20):
            trimmed = trim_to_fit(messages, estimate_prompt_tokens(messages), budget)
            if trimmed is not None and len(trimmed.messages) > 1:
                assert trimmed.messages[1].role is not Role.ASSISTANT

    def test_impossible(self) -> None:
        messages = (ChatMessage(Role.USER, "x" * 4000),)
        assert trim_to_fit(messages, 1004, budget_tokens=100) is None
