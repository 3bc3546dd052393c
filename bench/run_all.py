"""Run every benchmark in turn and print its figures (`make bench`). Takes about 10 minutes on 2 cores.

    .venv/bin/python bench/run_all.py [--quick]

`--quick` shortens the long ones (soak 15 s instead of 60 s, fewer streams) for a smoke run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    runs: list[list[str]] = [
        ["bench_grpc.py", "--duration", "3" if quick else "5"],
        ["bench_analyzer.py"],
        ["bench_planner.py", "--iterations", "500" if quick else "2000"],
        ["bench_routing_savings.py"],
        ["bench_streaming.py", "--streams", "64" if quick else "256"],
        ["bench_ledger.py", "--requests", "200000" if quick else "1000000"],
        ["bench_cache.py"],
        ["bench_soak.py", "--duration", "15" if quick else "60"],
        ["bench_observability.py"],
    ]
    failed = 0
    for args in runs:
        print(f"\n===== {' '.join(args)}  ({time.strftime('%H:%M:%S')})", flush=True)
        code = subprocess.run([sys.executable, str(BENCH / args[0]), *args[1:]], check=False).returncode
        if code:
            failed += 1
            print(f"!!!!! {args[0]} exited {code}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
