"""Warm check: the median of a steady-state check (status unchanged) against the floor's two
calls (devtools/bench/floor.py) on warm clients, interleaved, in one process.

    python -m devtools.bench.warm OUT RUNS    (RUNS timed checks of each, the medians to OUT)
"""

from __future__ import annotations

import sys
import time

from devtools.bench import floor, table
from devtools.bench.process import REGION, Stdout, event, run_child, write

_MODULE = "devtools.bench.warm"  # the child
TARGET = 1.3
_WARM_UP = 30


def measure(runs: int) -> dict:
    """The medians in ms, ``check`` and ``floor``, and the child's Python version."""
    return run_child(_MODULE, [str(runs)])[0]


def row(warm: dict) -> table.Row:
    label = "warm check, steady state (median)"
    return table.ratio(label, warm["check"], warm["floor"], TARGET)


def _child(runs: int) -> dict:
    import gc
    import statistics

    import boto3

    import enrollment_monitor.app as app
    from devtools.local_aws.resources import LambdaContext, local_aws

    scheduled = event("scheduled")
    context = LambdaContext()
    with local_aws() as aws:
        aws.compute_optimizer.set_enrollment(REGION, "Active")

        def check() -> object:
            return app.lambda_handler(scheduled, context)

        check()  # the silent baseline: every later check is steady state
        compute_optimizer, dynamodb = floor.clients(boto3.Session(region_name=REGION))

        def floor_check() -> object:
            return floor.check(compute_optimizer, dynamodb, aws.table_name)

        for _ in range(_WARM_UP):
            check()
            floor_check()
        times: dict[str, list[int]] = {"check": [], "floor": []}
        gc.collect()
        # The check's output goes to a file, as it goes to a pipe in Lambda: written, but not
        # read by this benchmark's parent process while it measures.
        with Stdout():
            for i in range(runs):
                order = [("check", check), ("floor", floor_check)]
                for name, call in order if i % 2 else reversed(order):
                    started = time.perf_counter_ns()
                    call()
                    times[name].append(time.perf_counter_ns() - started)
    medians = {name: statistics.median(t) / 1e6 for name, t in times.items()}
    return {**medians, "python": sys.version.split()[0]}


if __name__ == "__main__":
    write(sys.argv[1], _child(int(sys.argv[2])))
