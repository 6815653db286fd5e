"""The metric series (name and dimensions: what CloudWatch bills) a stack emits, counted from
the EMF lines of real checks on moto, for the configurations docs/COST.md prices.

    python -m devtools.bench.metric_series

Each configuration runs a first check and a steady one; a series counts once however often it
is emitted. A management account's GetEnrollmentStatus also gives the organization's figures;
members hold one status, or all four known ones.
"""

from __future__ import annotations

import os
import sys

from devtools.bench.process import FUNCTIONS, REGION, Stdout, event
from devtools.demos.fault_sweep import ALSO_WATCH

_STATUSES = ("Active", "Inactive", "Pending", "Failed")
# (label, Regions watched, management account, member tracking, statuses the members hold,
# every AlsoWatch service watched too, Compute Optimizer's status in every Region)
CONFIGURATIONS: tuple[tuple[str, int, bool, bool, int, bool, str], ...] = (
    ("1 Region", 1, False, False, 0, False, "Active"),
    ("5 Regions", 5, False, False, 0, False, "Active"),
    ("17 Regions", 17, False, False, 0, False, "Active"),
    ("1 Region, management account", 1, True, False, 0, False, "Active"),
    ("17 Regions, management account", 17, True, False, 0, False, "Active"),
    ("1 Region, member tracking, members all Active", 1, True, True, 1, False, "Active"),
    ("17 Regions, member tracking, members all Active", 17, True, True, 1, False, "Active"),
    (
        "17 Regions, member tracking, members in all four statuses",
        17,
        True,
        True,
        4,
        False,
        "Active",
    ),
    ("1 Region, management account, every AlsoWatch service", 1, True, False, 0, True, "Active"),
    ("17 Regions, member tracking, every AlsoWatch service", 17, True, True, 1, True, "Active"),
    ("17 Regions, each Inactive (while it lasts)", 17, False, False, 0, False, "Inactive"),
)


def series(
    regions: int,
    management: bool,
    tracking: bool,
    statuses: int,
    also: bool,
    status: str,
) -> list[str]:
    """The distinct series of a first and a steady check, sorted. ``also``: every AlsoWatch
    service watched, each as a healthy organization has it (Automation on, counting for no
    alarm)."""
    from devtools.bench.scale import REGIONS
    from devtools.local_aws import emf
    from devtools.local_aws.lambda_invoke import fresh_handler_module
    from devtools.local_aws.resources import LambdaContext, local_aws
    from devtools.local_aws.template import ACCOUNT_ID

    watched = REGIONS[:regions]
    with local_aws(watched) as aws:
        os.environ["TRACK_MEMBER_ACCOUNTS"] = str(tracking).lower()
        if also:
            os.environ["ALSO_WATCH"] = ALSO_WATCH
            aws.compute_optimizer.set_hub(ACCOUNT_ID, "Active")
            aws.compute_optimizer.set_automation(REGION, "Active")
            aws.trusted_access(enabled=True)
            aws.delegated_administrator(registered=True)
        for region in watched:
            figures = (
                {"memberAccountsEnrolled": True, "numberOfMemberAccountsOptedIn": 12}
                if management
                else {}
            )
            aws.compute_optimizer.set_enrollment(region, status, **figures)
        aws.compute_optimizer.members[REGION] = [
            {"accountId": f"{i:012d}", "status": _STATUSES[i % statuses]}
            for i in range(12 if tracking else 0)
        ]
        handler = fresh_handler_module()
        with Stdout() as stdout:
            for _ in range(2):
                handler.lambda_handler(event("scheduled"), LambdaContext())
    return sorted({str(metric) for metric in emf.metrics(stdout.text)})


def main() -> int:
    if FUNCTIONS not in sys.path:
        sys.path.insert(0, FUNCTIONS)
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "enrollment-monitor")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ComputeOptimizerEnrollment")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    for label, *configuration in CONFIGURATIONS:
        found = series(*configuration)
        print(f"{label}: {len(found)} series")
        print("\n".join(f"  {line}" for line in found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
