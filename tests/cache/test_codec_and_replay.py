"""The stored form of an answer, and replaying an answer as stream deltas."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router_service.cache import replay_chunks
from router_service.cache.codec import UndecodableAnswer, decode_answer, encode_answer
from router_service.domain import FinishReason, Usage
from tests.cache.conftest import answer


def test_answers_round_trip() -> None:
    original = answer("¿Qué tal? 你好 \n\n```py\nx = 1\n```", finish=FinishReason.LENGTH, cost=2**40)
    original = type(original)(
        original.text, original.model, Usage(1, 2, 3, 4, True), original.finish_reason, original.cost_nano_usd, 12.5
    )
    assert decode_answer(encode_answer(original)) == original


@pytest.mark.parametrize("raw", [b"", b"[]", b"{}", b'{"v": 1}', b"\xff", b'{"v":1,"usage":[1]}'])
def test_garbage_is_undecodable(raw: bytes) -> None:
    with pytest.raises(UndecodableAnswer):
        decode_answer(raw)


def test_replay_chunks_are_words_with_their_spaces() -> None:
    assert replay_chunks("We are open 9-5.\nSee you!") == ["We ", "are ", "open ", "9-5.\n", "See ", "you!"]
    assert replay_chunks("  indented") == ["  ", "indented"]
    assert replay_chunks("") == []
    assert replay_chunks("x" * 70, max_chunk_chars=32) == ["x" * 32, "x" * 32, "x" * 6]


@given(st.text(max_size=300), st.integers(min_value=1, max_value=40))
def test_replayed_chunks_rebuild_the_text_exactly(text: str, limit: int) -> None:
    chunks = replay_chunks(text, max_chunk_chars=limit)
    assert "".join(chunks) == text
    assert all(0 < len(c) <= limit for c in chunks)
