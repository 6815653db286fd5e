"""The pure comparison of the organization's listing with the members as last reported.

``MemberDiff`` is fed the listing as it streams (no page kept) and yields the member writes
that bring the table up to date, one at a time; once the listing is done it holds the changes
to report and the members counted per status. No I/O: ``members.py`` does the writing.

What the table remembers of a member (``Remembered``): the status last reported, ``GONE`` for
a member that left (and was reported), or an ``Unreported`` change: written by a check that
then died before it owed the alert. A later check reports that change, from the status last
reported, unless it reverted in between.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from enrollment_monitor.enrollment import MemberEnrollment, iso

# No group keeps more than this many changes: far more than fit in one SNS message (a listed
# member takes well over 130 bytes), so memory stays bounded however many members change.
KEPT_PER_GROUP = 2_500
# The group (and the alert's ``status`` attribute) of members that left the organization.
REMOVED = "Removed"


@dataclass(frozen=True)
class Unreported:
    """A member whose change is written and not yet reported."""

    status: str | None  # None: it left the organization
    previous: str | None  # the status last reported; None: not a member then


GONE = ""
Remembered: TypeAlias = str | Unreported


@dataclass(frozen=True)
class Remember:
    """Write what the table remembers of a member."""

    account_id: str
    remembered: Remembered


@dataclass(frozen=True)
class Forget:
    """Delete a member from the table."""

    account_id: str


MemberWrite: TypeAlias = Remember | Forget


@dataclass(frozen=True)
class MemberChange:
    """One member whose status differs from the last one reported."""

    account_id: str
    previous: str | None  # None: not a member at the last report (a new member)
    current: str | None  # None: no longer a member of the organization
    status_reason: str | None = None
    last_updated: datetime | None = None

    @property
    def group(self) -> str:
        return REMOVED if self.current is None else self.current

    def to_dict(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "previous": self.previous,
            "current": self.current,
            "statusReason": self.status_reason,
            "lastUpdatedTimestamp": iso(self.last_updated) if self.last_updated else None,
        }


@dataclass
class ChangeList:
    """The changes of one check: every one counted per group (its new status, or
    ``REMOVED``), the first ``KEPT_PER_GROUP`` of each group kept for the alert."""

    counts: Counter[str] = field(default_factory=Counter)
    kept: dict[str, list[MemberChange]] = field(default_factory=dict)

    def add(self, change: MemberChange) -> None:
        self.counts[change.group] += 1
        kept = self.kept.setdefault(change.group, [])
        if len(kept) < KEPT_PER_GROUP:
            kept.append(change)

    def __len__(self) -> int:
        return self.counts.total()


class MemberDiff:
    """One listing of the organization against ``stored``, what the table remembers.

    ``writes(listing)`` streams the listing and yields the writes; then ``changes`` are the
    changes to report, ``members`` counts the members listed per status, and ``left_earlier``
    names members that left and were reported: a check that writes anyway forgets them. A
    baseline (no complete listing recorded yet) remembers every member and reports nothing.
    """

    def __init__(self, stored: Mapping[str, Remembered], baseline: bool) -> None:
        self._stored = stored
        self._baseline = baseline
        self._listed: set[str] = set()
        self.members: Counter[str] = Counter()
        self.changes = ChangeList()
        self.left_earlier: list[str] = []

    def writes(self, listing: Iterable[MemberEnrollment]) -> Iterator[MemberWrite]:
        for member in listing:
            self.members[member.status] += 1
            if member.account_id in self._listed:
                continue  # the API listed it twice: one member
            self._listed.add(member.account_id)
            write = self._compare(member.account_id, self._stored.get(member.account_id), member)
            if write:
                yield write
        for account_id, known in self._stored.items():
            if account_id not in self._listed:
                write = self._compare(account_id, known, None)
                if write:
                    yield write

    def _compare(
        self, account_id: str, known: Remembered | None, member: MemberEnrollment | None
    ) -> MemberWrite | None:
        current = member.status if member else None
        wanted: Remembered | None
        if self._baseline:
            wanted = current
        else:
            previous = known.previous if isinstance(known, Unreported) else known or None
            if current != previous:
                wanted = Unreported(current, previous)
                self.changes.add(_change(account_id, previous, member))
            elif current is not None:
                wanted = current
            elif known == GONE:
                self.left_earlier.append(account_id)
                return None
            else:
                wanted = None
        if wanted == known:
            return None
        return Forget(account_id) if wanted is None else Remember(account_id, wanted)


def _change(account_id: str, previous: str | None, member: MemberEnrollment | None) -> MemberChange:
    if member is None:
        return MemberChange(account_id, previous, None)
    return MemberChange(
        account_id, previous, member.status, member.status_reason, member.last_updated
    )
