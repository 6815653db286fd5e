"""Scale: a check of 1k, 10k and 100k organization members in 1 and 17 Regions, its time on AWS
modelled from what it asks of AWS and the CPU it spends, its peak memory, requests and
DynamoDB write units.

    python -m devtools.bench.scale [--sizes 1000,10000,100000] [--regions 1,17]
    python -m devtools.bench.scale OUT SIZE REGIONS SCENARIO    (one check, its figures to OUT)

Each check runs in a fresh process (its handler imported first, as Lambda's init does; the
invocation then makes its clients, as the first invocation of a sandbox does), against moto
running as a server in this process: moto's work and memory are not the function's. Compute
Optimizer is the wire-level stand-in, in the function's process; the CPU it spends building
its answers is measured and taken away.

The model (moto and this machine are not AWS):

- each Compute Optimizer request (GetEnrollmentStatus, or one page of
  GetEnrollmentStatusesForOrganization) waits ``COMPUTE_OPTIMIZER_MS``, each DynamoDB request
  ``DYNAMODB_MS``, any other request (SNS Publish) ``OTHER_MS``;
- CPU: the thread CPU time measured here, on one core, times 1,769 / MemorySize (Lambda gives
  one vCPU at 1,769 MB and a share in proportion below);
- the Regions run in threads of their own: a Region's path is its requests' waits plus its own
  CPU, one after the other. ``path`` is the slowest Region's path (the member step runs in the
  listing Region's). ``modelled`` adds what every other thread spent on the CPU, as if it all
  delayed that path (they share the function's one vCPU or less), and the invocation's own CPU
  outside the threads: an upper bound, and the figure held against the timeout.

Write units are counted from the requests: a written item's size as DynamoDB counts it, 1 WRU
per KB started, twice in a transaction; an item updated or deleted counts at the size it was
written with in the same check, else as one unit (every such item is under 1 KB: the last
observation, the members' control item, a member).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence

from devtools.bench.process import REGION, event, run_child, write

_MODULE = "devtools.bench.scale"  # the child
COMPUTE_OPTIMIZER_MS = 40
DYNAMODB_MS = 8
OTHER_MS = 40  # SNS Publish: not in the model; counted as slowly as Compute Optimizer
ONE_VCPU_MB = 1769
MEMORY_CHOICES = (128, 256, 512, 1024, ONE_VCPU_MB)  # what the memory choice weighs
SCENARIOS = {
    "first": "first check (baseline)",
    "steady": "steady check",
    "change": "1% changed",
}
# What the listing Region's members step must report in each: else the bench measured
# something else, and stops.
_EXPECTED = {"first": "baseline", "steady": "nothing", "change": "changed"}
# The Regions a 17-Region check watches: the function's own first, where members are listed.
REGIONS = (
    REGION,
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
)
_ACCOUNT_ID = "123456789012"
_CHANGED_EVERY = 100  # 1%
_MOTO_READ_TIMEOUT_S = 900
_SHORT = {
    "compute-optimizer:GetEnrollmentStatus": "GES",
    "compute-optimizer:GetEnrollmentStatusesForOrganization": "page",
    "dynamodb:Query": "Q",
    "dynamodb:BatchWriteItem": "BW",
    "dynamodb:PutItem": "P",
    "dynamodb:UpdateItem": "U",
    "dynamodb:DeleteItem": "D",
    "dynamodb:TransactWriteItems": "T",
    "sns:Publish": "SNS",
}


def latency_ms(call: str) -> int:
    """What one request waits on AWS in the model."""
    service = call.split(":", 1)[0]
    return {"compute-optimizer": COMPUTE_OPTIMIZER_MS, "dynamodb": DYNAMODB_MS}.get(
        service, OTHER_MS
    )


# ------------------------------------------------------------------------ the parent


def function_settings() -> tuple[int, int]:
    """The template's MemorySize, and its timeout with member tracking."""
    from devtools.local_aws.template import load_template

    template = load_template()
    memory = template["Resources"]["EnrollmentMonitorFunction"]["Properties"]["MemorySize"]
    return int(memory), int(template["Mappings"]["FunctionTimeout"]["true"]["Seconds"])


