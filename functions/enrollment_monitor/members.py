"""Organization members (``TRACK_MEMBER_ACCOUNTS``): each check lists them all, compares each
with the status last reported (``member_diff``) and owes one alert for those that changed.

The listing streams through the diff page by page; a steady check writes nothing. On the
first write (or, with none, when there is a baseline to close or a change to report) the check
takes the members' lease, then writes the members in batches of 25, each change tagged as not
yet reported; then, in one transaction, it owes the alert, raises the version of the (account,
Region) observation as any owed alert does, and closes the round (``store.roster``). The first
check records every member silently (the baseline), from two listings: the page tokens are
offsets, so a member that leaves between two pages makes a listing skip another, which the
second listing names (else it would later be reported as new).

- Racing invocations: the lease lets one invocation write members at a time, and is refused
  to an invocation that loaded the members before another closed a round.
- A check that dies after writing members and before owing the alert leaves them tagged: once
  its lease has expired, the next check reports them, from the status they had before.
- SNS down: the alert stays owed and the next check delivers it, oldest first.
- A member that leaves the organization is reported once, in the group "Left the
  organization", when a second complete listing in a row (the next check's) misses it too:
  the first miss may be a skipped member. If it comes back it is reported as a new member.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from aws_lambda_powertools import Logger

from enrollment_monitor.alerts.members import member_alert
from enrollment_monitor.alerts.render import status_text
from enrollment_monitor.compute_optimizer import (
    MEMBERS_PAGE_SIZE,
    READ_MEMBERS,
    Skipped,
    read_members,
)
from enrollment_monitor.enrollment import MemberEnrollment, Outcome, WatchedSubject
from enrollment_monitor.errors import AwsCallError, MonitorError
from enrollment_monitor.invocation import Invocation
from enrollment_monitor.member_diff import Forget, MemberDiff, MemberWrite
from enrollment_monitor.results import MembersSummary
from enrollment_monitor.store.observations import Stored
from enrollment_monitor.store.roster import Roster, Rosters
from enrollment_monitor.store.table import Lease, Write, lease_running

logger = Logger()


class MemberTrackingDenied(MonitorError):
    """The account may not list the organization's members."""


class EmptyListing(MonitorError):
    """The listing came back empty for an organization that had members: far more likely a
    fault than every member leaving at once, so nothing is reported as left."""


class ListingTooSlow(MonitorError):
    """The listing would outlast the invocation: stopped while there is time to say so."""


class NotMembers(MonitorError):
    """The listing named entries that are no member account (an account id that is not 12
    digits): each was skipped and logged, every other member checked and reported; the
    invocation fails naming them once all that is done."""


def deadline_reserve(time_limit: float) -> float:
    """The invocation's time the listing leaves for writing, owing and sending: a fifth of
    it, 10 s at least."""
    return max(10.0, time_limit / 5)


class _Deadline:
    """Stops the listing while ``deadline_reserve`` is left: killed by the timeout mid-way, a
    check says nothing."""

    def __init__(self, invocation: Invocation, where: WatchedSubject) -> None:
        self._remaining = invocation.remaining_seconds
        self._reserve = deadline_reserve(invocation.time_limit)
        self._region = where.region

    def check(self, listed: int) -> None:
        left = self._remaining()
        if left < self._reserve:
            raise ListingTooSlow(
                f"{READ_MEMBERS} in {self._region}: the listing stopped after {listed:,} members "
                f"with {left:.0f} s of the invocation left: nothing was reported, the next check "
                "starts over. Raise the function's timeout if this repeats."
            )


@dataclass(frozen=True)
class MembersChecked:
    stored: Stored  # with the member alert it now owes, if any
    summary: MembersSummary
    set_aside: list[str]  # member items that could not be read, set aside
    not_members: NotMembers | None = None  # listed entries skipped: the invocation fails


def check_members(invocation: Invocation, where: WatchedSubject, stored: Stored) -> MembersChecked:
    """Lists the members, records their changes and owes the alert that reports them."""
    rosters = Rosters(invocation.table)
    roster = rosters.load(where)
    set_aside = [rosters.set_aside(item, invocation.at) for item in roster.unreadable]
    diff = MemberDiff(roster.members, roster.baseline, roster.rewrite)
    writes = _LazyLease(invocation, rosters, where, roster)
    client = invocation.clients.compute_optimizer(where.region)
    skipped = Skipped()
    deadline = _Deadline(invocation, where)
    listing = _members_of(client, deadline, skipped)
    if roster.baseline:  # the second names what the first skipped: the diff takes each once
        listing = chain(listing, _members_of(client, deadline, Skipped()))
    try:
        for write in diff.listed(listing):
            writes.write(write)
        listed_before = sum(map(bool, roster.members.values()))
        if not diff.members and listed_before:
            raise EmptyListing(
                f"{READ_MEMBERS} in {where.region} listed no members"
                f"{f' ({skipped})' if skipped.count else ''}, while {listed_before:,} were "
                "listed before: nothing was reported or written. If the organization really "
                "has no members left, set the TrackMemberAccounts parameter to false."
            )
        for write in diff.unlisted():
            writes.write(write)
        if writes.lease:  # writing anyway: forget the members that left earlier
            for account_id in diff.left_earlier:
                writes.write(Forget(account_id))
        # Even an organization without members completes its baseline, changes that a check
        # which died had all written already are still to be reported, and a repair is written.
        if roster.baseline or diff.changes or roster.repairs:
            writes.take()
        if writes.lease is None:
            outcome = Outcome.LOST_RACE if writes.refused else Outcome.NOTHING
        else:
            writes.flush()
            stored, outcome = _conclude(invocation, where, stored, rosters, roster, diff, writes)
    except Exception:
        writes.give_back_after_failure()
        raise
    # Counted by the status as shown: a dimension value carries no hidden character either.
    counts: Counter[str] = Counter()
    for status, count in diff.members.items():
        counts[status_text(status)] += count
    summary = MembersSummary(outcome, diff.members.total(), len(diff.changes), counts)
    logger.info("members checked", extra={**summary.to_dict(), "missed": diff.missed})
    return MembersChecked(stored, summary, set_aside, _not_members(where, skipped))


