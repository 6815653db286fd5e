"""Organization members (``TRACK_MEMBER_ACCOUNTS``): each check lists them all, compares each
with the status last reported (``member_diff``) and owes one alert for those that changed.

The listing streams through the diff page by page; a steady check writes nothing. On the
first write (or, with none, when there is a baseline to close or a change to report) the check
takes the members' lease, then writes the members in batches of 25, each change tagged as not
yet reported; then, in one transaction, it owes the alert, raises the version of the (account,
Region) observation as any owed alert does, and closes the round (``store.roster``). The first
check records every member silently (the baseline).

- Racing invocations: the lease lets one invocation write members at a time, and is refused
  to an invocation that loaded the members before another closed a round.
- A check that dies after writing members and before owing the alert leaves them tagged: once
  its lease has expired, the next check reports them, from the status they had before.
- SNS down: the alert stays owed and the next check delivers it, oldest first.
- A member that leaves the organization is reported once, in the group "Left the
  organization"; if it comes back it is reported as a new member.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from aws_lambda_powertools import Logger

from enrollment_monitor import metrics
from enrollment_monitor.alerts.members import member_alert
from enrollment_monitor.compute_optimizer import READ_MEMBERS, read_members
from enrollment_monitor.enrollment import AccountRegion, MemberEnrollment, Outcome, iso
from enrollment_monitor.errors import AwsCallError, MonitorError
from enrollment_monitor.invocation import Invocation
from enrollment_monitor.member_diff import Forget, MemberDiff
from enrollment_monitor.store.observations import Observations, Stored
from enrollment_monitor.store.roster import Roster, Rosters
from enrollment_monitor.store.table import Lease

logger = Logger()


class MemberTrackingDenied(MonitorError):
    """The account may not list the organization's members."""


def check_members(
    invocation: Invocation, where: AccountRegion, stored: Stored
) -> tuple[Stored, dict[str, Any]]:
    """Returns the observation with the member alert it now owes, if any, and a summary."""
    rosters = Rosters(invocation.table)
    roster = rosters.load(where)
    diff = MemberDiff(roster.members, roster.baseline)
    writes = diff.writes(_members_of(invocation.clients.compute_optimizer(where.region), where))
    writer = rosters.writer(where, (roster.round or 0) + 1, iso(invocation.now))
    lease = None
    try:
        first = next(writes, None)  # the listing streams up to the first write
        if first is not None:
            lease = _take(invocation, rosters, where, roster)
        for write in chain([first] if first else [], writes):
            if lease:
                writer.write(write)  # else another invocation writes: only count the members
        metrics.emit_member_counts(invocation.settings.metric_namespace, where.region, diff.members)
        # Even an organization without members completes its baseline, and changes that a
        # check which died had all written already are still to be reported.
        wanted = first is not None or roster.baseline or bool(diff.changes)
        if first is None and wanted:
            lease = _take(invocation, rosters, where, roster)
        if lease is None:
            outcome = Outcome.LOST_RACE if wanted else Outcome.NOTHING
        else:
            for account_id in diff.left_earlier:  # writing anyway: forget members that left
                writer.write(Forget(account_id))
            writer.flush()
            stored, outcome = _conclude(invocation, where, stored, roster, diff, lease)
            lease = None
    except MonitorError:
        if lease is not None:  # the next check need not wait for the lease to expire
            _give_back(invocation, rosters, lease, warn_only=True)
        raise
    changed = len(diff.changes) if outcome is Outcome.CHANGED else 0
    summary = {"outcome": outcome, "members": diff.members.total(), "changed": changed}
    logger.info("members checked", extra={"region": where.region, **summary})
    return stored, summary


def _conclude(
    invocation: Invocation,
    where: AccountRegion,
    stored: Stored,
    roster: Roster,
    diff: MemberDiff,
    lease: Lease,
) -> tuple[Stored, Outcome]:
    """With the members written: closes the baseline, or owes the alert and closes the round."""
    rosters, round_ = Rosters(invocation.table), (roster.round or 0) + 1
    if roster.baseline:
        _give_back(invocation, rosters, lease, round_)
        return stored, Outcome.BASELINE
    if not diff.changes:  # only unreported changes that reverted: nothing to tell
        _give_back(invocation, rosters, lease)
        return stored, Outcome.REPAIRED
    alert = member_alert(where, diff.changes, diff.members, invocation.now)
    closing = rosters.closing(lease, round_)
    owed = Observations(invocation.table).owe(where, stored, alert, closing)
    if owed is None:
        # Another invocation recorded an account-level change in between: the members stay
        # written and unreported, and the next check reports them.
        _give_back(invocation, rosters, lease)
        return stored, Outcome.DEFERRED
    return owed, Outcome.CHANGED


def _take(
    invocation: Invocation, rosters: Rosters, where: AccountRegion, roster: Roster
) -> Lease | None:
    return rosters.take(where, roster, invocation.lease_until, invocation.now.timestamp())


def _give_back(
    invocation: Invocation,
    rosters: Rosters,
    lease: Lease,
    round_: int | None = None,
    warn_only: bool = False,
) -> None:
    """Gives the members' lease back (closing ``round_`` if given)."""
    try:
        if not invocation.table.apply(rosters.closing(lease, round_)):
            logger.warning("the members' lease had been taken over before it was given back")
    except MonitorError as error:
        if not warn_only:
            raise
        logger.warning("could not give the members' lease back", extra={"error": str(error)})


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
