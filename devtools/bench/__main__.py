"""``make bench``: what the monitor costs in time, AWS requests and package size, each figure
against its floor so that the machine's own speed cancels out.

The floor (devtools/bench/floor.py) is the least any implementation must do: import boto3,
create the clients, read the enrollment (compute-optimizer:GetEnrollmentStatus) and the last
observation (one strongly consistent dynamodb:Query), on the same moto + wire-level Compute
Optimizer stand-in. A module a measure, each timing in fresh processes of its own:

1. devtools/bench/cold.py: cold start, from the deployment package, three ways;
2. devtools/bench/warm.py: warm check, steady state, against the floor on warm clients;
3. devtools/bench/requests.py: AWS requests per check, from the wire tap;
4. devtools/bench/package.py: the deployment package, built as sam build builds it, zipped;
5. devtools/bench/imports.py: import time, and nothing created or connected at import;
6. devtools/bench/cpu.py: the CPU of the monitor's own work in a steady check, AWS stubbed;
7. devtools/bench/scale.py: organization members at scale (1k to 100k, 1 and 17 Regions),
   timed on AWS by a latency model, against the template's memory and timeout.

This module runs them and prints the tables (devtools/bench/table.py, then the scale table).
``--quick`` runs each measure once in one small configuration, from the source tree (no package
built): seconds instead of minutes, so that `make test-thorough`, which CI runs, runs the bench
end to end (tests/deployment/test_bench.py). Its figures are not the bench's.
"""

from __future__ import annotations

import argparse
import os
import sys

from devtools.bench import cold, cpu, imports, package, requests, scale, table, warm
from devtools.bench.process import write

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
        default=",".join(map(str, cpu.REGION_COUNTS)),
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
    built = not arguments.quick and package.build()
    cold_starts = cold.measure(arguments.runs, built)
    warm_checks = warm.measure(arguments.warm_runs)
    measured = requests.measure()
    sizes = package.sizes(built)
    importtime = imports.measure(built)
    cpu_us = cpu.measure(arguments.cpu_runs, _counts(arguments.cpu_regions))
    memory, timeout = scale.function_settings()
    scaled = scale.measure(
        _counts(arguments.scale_sizes), _counts(arguments.scale_regions), timeout
    )

    request_counts = {
        "cold-start check (status unchanged)": cold.first_check_calls(cold_starts),
        **measured["requests"],
    }
    rows = [
        *cold.rows(cold_starts),
        warm.row(warm_checks),
        *cpu.rows(cpu_us),
        *requests.rows(request_counts),
        *package.rows(sizes),
    ]
    print()
    print(table.render(rows))
    print(
        f"\ncold: median of {arguments.runs} fresh processes per row, interleaved, timed from the "
        "first import to the end of the first check (creating the moto resources is not timed); "
        f"warm: median of interleaved checks; python {warm_checks['python']}"
    )
    print("requests per check, from the wire tap:")
    print("\n".join(requests.details(request_counts)))
    print("\n".join(imports.notes(importtime)))
    print("\n".join(cold.metrics_note(cold_starts)))
    print(requests.log_note(measured))
    print()
    print("\n".join(scale.report(scaled, memory, timeout)))
    if arguments.json:
        results = {
            "cold": cold_starts,
            "warm": warm_checks,
            "requests": measured,
            "package": sizes,
            "importtime": importtime,
            "cpu": cpu_us,
            "scale": scaled,
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
