"""`make demo` stays what the README promises: a readable timeline, every change alerted once,
and the excerpt the README shows is what the demo prints today."""

import os
import re
import subprocess
import sys
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


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    """The demo, run once as `make demo` runs it."""
    return subprocess.run(
        [sys.executable, "-m", "devtools.demos.demo"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "functions")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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
