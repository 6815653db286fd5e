"""The deployment package: built exactly as ``sam build`` makes it, by the same
functions/Makefile (pip for arm64 / python3.13, plus bytecode), and two variants of it for the
cold starts; each zipped, with Powertools bundled and without (the public layer).

Only ``os`` at module level: a cold-start child imports this module for its paths.
"""

from __future__ import annotations

import os

from devtools.bench import table
from devtools.bench.process import FUNCTIONS, ROOT

WORK = os.path.join(ROOT, "build", "bench")
# As sam build makes it, with python3.13 bytecode.
BYTECODE = os.path.join(WORK, "package-bytecode")
# The same without any bytecode (as a plain ``sam build`` made it before functions/Makefile):
# Lambda compiles it again at every cold start, /var/task being read-only.
PLAIN = os.path.join(WORK, "package")
# Powertools with bytecode, the function's own code without: a layer that ships bytecode.
LAYER = os.path.join(WORK, "package-layer")
SAM_ARTIFACT = os.path.join(ROOT, ".aws-sam", "build", "EnrollmentMonitorFunction")


def build() -> bool:
    """The three packages above. False when they cannot be built here: pip cannot reach the
    index, or this Python is not 3.13 (bytecode is per Python version)."""
    import shutil
    import subprocess
    import sys

    shutil.rmtree(BYTECODE, ignore_errors=True)
    os.makedirs(BYTECODE)
    built = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            FUNCTIONS,
            "build-EnrollmentMonitorFunction",
            f"ARTIFACTS_DIR={BYTECODE}",
            f"PYTHON={sys.executable}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode:
        print(f"  (no deployment package: {(built.stderr or built.stdout).strip()[-300:]})")
        return False
    for variant in (PLAIN, LAYER):
        shutil.rmtree(variant, ignore_errors=True)
        shutil.copytree(BYTECODE, variant)
    for folder, dirs, _names in os.walk(PLAIN):
        if "__pycache__" in dirs:
            shutil.rmtree(os.path.join(folder, "__pycache__"))
    shutil.rmtree(os.path.join(LAYER, "enrollment_monitor", "__pycache__"))
    return True


def sizes(built: bool) -> dict:
    """(zipped bytes, unzipped bytes, files) of each package, and of ``sam build``'s artifact
    when there is one."""
    found: dict = {}
    if built:
        found["bundled"] = _zipped(PLAIN)
        found["layer"] = _zipped(PLAIN, ("enrollment_monitor", "requirements.txt"))
        found["powertools"] = _zipped(PLAIN, ("aws_lambda_powertools",))
        found["bytecode"] = _zipped(BYTECODE)
    if os.path.isdir(SAM_ARTIFACT):
        found["sam_build"] = _zipped(SAM_ARTIFACT)
    return found


_LABELS = {
    "bytecode": "package zipped, as sam build makes it (with bytecode)",
    "bundled": "package zipped, without bytecode",
    "layer": "package zipped, Powertools from the public layer",
    "powertools": "  Powertools alone, zipped",
    "sam_build": "sam build artifact (.aws-sam) zipped",
}


def rows(sizes: dict) -> list[table.Row]:
    return [
        table.info(label, _kib(sizes[name])) for name, label in _LABELS.items() if name in sizes
    ]


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


def _kib(size: tuple[int, int, int]) -> str:
    zipped, unzipped, files = size
    return f"{zipped / 1024:.0f} KiB ({unzipped / 1024:.0f} KiB unzipped, {files} files)"
