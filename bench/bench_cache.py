"""Response cache: lookup latency on a full cache, and memory per entry.

    .venv/bin/python bench/bench_cache.py [--entries 100000] [--lookups 20000] [--redis-url redis://...]

Exact: a cache of N entries in process; the time of `await cache.lookup(request)` for hits (key
computation included) and misses. Semantic: N entries in ONE conversation context (the worst case for the
scan), lookups with reworded questions (hits) and new ones (misses); the time includes the embedding, the
scan, the guard and the store read. Once with the default guard (the word index narrows the scan), once
with `same_content_words` off (every row scanned, as with a plugged-in embedder).
Memory: tracemalloc over filling a fresh cache.
Targets: exact hit < 20 µs median, semantic lookup < 2 ms median.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable

from router_service.cache import CachedAnswer, CacheRequest, CacheSettings, ResponseCache, build_cache
from router_service.cache.store import ENTRY_OVERHEAD_BYTES
from router_service.domain import ChatMessage, FinishReason, ModelRef, Role, Usage

SYSTEM = ChatMessage(Role.SYSTEM, "You are the support assistant of Acme. Answer briefly.")
MODEL = ModelRef("openai", "gpt-5-mini")


def _words(text: str) -> list[str]:
    return text.split()


ACTIONS = _words(
    "cancel pause renew upgrade downgrade export delete share rename restore archive transfer merge split "
    "duplicate lock unlock verify activate suspend reopen close refund invoice schedule approve reject sync "
    "migrate publish"
)
OBJECTS = _words(
    "subscription order invoice account workspace project report license device contract payment refund "
    "ticket shipment backup domain mailbox calendar folder dashboard integration webhook token seat plan "
    "budget quote voucher profile address"
)
PLACES = _words(
    "Madrid Lima Boston Denver Quito Seattle Bogota Austin Sevilla Porto Dublin Oslo Prague Vienna Zurich "
    "Lisbon Toronto Chicago Miami Dallas Phoenix Atlanta Houston Montreal Santiago Caracas Panama Cusco "
    "Valencia Bilbao"
)
TEMPLATES = (
    "How do I {a} my {o} from the {p} office?",
    "Can I {a} the {o} of the {p} team?",
    "Is it possible to {a} a {o} for the {p} branch?",
    "What happens if I {a} my {o} in {p}?",
)


def question(i: int) -> str:
    """A distinct support question per i (up to 108,000), from a small vocabulary, as FAQ traffic is."""
    i, t = divmod(i, len(TEMPLATES))
    i, a = divmod(i, len(ACTIONS))
    p, o = divmod(i, len(OBJECTS))
    return TEMPLATES[t].format(a=ACTIONS[a], o=OBJECTS[o], p=PLACES[p % len(PLACES)])


def reworded(i: int) -> str:
    """The same question with other function words, case, punctuation and a greeting."""
    q = question(i).lower().replace("how do i", "how can i").rstrip("?")
    return f"hi, {q} please"


def request(text: str) -> CacheRequest:
    return CacheRequest("acme", (SYSTEM, ChatMessage(Role.USER, text)))


def answer(i: int) -> CachedAnswer:
    text = f"To do that, open Settings, choose the item {i}, then follow the steps shown. " * 5
    return CachedAnswer(text, MODEL, Usage(60, 90), FinishReason.STOP, 41_000, 1_700_000_000.0)


async def fill(cache: ResponseCache, n: int) -> None:
    for i in range(n):
        await cache.store(request(question(i)), answer(i))


async def timed(calls: list[Callable[[], Awaitable[object]]]) -> list[float]:
    times = []
    clock = time.perf_counter_ns
    for call in calls:
        start = clock()
        await call()
        times.append((clock() - start) / 1000)
    return times


def describe(name: str, micros: list[float], target: str = "") -> None:
    micros = sorted(micros)
    p99 = micros[min(len(micros) - 1, int(len(micros) * 0.99))]
    print(f"  {name:38} median {statistics.median(micros):9.1f} µs   p99 {p99:9.1f} µs   {target}")


def settings(n: int, semantic: bool, same_content_words: bool = True, **extra: object) -> CacheSettings:
    semantic_settings = {"enabled": semantic, "max_entries": max(n, 1), "same_content_words": same_content_words}
    return CacheSettings.model_validate(
        {"enabled": True, "max_bytes": 4 * 1024**3, "ttl_s": 86400, "semantic": semantic_settings, **extra}
    )


async def measure_memory(n: int, semantic: bool) -> tuple[float, float]:
    gc.collect()
    tracemalloc.start()
    cache = build_cache(settings(n, semantic))
    assert cache is not None
    before = tracemalloc.get_traced_memory()[0]
    await fill(cache, n)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    stats = cache.stats()
    assert stats.entries == n
    text_bytes = len(answer(0).text.encode())
    per_entry = (after - before) / n
    return per_entry, per_entry - text_bytes - 32


async def bench_exact(n: int, lookups: int) -> None:
    cache = build_cache(settings(n, semantic=False))
    assert cache is not None
    await fill(cache, n)
    rng = random.Random(1)
    hits = [request(question(rng.randrange(n))) for _ in range(lookups)]
    misses = [request(question(n + i)) for i in range(lookups)]
    for r in hits[:1000]:  # warm up
        await cache.lookup(r)
    hit_times = await timed([lambda r=r: cache.lookup(r) for r in hits])
    miss_times = await timed([lambda r=r: cache.lookup(r) for r in misses])
    assert cache.stats().hits_exact >= lookups
    print(f"exact, in process, {n:,} entries")
    describe("hit (key + lookup)", hit_times, "target < 20 µs median")
    describe("miss", miss_times)


async def bench_semantic(n: int, lookups: int, same_content_words: bool = True) -> None:
    cache = build_cache(settings(n, semantic=True, same_content_words=same_content_words))
    assert cache is not None
    started = time.perf_counter()
    await fill(cache, n)
    fill_s = time.perf_counter() - started
    rng = random.Random(2)
    asked = [rng.randrange(n) for _ in range(lookups)]
    hits = [request(reworded(i)) for i in asked]
    misses = [
        request(f"Where can I download the quarterly {OBJECTS[i % 30]} summary for {PLACES[i % 29]}?")
        for i in range(lookups)
    ]
    for r in hits[:200]:
        await cache.lookup(r)
    before = cache.stats().hits_semantic
    hit_times = await timed([lambda r=r: cache.lookup(r) for r in hits])
    found = cache.stats().hits_semantic - before
    miss_times = await timed([lambda r=r: cache.lookup(r) for r in misses])
    stats = cache.stats()
    how = "narrowed by the word index" if same_content_words else "every row scanned (same_content_words off)"
    print(f"semantic, in process, {n:,} entries in one context, {how}, filled in {fill_s:.1f} s")
    describe("reworded question (hit)", hit_times, "target < 2000 µs median")
    describe("new question (miss)", miss_times, "target < 2000 µs median")
    print(f"  reworded questions answered: {found}/{len(hits)}; index {stats.semantic_bytes / 1e6:.1f} MB")


async def bench_redis(url: str, n: int, lookups: int) -> None:
    cache = build_cache(settings(n, semantic=False, backend="redis", redis={"url": url, "timeout_s": 1.0}))
    assert cache is not None
    try:
        await fill(cache, n)
        rng = random.Random(3)
        hits = [request(question(rng.randrange(n))) for _ in range(lookups)]
        hit_times = await timed([lambda r=r: cache.lookup(r) for r in hits])
        print(f"exact, Redis at {url}, {n:,} entries")
        describe("hit (key + GET + decode)", hit_times)
        assert cache.stats().errors == 0
    finally:
        await cache.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--memory-entries", type=int, default=20_000, help="entries filled under tracemalloc")
    parser.add_argument("--redis-url", help="also time exact hits against this Redis (it gets written to)")
    args = parser.parse_args()

    await bench_exact(args.entries, args.lookups)
    await bench_semantic(args.entries, min(args.lookups, 5_000))
    await bench_semantic(args.entries, min(args.lookups, 1_000), same_content_words=False)
    exact_entry, exact_overhead = await measure_memory(args.memory_entries, semantic=False)
    semantic_entry, _ = await measure_memory(args.memory_entries, semantic=True)
    print(f"memory per entry (tracemalloc over {args.memory_entries:,} entries, {len(answer(0).text)}-byte answers)")
    print(f"  exact only        {exact_entry:7.0f} B   of which beyond text + key: {exact_overhead:.0f} B")
    print(f"                    (the byte bound counts {ENTRY_OVERHEAD_BYTES} B per entry for that)")
    print(f"  exact + semantic  {semantic_entry:7.0f} B   (semantic row: {semantic_entry - exact_entry:.0f} B)")
    if args.redis_url:
        await bench_redis(args.redis_url, min(args.entries, 20_000), min(args.lookups, 5_000))


if __name__ == "__main__":
    asyncio.run(main())