def measure(sizes: Sequence[int], region_counts: Sequence[int], timeout_s: int) -> list[dict]:
    """Every check of every organization size and Region count: the child's figures, with
    ``members``, ``regions`` and ``scenario``. Each (size, Regions) starts from an empty
    table: its first check is the baseline."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line a request, otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    checks = []
    try:
        for size in sizes:
            for count in region_counts:
                environment = _stack(endpoint, REGIONS[:count])
                environment["BENCH_TIMEOUT_S"] = str(timeout_s)
                for scenario in SCENARIOS:
                    started = time.perf_counter()
                    figures, _ = run_child(_MODULE, [str(size), str(count), scenario], environment)
                    figures.update(members=size, regions=count, scenario=scenario)
                    _expected(figures)
                    figures["bench_seconds"] = time.perf_counter() - started
                    checks.append(figures)
                print(f"  scale: {size:,} members x {count} Regions done", flush=True)
    finally:
        server.stop()
    return checks


def _expected(check: dict) -> None:
    """Stops the bench unless the check did what its scenario is about."""
    members = check["result"]["checked"][0]["members"]
    changed = check["members"] // _CHANGED_EVERY if check["scenario"] == "change" else 0
    wanted = {"outcome": _EXPECTED[check["scenario"]], "members": check["members"]}
    if {**wanted, "changed": changed} != members:
        raise SystemExit(f"bench: {check['scenario']} check of {wanted}: {members}")


def _stack(endpoint: str, regions: Sequence[str]) -> dict[str, str]:
    """A fresh moto (state table, alert topic) and the function's environment pointing at it."""
    import urllib.request

    import boto3

    from devtools.local_aws.template import function_environment, table_definition

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }
    session = boto3.Session(region_name=REGION, **_lower(credentials))
    table = "enrollment-monitor-state"
    session.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=table, **table_definition()
    )
    topic = session.client("sns", endpoint_url=endpoint).create_topic(Name="alerts")["TopicArn"]
    environment = function_environment(
        parameters={"Regions": ",".join(regions), "TrackMemberAccounts": "true"},
        resources={"StateTable": table, "AlertTopic": topic},
    )
    return {
        **environment,
        **credentials,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ENDPOINT_URL_SNS": endpoint,
        "AWS_ENDPOINT_URL_EVENTBRIDGE": endpoint,  # each alert is also an event
    }


def _lower(credentials: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in credentials.items()}


def model(check: dict, memory_mb: int) -> dict[str, float]:
    """Seconds on AWS: ``path``, the slowest Region's waits plus its own CPU; ``modelled``,
    every thread's CPU plus the slowest Region's waits (the upper bound); ``cpu``, the CPU of
    the whole invocation at ``memory_mb``."""
    scale = ONE_VCPU_MB / memory_mb
    waits = {
        region: sum(latency_ms(call) * n for call, n in found["calls"].items()) / 1000
        for region, found in check["threads"].items()
    }
    cpu = {region: found["cpu"] * scale for region, found in check["threads"].items()}
    outside = check["outside_cpu"] * scale
    path = max(waits[region] + cpu[region] for region in waits)
    return {
        "path": path,
        "modelled": outside + sum(cpu.values()) + max(waits.values()),
        "cpu": outside + sum(cpu.values()),
    }


def requests(check: dict) -> dict[str, int]:
    """Every thread's requests, by operation."""
    total: dict[str, int] = {}
    for found in check["threads"].values():
        for call, n in found["calls"].items():
            total[call] = total.get(call, 0) + n
    return total


COLUMNS = (
    "members",
    "Regions",
    "check",
    "modelled s",
    "path s",
    "CPU s",
    "peak MiB",
    "requests",
    "WRU",
)


