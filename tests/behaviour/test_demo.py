"""`make demo` stays what the README promises: a readable timeline, every change alerted once,
and the excerpt the README shows is what the demo prints today."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from devtools.demos.demo import TIMELINE

ROOT = Path(__file__).resolve().parents[2]
EXCERPT = re.compile(
    r"<!-- demo-excerpt:start -->\n```\n(?P<lines>.*?)```\n<!-- demo-excerpt:end -->", re.DOTALL
)
# What changes from run to run: the time (in the alerts, and in thread ids).
_MOMENTS = [
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"), "<time>"),
    (re.compile(r"\d{8}T\d{6,}Z"), "<stamp>"),
]


def normalised(line: str) -> str:
    for moment, placeholder in _MOMENTS:
        line = moment.sub(placeholder, line)
    return line.rstrip()


def python(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Python run as `make demo` runs it: from the checkout, the function's code on its path."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "functions")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    """The demo, run once as `make demo` runs it."""
    return python("-m", "devtools.demos.demo")


def test_demo_prints_each_alert_once_and_no_raw_logs(
    demo: subprocess.CompletedProcess[str],
) -> None:
    assert demo.returncode == 0, demo.stderr
    subjects = [
        line.split("Subject: ", 1)[1] for line in demo.stdout.splitlines() if "Subject: " in line
    ]
    assert subjects == [
        "Compute Optimizer enrollment Active -> Pending (123456789012, us-east-1)",
        "Compute Optimizer enrollment Pending -> Inactive (123456789012, us-east-1)",
        "Compute Optimizer enrollment Inactive -> Active (123456789012, us-east-1)",
        "Compute Optimizer: member accounts opted in 12 -> 10 (123456789012, us-east-1)",
        "Test: Compute Optimizer enrollment monitor (123456789012, us-east-1)",
        "Compute Optimizer enrollment Active -> Inactive (123456789012, us-east-1)",
        "Cost Optimization Hub enrollment Active -> Inactive (123456789012, us-east-1)",
    ]
    threads = [
        line.split("chat thread: ", 1)[1] for line in demo.stdout.splitlines() if "thread: " in line
    ]
    episode, opt_ins, test, next_episode, hub = threads[0], *threads[3:7]
    assert threads[:3] == [episode] * 3  # Pending, Inactive, back to Active: one episode
    assert len({episode, opt_ins, test, next_episode, hub}) == 5
    assert "What stops" in demo.stdout.split("Cost Optimization Hub enrollment Active ->")[1]
    assert "FAILED    checking us-east-1: sns:Publish in us-east-1 failed" in demo.stdout
    events = [line for line in demo.stdout.splitlines() if line.startswith("   EVENT ")]
    assert len(events) == len(subjects)  # each alert also one event, once
    assert '"level"' not in demo.stdout
    assert demo.stdout.rstrip().endswith("no AWS account used.")


def test_the_readme_excerpt_is_what_the_demo_prints_in_that_order(
    demo: subprocess.CompletedProcess[str],
) -> None:
    """Each line of the README's excerpt (`...` and blank lines aside) is a line the demo
    printed, in the same order, the time and thread ids aside."""
    assert demo.returncode == 0, demo.stderr
    found = EXCERPT.search((ROOT / "README.md").read_text())
    assert found, "README.md has no fenced block between the demo-excerpt markers"
    excerpt = [
        normalised(line)
        for line in found["lines"].splitlines()
        if line.strip() and line.strip() != "..."
    ]
    printed = iter(normalised(line) for line in demo.stdout.splitlines())

    missing = [line for line in excerpt if not any(line == seen for seen in printed)]

    assert excerpt and not missing, f"not printed by the demo (or not in this order): {missing}"


def test_the_readme_counts_the_demo_steps_and_names_each() -> None:
    readme = (ROOT / "README.md").read_text()
    said = re.search(r"`make demo` runs an? (\d+)-step timeline \(([^)]*)\)", readme)

    assert said, "README.md no longer says how many steps `make demo` runs"
    steps = [step.strip() for step in " ".join(said[2].split()).split(",")]
    assert int(said[1]) == len(steps) == len(TIMELINE)
    assert [step.split()[0] for step in steps if step.split()[0] != "a"] == [
        status for status, *_ in TIMELINE if status
    ]


def _run_demo_with(prelude: str) -> subprocess.CompletedProcess[str]:
    """The demo, run as `make demo` runs it, after ``prelude`` (Python) has patched it."""
    return python("-c", f"{prelude}\nfrom devtools.demos import demo\ndemo.main()")


def test_a_check_failing_off_script_fails_the_demo_instead_of_claiming_success() -> None:
    # What a fresh clone met when the [demo] extra lacked moto's EventBridge dependencies.
    broken_third_check = """
import enrollment_monitor.app as app
real, calls = app.lambda_handler, []
def handler(event, context):
    calls.append(event)
    if len(calls) == 3:
        raise ModuleNotFoundError("No module named 'jsonpath_ng'")
    return real(event, context)
app.lambda_handler = handler
"""
    run = _run_demo_with(broken_third_check)

    assert run.returncode == 1
    assert "FAILED    No module named 'jsonpath_ng'" in run.stdout
    assert "Not as scripted: checks [3, 4] failed" in run.stderr
    assert "Done:" not in run.stdout


def _extra(name: str) -> set[str]:
    """The moto services an extra of pyproject.toml installs (``moto[a,b]==…``)."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        requirements = tomllib.load(file)["project"]["optional-dependencies"][name]
    (moto,) = [r for r in requirements if r.startswith("moto[")]
    return set(moto.split("[", 1)[1].split("]", 1)[0].split(","))


def test_the_demo_extra_installs_moto_for_every_service_the_demo_calls() -> None:
    recording = """
import atexit, botocore.session, sys
created, create = set(), botocore.session.Session.create_client
def recording(self, service_name, *args, **kwargs):
    created.add(service_name)
    return create(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = recording
atexit.register(lambda: print("clients:", *sorted(created), file=sys.stderr))
"""
    run = _run_demo_with(recording)

    assert run.returncode == 0, run.stderr
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("clients:")]
    # Answered on the wire by the stand-ins, not by moto.
    on_the_wire = {"compute-optimizer", "cost-optimization-hub", "compute-optimizer-automation"}
    called_on_moto = set(line.split()[1:]) - on_the_wire
    assert {"dynamodb", "sns", "events"} <= called_on_moto
    assert called_on_moto <= _extra("demo")
