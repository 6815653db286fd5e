"""Organization members (``TRACK_MEMBER_ACCOUNTS``): each check lists them all, compares each
with the status last reported and owes one alert for those that changed.

The listing is streamed page by page against the statuses loaded from the state table (one
small entry per member, no API page kept). A steady check writes nothing. A check that finds
k changes takes the members' lease (one conditional write), writes the k members in batches of
25, each tagged as not yet reported, then in one transaction owes the alert, raises the
version of the (account, Region) observation as any owed alert does, and closes the round
(``member_state``). The first check records every member silently (the baseline).

- Racing invocations: the lease lets one invocation write members at a time, and the lease is
  refused to an invocation that loaded the members before another closed a round; the owed
  alert is delivered under its own lease, like any other.
- A check that dies after writing members and before owing the alert leaves tagged members:
  once its lease has expired, the next check reports them, from the status they had before.
- SNS down: the alert stays owed and the next check delivers it, oldest first.
- A member that leaves the organization is reported once, in the group "Left the
  organization"; if it comes back it is reported as a new member.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

from aws_lambda_powertools import Logger

from enrollment_monitor import metrics
from enrollment_monitor.clients import AwsClients
from enrollment_monitor.compute_optimizer import READ_MEMBERS, read_members
from enrollment_monitor.enrollment import AccountRegion, MemberEnrollment, iso
from enrollment_monitor.errors import AwsCallError, MonitorError
from enrollment_monitor.member_alerts import ChangeList, MemberChange, member_alert
from enrollment_monitor.member_state import (
    GONE,
    MemberTable,
    MemberWriter,
    Remembered,
    Roster,
    Unreported,
)
from enrollment_monitor.settings import Settings
from enrollment_monitor.state import StateTable, Stored

logger = Logger()


class MemberTrackingDenied(MonitorError):
    """The account may not list the organization's members."""


class MemberCheck:
    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        table: StateTable,
        now: datetime,
        lease_until: float,
    ) -> None:
        self._clients = clients
        self._table = table
        self._members = MemberTable(clients.dynamodb, settings.state_table_name)
        self._namespace = settings.metric_namespace
        self._now = now
        self._lease_until = lease_until

    def run(self, where: AccountRegion, stored: Stored) -> tuple[Stored, dict[str, Any]]:
        """Returns the observation with the member alert it now owes, if any, and a summary."""
        roster = self._members.load(where)
        now = self._now.timestamp()
        writes = _Writes(self._members, where, roster, self._lease_until, now, iso(self._now))
        reading = _Reading(roster, writes)
        try:
            for member in _members_of(self._clients.compute_optimizer(where.region), where):
                reading.see(member)
            metrics.emit_member_counts(self._namespace, where.region, reading.members)
            reading.finish()
            stored, outcome = self._conclude(where, stored, roster, reading, writes)
        except MonitorError:
            writes.give_back()
            raise
        summary = {
            "outcome": outcome,
            "members": reading.members.total(),
            "changed": len(reading.changes),
        }
        logger.info("members checked", extra={"region": where.region, **summary})
        return stored, summary

    def _conclude(
        self,
        where: AccountRegion,
        stored: Stored,
        roster: Roster,
        reading: _Reading,
        writes: _Writes,
    ) -> tuple[Stored, str]:
        if roster.baseline or reading.changes:
            # Even an organization without members completes its baseline, and changes that a
            # check which died had all written already are still to be reported.
            writes.take()
        if writes.refused:
            return stored, "left to another invocation"
        if not writes.held:
            return stored, "nothing"
        writes.flush()
        lease, round_ = writes.lease_until, (roster.round or 0) + 1
        if roster.baseline:
            _closed(self._members.close(where, lease, round_))
            return stored, "baseline"
        if not reading.changes:  # only unreported changes that reverted: nothing to tell
            _closed(self._members.close(where, lease))
            return stored, "repaired"
        alert = member_alert(where, reading.changes, reading.members, self._now)
        closing = self._members.closing(where, lease, round_)
        owed = self._table.owe(where, stored, alert, also=[closing])
        if owed is None:
            # Another invocation recorded an account-level change in between: the members
            # stay written and unreported, and the next check reports them.
            _closed(self._members.close(where, lease))
            return stored, "left to the next check"
        writes.held = False
        return owed, "changed"


