"""Compute Optimizer Automation: the account's enrollment, read once per check in the stack's
Region. Watched for changes alone: some teams keep it off on purpose, and watch it so that
nobody turns it on unseen."""

from __future__ import annotations

from typing import Any

from enrollment_monitor.enrollment import ACTIVE, Enrollment
from enrollment_monitor.errors import calling
from enrollment_monitor.subjects.service import NOT_ACTIVE, Service

GET_ENROLLMENT = "aco-automation:GetEnrollmentConfiguration"


def read(client: Any, region: str, _account_id: str) -> Enrollment:
    with calling(GET_ENROLLMENT, region):
        return Enrollment.from_api(client.get_enrollment_configuration())


SERVICE = Service(
    id="compute-optimizer-automation",
    name="Compute Optimizer Automation",
    watched="Compute Optimizer Automation enrollment",
    scope="account",
    client="compute-optimizer-automation",
    calls=(GET_ENROLLMENT,),
    read=read,
    meaning={
        "Active": "Compute Optimizer Automation is enabled: automation rules may apply "
        "recommended actions to this account's resources.",
        "Inactive": "Compute Optimizer Automation is not enabled: no automation rule acts on "
        "this account's resources.",
        "Pending": "Compute Optimizer Automation is still processing the enrollment.",
        "Failed": "The Automation enrollment failed: no automation rule acts on this account.",
    },
    steps={
        "Active": [
            "If this was meant, nothing. If not, disable it with `aws "
            "compute-optimizer-automation update-enrollment-configuration --status Inactive`.",
            "Look up UpdateEnrollmentConfiguration in CloudTrail to see who changed it.",
        ],
        "Inactive": [
            "If this was meant, nothing. If not, enable Automation again on the Compute "
            "Optimizer console, then turn the automation rules back on.",
            "Look up UpdateEnrollmentConfiguration in CloudTrail to see who changed it.",
        ],
        "Pending": ["Usually nothing: the monitor alerts again when the status settles."],
        "Failed": [
            "Read the reason above, then enable Automation again on the Compute Optimizer console."
        ],
    },
    damage={
        ACTIVE: "AWS is now authorised to manage resources in this account for Compute "
        "Optimizer's recommendations: to create EBS snapshots, modify EBS volumes and delete "
        "EBS volumes.",
        NOT_ACTIVE: "Every automation rule stops acting on this account, and opting in again "
        "leaves the rules inactive: each must be turned back on.",
    },
    expects_active=False,
    console="compute-optimizer/home?region={region}#/automation",
)
