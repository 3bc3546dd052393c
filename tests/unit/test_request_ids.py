"""Generated request ids: valid, distinct UUID4s."""

from __future__ import annotations

import threading
import uuid

from router_service.server.request_ids import RequestIds
from router_service.server.translate import request_id_of


def test_ids_are_uuid4_hex_and_distinct_across_blocks() -> None:
    ids = RequestIds()
    seen = [ids.new() for _ in range(2000)]  # several blocks of OS randomness
    assert len(set(seen)) == len(seen)
    for text in seen:
        parsed = uuid.UUID(hex=text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert parsed.hex == text


def test_threads_never_share_an_id() -> None:
    ids = RequestIds()
    out: list[list[str]] = [[] for _ in range(4)]

    def take(bucket: list[str]) -> None:
        bucket.extend(ids.new() for _ in range(3000))

    threads = [threading.Thread(target=take, args=(b,)) for b in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for bucket in out for i in bucket]
    assert len(set(every)) == len(every) == 12000


def test_a_caller_id_is_kept_and_a_missing_one_is_generated() -> None:
    assert request_id_of("order-4411") == "order-4411"
    assert uuid.UUID(hex=request_id_of("")).version == 4
