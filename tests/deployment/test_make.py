"""`make demo` and `make test` on a Python the project does not support: refused at once, naming
the version needed and the one found, before an environment is made or anything installed.
`make deploy`: guided the first time, without questions once samconfig.toml holds the answers."""

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


# What a guided deploy appends to the repository's samconfig.toml when it saves the answers (SAM
# CLI 1.170's samconfig writer; the stack name, the same as the global one, is not repeated).
SAVED_BY_A_GUIDED_DEPLOY = """region = "eu-west-1"
parameter_overrides = "NotificationEmail=\\"ops@example.com\\" Regions=\\"eu-west-1\\""
"""


def deploy_dry_run(clone: Path, *variables: str) -> list[str]:
    """The commands `make deploy` would run in ``clone`` (``make -n``: nothing is installed,
    built or deployed)."""
    made = subprocess.run(
        ["make", "--no-print-directory", "-n", "-f", str(ROOT / "Makefile"), "deploy", *variables],
        cwd=clone,
        capture_output=True,
        text=True,
        env=ENVIRONMENT,
        timeout=60,
        check=True,
    )
    return made.stdout.splitlines()


def sam_deploy(commands: list[str]) -> str:
    (deploy,) = [command for command in commands if "/sam deploy" in command]
    return deploy


def clone_of(folder: Path, *files: str) -> Path:
    """``folder`` with the repository's ``pyproject.toml`` (which the Makefile reads) and
    ``files``."""
    for name in ("pyproject.toml", *files):
        (folder / name).write_text((ROOT / name).read_text())
    return folder


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone: samconfig.toml as the repository has it."""
    return clone_of(tmp_path, "samconfig.toml")


def test_the_first_make_deploy_builds_then_asks_for_the_parameters(clone: Path) -> None:
    commands = deploy_dry_run(clone)

    deploy = sam_deploy(commands)
    assert deploy.endswith(".venv-sam/bin/sam deploy --guided")
    assert any(
        ".venv-sam/bin/sam build" in command for command in commands[: commands.index(deploy)]
    )


def test_make_deploy_asks_nothing_once_a_guided_deploy_saved_the_answers(clone: Path) -> None:
    with (clone / "samconfig.toml").open("a") as samconfig:
        samconfig.write(SAVED_BY_A_GUIDED_DEPLOY)

    assert sam_deploy(deploy_dry_run(clone)).endswith(".venv-sam/bin/sam deploy")
    assert sam_deploy(deploy_dry_run(clone, "GUIDED=1")).endswith(" deploy --guided")


def test_make_deploy_without_samconfig_is_guided_and_guided_0_never_asks(tmp_path: Path) -> None:
    clone = clone_of(tmp_path)

    assert sam_deploy(deploy_dry_run(clone)).endswith(" deploy --guided")
    assert sam_deploy(deploy_dry_run(clone, "GUIDED=0")).endswith(".venv-sam/bin/sam deploy")
