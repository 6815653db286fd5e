"""``make bench``: what the monitor costs in time, AWS requests and package size, each figure
against its floor so that the machine's own speed cancels out.

The floor is the least any implementation must do: import boto3, create the clients, read the
enrollment (compute-optimizer:GetEnrollmentStatus) and the last observation (one strongly
consistent dynamodb:Query), on the same moto + wire-level Compute Optimizer stand-in.

1. Cold start: fresh processes, median of ``--runs``, timed from just before the first import to
   the end of the first check (creating the moto resources in between is not timed). The
   handler is loaded from the deployment package, as Lambda loads it from /var/task:
   - as ``sam build`` makes it through functions/Makefile: with python3.13 bytecode;
   - the same without bytecode, which Lambda compiles again at every cold start (/var/task is
     read-only, so the bytecode is never kept);
   - with bytecode for Powertools only, as with a layer that ships bytecode.
   boto3 comes from the virtualenv with its bytecode, for the floor as well: we take the
   runtime's copy to ship bytecode (an assumption, not measured on Lambda).
2. Warm check: median of a steady-state check (status unchanged) against the same two calls on
   warm clients, interleaved.
3. AWS requests per check, from the wire tap.
4. Package: the deployment package zipped, with Powertools bundled and without (public layer).

Only the standard library is imported at module level: a cold-start child must time its imports
from a clean interpreter.
"""

from __future__ import annotations

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUNCTIONS = os.path.join(ROOT, "functions")
WORK = os.path.join(ROOT, "build", "bench")
PACKAGE = os.path.join(WORK, "package")
COMPILED = os.path.join(WORK, "package-bytecode")
# Powertools with bytecode, the function's own code without: a layer that ships bytecode.
LAYERED = os.path.join(WORK, "package-layer")
SAM_ARTIFACT = os.path.join(ROOT, ".aws-sam", "build", "EnrollmentMonitorFunction")
REGION = "us-east-1"
TARGETS = {"cold": 1.25, "warm": 1.3, "requests": 2}
# The environment Powertools reads at import time (the rest is set by local_aws()).
IMPORT_ENV = {
    "POWERTOOLS_SERVICE_NAME": "enrollment-monitor",
    "POWERTOOLS_METRICS_NAMESPACE": "ComputeOptimizerEnrollment",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


# ------------------------------------------------------------------------ child processes


def _child(kind: str, out: str) -> None:
    """One fresh process: ``handler`` or ``floor`` (cold), or ``warm`` (everything else)."""
    if kind == "warm":
        _write(out, _warm())
        return
    started = time.perf_counter_ns()
    if kind == "handler":
        import enrollment_monitor.app as app
    else:
        import boto3

        from enrollment_monitor.clients import CLIENT_CONFIG as config
    imported = time.perf_counter_ns()

    with _Stage() as (aws, event, context):
        before = dict(aws.wire.calls)
        checking = time.perf_counter_ns()
        if kind == "handler":
            result = app.lambda_handler(event, context)
        else:
            compute_optimizer = boto3.client("compute-optimizer", region_name=REGION, config=config)
            dynamodb = boto3.client("dynamodb", region_name=REGION, config=config)
            result = _bare_calls(compute_optimizer, dynamodb, aws.table_name)
        checked = time.perf_counter_ns()
        if kind == "handler" and result["checked"][0]["outcome"] != "nothing":
            raise SystemExit(f"bench: the first check was not a steady-state check: {result}")
        calls = {k: v - before.get(k, 0) for k, v in aws.wire.calls.items() if v - before.get(k, 0)}
    _write(
        out,
        {
            "import_ms": (imported - started) / 1e6,
            "check_ms": (checked - checking) / 1e6,
            "total_ms": (imported - started + checked - checking) / 1e6,
            "calls": calls,
            "result": str(result)[:200],
            "python": sys.version.split()[0],
            "handler_file": getattr(sys.modules.get("enrollment_monitor.app"), "__file__", None),
        },
    )


class _Stage:
    """moto + the Compute Optimizer stand-in, an Active enrollment already on record (so the
    check is steady state), and a boto3 default session that has loaded nothing yet."""

    def __enter__(self):
        import json
        from datetime import UTC, datetime

        import boto3

        from devtools.local_aws import LambdaContext, local_aws
        from enrollment_monitor.enrollment import AccountRegion, Enrollment, Observation
        from enrollment_monitor.store.observations import Observations
        from enrollment_monitor.store.table import Table

        self._local = local_aws()
        aws = self._local.__enter__()
        aws.compute_optimizer.set_enrollment(REGION, "Active")
        context = LambdaContext()
        seed = boto3.Session(region_name=REGION).client("dynamodb")
        where = AccountRegion(context.invoked_function_arn.split(":")[4], REGION)
        observation = Observation(Enrollment("Active"), datetime.now(UTC))
        Observations(Table(seed, aws.table_name), observation.observed_at).record(
            where, None, observation
        )
        # local_aws() made its resources with boto3's default session: start afresh, so the
        # timed part loads its own service models, as a Lambda cold start does.
        boto3.DEFAULT_SESSION = None
        with open(os.path.join(ROOT, "events", "scheduled.json")) as file:
            event = json.load(file)
        return aws, event, context

    def __exit__(self, *exc):
        return self._local.__exit__(*exc)


def _bare_calls(compute_optimizer, dynamodb, table: str) -> str:
    """The floor of a check: the enrollment, and the state partition, nothing else."""
    status = compute_optimizer.get_enrollment_status()["status"]
    items = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ENROLLMENT#123456789012#{REGION}"}},
        ConsistentRead=True,
    )["Items"]
    return f"{status} {len(items)}"


