"""What the measures of ``make bench`` share: where things are, the environment the function
imports with, fresh processes, and what a check asked of AWS and wrote to stdout.

Only the standard library, and only ``os`` and ``sys`` at module level: a cold-start child
imports this module before it starts its clock.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUNCTIONS = os.path.join(ROOT, "functions")
REGION = "us-east-1"
# The environment Powertools reads at import time (the rest is set by local_aws()).
IMPORT_ENV = {
    "POWERTOOLS_SERVICE_NAME": "enrollment-monitor",
    "POWERTOOLS_METRICS_NAMESPACE": "ComputeOptimizerEnrollment",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def run_child(
    module: str,
    args: list[str],
    extra_env: dict[str, str] | None = None,
    pythonpath: list[str] | None = None,
) -> tuple[dict, str]:
    """Runs ``python -m module OUT *args`` in a fresh process, the function's source tree (or
    ``pythonpath``) first on its path. Returns what the child wrote to OUT, and its stdout."""
    import json
    import subprocess
    import tempfile

    env = {**os.environ, **IMPORT_ENV, **(extra_env or {})}
    env["PYTHONPATH"] = os.pathsep.join([*(pythonpath or [FUNCTIONS]), ROOT])
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        finished = subprocess.run(
            [sys.executable, "-m", module, out.name, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if finished.returncode:
            sys.stderr.write(finished.stderr)
            name = " ".join([module.rsplit(".", 1)[-1], *args])
            raise SystemExit(f"bench: the {name} child failed ({finished.returncode})")
        with open(out.name) as file:
            return json.load(file), finished.stdout


def write(path: str, data: object) -> None:
    """What a child hands back to its parent, or the raw figures of ``--json``."""
    import json

    with open(path, "w") as file:
        json.dump(data, file)


def event(name: str) -> dict:
    """A sample event from events/, the same files `sam local invoke -e` uses."""
    import json

    with open(os.path.join(ROOT, "events", f"{name}.json")) as file:
        loaded: dict = json.load(file)
    return loaded


def calls_since(aws, before: dict[str, int]) -> dict[str, int]:
    """The AWS calls the wire tap counted since ``before`` (a copy of ``aws.wire.calls``)."""
    return {k: v - before.get(k, 0) for k, v in aws.wire.calls.items() if v - before.get(k, 0)}


def calls(aws, call) -> dict[str, int]:
    """The AWS calls ``call()`` made."""
    before = dict(aws.wire.calls)
    call()
    return calls_since(aws, before)


def captured(aws, call) -> tuple[dict[str, int], str]:
    """The AWS calls ``call()`` made, and everything it wrote to stdout."""
    with Stdout() as stdout:
        made = calls(aws, call)
    return made, stdout.text


class Stdout:
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
