"""`make bench` cannot break unseen: its quick mode runs every measure of the benchmark once, in
one small configuration, through the module `make bench` runs, and prints both tables. Nothing
here reads a timing: a figure from a shared machine proves nothing, and the project has no
timed tests."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.bench.scale import COLUMNS, SCENARIOS
from devtools.bench.table import HEADER

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.thorough
def test_the_quick_bench_runs_every_measure_and_prints_both_tables() -> None:
    bench = subprocess.run(
        [sys.executable, "-m", "devtools.bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert bench.returncode == 0, bench.stderr[-3000:]
    lines = bench.stdout.splitlines()
    table = lines.index(next(line for line in lines if line.split() == list(HEADER[:-1])))
    measures = [line for line in lines[table + 2 :] if line.strip()]
    for measure in ("cold start", "warm check", "CPU of a steady check", "AWS requests: steady"):
        assert any(line.startswith(measure) for line in measures), measure
    scale = lines.index(next(line for line in lines if line.startswith(COLUMNS[0])))
    rows = lines[scale + 2 : scale + 2 + len(SCENARIOS)]
    for row, check in zip(rows, SCENARIOS.values(), strict=True):
        assert re.match(rf"100\s+2\s+{re.escape(check)}\s+\d", row), row
