"""Organization members at scale: time and peak memory of a check, next to its floors.

    python -m devtools.bench_members [--sizes 1000,10000,50000]

For each organization size, on moto with the wire-level Compute Optimizer stand-in:

- floor, list: a bare paginate-and-count loop over GetEnrollmentStatusesForOrganization (pages
  of 100), the least any member check must do on the Compute Optimizer side;
- floor, query: a bare paginated, strongly consistent Query of the stored members, counted;
  the least a check that compares with stored statuses must do on the DynamoDB side. moto
  runs in this process, so its own work (serializing the items of each page) is in the time
  and in the peak memory of this row and of the checks;
- the check (the real ``check.run``, warm clients): the first one (the baseline, which writes
  every member), a steady one (nothing changed), and one in which 1% of the members changed.

Time and memory are measured in separate runs (tracemalloc slows a run down several times).
``in moto`` is the part of a check's time spent inside DynamoDB calls, ``rest`` the remainder
(the monitor, botocore and the Compute Optimizer stand-in). ``peak`` is tracemalloc's peak
for the whole process, moto included; ``held`` is what the check itself holds once it has
read the whole organization (the stored statuses, the counts, the changes: a deep size), its
largest point short of rendering an alert.
Not a test: figures depend on the machine; the DynamoDB write counts do not.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from devtools.bench_process import FUNCTIONS, REGION

WRITES = ("BatchWriteItem", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")
COLUMNS = ("members", "run", "time s", "in moto s", "rest s", "peak MiB", "held MiB", "writes")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    arguments = parser.parse_args(argv)
    # The Lambda's source root, importable as in Lambda and in pytest (``make bench`` sets no path).
    if FUNCTIONS not in sys.path:
        sys.path.insert(0, FUNCTIONS)
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "enrollment-monitor")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ComputeOptimizerEnrollment")
    rows = []
    for size in (int(s) for s in arguments.sizes.split(",")):
        rows += _organization(size)
        print(f"{size:,} members done", flush=True)
    print()
    print(_table(rows))


def _organization(size: int) -> list[tuple[str, ...]]:
    from devtools.local_aws import local_aws

    with local_aws() as aws:
        os.environ["TRACK_MEMBER_ACCOUNTS"] = "true"  # local_aws() restores the environment
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the table, not the logs
        bench = _Bench(aws)
        members = [{"accountId": f"{i:012d}", "status": "Active"} for i in range(size)]
        aws.compute_optimizer.members[REGION] = members
        aws.compute_optimizer.set_enrollment(REGION, "Active")

        rows = [bench.floor(size, "floor: list members", bench.list_members)]
        rows.append(bench.check(size, "check: first (baseline)"))
        rows.append(bench.floor(size, "floor: query members", bench.query_members))
        rows.append(bench.check(size, "check: steady", traced=True))
        changed = range(0, size, 100)  # 1%
        rows.append(bench.check(size, "check: 1% changed", _set(members, changed, "Inactive")))
        # The traced run needs changes of its own: the same 1% changes again.
        rows[-1] = bench.traced(
            lambda: bench.run_check(_set(members, changed, "Pending")), rows[-1]
        )
        return rows


def _set(members: list[dict[str, Any]], indexes: range, status: str) -> Callable[[], None]:
    def change() -> None:
        for i in indexes:
            members[i] = {"accountId": f"{i:012d}", "status": status}

    return change


class _Bench:
    def __init__(self, aws: Any) -> None:
        from enrollment_monitor.clients import AwsClients

        self._aws = aws
        self._clients = AwsClients()
        self._in_moto = 0.0
        self._started = 0.0
        events = self._clients.dynamodb.meta.events
        events.register("before-call.dynamodb", self._start)
        events.register("after-call.dynamodb", self._stop)

    def _start(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def _stop(self, **_: Any) -> None:
        self._in_moto += time.perf_counter() - self._started

    def list_members(self) -> int:
        client = self._clients.compute_optimizer(REGION)
        paginator = client.get_paginator("get_enrollment_statuses_for_organization")
        counts: Counter[str] = Counter()
        for page in paginator.paginate(PaginationConfig={"PageSize": 100}):
            for member in page["accountEnrollmentStatuses"]:
                counts[member["status"]] += 1
        return counts.total()

    def query_members(self) -> int:
        paginator = self._clients.dynamodb.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._aws.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"MEMBERS#123456789012#{REGION}"}},
            ConsistentRead=True,
            ProjectionExpression="sk, #status",  # what the check reads, roughly
            ExpressionAttributeNames={"#status": "status"},
        )
        counts: Counter[str] = Counter()
        for page in pages:
            for item in page["Items"]:
                counts[item.get("status", {}).get("S")] += 1
        return counts.total()

    def run_check(self, before: Callable[[], None] | None = None) -> None:
        from devtools.local_aws import LambdaContext
        from enrollment_monitor.check import run
        from enrollment_monitor.settings import Settings

        if before:
            before()
        with contextlib.redirect_stdout(io.StringIO()):  # logs and EMF lines
            run({"action": "check"}, Settings.from_env(), self._clients, LambdaContext(), _now())

    def floor(self, size: int, name: str, loop: Callable[[], int]) -> tuple[str, ...]:
        seconds, in_moto, _ = self._timed(loop)
        moto = f"{in_moto:.2f}" if in_moto else ""
        row = (f"{size:,}", name, f"{seconds:.2f}", moto, f"{seconds - in_moto:.2f}", "", "", "")
        return self.traced(loop, row)

    def check(
        self, size: int, name: str, before: Callable[[], None] | None = None, traced: bool = False
    ) -> tuple[str, ...]:
        self._aws.wire.calls.clear()
        seconds, in_moto, _ = self._timed(lambda: self.run_check(before))
        writes = (
            ", ".join(
                f"{self._aws.wire.calls[f'dynamodb:{w}']} {w}"
                for w in WRITES
                if self._aws.wire.calls[f"dynamodb:{w}"]
            )
            or "none"
        )
        rest = f"{seconds - in_moto:.2f}"
        row = (f"{size:,}", name, f"{seconds:.2f}", f"{in_moto:.2f}", rest, "", "", writes)
        return self.traced(self.run_check, row) if traced else row

    def traced(self, work: Callable[[], object], row: tuple[str, ...]) -> tuple[str, ...]:
        """Fills in the row's memory, from another run of ``work`` under tracemalloc."""
        from enrollment_monitor.member_diff import MemberDiff

        held: list[int] = []
        unlisted = MemberDiff.unlisted

        def measure_then_unlisted(diff: MemberDiff) -> Any:  # the whole organization read
            held.append(_deep_size(list(vars(diff).values())))
            yield from unlisted(diff)

        tracemalloc.start()
        try:
            with mock.patch.object(MemberDiff, "unlisted", measure_then_unlisted):
                work()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        mib = f"{held[0] / 2**20:.1f}" if held else ""
        return (*row[:5], f"{peak / 2**20:.1f}", mib, row[7])

    def _timed(self, work: Callable[[], object]) -> tuple[float, float, object]:
        self._in_moto = 0.0
        started = time.perf_counter()
        result = work()
        return time.perf_counter() - started, self._in_moto, result


def _deep_size(root: object) -> int:
    """Bytes of ``root`` and of everything it holds (containers, strings, dataclasses), each
    object counted once."""
    seen: set[int] = set()
    size, todo = 0, [root]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        size += sys.getsizeof(item)
        if isinstance(item, dict):
            todo += [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple | set | frozenset):
            todo += list(item)
        elif hasattr(item, "__dict__"):
            todo.append(vars(item))
    return size


def _now() -> datetime:
    return datetime.now(UTC)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
