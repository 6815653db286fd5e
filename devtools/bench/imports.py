"""Import time: ``python -X importtime`` of the handler module in a fresh process (from the
package with bytecode, so that compiling is not counted), and a second process that checks that
importing it creates no client and opens no connection."""

from __future__ import annotations

import os
import sys

from devtools.bench import package
from devtools.bench.process import FUNCTIONS, IMPORT_ENV, ROOT

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


def measure(built: bool) -> dict:
    """From the package with bytecode when it was built, else from the source tree."""
    path = [package.BYTECODE] if built else [FUNCTIONS]
    env = {**os.environ, **IMPORT_ENV, "PYTHONPATH": os.pathsep.join([*path, ROOT])}
    if not built:  # the source tree: write its bytecode first
        _python(env, "-c", "import enrollment_monitor.app")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    timed = _python(env, "-X", "importtime", "-c", "import enrollment_monitor.app")
    rows = []  # (cumulative us, self us, indented name), children before their parent
    for line in timed.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or not fields[0].strip().isdigit():
            continue
        rows.append((int(fields[1]), int(fields[0]), fields[2][1:].rstrip()))
    cumulative = {name.strip(): c / 1000 for c, _, name in rows}
    own = sum(s for _, s, n in rows if n.strip().startswith("enrollment_monitor")) / 1000
    probe = _python(env, "-c", _HYGIENE_PROBE)
    clients, session, unneeded = probe.stdout.strip().split(" ", 2)
    return {
        "from": "package with bytecode" if built else "source tree, bytecode cached",
        "handler_ms": cumulative["enrollment_monitor.app"],
        "watched": [(cumulative[m], m) for m in _WATCHED if m in cumulative],
        "own_modules_ms": own,
        "top_self": sorted(((s / 1000, n.strip()) for _, s, n in rows), reverse=True)[:5],
        "clients_at_import": int(clients),
        "session_at_import": session == "True",
        "unneeded_imported": unneeded,
    }


def _python(env: dict[str, str], *args: str):
    """A fresh ``python *args`` in the repository, its output kept."""
    import subprocess

    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )


def notes(importtime: dict) -> list[str]:
    largest = ", ".join(f"{n} {t:.1f} ms" for t, n in importtime["top_self"])
    return [
        f"\npython -X importtime of the handler module ({importtime['from']}): "
        f"{importtime['handler_ms']:.1f} ms cumulative, "
        f"of which the monitor's own modules {importtime['own_modules_ms']:.1f} ms (self):",
        *(f"  {cumulative:7.1f} ms  {name}" for cumulative, name in importtime["watched"]),
        f"  largest self times: {largest}",
        f"at import: clients created {importtime['clients_at_import']}, boto3 session made "
        f"{importtime['session_at_import']}, connections opened 0 (a connect would have failed), "
        f"aws_xray_sdk / pydantic / fastjsonschema imported: {importtime['unneeded_imported']}",
    ]
