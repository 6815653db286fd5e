"""Compute Optimizer, in each watched Region: the enrollment the monitor exists for."""

from __future__ import annotations

from typing import Any

from enrollment_monitor.compute_optimizer import read_enrollment
from enrollment_monitor.enrollment import COMPUTE_OPTIMIZER, Enrollment
from enrollment_monitor.subjects.service import NOT_ACTIVE, Service


def _read(client: Any, region: str, _account_id: str) -> Enrollment:
    return read_enrollment(client, region)


SERVICE = Service(
    id=COMPUTE_OPTIMIZER,
    name="Compute Optimizer",
    watched="Compute Optimizer enrollment",
    scope="Region",
    client="compute-optimizer",
    calls=("compute-optimizer:GetEnrollmentStatus",),
    read=_read,
    meaning={
        "Active": "Compute Optimizer analyses this account's resources and keeps its "
        "recommendations up to date.",
        "Inactive": "Compute Optimizer does not analyse this account: no new recommendations "
        "are made and savings opportunities go unnoticed.",
        "Pending": "Compute Optimizer is still processing the enrollment; for an organization, "
        "member accounts can take longer to be enrolled.",
        "Failed": "The enrollment failed: Compute Optimizer does not analyse this account.",
    },
    steps={
        "Active": ["Nothing: this is the healthy state."],
        "Inactive": [
            "If nobody meant to opt out, opt in again on the Compute Optimizer console or with "
            "`aws compute-optimizer update-enrollment-status --status Active`.",
            "Look up UpdateEnrollmentStatus in CloudTrail to see who changed it.",
        ],
        "Pending": [
            "Usually nothing: the monitor alerts again when the status settles.",
            "If it stays Pending for more than a day, read the reason and contact AWS Support.",
        ],
        "Failed": [
            "Read the reason above.",
            "Check that the service-linked role AWSServiceRoleForComputeOptimizer exists, "
            "then opt in again on the Compute Optimizer console.",
        ],
    },
    damage={
        NOT_ACTIVE: "While Compute Optimizer is not Active here, Cost Optimization Hub gets no "
        "rightsizing recommendations from it (its results come back empty), the Trusted "
        "Advisor checks that use Compute Optimizer (COr6dfpM03 to COr6dfpM06) go quiet rather "
        "than red, and Compute Optimizer Automation rules have nothing to act on.",
        "Inactive": "Opting out deletes this account's Compute Optimizer recommendations and "
        "metrics data. Cost Optimization Hub gets no rightsizing recommendations from Compute "
        "Optimizer (its results come back empty), the Trusted Advisor checks that use Compute "
        "Optimizer (COr6dfpM03 to COr6dfpM06) go quiet rather than red, and Compute Optimizer "
        "Automation rules have nothing to act on.",
    },
    console="compute-optimizer/home?region={region}#/settings",
)
