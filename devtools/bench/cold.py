"""Cold start: fresh processes, median of ``runs``, timed from just before the first import to
the end of the first check (creating the moto resources in between is not timed), against the
floor (devtools/bench/floor.py) in the same conditions. The handler is loaded from the
deployment package, as Lambda loads it from /var/task:

- as ``sam build`` makes it through functions/Makefile: with python3.13 bytecode;
- the same without bytecode, which Lambda compiles again at every cold start (/var/task is
  read-only, so the bytecode is never kept);
- with bytecode for Powertools only, as with a layer that ships bytecode.

boto3 comes from the virtualenv with its bytecode, for the floor as well: we take the runtime's
copy to ship bytecode (an assumption, not measured on Lambda).

    python -m devtools.bench.cold OUT handler|floor    (one cold start, its figures to OUT)

Only the standard library is imported at module level (here and in the devtools modules
imported below): the child times its imports from a clean interpreter.
"""

from __future__ import annotations

import sys
import time

from devtools.bench import floor, package, table
from devtools.bench.process import REGION, calls_since, event, run_child, write

_MODULE = "devtools.bench.cold"  # the child
TARGET = 1.25
_LABELS = {
    "bytecode": "cold start, package as sam build makes it (with bytecode)",
    "deployed": "cold start, the same package without bytecode",
    "layer": "cold start, Powertools from a layer that has bytecode",
    "source": "cold start, source tree, bytecode cached",
}
_TIMES = ("import_ms", "check_ms", "total_ms")


def measure(runs: int, built: bool) -> dict:
    """Median times of each variant and of the floor, fresh processes interleaved so that
    drift hits every variant alike; the AWS calls and the output of a first check."""
    import statistics

    # PYTHONDONTWRITEBYTECODE: like /var/task, the package is never written to, so a package
    # without bytecode is compiled again by every cold start.
    readonly = {"PYTHONDONTWRITEBYTECODE": "1"}
    variants: dict[str, tuple[str, dict[str, str], list[str] | None]] = {
        "floor": ("floor", {}, None)
    }
    if built:
        variants["deployed"] = ("handler", readonly, [package.PLAIN])
        variants["bytecode"] = ("handler", readonly, [package.BYTECODE])
        variants["layer"] = ("handler", readonly, [package.LAYER])
    else:  # no package (pip could not reach the index): the source tree, bytecode cached
        run_child(_MODULE, ["handler"])
        variants["source"] = ("handler", {}, None)
    samples: dict[str, list[dict]] = {name: [] for name in variants}
    outputs: dict[str, str] = {}
    for _ in range(runs):
        for name, (kind, env, path) in variants.items():
            result, output = run_child(_MODULE, [kind], env, path)
            samples[name].append(result)
            outputs[name] = output
    summary: dict = {}
    for name, results in samples.items():
        summary[name] = {field: statistics.median(r[field] for r in results) for field in _TIMES}
        summary[name]["calls"] = results[-1]["calls"]
        summary[name]["handler_file"] = results[-1]["handler_file"]
    summary["first_check_output"] = outputs["bytecode" if "bytecode" in outputs else "source"]
    return summary


def first_check_calls(cold: dict) -> dict[str, int]:
    """The AWS calls of the handler's first check (status unchanged)."""
    return next(cold[name]["calls"] for name in ("bytecode", "source") if name in cold)


def rows(cold: dict) -> list[table.Row]:
    floor_start = cold["floor"]
    split = "{import_ms:.1f} + {check_ms:.1f}".format
    found = []
    for name, label in _LABELS.items():
        if name in cold:
            mine = cold[name]
            found.append(table.ratio(label, mine["total_ms"], floor_start["total_ms"], TARGET))
            found.append(
                table.info("  import + first check (ms)", split(**mine), split(**floor_start))
            )
    return found


def metrics_note(cold: dict) -> list[str]:
    """The metrics a cold-start check emits: one line each."""
    from devtools.local_aws import emf

    metrics = sorted({str(metric) for metric in emf.metrics(cold["first_check_output"])})
    coldstart = any(m.startswith("ColdStart") for m in metrics)
    return [
        f"metrics of a cold-start check: {len(metrics)} name+dimension combinations "
        f"(ColdStart among them: {coldstart})",
        *(f"  {metric}" for metric in metrics),
    ]


# ------------------------------------------------------------------------ the child


def _child(kind: str) -> dict:
    """One cold start of the ``handler``, or of the ``floor``."""
    started = time.perf_counter_ns()
    if kind == "handler":
        import enrollment_monitor.app as app
    else:
        import boto3

        import enrollment_monitor.clients  # noqa: F401 - the floor's client configuration
    imported = time.perf_counter_ns()

    with _Stage() as (aws, context):
        scheduled = event("scheduled")
        before = dict(aws.wire.calls)
        checking = time.perf_counter_ns()
        if kind == "handler":
            result = app.lambda_handler(scheduled, context)
        else:
            result = floor.check(*floor.clients(boto3), aws.table_name)
        checked = time.perf_counter_ns()
        if kind == "handler" and result["checked"][0]["outcome"] != "nothing":
            raise SystemExit(f"bench: the first check was not a steady-state check: {result}")
        calls = calls_since(aws, before)
    return {
        "import_ms": (imported - started) / 1e6,
        "check_ms": (checked - checking) / 1e6,
        "total_ms": (imported - started + checked - checking) / 1e6,
        "calls": calls,
        "result": str(result)[:200],
        "python": sys.version.split()[0],
        "handler_file": getattr(sys.modules.get("enrollment_monitor.app"), "__file__", None),
    }


class _Stage:
    """moto + the Compute Optimizer stand-in, an Active enrollment already on record (so the
    check is steady state), and a boto3 default session that has loaded nothing yet."""

    def __enter__(self):
        from datetime import UTC, datetime

        import boto3

        from devtools.local_aws.resources import LambdaContext, local_aws
        from enrollment_monitor.enrollment import Enrollment, Observation, WatchedSubject
        from enrollment_monitor.store.observations import Observations
        from enrollment_monitor.store.table import Table

        self._local = local_aws()
        aws = self._local.__enter__()
        aws.compute_optimizer.set_enrollment(REGION, "Active")
        context = LambdaContext()
        seed = boto3.Session(region_name=REGION).client("dynamodb")
        where = WatchedSubject(context.invoked_function_arn.split(":")[4], REGION)
        observation = Observation(Enrollment("Active"), datetime.now(UTC))
        Observations(Table(seed, aws.table_name)).record(where, None, observation)
        # local_aws() made its resources with boto3's default session: start afresh, so the
        # timed part loads its own service models, as a Lambda cold start does.
        boto3.DEFAULT_SESSION = None
        return aws, context

    def __exit__(self, *exc):
        return self._local.__exit__(*exc)


if __name__ == "__main__":
    write(sys.argv[1], _child(sys.argv[2]))
