"""`make demo` stays what the README promises: a readable timeline, every change alerted once."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_prints_each_alert_once_and_no_raw_logs() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "functions")}
    demo = subprocess.run(
        [sys.executable, "-m", "devtools.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

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
    ]
    threads = [
        line.split("chat thread: ", 1)[1] for line in demo.stdout.splitlines() if "thread: " in line
    ]
    episode, opt_ins, test, next_episode = threads[0], threads[3], threads[4], threads[5]
    assert threads[:3] == [episode] * 3  # Pending, Inactive, back to Active: one episode
    assert len({episode, opt_ins, test, next_episode}) == 4
    assert "FAILED    sns:Publish in us-east-1 failed" in demo.stdout
    assert '"level"' not in demo.stdout
    assert demo.stdout.rstrip().endswith("no AWS account used.")
