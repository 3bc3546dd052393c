"""The in-memory ledger: idempotent, exact totals over any grouping, bounded memory."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from router_service.domain import Complexity, Domain, ModelRef, Usage
from router_service.ledger import Dimension, InMemoryLedger, LedgerEntry, ReportQuery, RequestStatus

HOUR = 3600.0


def entry(
    i: int,
    *,
    provider: str = "demo",
    model: str = "demo-fast",
    tenant: str = "t",
    cost: int = 10,
    ts: float = 1_000 * HOUR,
    inp: int = 5,
    out: int = 7,
    status: RequestStatus = RequestStatus.OK,
    domain: Domain = Domain.CODING,
) -> LedgerEntry:
    return LedgerEntry(
        request_id=f"r{i}",
        tenant=tenant,
        timestamp=ts,
        model=ModelRef(provider, model),
        usage=Usage(inp, out),
        cost_nano_usd=cost,
        baseline_cost_nano_usd=cost * 10,
        latency_s=0.05,
        status=status,
        domain=domain,
        complexity=Complexity.SIMPLE,
        strategy="balanced",
    )


def test_a_request_id_is_recorded_once() -> None:
    ledger = InMemoryLedger(clock=lambda: 2_000 * HOUR)
    assert ledger.record(entry(1))
    assert not ledger.record(entry(1, cost=999))
    report = ledger.report(ReportQuery())
    assert report.totals.requests == 1 and report.totals.cost_nano_usd == 10


entries = st.lists(
    st.tuples(
        st.sampled_from(["openai", "anthropic", "demo"]),
        st.sampled_from(["a", "b"]),
        st.sampled_from(["t1", "t2", "t3"]),
        st.integers(0, 10**12),
        st.integers(0, 72),
        st.sampled_from(list(RequestStatus)),
        st.sampled_from([Domain.CODING, Domain.MATH]),
    ),
    max_size=60,
)
groupings = st.lists(st.sampled_from(list(Dimension)), max_size=4, unique=True)


@settings(max_examples=60, deadline=None)
@given(entries, groupings)
def test_totals_over_any_grouping_equal_the_sum_of_entries(items: list[tuple], dims: list[Dimension]) -> None:  # type: ignore[type-arg]
    ledger = InMemoryLedger(clock=lambda: 2_000 * HOUR)
    recorded = [
        entry(i, provider=p, model=m, tenant=t, cost=c, ts=1_000 * HOUR + h * 1800, status=s, domain=d)
        for i, (p, m, t, c, h, s, d) in enumerate(items)
    ]
    # Record from several threads at once: any interleaving must give the same sums.
    threads = [
        threading.Thread(target=lambda chunk=recorded[k::3]: [ledger.record(e) for e in chunk]) for k in range(3)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    report = ledger.report(ReportQuery(group_by=tuple(dims)))
    assert report.totals.requests == len(recorded)
    assert report.totals.cost_nano_usd == sum(e.cost_nano_usd for e in recorded)
    assert report.totals.errors == sum(e.status != RequestStatus.OK for e in recorded)
    if dims:
        assert sum(r.cost_nano_usd for r in report.rows) == report.totals.cost_nano_usd
        assert sum(r.requests for r in report.rows) == report.totals.requests
        assert sum(r.input_tokens for r in report.rows) == report.totals.input_tokens


def test_filters_and_window() -> None:
    ledger = InMemoryLedger(clock=lambda: 1_006 * HOUR)
    ledger.record(entry(1, provider="openai", tenant="a", ts=1_000 * HOUR))
    ledger.record(entry(2, provider="anthropic", tenant="b", ts=1_005 * HOUR))
    assert ledger.report(ReportQuery(providers=frozenset({"openai"}))).totals.requests == 1
    assert ledger.report(ReportQuery(tenants=frozenset({"b"}))).totals.requests == 1
    assert ledger.report(ReportQuery(models=frozenset({"anthropic/demo-fast"}))).totals.requests == 1
    assert ledger.report(ReportQuery(start=1_003 * HOUR)).totals.requests == 1
    assert ledger.report(ReportQuery(end=1_003 * HOUR)).totals.requests == 1
    by_day = ledger.report(ReportQuery(group_by=(Dimension.DAY, Dimension.PROVIDER)))
    assert {(r.key.provider, r.key.bucket_start) for r in by_day.rows} == {
        ("openai", 41 * 86400.0),
        ("anthropic", 41 * 86400.0),
    }


def test_old_hours_are_compacted_into_days() -> None:
    now = 1_000 * HOUR
    clock = [now]
    ledger = InMemoryLedger(clock=lambda: clock[0])
    for h in range(24):
        ledger.record(entry(h, ts=now - 23 * HOUR + h * HOUR))
    assert ledger.rollups == 24
    before = ledger.report(ReportQuery(group_by=(Dimension.DAY,)))
    clock[0] = now + 72 * HOUR
    ledger.record(entry(99, ts=clock[0]))
    assert ledger.rollups <= 3, "hours older than the horizon fold into their days"
    after = ledger.report(ReportQuery(group_by=(Dimension.DAY,), end=now + 1))
    assert after.totals.cost_nano_usd == before.totals.cost_nano_usd
    assert [(r.key.bucket_start, r.requests) for r in after.rows] == [
        (r.key.bucket_start, r.requests) for r in before.rows
    ]


def test_memory_is_bounded_by_rollups_not_requests() -> None:
    ledger = InMemoryLedger(recent_entries=100, remembered_ids=1_000, clock=lambda: 2_000 * HOUR)
    for i in range(5_000):
        ledger.record(entry(i))
    assert ledger.rollups == 1
    assert len(ledger._ids) == 1_000
    assert len(ledger.recent(10_000)) == 100
    assert ledger.report(ReportQuery()).totals.requests == 5_000


def test_latency_percentiles() -> None:
    ledger = InMemoryLedger(clock=lambda: 2_000 * HOUR)
    for i in range(100):
        e = entry(i)
        ledger.record(LedgerEntry(**{**{f: getattr(e, f) for f in e.__slots__}, "latency_s": 0.01 * (i + 1)}))  # type: ignore[arg-type]
    row = ledger.report(ReportQuery()).totals
    assert 0.5 * 0.8 <= row.latency_p50_s <= 0.5 * 1.2
    assert 0.99 * 0.8 <= row.latency_p99_s <= 0.99 * 1.2


def test_a_failed_request_retried_under_its_id_amends_its_one_entry() -> None:
    from router_service.ledger import Accountant, InMemoryBudgets, InMemoryRateLimits

    ledger = InMemoryLedger(clock=lambda: 1_006 * HOUR)
    accountant = Accountant(ledger, InMemoryBudgets(clock=lambda: 1_006 * HOUR), InMemoryRateLimits())
    assert accountant.record(entry(1, cost=7, status=RequestStatus.FAILED, ts=1_005 * HOUR))
    assert ledger.failed_entry("r1") is not None
    assert accountant.record(entry(1, cost=30, inp=10, out=20, ts=1_005 * HOUR + 60))
    totals = ledger.report(ReportQuery()).totals
    assert (totals.requests, totals.errors, totals.cost_nano_usd) == (1, 0, 37)
    assert (totals.input_tokens, totals.output_tokens) == (15, 27)
    # Completed now: a third record under the same id is a duplicate.
    assert ledger.failed_entry("r1") is None
    assert not accountant.record(entry(1, cost=99))
    assert ledger.report(ReportQuery()).totals.cost_nano_usd == 37
