"""What an invocation did, as typed values; ``to_dict`` is the invocation's JSON result, made
once, at the handler's edge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from enrollment_monitor.enrollment import COMPUTE_OPTIMIZER, Enrollment, Outcome, WatchedSubject


@dataclass(frozen=True)
class MembersSummary:
    """The members step of a check."""

    outcome: Outcome
    members: int  # listed this check
    changed: int  # changes to report
    counts: Mapping[str, int] = field(default_factory=dict, compare=False)  # members per status

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "members": self.members, "changed": self.changed}


@dataclass(frozen=True)
class SubjectResult:
    """One subject's check."""

    subject: WatchedSubject
    enrollment: Enrollment  # as read, with the member figures last known
    outcome: Outcome
    alerts_sent: int = 0
    opt_ins_decreased: bool = False
    members: MembersSummary | None = None  # None: members not checked here
    # Read, recorded, every owed alert delivered, members done: False when another invocation
    # (or the next check) completes it.
    complete: bool = False

    @property
    def region(self) -> str:
        return self.subject.region

    @property
    def status(self) -> str:
        return self.enrollment.status

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"region": self.region}
        if self.subject.service != COMPUTE_OPTIMIZER:
            result["service"] = self.subject.service
        result |= {"status": self.status, "outcome": self.outcome}
        if self.opt_ins_decreased:
            result["memberOptIns"] = "decreased"
        if self.alerts_sent:
            result["alertsSent"] = self.alerts_sent
        if self.members:
            result["members"] = self.members.to_dict()
        return result


@dataclass(frozen=True)
class Checked:
    """A check of every watched subject (Compute Optimizer's first, by Region)."""

    subjects: tuple[SubjectResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"checked": [subject.to_dict() for subject in self.subjects]}


@dataclass(frozen=True)
class TestSent:
    """A test notification, published."""

    sent: str  # its event type
    message_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "messageId": self.message_id}
