"""What the monitor knows of one watched service: how its enrollment is read, and what people
read about it (what a status means, what to do, the damage of a change). The decision, the
store, the outbox and the renderers take these facts; none of them branches on the service."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from enrollment_monitor.enrollment import ACTIVE, Enrollment

# The damage of a change to any status but Active, where no status has its own.
NOT_ACTIVE = "*"

# (client, Region, account id) -> the enrollment, parsed once.
Reader = Callable[[Any, str, str], Enrollment]


@dataclass(frozen=True)
class Service:
    id: str  # stable: the machine document's and the message attributes' "service"
    name: str  # as people know it: "Cost Optimization Hub"
    watched: str  # what a headline names: "Cost Optimization Hub enrollment"
    scope: str  # what one enrollment covers: "Region", "account" or "organization"
    client: str  # the botocore service that reads it
    calls: tuple[str, ...]  # the IAM actions ``read`` makes
    read: Reader
    meaning: Mapping[str, str]
    steps: Mapping[str, Sequence[str]]
    # What stops (or starts) when the enrollment changes to a status: by status, else NOT_ACTIVE.
    damage: Mapping[str, str] = field(default_factory=dict)
    # What a move does: the same status, now held by other accounts (``Enrollment.holders``).
    moved: str | None = None
    # False: watched for changes alone (some keep it off on purpose): a first observation is a
    # silent baseline, no reminder, and its status counts for no alarm.
    expects_active: bool = True
    # The one Region it is read in (its only endpoint); None: the stack's own Region.
    region: str | None = None
    # The console page, on the host of the Region's partition ({region} filled in); None: none.
    console: str | None = None

    def damage_of(self, status: str, moved: bool = False) -> str | None:
        if moved and self.moved:
            return self.moved
        if status in self.damage:
            return self.damage[status]
        return self.damage.get(NOT_ACTIVE) if status != ACTIVE else None

    def steps_for(self, status: str) -> Sequence[str]:
        return self.steps.get(status) or [
            "AWS reported a status this monitor does not know; it is treated as not Active.",
            f"Check {self.name} on the console.",
        ]

    def counts_not_active(self, enrollment: Enrollment) -> bool:
        """Whether this enrollment counts for ``enrollment-not-active``."""
        return self.expects_active and not enrollment.active
