"""The shipped model file: size, load time, format round trip, packed arithmetic."""

from __future__ import annotations

import time

from router_service.analyzer import layout
from router_service.analyzer.model import Head, LinearModel, load_model
from router_service.analyzer.training import shipped_model_path


def test_shipped_model_is_small_and_loads_fast() -> None:
    path = shipped_model_path()
    assert path.is_file()
    assert path.stat().st_size < 5 * 1024 * 1024
    started = time.perf_counter()
    model = load_model()
    vectors = model.packed_vectors() if model else {}
    assert time.perf_counter() - started < 1.0
    assert model is not None
    assert [h.name for h in model.heads] == ["lang", "domain", "intent"]
    assert len(vectors) == len(model.vocab)


def test_json_round_trip_is_exact() -> None:
    model = LinearModel(
        heads=(Head("lang", ("en", "es"), (0.5, -0.5), 0.7, 1.5),),
        vocab=(b"hola", "qu\u00e9".encode(), b"the"),
        weights=((-300, 300), (-120, 4), (900, -900)),
        meta={"seed": 3},
    )
    text = model.to_json()
    again = LinearModel.from_json(text)
    assert again == model
    assert again.to_json() == text


def test_packed_sum_recovers_signed_weights() -> None:
    model = LinearModel(
        heads=(Head("h", ("a", "b", "c"), (0.0, 0.0, 0.0)),),
        vocab=(b"x", b"y", b"z"),
        weights=((-layout.WEIGHT_MAX, 0, 5), (layout.WEIGHT_MAX, -7, 0), (-1, -1, -1)),
        meta={},
    )
    vectors = model.packed_vectors()
    total = sum(vectors.values())
    fields = layout.unpack(total, layout.unpacker(4))
    n = fields[0]
    assert n == 3
    assert [f - n * layout.WEIGHT_OFFSET for f in fields[1:]] == [-1, -8, 4]
