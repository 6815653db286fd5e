"""`make demo` and `make test` on a Python the project does not support: refused at once, naming
the version needed and the one found, before an environment is made or anything installed."""

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
NEEDED = PROJECT["requires-python"].removeprefix(">=")
# A make run by `make test` must not inherit its flags or command-line variables.
ENVIRONMENT = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}


def fake_python(folder: Path, version: str) -> Path:
    """A stand-in that answers ``--version`` as that Python does (Python 2 on stderr) and
    records any other use: making a venv or installing would be such a use."""
    stream = ">&2" if version.startswith("2.") else ""
    script = folder / "python"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = --version ] && {{ echo "Python {version}" {stream}; exit 0; }}\n'
        f'echo "$*" >> "{folder}/used"\n'
        "exit 1\n"
    )
    script.chmod(0o755)
    return script


def make(target: str, python: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target, f"PYTHON={python}", f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=ENVIRONMENT,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("target", ["demo", "test"])
@pytest.mark.parametrize("version", ["3.8.18", "3.10.13", "2.7.18"])
def test_an_older_python_is_refused_before_anything_is_installed(
    tmp_path: Path, target: str, version: str
) -> None:
    python = fake_python(tmp_path, version)

    made = make(target, python, tmp_path / "venv")

    assert made.returncode != 0
    assert f"needs Python {NEEDED} or newer; found Python {version} ({python})" in made.stderr
    assert f"make {target} PYTHON=/path/to/python3.13" in made.stderr
    assert not (tmp_path / "used").exists()
    assert not (tmp_path / "venv").exists()


@pytest.mark.parametrize("version", [f"{NEEDED}.0", "3.13.0", "3.14.0rc1"])
def test_a_supported_python_goes_on_to_make_the_environment(tmp_path: Path, version: str) -> None:
    python = fake_python(tmp_path, version)

    made = make("demo", python, tmp_path / "venv")

    assert "needs Python" not in made.stderr
    (first_use, *_) = (tmp_path / "used").read_text().splitlines()
    assert first_use.startswith("-m venv ") and first_use.endswith(str(tmp_path / "venv"))
