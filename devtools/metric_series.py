"""The metric series (name and dimensions: what CloudWatch bills) a stack emits, counted from
the EMF lines of real checks on moto, for the configurations docs/COST.md prices.

    python -m devtools.metric_series

Each configuration runs a first check and a steady one; a series counts once however often it
is emitted. A management account's GetEnrollmentStatus also gives the organization's figures;
members hold one status, or all four known ones.
"""

from __future__ import annotations

import os
import sys

from devtools.bench_process import FUNCTIONS, REGION, Stdout, event

_STATUSES = ("Active", "Inactive", "Pending", "Failed")
# (label, Regions watched, management account, member tracking, statuses the members hold)
CONFIGURATIONS = (
    ("1 Region", 1, False, False, 0),
    ("5 Regions", 5, False, False, 0),
    ("17 Regions", 17, False, False, 0),
    ("1 Region, management account", 1, True, False, 0),
    ("17 Regions, management account", 17, True, False, 0),
    ("1 Region, member tracking, members all Active", 1, True, True, 1),
    ("17 Regions, member tracking, members all Active", 17, True, True, 1),
    ("17 Regions, member tracking, members in all four statuses", 17, True, True, 4),
)


def series(regions: int, management: bool, tracking: bool, statuses: int) -> list[str]:
    """The distinct series of a first and a steady check, sorted."""
    from devtools import emf
    from devtools.bench_scale import REGIONS
    from devtools.local_aws import LambdaContext, local_aws
    from devtools.local_lambda import fresh_handler_module

    watched = REGIONS[:regions]
    with local_aws(watched) as aws:
        os.environ["TRACK_MEMBER_ACCOUNTS"] = str(tracking).lower()
        for region in watched:
            figures = (
                {"memberAccountsEnrolled": True, "numberOfMemberAccountsOptedIn": 12}
                if management
                else {}
            )
            aws.compute_optimizer.set_enrollment(region, "Active", **figures)
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