def _warm() -> dict:
    import gc
    import statistics

    import boto3

    import enrollment_monitor.app as app
    from devtools.local_aws import LambdaContext, local_aws
    from enrollment_monitor.clients import CLIENT_CONFIG as config

    report: dict = {}
    event = _event("scheduled")
    context = LambdaContext()
    with local_aws() as aws:
        aws.compute_optimizer.set_enrollment(REGION, "Active")

        def check() -> object:
            return app.lambda_handler(event, context)

        report["requests"] = {"first check (silent baseline)": _calls(aws, check)}
        session = boto3.Session(region_name=REGION)
        compute_optimizer = session.client("compute-optimizer", config=config)
        dynamodb = session.client("dynamodb", config=config)

        def floor() -> object:
            return _bare_calls(compute_optimizer, dynamodb, aws.table_name)

        for _ in range(30):
            check()
            floor()
        runs = int(os.environ.get("BENCH_WARM_RUNS", "500"))
        times: dict[str, list[int]] = {"check": [], "floor": []}
        gc.collect()
        # The check's output goes to a file, as it goes to a pipe in Lambda: written, but not
        # read by this benchmark's parent process while it measures.
        with _Stdout():
            for i in range(runs):
                order = [("check", check), ("floor", floor)]
                for name, call in order if i % 2 else reversed(order):
                    started = time.perf_counter_ns()
                    call()
                    times[name].append(time.perf_counter_ns() - started)
        report["warm"] = {name: statistics.median(t) / 1e6 for name, t in times.items()}

        steady_calls, steady_out = _captured(aws, check)
        report["requests"]["steady state (status unchanged)"] = steady_calls
        report["steady_output"] = steady_out
        aws.compute_optimizer.set_enrollment(REGION, "Inactive", "opted out")
        change_calls, change_out = _captured(aws, check)
        report["requests"]["on a change (Active -> Inactive, alert sent)"] = change_calls
        report["change_output"] = change_out
        report["requests"]["next check (still Inactive, no reminder due)"] = _calls(aws, check)
        report["requests"]["test notification"] = _calls(
            aws, lambda: app.lambda_handler(_event("test-notification"), context)
        )
        report["alerts_delivered"] = len(aws.deliveries())
    report["python"] = sys.version.split()[0]
    return report


def _event(name: str) -> dict:
    import json

    with open(os.path.join(ROOT, "events", f"{name}.json")) as file:
        loaded: dict = json.load(file)
    return loaded


def _calls(aws, call) -> dict[str, int]:
    before = dict(aws.wire.calls)
    call()
    return {k: v - before.get(k, 0) for k, v in aws.wire.calls.items() if v - before.get(k, 0)}


class _Stdout:
    """Points file descriptor 1 (EMF lines and the logger both write there) at a temporary
    file for the duration, and keeps what was written."""

    def __enter__(self):
        import tempfile

        sys.stdout.flush()
        self._sink = tempfile.TemporaryFile()
        self._saved = os.dup(1)
        os.dup2(self._sink.fileno(), 1)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        os.dup2(self._saved, 1)
        os.close(self._saved)
        self._sink.seek(0)
        self.text = self._sink.read().decode()
        self._sink.close()


