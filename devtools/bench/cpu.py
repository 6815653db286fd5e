"""CPU of the monitor's own work in a steady check, warm, AWS left out: the clients are stubs
that answer at once with what botocore would hand back once it had parsed AWS's reply, so
neither botocore nor moto runs, and what is timed is the handler and everything the monitor
does around the two reads (parse, compare, log, metrics, the Regions' threads).

    python -m devtools.bench.cpu OUT REGIONS RUNS    (the median CPU per check to OUT)

Process CPU time (every thread's), per check, median of RUNS after a warm-up; the check's
output goes to a file, as it goes to a pipe in Lambda. With several Regions the figure is the
check's CPU divided by the number of Regions.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from types import SimpleNamespace

from devtools.bench import table
from devtools.bench.process import REGION, Stdout, event, run_child, write

_MODULE = "devtools.bench.cpu"  # the child
TARGET_US = 150
_WARM_UP = 200
REGION_COUNTS = (1, 17)  # make bench's


def measure(runs: int, region_counts: Sequence[int]) -> dict[int, float]:
    """{Regions watched: median microseconds of CPU per Region of a steady check}."""
    return {count: run_child(_MODULE, [str(count), str(runs)])[0]["us"] for count in region_counts}


def rows(cpu: dict[int, float]) -> list[table.Row]:
    found = []
    for count, us in cpu.items():
        watched = f"{count} Region" if count == 1 else f"{count} Regions, per Region"
        label = f"CPU of a steady check, warm, AWS stubbed ({watched})"
        verdict = "ok" if us <= TARGET_US else "OVER"
        found.append((label, f"{us:.0f} us", "", "", f"{TARGET_US} us", verdict))
    return found


class _Stubs:
    """``AwsClients`` answering at once: an Active enrollment in every Region, and a state table
    that keeps what the check puts (the first check records the observation the others read)."""

    def __init__(self) -> None:
        self._items: dict[str, list[dict]] = {}
        self.dynamodb = SimpleNamespace(
            meta=SimpleNamespace(region_name=REGION), query=self._query, put_item=self._put
        )

    def regional(self, service: str, region: str) -> SimpleNamespace:
        assert service == "compute-optimizer", service  # the only subject a default check reads
        return self.compute_optimizer(region)

    def compute_optimizer(self, region: str) -> SimpleNamespace:
        from datetime import UTC, datetime

        answer = {"status": "Active", "lastUpdatedTimestamp": datetime(2026, 1, 1, tzinfo=UTC)}
        return SimpleNamespace(
            meta=SimpleNamespace(region_name=region), get_enrollment_status=lambda: answer
        )

    def _query(self, ExpressionAttributeValues: dict, **_: object) -> dict:  # noqa: N803
        return {"Items": self._items.get(ExpressionAttributeValues[":pk"]["S"], [])}

    def _put(self, Item: dict, **_: object) -> dict:  # noqa: N803
        self._items.setdefault(Item["pk"]["S"], []).append(Item)
        return {"ResponseMetadata": {"RequestId": "stub"}}  # what every DynamoDB answer carries


def _child(regions: int, runs: int) -> dict:
    import gc
    import os
    import statistics

    from devtools.bench.scale import REGIONS
    from devtools.local_aws.template import function_environment

    os.environ.update(
        function_environment(
            parameters={"Regions": ",".join(REGIONS[:regions])},
            resources={
                "StateTable": "state",
                "AlertTopic": "arn:aws:sns:us-east-1:123456789012:alerts",
            },
        )
    )
    import enrollment_monitor.app as app
    from devtools.local_aws.resources import LambdaContext

    stubs = _Stubs()
    app.clients = lambda: stubs  # type: ignore[assignment]
    scheduled, context = event("scheduled"), LambdaContext()
    times = []
    with Stdout():
        for _ in range(_WARM_UP):  # the first records the observation: the rest are steady
            app.lambda_handler(scheduled, context)
        gc.collect()
        for _ in range(runs):
            started = time.process_time_ns()
            app.lambda_handler(scheduled, context)
            times.append(time.process_time_ns() - started)
    return {"us": statistics.median(times) / 1000 / regions}


if __name__ == "__main__":
    write(sys.argv[1], _child(int(sys.argv[2]), int(sys.argv[3])))
