"""Reads from Compute Optimizer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from enrollment_monitor.enrollment import Enrollment, MemberEnrollment, NotAnAccount
from enrollment_monitor.errors import calling
from enrollment_monitor.parse import required

# The standard library's: the command line imports this module without Powertools.
logger = logging.getLogger(__name__)

READ_MEMBERS = "compute-optimizer:GetEnrollmentStatusesForOrganization"
# The most members the API returns per page.
MEMBERS_PAGE_SIZE = 100
# Entries that name no account, named in the invocation's failure: the first few.
SKIPPED_NAMED = 5


@dataclass
class Skipped:
    """The listed entries that name no member account: each skipped and logged; the first
    few kept to be named."""

    count: int = 0
    named: list[str] = field(default_factory=list)

    def add(self, refused: NotAnAccount) -> None:
        self.count += 1
        if len(self.named) < SKIPPED_NAMED:
            self.named.append(refused.shown)

    def __str__(self) -> str:
        more = self.count - len(self.named)
        entries = "entry" if self.count == 1 else "entries"
        return (
            f"{self.count:,} listed {entries} skipped, whose accountId is not a 12-digit "
            f"account id: {', '.join(self.named)}{f' and {more:,} more' if more else ''}"
        )


def read_enrollment(client: Any, region: str) -> Enrollment:
    with calling("compute-optimizer:GetEnrollmentStatus", region):
        return Enrollment.from_api(client.get_enrollment_status())


def read_members(
    client: Any, region: str, skipped: Skipped | None = None
) -> Iterator[MemberEnrollment]:
    """Every member of the organization, read one page at a time: no page is kept. An entry
    that names no account is skipped, logged, and added to ``skipped``; a page without its
    list is not AWS's and fails the listing (nobody is reported as gone)."""
    paginator = client.get_paginator("get_enrollment_statuses_for_organization")
    with calling(READ_MEMBERS, region):
        for page in paginator.paginate(PaginationConfig={"PageSize": MEMBERS_PAGE_SIZE}):
            for entry in required(page, "accountEnrollmentStatuses"):
                try:
                    member = MemberEnrollment.from_api(entry)
                except NotAnAccount as refused:
                    logger.error(
                        "%s in %s listed an entry that is not a member account, skipped: %s",
                        READ_MEMBERS,
                        region,
                        refused,
                        extra={"accountId": refused.shown},
                    )
                    if skipped is not None:
                        skipped.add(refused)
                    continue
                yield member