def _captured(aws, call) -> tuple[dict[str, int], str]:
    """Calls made, and everything written to stdout."""
    with _Stdout() as stdout:
        calls = _calls(aws, call)
    return calls, stdout.text


def _write(path: str, data: object) -> None:
    import json

    with open(path, "w") as file:
        json.dump(data, file)


# ------------------------------------------------------------------------ the parent


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2])
        return 0
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="cold-start processes per variant")
    parser.add_argument("--warm-runs", type=int, default=500, help="warm checks timed")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    arguments = parser.parse_args(argv)

    print(f"enrollment-monitor benchmark (python {sys.version.split()[0]}, {_cpu()})")
    compiled = _build_package()
    package = _compile_package(compiled)
    cold = _cold_starts(arguments.runs, package, compiled)
    warm = _run_child("warm", {"BENCH_WARM_RUNS": str(arguments.warm_runs)})[0]
    sizes = _package_sizes(package, compiled)
    importtime = _importtime(compiled)
    results = {"cold": cold, "warm": warm, "package": sizes, "importtime": importtime}
    _print(results, arguments.runs)
    if arguments.json:
        _write(arguments.json, results)
    return 0


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


def _run_child(
    kind: str, extra_env: dict[str, str], pythonpath: list[str] | None = None
) -> tuple[dict, str]:
    import json
    import subprocess
    import tempfile

    env = {**os.environ, **IMPORT_ENV, **extra_env}
    env["PYTHONPATH"] = os.pathsep.join([*(pythonpath or [FUNCTIONS]), ROOT])
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        finished = subprocess.run(
            [sys.executable, "-m", "devtools.bench", "--child", kind, out.name],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if finished.returncode:
            sys.stderr.write(finished.stderr)
            raise SystemExit(f"bench: the {kind} child failed ({finished.returncode})")
        with open(out.name) as file:
            return json.load(file), finished.stdout


def _cold_starts(runs: int, package: str | None, compiled: str | None) -> dict:
    """Fresh processes, interleaved so that drift hits every variant alike."""
    import statistics

    # PYTHONDONTWRITEBYTECODE: like /var/task, the package is never written to, so a package
    # without bytecode is compiled again by every cold start.
    readonly = {"PYTHONDONTWRITEBYTECODE": "1"}
    variants: dict[str, tuple[str, dict[str, str], list[str] | None]] = {
        "floor": ("floor", {}, None)
    }
    if package and compiled:
        variants["deployed"] = ("handler", readonly, [package])
        variants["bytecode"] = ("handler", readonly, [compiled])
        variants["layer"] = ("handler", readonly, [LAYERED])
    else:  # no package (pip could not reach the index): the source tree, bytecode cached
        _run_child("handler", {})
        variants["source"] = ("handler", {}, None)
    samples: dict[str, list[dict]] = {name: [] for name in variants}
    outputs: dict[str, str] = {}
    for _ in range(runs):
        for name, (kind, env, path) in variants.items():
            result, output = _run_child(kind, env, path)
            samples[name].append(result)
            outputs[name] = output
    summary: dict = {}
    for name, results in samples.items():
        summary[name] = {
            field: statistics.median(r[field] for r in results)
            for field in ("import_ms", "check_ms", "total_ms")
        }
        summary[name]["calls"] = results[-1]["calls"]
        summary[name]["handler_file"] = results[-1]["handler_file"]
    summary["first_check_output"] = outputs["bytecode" if "bytecode" in outputs else "source"]
    return summary


# ------------------------------------------------------------------------ the package


def _build_package() -> str | None:
    """The deployment package exactly as ``sam build`` makes it, by the same functions/Makefile
    (pip for arm64 / python3.13, plus bytecode). None when it cannot be built here: pip cannot
    reach the index, or this Python is not 3.13 (bytecode is per Python version)."""
    import shutil
    import subprocess

    shutil.rmtree(COMPILED, ignore_errors=True)
    os.makedirs(COMPILED)
    built = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            FUNCTIONS,
            "build-EnrollmentMonitorFunction",
            f"ARTIFACTS_DIR={COMPILED}",
            f"PYTHON={sys.executable}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode:
        print(f"  (no deployment package: {(built.stderr or built.stdout).strip()[-300:]})")
        return None
    return COMPILED


def _compile_package(compiled: str | None) -> str | None:
    """Variants of the built package: without any bytecode (as a plain ``sam build`` made it
    before functions/Makefile), and with bytecode for Powertools only (a layer that ships
    bytecode, our own code without). Returns the variant without bytecode."""
    import shutil

    if not compiled:
        return None
    for variant in (PACKAGE, LAYERED):
        shutil.rmtree(variant, ignore_errors=True)
        shutil.copytree(compiled, variant)
    for folder, dirs, _names in os.walk(PACKAGE):
        if "__pycache__" in dirs:
            shutil.rmtree(os.path.join(folder, "__pycache__"))
    shutil.rmtree(os.path.join(LAYERED, "enrollment_monitor", "__pycache__"))
    return PACKAGE


def _zipped(directory: str, only: tuple[str, ...] = ()) -> tuple[int, int, int]:
    """(zipped bytes, unzipped bytes, files) of a directory, or of its ``only`` entries."""
    import io
    import zipfile

    buffer = io.BytesIO()
    unzipped = files = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder, _dirs, names in os.walk(directory):
            for name in names:
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, directory)
                if relative == ".requirements" or (
                    only and not relative.split(os.sep)[0].startswith(only)
                ):
                    continue
                archive.write(path, relative)
                unzipped += os.path.getsize(path)
                files += 1
    return len(buffer.getvalue()), unzipped, files


