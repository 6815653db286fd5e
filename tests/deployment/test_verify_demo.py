"""`make verify-demo` shows what the README promises: verify's checklist for a healthy stack,
every line passing, then for a broken one, each failing line with its fix; on a moto server of
its own, or on a moto server of yours that AWS_ENDPOINT_URL names (LocalStack cannot create the
stack: docs/DEVELOPMENT.md, Emulators)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from devtools.demos.verify_demo import BROKEN, HEALTHY

ROOT = Path(__file__).resolve().parents[2]
_LINE = re.compile(r"^  \[(?P<mark>ok  |FAIL)\] (?P<check>\S.*?)\s{2,}(?P<found>.*)$")
_COMMAND = "$ enrollment-monitor verify --stack "


@dataclass
class Checklist:
    exit_code: int | None = None
    found: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # check: its fix
    missing_fix: list[str] = field(default_factory=list)


def checklists(printed: str) -> dict[str, Checklist]:
    """Each stack's checklist, as ``make verify-demo`` prints it."""
    found: dict[str, Checklist] = {}
    stack, failing = None, None
    for line in printed.splitlines():
        if line.startswith(_COMMAND):
            stack = line.removeprefix(_COMMAND).split()[0]
            found[stack] = Checklist()
        elif stack is None:
            continue
        elif matched := _LINE.match(line):
            if failing:
                found[stack].missing_fix.append(failing)
            check, failing = matched["check"], None
            found[stack].found[check] = matched["found"]
            if matched["mark"] == "FAIL":
                failing = check
        elif failing and line.strip().startswith("fix: "):
            found[stack].failed[failing] = line.strip().removeprefix("fix: ")
            failing = None
        elif exited := re.fullmatch(r"\(exit (\d)\)", line):
            found[stack].exit_code = int(exited[1])
    return found


def run_demo(**environment: str) -> subprocess.CompletedProcess[str]:
    """``make verify-demo``'s command."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env = {**inherited, "PYTHONPATH": str(ROOT / "functions"), **environment}
    return subprocess.run(
        [sys.executable, "-m", "devtools.demos.verify_demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_both_checklists(printed: str) -> None:
    shown = checklists(printed)
    assert list(shown) == [HEALTHY, BROKEN]
    healthy, broken = shown[HEALTHY], shown[BROKEN]

    assert healthy.exit_code == 0 and not healthy.failed and not healthy.missing_fix
    assert "test notification" in healthy.found and len(healthy.found) == 14
    assert "allows compute-optimizer:GetEnrollmentStatus" in healthy.found["function role"]
    assert "1 invocation of " in healthy.found["invocations"]

    assert broken.exit_code == 1 and not broken.missing_fix
    assert set(broken.failed) == {
        "subscriptions",  # the email was never confirmed
        "topic policy",  # it refuses the alarms...
        "alarm notifications",  # ...so CloudWatch could not notify
        "invocations",  # the function fails...
        "metric RegionsNotActive",  # ...so no check completed...
        "alarm function-errors",  # ...and the errors alarm fired
    }
    assert "ops@example.com (PendingConfirmation)" in broken.found["subscriptions"]
    assert "confirmation message" in broken.failed["subscriptions"]
    assert "CloudWatch alarms are not allowed" in broken.found["topic policy"]
    assert "cloudwatch.amazonaws.com sns:Publish" in broken.failed["topic policy"]
    assert "1 of 1 invocation of " in broken.found["invocations"]
    assert broken.failed["invocations"].startswith("read its log: aws logs tail /aws/lambda/")


def test_verify_demo_prints_a_healthy_checklist_then_a_broken_one_with_fixes() -> None:
    demo = run_demo()

    assert demo.returncode == 0, demo.stderr
    assert "(a moto server started for this demo)" in demo.stdout
    assert_both_checklists(demo.stdout)
    assert demo.stderr == ""


@pytest.fixture
def your_emulator() -> Iterator[str]:
    """A moto server of your own, listening on 127.0.0.1."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


# The emulator runs in this process: it warns of each resource type moto's CloudFormation skips.
@pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning")
def test_verify_demo_deploys_on_the_moto_server_aws_endpoint_url_names(your_emulator: str) -> None:
    demo = run_demo(AWS_ENDPOINT_URL=your_emulator)

    assert demo.returncode == 0, demo.stderr
    assert f"AWS is {your_emulator} (AWS_ENDPOINT_URL)" in demo.stdout
    assert_both_checklists(demo.stdout)
    cloudformation = boto3.client(
        "cloudformation",
        endpoint_url=your_emulator,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stacks = {stack["StackName"] for stack in cloudformation.describe_stacks()["Stacks"]}
    assert stacks == {HEALTHY, BROKEN}
