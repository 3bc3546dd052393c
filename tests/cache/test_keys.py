"""Canonical keys: requests that mean the same share a key; requests that could be answered differently do not."""

from __future__ import annotations

import unicodedata

from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st
from llmrouter.v1 import router_pb2 as pb

from router_service.cache import CacheRequest, RoutingDefaults
from router_service.cache.keys import KeyBuilder
from router_service.cache.text import _normalise_full, normalise_for_key
from router_service.config import LimitsSettings
from router_service.domain import Capability, ChatMessage, GenerationParams, ModelRef, Role
from router_service.server.translate import messages_of, params_of, preferences_of
from router_service.strategy.plan import Constraints, RoutingPreferences, Weights
from tests.cache.conftest import ask

KEYS = KeyBuilder(shared_across_tenants=False)


def key(request: CacheRequest, builder: KeyBuilder = KEYS) -> bytes:
    return builder.keys(request).exact


def test_key_is_a_sha256_digest_and_stable() -> None:
    k = key(ask("What are your hours?"))
    assert len(k) == 32
    assert k == key(ask("What are your hours?"))


def test_insignificant_whitespace_and_unicode_form_do_not_change_the_key() -> None:
    base = key(ask("What are your hours?", system="You are support.\nBe brief."))
    assert key(ask("  What   are your\thours?  \n", system="You are support.  \r\nBe brief.   ")) == base
    assert key(ask("What are your hours?\u00a0", system="You are support.\nBe brief.")) == base
    composed = key(ask("¿Cuánto cuesta?"))
    assert key(ask(unicodedata.normalize("NFD", "¿Cuánto cuesta?"))) == composed


def test_meaningful_differences_change_the_key() -> None:
    base = key(ask("What are your hours?"))
    assert key(ask("what are your hours?")) != base  # case is kept: "US" is not "us"
    assert key(ask("What are your hours")) != base  # punctuation is kept
    assert key(ask("What are your hours?", system="You are sales.")) != base
    assert key(ask("What are your hours?", system=None)) != base
    assert key(ask("What are your hours?", tenant="other")) != base
    assert key(ask("What are your\nhours?")) != base  # a newline is not a space (code, lists)


def test_indentation_is_kept_but_trailing_spaces_and_extra_blank_lines_are_not() -> None:
    code = "def f():\n    return 1\n"
    assert key(ask(code)) != key(ask("def f():\nreturn 1\n"))
    assert key(ask(code)) == key(ask("def f():   \n    return  1\n\n\n"))
    assert normalise_for_key("a\n\n\n\nb") == "a\n\nb"


def test_roles_and_turn_boundaries_are_part_of_the_key() -> None:
    as_user = ask("Hi", history=(ChatMessage(Role.USER, "Hello"),))
    as_assistant = ask("Hi", history=(ChatMessage(Role.ASSISTANT, "Hello"),))
    assert key(as_user) != key(as_assistant)
    # Content that looks like a boundary cannot imitate one: fields are length-prefixed.
    one = ask("b", history=(ChatMessage(Role.USER, "a"),))
    two = ask("a\x1e2" + "1:b", history=())
    assert key(one) != key(two)


def test_default_parameters_equal_unset_ones() -> None:
    unset = key(ask("Hi", params=GenerationParams()))
    assert key(ask("Hi", params=GenerationParams(temperature=1.0, top_p=1.0))) == unset
    assert key(ask("Hi", params=GenerationParams(temperature=0.7))) != unset
    assert key(ask("Hi", params=GenerationParams(temperature=0.7))) == key(
        ask("Hi", params=GenerationParams(temperature=0.7000000001))
    )
    # No provider-independent default exists for these, so unset is its own value.
    assert key(ask("Hi", params=GenerationParams(max_output_tokens=1024))) != unset
    assert key(ask("Hi", params=GenerationParams(seed=0))) != unset


def test_stop_sequences_are_a_set() -> None:
    a = key(ask("Hi", params=GenerationParams(stop=("\n\n", "END"))))
    assert key(ask("Hi", params=GenerationParams(stop=("END", "\n\n", "END")))) == a
    assert key(ask("Hi", params=GenerationParams(stop=("END",)))) != a