def _package_sizes(package: str | None, compiled: str | None) -> dict:
    sizes: dict = {}
    if package:
        sizes["bundled"] = _zipped(package)
        sizes["layer"] = _zipped(package, ("enrollment_monitor", "requirements.txt"))
        sizes["powertools"] = _zipped(package, ("aws_lambda_powertools",))
    if compiled:
        sizes["bytecode"] = _zipped(compiled)
    if os.path.isdir(SAM_ARTIFACT):
        sizes["sam_build"] = _zipped(SAM_ARTIFACT)
    return sizes


# ------------------------------------------------------------------------ import time


_WATCHED = (
    "boto3",
    "aws_lambda_powertools",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.tracing",
    "aws_lambda_powertools.utilities.jmespath_utils",
)
# Imports the handler with boto3 watched: a client made, or a socket connected, at import shows.
_HYGIENE_PROBE = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network at import")
socket.socket.connect = refuse
import boto3, botocore.client
made = []
create = botocore.client.ClientCreator.create_client
def counting(self, *args, **kwargs):
    made.append(args[:1])
    return create(self, *args, **kwargs)
botocore.client.ClientCreator.create_client = counting
import enrollment_monitor.app
print(len(made), boto3.DEFAULT_SESSION is not None,
      [m for m in ("aws_xray_sdk", "pydantic", "fastjsonschema") if m in sys.modules])
