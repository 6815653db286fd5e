"""The pure comparison of the organization's listing with the members as last reported.

``MemberDiff`` is fed the listing as it streams (no page kept) and yields the member writes
that bring the table up to date, one at a time; then the writes for the members no longer
listed. It then holds the changes to report and the members counted per status. No I/O:
``members.py`` does the writing.

What the table remembers of a member (``Remembered``): the status last reported, ``GONE`` for
a member that left (and was reported), ``Unlisted`` for one the last complete listing did not
name, or an ``Unreported`` change: written by a check that did not owe its alert (it died, or
another invocation wrote first). A later check reports that change, from the status last
reported, unless it reverted in between.

A member is reported as gone only when two complete listings in a row miss it. A listing whose
page tokens are offsets skips a member whenever another, already listed, leaves between two of
its pages: the first miss is only written down (``Unlisted``), and the next listing confirms
the departure or lists the member again (then nothing is reported).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

from enrollment_monitor.enrollment import MemberEnrollment

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


@dataclass(frozen=True)
class Unlisted:
    """A member the last complete listing did not name: it has left only if the next one does
    not name it either."""

    status: str  # the status last reported


GONE = ""
Remembered: TypeAlias = str | Unreported | Unlisted


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


class StoredMembers(Mapping[str, Remembered]):
    """What the table remembers of each member, in account id order. Two sorted lists hold
    half what a dict would, and let the diff mark the members it met by position."""

    def __init__(self, account_ids: list[str], remembered: list[Remembered]) -> None:
        if any(account_ids[i] >= account_ids[i + 1] for i in range(len(account_ids) - 1)):
            order = sorted(range(len(account_ids)), key=account_ids.__getitem__)
            account_ids = [account_ids[i] for i in order]
            remembered = [remembered[i] for i in order]
        self._ids, self._remembered = account_ids, remembered

    @classmethod
    def of(cls, members: Mapping[str, Remembered]) -> StoredMembers:
        return cls(list(members), list(members.values()))

    def position(self, account_id: str) -> int | None:
        at = bisect_left(self._ids, account_id)
        return at if at < len(self._ids) and self._ids[at] == account_id else None

    def at(self, position: int) -> tuple[str, Remembered]:
        return self._ids[position], self._remembered[position]

    def __getitem__(self, account_id: str) -> Remembered:
        at = self.position(account_id)
        if at is None:
            raise KeyError(account_id)
        return self._remembered[at]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


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
    """One listing of the organization against ``stored``, what the table remembers. Use
    each once, in order: ``listed(listing)``, then ``unlisted()``.

    Then ``changes`` are the changes to report, ``members`` counts the members listed per
    status, ``missed`` counts the members missed for the first time (their departure is for
    the next listing to confirm), and ``left_earlier`` names members that left and were
    reported: a check that writes anyway forgets them. A baseline (no complete listing
    recorded yet) remembers every member and reports nothing.

    ``rewrite`` names stored members whose item must be written again even where what it
    holds is what the diff wants (a repair of their item, ``store.roster``).
    """

    def __init__(
        self, stored: StoredMembers, baseline: bool, rewrite: frozenset[str] = frozenset()
    ) -> None:
        self._stored = stored
        self._baseline = baseline
        self._rewrite = rewrite
        self._met = bytearray(len(stored))  # 1: the stored member at that position was listed
        self._new: set[str] = set()  # listed members not stored: a few
        self.members: Counter[str] = Counter()
        self.changes = ChangeList()
        self.missed = 0
        self.left_earlier: list[str] = []

    def listed(self, listing: Iterable[MemberEnrollment]) -> Iterator[MemberWrite]:
        """The writes for the members listed, as the listing streams."""
        for member in listing:
            at = self._stored.position(member.account_id)
            known: Remembered | None = None
            if at is None:
                if member.account_id in self._new:
                    continue  # the API listed it twice: one member
                self._new.add(member.account_id)
            else:
                if self._met[at]:
                    continue
                self._met[at] = 1
                known = self._stored.at(at)[1]
            self.members[member.status] += 1
            write = self._compare(member.account_id, known, member)
            if write:
                yield write

    def unlisted(self) -> Iterator[MemberWrite]:
        """The writes for the members remembered and no longer listed."""
        for at, met in enumerate(self._met):
            if not met:
                write = self._compare(*self._stored.at(at), None)
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
            previous = _last_reported(known)
            if current is None and previous is not None and _listed_last(known):
                wanted = Unlisted(previous)  # a first miss: the next listing confirms it
                self.missed += 1
            elif current != previous:
                wanted = Unreported(current, previous)
                self.changes.add(_change(account_id, previous, member))
            elif current is not None:
                wanted = current
            elif known == GONE and account_id not in self._rewrite:
                self.left_earlier.append(account_id)
                return None
            else:
                wanted = None
        if wanted == known and account_id not in self._rewrite:
            return None
        return Forget(account_id) if wanted is None else Remember(account_id, wanted)


def _last_reported(known: Remembered | None) -> str | None:
    """The status last reported of a member (None: none, or it left)."""
    if isinstance(known, Unreported):
        return known.previous
    if isinstance(known, Unlisted):
        return known.status
    return known or None


def _listed_last(known: Remembered | None) -> bool:
    """Whether the last complete listing named the member: a member that is missed now was
    then missed for the first time."""
    if isinstance(known, Unreported):
        return known.status is not None  # not a departure a crashed check had confirmed
    return isinstance(known, str) and known != GONE


def _change(account_id: str, previous: str | None, member: MemberEnrollment | None) -> MemberChange:
    if member is None:
        return MemberChange(account_id, previous, None)
    return MemberChange(
        account_id, previous, member.status, member.status_reason, member.last_updated
    )