def rows(checks: list[dict], memory_mb: int) -> list[tuple[str, ...]]:
    found = []
    for check in checks:
        modelled = model(check, memory_mb)
        made = requests(check)
        shown = " ".join(
            f"{short} {made[call]:,}" for call, short in _SHORT.items() if made.get(call)
        )
        found.append(
            (
                f"{check['members']:,}",
                str(check["regions"]),
                SCENARIOS[check["scenario"]],
                f"{modelled['modelled']:.1f}",
                f"{modelled['path']:.1f}",
                f"{modelled['cpu']:.1f}",
                f"{check['peak_rss_kib'] / 1024:.0f}",
                shown,
                f"{check['write_units']:,}",
            )
        )
    return found


def render(found: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [COLUMNS, *found]) for i in range(len(COLUMNS))]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return "\n".join([line(COLUMNS), "  ".join("-" * w for w in widths), *map(line, found)])


def verdicts(checks: list[dict], memory_mb: int, timeout_s: int) -> list[str]:
    """The largest organization in the most Regions against the timeout: its steady check
    within half of it, its first check within the member listing's deadline."""
    from enrollment_monitor.members import deadline_reserve

    largest = max(check["members"] for check in checks)
    most = max(check["regions"] for check in checks)
    of = {
        check["scenario"]: model(check, memory_mb)["modelled"]
        for check in checks
        if check["members"] == largest and check["regions"] == most
    }
    listing_until = timeout_s - deadline_reserve(timeout_s)
    lines = []
    if "steady" in of:
        ok = "ok" if of["steady"] <= timeout_s / 2 else "OVER"
        lines.append(
            f"{largest:,} members x {most} Regions, steady: {of['steady']:.0f} s modelled, "
            f"target half the {timeout_s} s timeout ({timeout_s / 2:.0f} s): {ok}"
        )
    if "first" in of:
        ok = "fits" if of["first"] <= listing_until else "DOES NOT FIT"
        lines.append(
            f"{largest:,} members x {most} Regions, first check: {of['first']:.0f} s modelled; "
            f"the listing stops {deadline_reserve(timeout_s):.0f} s before the timeout, at "
            f"{listing_until:.0f} s: {ok} in one invocation"
        )
    return lines


def memory_choices(checks: list[dict], sizes_mb: Sequence[int]) -> list[str]:
    """The largest organization's checks in the most Regions, modelled at other memory sizes,
    with the GB-seconds each bills."""
    largest = max(check["members"] for check in checks)
    most = max(check["regions"] for check in checks)
    chosen = [c for c in checks if c["members"] == largest and c["regions"] == most]
    lines = [f"{largest:,} members x {most} Regions at other memory sizes (modelled s / GB-s):"]
    for check in chosen:
        figures = []
        for memory in sizes_mb:
            seconds = model(check, memory)["modelled"]
            figures.append(f"{memory} MB {seconds:.0f} s / {seconds * memory / 1024:.0f}")
        lines.append(f"  {SCENARIOS[check['scenario']]}: " + ", ".join(figures))
    return lines


def report(checks: list[dict], memory_mb: int, timeout_s: int) -> list[str]:
    """The scale table, what it assumed, and the largest organization against the timeout and
    at other memory sizes."""
    return [
        f"organization members at scale (MemorySize {memory_mb} MB, timeout {timeout_s} s):",
        render(rows(checks, memory_mb)),
        *notes(checks, memory_mb),
        *verdicts(checks, memory_mb, timeout_s),
        *memory_choices(checks, MEMORY_CHOICES),
    ]