def _not_members(where: WatchedSubject, skipped: Skipped) -> NotMembers | None:
    if not skipped.count:
        return None
    return NotMembers(
        f"{READ_MEMBERS} in {where.region}: {skipped}. Every other member was checked and "
        "its changes reported; these entries name no account the monitor can watch."
    )


def _conclude(
    invocation: Invocation,
    where: WatchedSubject,
    stored: Stored,
    rosters: Rosters,
    roster: Roster,
    diff: MemberDiff,
    writes: _LazyLease,
) -> tuple[Stored, Outcome]:
    """With the members written: closes the round, owing the alert if there is one to owe."""
    round_ = roster.next_round
    if roster.baseline:
        writes.give_back(round_)
        return stored, Outcome.BASELINE
    if not diff.changes:  # members missed, changes that reverted, repairs: nothing to tell
        writes.give_back(round_)
        return stored, Outcome.UNCONFIRMED if diff.missed else Outcome.REPAIRED
    alert = member_alert(where, diff.changes, diff.members, invocation.now)
    owed = invocation.observations.owe(where, stored, alert, writes.closing(round_))
    if owed is None:
        # Another invocation recorded an account-level change in between: the members stay
        # written and unreported, and the next check reports them.
        writes.give_back()
        return stored, Outcome.DEFERRED
    writes.lease = None  # ended by the transaction that owed the alert
    return owed, Outcome.CHANGED


class _LazyLease:
    """Member writes under the members' lease, taken on the first write (a steady check takes
    none). Refused, it writes nothing: another invocation is writing the members."""

    def __init__(
        self, invocation: Invocation, rosters: Rosters, where: WatchedSubject, roster: Roster
    ) -> None:
        self._invocation = invocation
        self._rosters = rosters
        self._where = where
        self._roster = roster
        self._writer = rosters.writer(where, roster.next_round, invocation.at)
        self.lease: Lease | None = None
        # Refused up front when another invocation's lease was seen still running.
        self.refused = lease_running(roster.lease_until, invocation.now.timestamp())

    def take(self) -> None:
        if self.lease is None and not self.refused:
            self.lease = self._rosters.take(self._where, self._roster, self._invocation.holder)
            self.refused = self.lease is None

    def write(self, write: MemberWrite) -> None:
        self.take()
        if self.lease:
            self._writer.write(write)

    def flush(self) -> None:
        self._writer.flush()

    def closing(self, round_: int) -> Write:
        """The write that closes ``round_`` and ends the lease, for the transaction that owes
        the alert."""
        assert self.lease
        return self._rosters.closing(self.lease, round_)

    def give_back(self, round_: int | None = None) -> None:
        """Ends the lease (closing ``round_`` if given)."""
        assert self.lease
        lease, self.lease = self.lease, None
        if not self._invocation.table.apply(self._rosters.closing(lease, round_)):
            logger.warning("the members' lease had been taken over before it was given back")

    def give_back_after_failure(self) -> None:
        """The next check need not wait for the lease to expire; the failure itself is what
        the invocation reports."""
        if self.lease:
            try:
                self.give_back()
            except MonitorError as error:
                logger.warning("could not give the members' lease back", extra={"e": str(error)})


def _members_of(client: Any, deadline: _Deadline, skipped: Skipped) -> Iterator[MemberEnrollment]:
    """The organization's members (entries that name none go to ``skipped``); a clear error
    where the account may not list them, or when the listing would outlast the invocation."""
    try:
        for listed, member in enumerate(read_members(client, client.meta.region_name, skipped)):
            if listed % MEMBERS_PAGE_SIZE == 0:
                deadline.check(listed)
            yield member
    except AwsCallError as error:
        if error.call == READ_MEMBERS and error.denied:
            raise MemberTrackingDenied(
                f"{error}. Member tracking (TRACK_MEMBER_ACCOUNTS=true) lists the members: "
                "deploy the monitor in the management account, or set the TrackMemberAccounts "
                "parameter to false. The account's own enrollment was checked."
            ) from error
        raise
