"""AWS requests per check, counted by the wire tap, in each situation a check meets (the
cold-start check is counted by devtools/bench/cold.py); and the log output of a check.

    python -m devtools.bench.requests OUT    (the counts and outputs to OUT)
"""

from __future__ import annotations

import os
import sys

from devtools.bench import table
from devtools.bench.process import REGION, calls, captured, event, run_child, write

_MODULE = "devtools.bench.requests"  # the child
# A steady check reads each subject's enrollment and last observation: two requests, no write
# (Compute Optimizer's Region, and each of the five subjects of every AlsoWatch value); and,
# once per check, the subjects watched before, so that one no longer watched still delivers
# what it owes (issue 22, case 9).
TARGET = 2
_PER_CHECK = 1
_ALSO_SUBJECTS = 5
_ALSO = "every AlsoWatch service"
_FLOOR = 2  # the floor's two calls (devtools/bench/floor.py)


def measure() -> dict:
    """``requests``: {situation: {"service:Operation": count}}, in the order they ran;
    ``steady_output`` and ``change_output``: what two of those checks wrote to stdout."""
    return run_child(_MODULE, [])[0]


def rows(requests: dict[str, dict[str, int]]) -> list[table.Row]:
    found = []
    for scenario, made in requests.items():
        label, total = f"AWS requests: {scenario}", sum(made.values())
        if scenario.startswith("steady"):
            subjects = _ALSO_SUBJECTS if _ALSO in scenario else 1
            target, floor = TARGET * subjects + _PER_CHECK, _FLOOR * subjects
            verdict = "ok" if total <= target else "OVER"
            found.append((label, str(total), str(floor), "", str(target), verdict))
        else:
            found.append(table.info(label, str(total)))
    return found


def details(requests: dict[str, dict[str, int]]) -> list[str]:
    """Each situation's requests by operation."""
    return [
        f"  {scenario}: " + ", ".join(f"{k} x{v}" for k, v in sorted(made.items()))
        for scenario, made in requests.items()
    ]


def log_note(measured: dict) -> str:
    steady, change = measured["steady_output"], measured["change_output"]
    return (
        "log output per check, without Lambda's own START/END/REPORT lines: steady state "
        f"{len(steady.encode())} bytes in {len(steady.splitlines())} lines, on a change "
        f"{len(change.encode())} bytes in {len(change.splitlines())} lines"
    )


def _child() -> dict:
    import enrollment_monitor.app as app
    from devtools.demos.fault_sweep import ALSO_WATCH
    from devtools.local_aws.lambda_invoke import fresh_handler_module
    from devtools.local_aws.resources import LambdaContext, local_aws
    from devtools.local_aws.template import ACCOUNT_ID

    scheduled = event("scheduled")
    context = LambdaContext()

    def check() -> object:
        return app.lambda_handler(scheduled, context)

    requests: dict[str, dict[str, int]] = {}
    with local_aws() as aws:
        aws.compute_optimizer.set_enrollment(REGION, "Active")
        requests["first check (silent baseline)"] = calls(aws, check)
        requests["steady state (status unchanged)"], steady_output = captured(aws, check)
        aws.compute_optimizer.set_enrollment(REGION, "Inactive", "opted out")
        changed = "on a change (Active -> Inactive, alert sent)"
        requests[changed], change_output = captured(aws, check)
        requests["next check (still Inactive, no reminder due)"] = calls(aws, check)
        requests["test notification"] = calls(
            aws, lambda: app.lambda_handler(event("test-notification"), context)
        )
        delivered = len(aws.deliveries())
    with local_aws() as aws:
        os.environ["ALSO_WATCH"] = ALSO_WATCH  # local_aws restores the environment
        aws.compute_optimizer.set_enrollment(REGION, "Active")
        aws.compute_optimizer.set_hub(ACCOUNT_ID, "Active")
        aws.trusted_access(enabled=True)
        cold = fresh_handler_module()  # a new sandbox: settings are read at a cold start

        def check() -> object:
            return cold.lambda_handler(scheduled, context)

        requests[f"first check, {_ALSO}"] = calls(aws, check)
        requests[f"steady state, {_ALSO}"] = calls(aws, check)
        aws.compute_optimizer.set_hub(ACCOUNT_ID, "Inactive")
        requests[f"the Hub leaves, {_ALSO}"] = calls(aws, check)
    return {
        "requests": requests,
        "steady_output": steady_output,
        "change_output": change_output,
        "alerts_delivered": delivered,
    }


if __name__ == "__main__":
    write(sys.argv[1], _child())
