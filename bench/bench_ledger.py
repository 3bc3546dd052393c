"""Ledger at scale: record throughput, RSS growth and grouped CostReport latency over 1M requests.

    .venv/bin/python bench/bench_ledger.py [--requests 1000000]

Entries spread over 50 tenants x 20 models x 30 days; the report groups by tenant x model x day.
Targets (issue 7): >= 200k records/s in-process, RSS growth < 100 MB, grouped report < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path

from router_service.domain import Complexity, Domain, ModelRef, Usage
from router_service.ledger import Dimension, InMemoryLedger, LedgerEntry, ReportQuery, RequestStatus


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000, help="entries built per batch (kept out of timing)")
    args = parser.parse_args()
    models = [ModelRef("openai" if i % 2 else "anthropic", f"model-{i}") for i in range(20)]
    domains = list(Domain)[1:]
    start_ts = time.time() - 30 * 86400
    ledger = InMemoryLedger()
    rss_start = rss_mb()
    recorded = 0
    spent = 0.0
    while recorded < args.requests:
        n = min(args.batch, args.requests - recorded)
        batch = [
            LedgerEntry(
                request_id=f"req-{recorded + i:09d}",
                tenant=f"tenant-{(recorded + i) % 50}",
                timestamp=start_ts + (recorded + i) * (30 * 86400 / args.requests),
                model=models[(recorded + i) % 20],
                usage=Usage(800, 200, 100),
                cost_nano_usd=12_345,
                baseline_cost_nano_usd=98_765,
                latency_s=0.2 + ((recorded + i) % 100) / 100,
                status=RequestStatus.OK,
                domain=domains[(recorded + i) % len(domains)],
                complexity=Complexity((recorded + i) % 5 + 1),
                strategy="balanced",
            )
            for i in range(n)
        ]
        t = time.perf_counter()
        for entry in batch:
            ledger.record(entry)
        spent += time.perf_counter() - t
        recorded += n
        del batch
    rss_end = rss_mb()
    query = ReportQuery(group_by=(Dimension.TENANT, Dimension.MODEL, Dimension.DAY))
    timings = []
    for _ in range(7):
        t = time.perf_counter()
        report = ledger.report(query)
        timings.append(time.perf_counter() - t)
    totals = ledger.report(ReportQuery()).totals
    assert totals.requests == args.requests and totals.cost_nano_usd == 12_345 * args.requests
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    print(f"requests recorded          {args.requests:,}")
    print(f"record throughput          {args.requests / spent:,.0f} entries/s")
    print(
        f"RSS start / end            {rss_start:.1f} MB / {rss_end:.1f} MB (growth {rss_end - rss_start:.1f} MB; "
        f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB incl. batch building)"
    )
    print(
        f"rollups held               {ledger.rollups:,} ({ledger._table.nbytes / 1e6:.1f} MB of columns)"
    )
    print(
        f"report tenant x model x day: {len(report.rows):,} rows, median {statistics.median(timings) * 1000:.1f} ms,"
        f" max {max(timings) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