"""


def _importtime(compiled: str | None):
    """``python -X importtime`` of the handler module in a fresh process (from the package with
    bytecode, so that compiling is not counted), and a second process that checks that
    importing it creates no client and opens no connection."""
    import subprocess

    path = [compiled] if compiled else [FUNCTIONS]
    env = {**os.environ, **IMPORT_ENV, "PYTHONPATH": os.pathsep.join([*path, ROOT])}
    if not compiled:  # the source tree: write its bytecode first
        subprocess.run([sys.executable, "-c", "import enrollment_monitor.app"], env=env, check=True)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    timed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import enrollment_monitor.app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []  # (cumulative us, self us, indented name), children before their parent
    for line in timed.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or not fields[0].strip().isdigit():
            continue
        rows.append((int(fields[1]), int(fields[0]), fields[2][1:].rstrip()))
    cumulative = {name.strip(): c / 1000 for c, _, name in rows}
    own = sum(s for _, s, n in rows if n.strip().startswith("enrollment_monitor")) / 1000
    probe = subprocess.run(
        [sys.executable, "-c", _HYGIENE_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    clients, session, unneeded = probe.stdout.strip().split(" ", 2)
    return {
        "handler_ms": cumulative["enrollment_monitor.app"],
        "watched": [(cumulative[m], m) for m in _WATCHED if m in cumulative],
        "own_modules_ms": own,
        "top_self": sorted(((s / 1000, n.strip()) for _, s, n in rows), reverse=True)[:5],
        "clients_at_import": int(clients),
        "session_at_import": session == "True",
        "unneeded_imported": unneeded,
    }


# ------------------------------------------------------------------------ the table


_COLD_LABELS = {
    "bytecode": "cold start, package as sam build makes it (with bytecode)",
    "deployed": "cold start, the same package without bytecode",
    "layer": "cold start, Powertools from a layer that has bytecode",
    "source": "cold start, source tree, bytecode cached",
}


def _print(results: dict, runs: int) -> None:
    cold, warm, sizes, importtime = (results[k] for k in ("cold", "warm", "package", "importtime"))
    rows = [("measure", "monitor", "floor", "ratio", "target", "")]

    def ratio_row(label: str, mine: float, base: float, target: float) -> None:
        ratio = mine / base
        verdict = "ok" if ratio <= target else "OVER"
        rows.append(
            (label, f"{mine:.1f} ms", f"{base:.1f} ms", f"{ratio:.2f}x", f"{target}x", verdict)
        )

    def info(label: str, value: str = "", floor: str = "") -> None:
        rows.append((label, value, floor, "", "", ""))

    floor = cold["floor"]
    for name, label in _COLD_LABELS.items():
        if name in cold:
            ratio_row(label, cold[name]["total_ms"], floor["total_ms"], TARGETS["cold"])
            split = "{import_ms:.1f} + {check_ms:.1f}"
            info("  import + first check (ms)", split.format(**cold[name]), split.format(**floor))
    ratio_row(
        "warm check, steady state (median)",
        warm["warm"]["check"],
        warm["warm"]["floor"],
        TARGETS["warm"],
    )
    details = []
    cold_check = next(cold[n]["calls"] for n in ("bytecode", "source") if n in cold)
    requests = {"cold-start check (status unchanged)": cold_check, **warm["requests"]}
    for scenario, calls in requests.items():
        total = sum(calls.values())
        if scenario.startswith("steady"):
            verdict = "ok" if total <= TARGETS["requests"] else "OVER"
            rows.append((f"AWS requests: {scenario}", str(total), "2", "", "2", verdict))
        else:
            info(f"AWS requests: {scenario}", str(total))
        details.append(f"  {scenario}: " + ", ".join(f"{k} x{v}" for k, v in sorted(calls.items())))
    if "bundled" in sizes:
        if "bytecode" in sizes:
            info("package zipped, as sam build makes it (with bytecode)", _kib(sizes["bytecode"]))
        info("package zipped, without bytecode", _kib(sizes["bundled"]))
        info("package zipped, Powertools from the public layer", _kib(sizes["layer"]))
        info("  Powertools alone, zipped", _kib(sizes["powertools"]))
    if "sam_build" in sizes:
        info("sam build artifact (.aws-sam) zipped", _kib(sizes["sam_build"]))

    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for index, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print(
        f"\ncold: median of {runs} fresh processes per row, interleaved, timed from the first "
        "import to the end of the first check (creating the moto resources is not timed); "
        f"warm: median of interleaved checks; python {warm['python']}"
    )
    print("requests per check, from the wire tap:")
    print("\n".join(details))
    print(
        f"\npython -X importtime of the handler module (package with bytecode): "
        f"{importtime['handler_ms']:.1f} ms cumulative, "
        f"of which the monitor's own modules {importtime['own_modules_ms']:.1f} ms (self):"
    )
    for cumulative, name in importtime["watched"]:
        print(f"  {cumulative:7.1f} ms  {name}")
    largest = ", ".join(f"{n} {t:.1f} ms" for t, n in importtime["top_self"])
    print(f"  largest self times: {largest}")
    print(
        f"at import: clients created {importtime['clients_at_import']}, boto3 session made "
        f"{importtime['session_at_import']}, connections opened 0 (a connect would have failed), "
        f"aws_xray_sdk / pydantic / fastjsonschema imported: {importtime['unneeded_imported']}"
    )
    from devtools import emf

    metrics = sorted({str(metric) for metric in emf.metrics(cold["first_check_output"])})
    coldstart = any(m.startswith("ColdStart") for m in metrics)
    print(
        f"metrics of a cold-start check: {len(metrics)} name+dimension combinations "
        f"(ColdStart among them: {coldstart})"
    )
    for metric in metrics:
        print(f"  {metric}")
    steady, change = warm["steady_output"], warm["change_output"]
    print(
        "log output per check, without Lambda's own START/END/REPORT lines: steady state "
        f"{len(steady.encode())} bytes in {len(steady.splitlines())} lines, on a change "
        f"{len(change.encode())} bytes in {len(change.splitlines())} lines"
    )


def _kib(size: tuple[int, int, int]) -> str:
    zipped, unzipped, files = size
    return f"{zipped / 1024:.0f} KiB ({unzipped / 1024:.0f} KiB unzipped, {files} files)"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