def notes(checks: list[dict], memory_mb: int) -> list[str]:
    idle = min(check["rss_before_kib"] for check in checks) / 1024
    spent = sum(check["bench_seconds"] for check in checks)
    legend = ", ".join(f"{short} {call}" for call, short in _SHORT.items())
    return [
        f"model: {COMPUTE_OPTIMIZER_MS} ms a Compute Optimizer request (a page of members is "
        f"one), {DYNAMODB_MS} ms a DynamoDB request, {OTHER_MS} ms an SNS Publish; CPU measured "
        f"here x {ONE_VCPU_MB}/{memory_mb} (MemorySize {memory_mb} MB)",
        "modelled: all the invocation's CPU plus the slowest Region's waits (upper bound, held "
        "against the timeout); path: the slowest Region's waits plus its own CPU (lower bound)",
        f"peak: the function's process, resident (Python, boto3, Powertools: {idle:.0f} MiB "
        "before the check); moto runs in another process",
        f"requests: {legend}",
        f"the {len(checks)} checks took {spent:.0f} s here (moto's own time included)",
    ]


# ------------------------------------------------------------------------ the child


class _Organization(Sequence[dict]):
    """``size`` members, made as a page asks for them (the function's process holds no list of
    them): every 100th is Inactive when ``changed``, the others Active."""

    def __init__(self, size: int, changed: bool, updated: float) -> None:
        self._size, self._changed, self._updated = size, changed, updated

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._member(i) for i in range(*index.indices(self._size))]
        return self._member(index)

    def _member(self, i: int) -> dict:
        inactive = self._changed and i % _CHANGED_EVERY == 0
        return {
            "accountId": f"{i:012d}",
            "status": "Inactive" if inactive else "Active",
            "lastUpdatedTimestamp": self._updated,
        }


class _WriteUnits:
    """DynamoDB write units of the requests sent, as DynamoDB counts them (module docstring)."""

    def __init__(self) -> None:
        import threading

        self.units = 0
        self._sizes: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def handler(self, model, params, **_) -> None:
        name = model.name
        with self._lock:
            if name == "TransactWriteItems":
                for entry in params["TransactItems"]:
                    ((action, request),) = entry.items()
                    self.units += 2 * self._write(action, request)
            elif name == "BatchWriteItem":
                for batch in params["RequestItems"].values():
                    for entry in batch:
                        ((action, request),) = entry.items()
                        self.units += self._write(action.removesuffix("Request"), request)
            elif name in ("PutItem", "UpdateItem", "DeleteItem"):
                self.units += self._write(name.removesuffix("Item"), params)

    def _write(self, action: str, request: dict) -> int:
        if action == "Put":
            item = request["Item"]
            size = _item_size(item)
            self._sizes[_key(item)] = size
            return _units(size)
        key = _key(request["Key"])
        size = self._sizes.get(key, 1)
        if action == "Delete":
            self._sizes.pop(key, None)
        return _units(size)


def _key(item: dict) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["S"]