def test_routing_preferences_are_canonical() -> None:
    a = RoutingPreferences(
        allowed_providers=frozenset({"openai", "anthropic"}), constraints=Constraints(max_latency_ms=500)
    )
    b = RoutingPreferences(
        allowed_providers=frozenset({"anthropic", "openai"}), constraints=Constraints(max_latency_ms=500)
    )
    assert key(ask("Hi", preferences=a)) == key(ask("Hi", preferences=b))
    assert key(ask("Hi", preferences=RoutingPreferences())) == key(ask("Hi"))
    different = [
        RoutingPreferences(strategy="cost_optimized"),
        RoutingPreferences(weights=Weights(1.0, 0.0, 1.0)),
        RoutingPreferences(force_model=ModelRef("openai", "gpt-5")),
        RoutingPreferences(denied_providers=frozenset({"openai"})),
        RoutingPreferences(user_tier="free"),
        RoutingPreferences(use_agent=True),
        RoutingPreferences(constraints=Constraints(required_capabilities=frozenset({Capability.VISION}))),
    ]
    keys = {key(ask("Hi", preferences=p)) for p in different}
    assert len(keys) == len(different)
    assert key(ask("Hi")) not in keys


def test_unset_strategy_and_tier_equal_the_configured_defaults() -> None:
    builder = KeyBuilder(shared_across_tenants=False, routing_defaults=RoutingDefaults("balanced", "enterprise"))
    unset = key(ask("Hi"), builder)
    assert key(ask("Hi", preferences=RoutingPreferences(strategy="balanced")), builder) == unset
    assert key(ask("Hi", preferences=RoutingPreferences(user_tier="enterprise")), builder) == unset
    assert key(ask("Hi", preferences=RoutingPreferences(strategy="cost_optimized")), builder) != unset
    # Without the defaults the cache cannot know, so it keeps them apart (a miss, never a wrong hit).
    assert key(ask("Hi", preferences=RoutingPreferences(strategy="balanced"))) != key(ask("Hi"))


def test_tenant_scope_can_be_shared() -> None:
    shared = KeyBuilder(shared_across_tenants=True)
    assert key(ask("Hi", tenant="a"), shared) == key(ask("Hi", tenant="b"), shared)
    assert key(ask("Hi", tenant="a")) != key(ask("Hi", tenant="b"))


def test_context_key_leaves_out_only_the_last_turn() -> None:
    a, b = KEYS.keys(ask("What are your hours?")), KEYS.keys(ask("When are you open?"))
    assert a.context == b.context and a.exact != b.exact
    assert a.last_user_text == "What are your hours?"
    assert KEYS.keys(ask("What are your hours?", system="Other")).context != a.context


def _from_protobuf(request: pb.CompleteRequest, tenant: str = "acme") -> CacheRequest:
    # The server's own translation, as the lead wires it: protobuf in, domain objects to the cache.
    return CacheRequest(
        tenant=tenant,
        messages=messages_of(request.messages, LimitsSettings()),
        params=params_of(request.params),
        preferences=preferences_of(request.preferences),
    )


def test_protobuf_requests_built_in_different_orders_share_a_key() -> None:
    first = pb.CompleteRequest()
    first.messages.add(role=pb.ROLE_SYSTEM, content="You are support.")
    first.messages.add(role=pb.ROLE_USER, content="What are your hours?")
    first.params.stop.extend(["END", "\n\n"])
    first.params.temperature = 1.0
    first.preferences.allowed_providers.extend(["openai", "anthropic"])
    first.preferences.constraints.max_latency_ms = 800

    second = pb.CompleteRequest()
    second.preferences.constraints.max_latency_ms = 800
    second.preferences.allowed_providers.extend(["anthropic", "openai"])
    second.params.stop.extend(["\n\n", "END"])
    second.messages.add(content="You are support.", role=pb.ROLE_SYSTEM)
    second.messages.add(content="  What are your   hours? ", role=pb.ROLE_USER)

    assert key(_from_protobuf(first)) == key(_from_protobuf(second))


def test_json_requests_with_different_key_order_share_a_key() -> None:
    a = (
        '{"messages": [{"role": "ROLE_USER", "content": "Hi there"}],'
        ' "params": {"temperature": 0.2, "top_p": 0.9, "stop": ["x", "y"]},'
        ' "preferences": {"strategy": "STRATEGY_BALANCED", "denied_providers": ["xai", "groq"]}}'
    )
    b = (
        '{"preferences": {"denied_providers": ["groq", "xai"], "strategy": "STRATEGY_BALANCED"},'
        ' "params": {"stop": ["y", "x"], "top_p": 0.90, "temperature": 0.20},'
        ' "messages": [{"content": "Hi there ", "role": "ROLE_USER"}]}'
    )
    ka = key(_from_protobuf(json_format.Parse(a, pb.CompleteRequest())))
    kb = key(_from_protobuf(json_format.Parse(b, pb.CompleteRequest())))
    assert ka == kb


_texts = st.text(alphabet=st.sampled_from(list("ab é\t\n\r\u00a0\u3000\x0b\x0c\x1c")), max_size=30)


@given(_texts)
def test_normalisation_is_idempotent_and_the_fast_path_agrees(text: str) -> None:
    once = normalise_for_key(text)
    assert normalise_for_key(once) == once
    assert once == _normalise_full(text)
