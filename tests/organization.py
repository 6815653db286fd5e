"""The monitor of an organization's management account, for tests of member tracking."""

import os
from typing import Any

from storage import roster

from devtools.local_aws.resources import LocalAws

from conftest import Monitor

REGION = "us-east-1"


class Organization(Monitor):
    """The monitor of a management account, with the organization's members in the fake."""

    def __init__(self, aws: LocalAws, **members: str) -> None:
        os.environ["TRACK_MEMBER_ACCOUNTS"] = "true"  # local_aws() restores the environment
        super().__init__(aws)
        self.status("Active")
        aws.compute_optimizer.members.setdefault(REGION, [])
        for account_id, status in members.items():
            self.member(account_id, status)

    @property
    def listed(self) -> list[dict[str, Any]]:
        return self.aws.compute_optimizer.members[REGION]

    def member(self, account_id: str, status: str, reason: str | None = None) -> None:
        """Member ``account_id`` (``a1`` stands for 111111111111) has this status from now on."""
        entry = {"accountId": account(account_id), "status": status}
        if reason:
            entry["statusReason"] = reason
        self.leave(account_id)
        self.listed.append(entry)

    def leave(self, account_id: str) -> None:
        self.listed[:] = [m for m in self.listed if m["accountId"] != account(account_id)]

    def leave_between_pages(self, account_id: str, after: int = 100) -> None:
        """Member ``account_id`` leaves once the next listing has served the members up to
        offset ``after``: the fake's page tokens are offsets, as a listing's may be."""

        def leave(region: str, end: int) -> None:
            if region == REGION and end == after:
                self.aws.compute_optimizer.after_page = None
                self.leave(account_id)

        self.aws.compute_optimizer.after_page = leave

    def member_alerts(self) -> list[dict[str, Any]]:
        alerts = self.alerts()
        assert all(a["eventType"] == "MemberEnrollmentChanged" for a in alerts), alerts
        return alerts

    def remembered(self) -> dict[str, Any]:
        """What the monitor remembers of each member (see ``member_diff.Remembered``)."""
        return roster(self.aws).members


def account(short: str) -> str:
    """``a1`` -> ``111111111111``: readable ids in the tests, real 12-digit ones on the wire."""
    return short[1] * 12 if short.startswith("a") and len(short) == 2 else short


def transitions(alert: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(c["accountId"], c["previous"], c["current"]) for c in alert["changes"]]