def _units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _item_size(item: dict) -> int:
    """An item's size as DynamoDB counts it: names and values, in bytes."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict) -> int:
    ((kind, held),) = value.items()
    if kind == "S":
        return len(held.encode())
    if kind == "N":
        return len(held.lstrip("-").replace(".", "").strip("0")) // 2 + 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in held.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in held)
    return len(held) if isinstance(held, bytes | str) else 1


def _child(size: int, region_count: int, scenario: str) -> dict:
    """One check, as the first invocation of a fresh sandbox, and what it spent."""
    import threading
    from collections import defaultdict
    from types import SimpleNamespace

    from devtools.bench.process import Stdout
    from devtools.local_aws.aws_requests import WireTap
    from devtools.local_aws.compute_optimizer import FakeComputeOptimizer

    served: defaultdict[int, float] = defaultdict(float)  # the stand-in's CPU, by thread

    class Timed(FakeComputeOptimizer):
        def _answer(self, request, call):
            started = time.thread_time()
            try:
                return super()._answer(request, call)
            finally:
                served[threading.get_ident()] += time.thread_time() - started

    regions = REGIONS[:region_count]
    units = _WriteUnits()
    with Timed() as compute_optimizer:
        wire = WireTap()
        wire.install()
        import botocore.handlers

        botocore.handlers.BUILTIN_HANDLERS.insert(
            0, ("before-parameter-build.dynamodb", units.handler)
        )
        # Lambda's init: the handler imported before the invocation starts.
        import enrollment_monitor.app as app
        from enrollment_monitor import check as checking

        _wait_for_moto()

        updated = time.time()
        for region in regions:
            compute_optimizer.set_enrollment(region, "Active")
        compute_optimizer.set_enrollment(
            REGION, "Active", memberAccountsEnrolled=True, numberOfMemberAccountsOptedIn=size
        )
        compute_optimizer.members[REGION] = _Organization(size, scenario == "change", updated)
        spent: dict[str, tuple[int, float]] = {}  # Region: (thread, CPU)
        check_one = checking._check_one

        def timed(invocation, subject):  # every subject is Compute Optimizer's in a Region
            started = time.thread_time()
            try:
                return check_one(invocation, subject)
            finally:
                spent[subject.region] = (threading.get_ident(), time.thread_time() - started)

        checking._check_one = timed
        timeout_ms = int(os.environ.get("BENCH_TIMEOUT_S", "300")) * 1000
        context = SimpleNamespace(
            function_name="enrollment-monitor",
            memory_limit_in_mb=256,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{_ACCOUNT_ID}:function:monitor",
            aws_request_id="11111111-2222-3333-4444-555555555555",
            get_remaining_time_in_millis=lambda: timeout_ms,
        )
        rss_before = _memory_kib("VmRSS")
        with Stdout():
            cpu_started, started = time.process_time(), time.perf_counter()
            result = app.lambda_handler(event("scheduled"), context)
            cpu, wall = time.process_time() - cpu_started, time.perf_counter() - started
        wire.uninstall()

    threads: dict[str, dict] = {}
    for region, (thread, thread_cpu) in spent.items():
        name = "MainThread" if len(regions) == 1 else f"check {region}"
        calls: dict[str, int] = {}
        for call in wire.by_thread[name]:
            calls[call] = calls.get(call, 0) + 1
        threads[region] = {"cpu": thread_cpu - served[thread], "calls": calls}
    in_threads = sum(thread_cpu for _, thread_cpu in spent.values())
    return {
        "threads": threads,
        "outside_cpu": max(0.0, cpu - in_threads),
        "process_cpu": cpu,
        "wall": wall,
        "rss_before_kib": rss_before,
        # Not getrusage's ru_maxrss: it keeps the high-water mark of the process this one was
        # forked from (the bench, moto and its table included).
        "peak_rss_kib": _memory_kib("VmHWM"),
        "write_units": units.units,
        "result": result,
    }


def _wait_for_moto() -> None:
    """The function's clients wait as long as moto takes: a strongly consistent Query of 100,000
    members costs moto, in Python, more than the clients' 10 s read timeout on a busy machine
    (AWS answers in milliseconds), and the model counts requests and CPU, never moto's time."""
    from botocore.config import Config

    from enrollment_monitor.clients import CLIENT_CONFIG, AwsClients

    make = AwsClients._client

    def patient(self, service, region=None, config=CLIENT_CONFIG):
        return make(self, service, region, config.merge(Config(read_timeout=_MOTO_READ_TIMEOUT_S)))

    AwsClients._client = patient  # type: ignore[method-assign]


def _memory_kib(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (its peak) of this process, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise LookupError(field)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench.scale", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--regions", default="1,17")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    arguments = parser.parse_args(argv)
    memory, timeout = function_settings()
    checks = measure(
        [int(s) for s in arguments.sizes.split(",")],
        [int(r) for r in arguments.regions.split(",")],
        timeout,
    )
    print()
    print("\n".join(report(checks, memory, timeout)))
    if arguments.json:
        write(arguments.json, checks)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[4] in SCENARIOS:
        write(sys.argv[1], _child(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    else:
        sys.exit(main(sys.argv[1:]))
