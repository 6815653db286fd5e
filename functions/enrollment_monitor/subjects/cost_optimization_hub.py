"""Cost Optimization Hub: the account's enrollment, read in us-east-1 (its one endpoint).

The Hub imports its rightsizing recommendations from Compute Optimizer; it has an enrollment
of its own, which only the ``aws`` partition offers."""

from __future__ import annotations

from typing import Any

from enrollment_monitor import parse
from enrollment_monitor.enrollment import Enrollment
from enrollment_monitor.errors import NOT_AWS, AwsCallError, calling
from enrollment_monitor.subjects.service import NOT_ACTIVE, Service

LIST_ENROLLMENTS = "cost-optimization-hub:ListEnrollmentStatuses"
# The Hub's one endpoint, in the one partition that offers it.
REGION = "us-east-1"
_NOT_LISTED = "Inactive"


def read(client: Any, region: str, account_id: str) -> Enrollment:
    """The account's own entry of ListEnrollmentStatuses (without includeOrganizationInfo it
    lists the calling account alone: ``account_id`` "" takes that one entry, as the command
    line does, which does not know its account). An account the Hub lists nothing for is not
    enrolled."""
    with calling(LIST_ENROLLMENTS, region):
        pages = client.get_paginator("list_enrollment_statuses").paginate()
        items = [item for page in pages for item in parse.required(page, "items")]
    entries = [item for item in items if isinstance(item, dict)]
    own = [item for item in entries if item.get("accountId") == account_id or not account_id]
    if len({item.get("accountId") for item in own}) > 1:
        listed = f"an answer listing {len(own)} accounts where the caller alone was asked for"
        raise AwsCallError(LIST_ENROLLMENTS, region, NOT_AWS, listed)
    if not own:
        return Enrollment(_NOT_LISTED, "Cost Optimization Hub lists no enrollment for this account")
    with calling(LIST_ENROLLMENTS, region):
        return Enrollment.from_api(own[0])


SERVICE = Service(
    id="cost-optimization-hub",
    name="Cost Optimization Hub",
    watched="Cost Optimization Hub enrollment",
    scope="account",
    client="cost-optimization-hub",
    calls=(LIST_ENROLLMENTS,),
    read=read,
    meaning={
        "Active": "Cost Optimization Hub gathers this account's savings opportunities, "
        "Compute Optimizer's rightsizing among them.",
        "Inactive": "Cost Optimization Hub does not gather this account's savings opportunities.",
    },
    steps={
        "Active": ["Nothing: this is the healthy state."],
        "Inactive": [
            "If nobody meant to opt out, opt in again on the Cost Optimization Hub console or "
            "with `aws cost-optimization-hub update-enrollment-status --status Active` "
            "(in us-east-1; from the management account, add --include-member-accounts to "
            "enroll the members too).",
            "Look up UpdateEnrollmentStatus (source cost-optimization-hub.amazonaws.com) in "
            "CloudTrail in us-east-1 to see who changed it.",
        ],
    },
    damage={
        NOT_ACTIVE: "Cost Optimization Hub no longer shows this account's savings, Compute "
        "Optimizer's rightsizing savings among them. When the management account leaves the "
        "Hub, member accounts' savings estimation mode goes back to BeforeDiscounts.",
    },
    region=REGION,
    console="costmanagement/home#/cost-optimization-hub",
)
