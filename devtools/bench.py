"""``make bench``: what the monitor costs in time, AWS requests and package size, each figure
against its floor so that the machine's own speed cancels out.

The floor (devtools/bench_floor.py) is the least any implementation must do: import boto3,
create the clients, read the enrollment (compute-optimizer:GetEnrollmentStatus) and the last
observation (one strongly consistent dynamodb:Query), on the same moto + wire-level Compute
Optimizer stand-in. A module a measure, each timing in fresh processes of its own:

1. devtools/bench_cold.py: cold start, from the deployment package, three ways;
2. devtools/bench_warm.py: warm check, steady state, against the floor on warm clients;
3. devtools/bench_requests.py: AWS requests per check, from the wire tap;
4. devtools/bench_package.py: the deployment package, built as sam build builds it, zipped;
5. devtools/bench_imports.py: import time, and nothing created or connected at import;
6. devtools/bench_cpu.py: the CPU of the monitor's own work in a steady check, AWS stubbed;
7. devtools/bench_scale.py: organization members at scale (1k to 100k, 1 and 17 Regions),
   timed on AWS by a latency model, against the template's memory and timeout.

This module runs them and prints the tables (devtools/bench_table.py, then the scale table).
``--quick`` runs each measure once in one small configuration, from the source tree (no package
built): seconds instead of minutes, so that the suite runs the bench end to end
(tests/deployment/test_bench.py). Its figures are not the bench's.
"""

from __future__ import annotations

import argparse
import os
import sys

from devtools import (
    bench_cold,
    bench_cpu,
    bench_imports,
    bench_package,
    bench_requests,
    bench_scale,
    bench_table,
    bench_warm,
)
from devtools.bench_process import write

# --quick: a measure each, in one small configuration (options given beside it still win).
QUICK = {
    "runs": 1,
    "warm_runs": 5,
    "cpu_runs": 20,
    "cpu_regions": "1",
    "scale_sizes": "100",
    "scale_regions": "2",  # Regions in threads, as with any Region count above one
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="cold-start processes per variant")
    parser.add_argument("--warm-runs", type=int, default=500, help="warm checks timed")
    parser.add_argument("--cpu-runs", type=int, default=2000, help="stubbed checks timed")
    parser.add_argument(
        "--cpu-regions",
        default=",".join(map(str, bench_cpu.REGION_COUNTS)),
        help="Regions watched, listed",
    )
    parser.add_argument("--scale-sizes", default="1000,10000,100000", help="members, listed")
    parser.add_argument("--scale-regions", default="1,17", help="Regions watched, listed")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    parser.add_argument(
        "--quick", action="store_true", help="each measure once, small, no package: a smoke run"
    )
    arguments = parser.parse_args(argv)
    if arguments.quick:
        parser.set_defaults(**QUICK)
        arguments = parser.parse_args(argv)

    print(f"enrollment-monitor benchmark (python {sys.version.split()[0]}, {_cpu()})")
    if arguments.quick:
        print("quick: each measure once, in one small configuration; not figures to quote")
    built = not arguments.quick and bench_package.build()
    cold = bench_cold.measure(arguments.runs, built)
    warm = bench_warm.measure(arguments.warm_runs)
    measured = bench_requests.measure()
    sizes = bench_package.sizes(built)
    importtime = bench_imports.measure(built)
    cpu = bench_cpu.measure(arguments.cpu_runs, _counts(arguments.cpu_regions))
    memory, timeout = bench_scale.function_settings()
    scale = bench_scale.measure(
        _counts(arguments.scale_sizes), _counts(arguments.scale_regions), timeout
    )

    requests = {
        "cold-start check (status unchanged)": bench_cold.first_check_calls(cold),
        **measured["requests"],
    }
    rows = [
        *bench_cold.rows(cold),
        bench_warm.row(warm),
        *bench_cpu.rows(cpu),
        *bench_requests.rows(requests),
        *bench_package.rows(sizes),
    ]
    print()
    print(bench_table.render(rows))
    print(
        f"\ncold: median of {arguments.runs} fresh processes per row, interleaved, timed from the "
        "first import to the end of the first check (creating the moto resources is not timed); "
        f"warm: median of interleaved checks; python {warm['python']}"
    )
    print("requests per check, from the wire tap:")
    print("\n".join(bench_requests.details(requests)))
    print("\n".join(bench_imports.notes(importtime)))
    print("\n".join(bench_cold.metrics_note(cold)))
    print(bench_requests.log_note(measured))
    print()
    print("\n".join(bench_scale.report(scale, memory, timeout)))
    if arguments.json:
        results = {
            "cold": cold,
            "warm": warm,
            "requests": measured,
            "package": sizes,
            "importtime": importtime,
            "cpu": cpu,
            "scale": scale,
        }
        write(arguments.json, results)
    return 0


def _counts(listed: str) -> list[int]:
    return [int(count) for count in listed.split(",")]


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} CPUs"
    except OSError:
        pass
    import platform

    return platform.machine()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
