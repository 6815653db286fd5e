"""The checklist of ``enrollment-monitor verify`` as a person reads it, or as JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from enrollment_monitor.verify.model import Line, Stack


def as_text(stack: Stack, lines: list[Line]) -> str:
    width = max(len(line.check) for line in lines)
    out = [f"enrollment-monitor verify: stack {stack.name} in {stack.region}"]
    for line in lines:
        mark = "ok  " if line.passed else "FAIL"
        out.append(f"  [{mark}] {line.check:<{width}}  {line.found}")
        if line.fix:
            out.append(f"         {'':<{width}}  fix: {line.fix}")
    failures = sum(not line.passed for line in lines)
    out.append("all checks passed" if not failures else f"{failures} of {len(lines)} checks failed")
    return "\n".join(out)


def as_document(stack: Stack, lines: list[Line]) -> dict[str, Any]:
    return {
        "stack": stack.name,
        "region": stack.region,
        "passed": all(line.passed for line in lines),
        "checks": [asdict(line) for line in lines],
    }