def _closed(closed: bool) -> None:
    if not closed:
        logger.warning("the members' lease had been taken over before it was given back")


def _members_of(client: Any, where: AccountRegion) -> Iterator[MemberEnrollment]:
    """The organization's members; a clear error where the account may not list them."""
    try:
        yield from read_members(client, where.region)
    except AwsCallError as error:
        if error.call == READ_MEMBERS and error.denied:
            raise MemberTrackingDenied(
                f"{error}. Member tracking (TRACK_MEMBER_ACCOUNTS=true) calls {READ_MEMBERS}, "
                "which only the organization's management account or the Compute Optimizer "
                "delegated administrator may call: deploy the monitor there, or set the "
                "TrackMemberAccounts parameter to false. The account's own enrollment was "
                "checked."
            ) from error
        raise


class _Writes:
    """Member writes, under the members' lease, taken on the first write."""

    def __init__(
        self,
        table: MemberTable,
        where: AccountRegion,
        roster: Roster,
        lease_until: float,
        now: float,
        observed_at: str,
    ) -> None:
        self._table, self._where, self._roster = table, where, roster
        self.lease_until, self._now = lease_until, now
        self.held = False
        # Refused up front when another invocation's lease was seen still running.
        self.refused = roster.lease_until >= now
        self._writer: MemberWriter = table.writer(where, (roster.round or 0) + 1, observed_at)

    def take(self) -> bool:
        if not self.held and not self.refused:
            self.held = self._table.lease(self._where, self._roster, self.lease_until, self._now)
            self.refused = not self.held
        return self.held

    def put(self, account_id: str, remembered: Remembered) -> bool:
        if self.take():
            self._writer.put(account_id, remembered)
        return self.held

    def delete(self, account_id: str) -> bool:
        if self.take():
            self._writer.delete(account_id)
        return self.held

    def flush(self) -> None:
        self._writer.flush()

    def give_back(self) -> None:
        """After a failure: the next check need not wait for the lease to expire."""
        if self.held:
            try:
                self._table.close(self._where, self.lease_until)
            except MonitorError as error:
                logger.warning("could not give the members' lease back", extra={"e": str(error)})
            self.held = False


class _Seen:
    """Marks a member already met in this listing (the API could list one twice)."""


_SEEN = _Seen()


class _Reading:
    """One listing of the organization against the members as remembered."""

    def __init__(self, roster: Roster, writes: _Writes) -> None:
        self.members: Counter[str] = Counter()
        self.changes = ChangeList()
        # Takes the roster's dict over, marking the members met: no second copy of it.
        self._remembered = cast(dict[str, Remembered | _Seen], roster.members)
        self._baseline = roster.baseline
        self._writes = writes
        self._left_earlier: list[str] = []

    def see(self, member: MemberEnrollment) -> None:
        self.members[member.status] += 1
        known = self._remembered.get(member.account_id)
        if isinstance(known, _Seen):
            return
        self._remembered[member.account_id] = _SEEN
        self._compare(member.account_id, known, member)

    def finish(self) -> None:
        """The members remembered and no longer listed."""
        for account_id, known in self._remembered.items():
            if not isinstance(known, _Seen):
                self._compare(account_id, known, None)
        if self._writes.held:  # writing anyway: forget the members that left earlier
            for account_id in self._left_earlier:
                self._writes.delete(account_id)

    def _compare(
        self, account_id: str, known: Remembered | None, member: MemberEnrollment | None
    ) -> None:
        if self._writes.refused:
            return  # another invocation is writing the members: only count them
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
                self._left_earlier.append(account_id)
                return
            else:
                wanted = None
        if wanted == known:
            return
        if wanted is None:
            self._writes.delete(account_id)
        else:
            self._writes.put(account_id, wanted)


def _change(account_id: str, previous: str | None, member: MemberEnrollment | None) -> MemberChange:
    if member is None:
        return MemberChange(account_id, previous, None)
    return MemberChange(
        account_id, previous, member.status, member.status_reason, member.last_updated
    )
