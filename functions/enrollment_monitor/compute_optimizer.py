"""Reads from Compute Optimizer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from enrollment_monitor.enrollment import Enrollment, MemberEnrollment
from enrollment_monitor.errors import calling

READ_MEMBERS = "compute-optimizer:GetEnrollmentStatusesForOrganization"
# The most members the API returns per page.
MEMBERS_PAGE_SIZE = 100


def read_enrollment(client: Any, region: str) -> Enrollment:
    with calling("compute-optimizer:GetEnrollmentStatus", region):
        return Enrollment.from_api(client.get_enrollment_status())


def read_members(client: Any, region: str) -> Iterator[MemberEnrollment]:
    """Every member of the organization, read one page at a time: no page is kept."""
    paginator = client.get_paginator("get_enrollment_statuses_for_organization")
    with calling(READ_MEMBERS, region):
        for page in paginator.paginate(PaginationConfig={"PageSize": MEMBERS_PAGE_SIZE}):
            for entry in page.get("accountEnrollmentStatuses", []):
                yield MemberEnrollment.from_api(entry)
