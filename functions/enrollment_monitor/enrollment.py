"""The enrollment as Compute Optimizer reports it, and the pure decision "alert or not"."""

from __future__ import annotations

import enum
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from enrollment_monitor import parse

# The standard library's, as ``parse``'s: the command line imports this module too.
logger = logging.getLogger(__name__)
T = TypeVar("T")
# A check never runs longer than Lambda's longest timeout: an observation stamped later than
# that after a check's own time was not recorded by an invocation running beside it.
LONGEST_INVOCATION = timedelta(minutes=15)

ACTIVE = "Active"
KNOWN_STATUSES = ("Active", "Inactive", "Pending", "Failed")
# The status of an answer that says none (or says it as something other than text).
UNKNOWN = "Unknown"
# Text from the API is bounded where it enters: alerts show less (alerts.render.api_text), and
# the stored observation never nears DynamoDB's 400 KB item.
REASON_LIMIT = 1_000
STATUS_LIMIT = 100


# The service of a watched subject unless it names another (``subjects.SERVICES``).
COMPUTE_OPTIMIZER = "compute-optimizer"


@dataclass(frozen=True)
class WatchedSubject:
    """A watched subject: one service's enrollment, read in one Region of an account. Each
    Region of an account is watched on its own for Compute Optimizer; the other services are
    watched once per account (``subjects``)."""

    account_id: str
    region: str
    service: str = COMPUTE_OPTIMIZER

    @property
    def scope(self) -> str:
        """What the subject's state is kept under: Compute Optimizer's by Region, as it always
        was, every other service's by Region and service."""
        if self.service == COMPUTE_OPTIMIZER:
            return self.region
        return f"{self.region}#{self.service}"


@dataclass(frozen=True)
class Enrollment:
    """One answer of GetEnrollmentStatus. A status AWS adds later is kept as its raw value."""

    status: str
    status_reason: str | None = None
    last_updated: datetime | None = None
    member_accounts_enrolled: bool | None = None
    member_accounts_opted_in: int | None = None
    # The accounts that hold the status, sorted (the delegated administrator); None: the subject
    # has none, or the observation was recorded before they were kept.
    holders: tuple[str, ...] | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def moved_from(self, before: Enrollment) -> bool:
        """The same status as ``before``, held by other accounts: compared only when both name
        their holders, so an observation recorded before they were kept never alerts."""
        known = None not in (self.holders, before.holders)
        return known and self.status == before.status and self.holders != before.holders

    @property
    def figures(self) -> tuple[int | None, bool | None]:
        """The member figures: how many members are opted in, whether they are enrolled
        (None: the API did not say)."""
        return self.member_accounts_opted_in, self.member_accounts_enrolled

    def with_figures_from(self, known: Enrollment) -> Enrollment:
        """This answer, with the member figures the API left out this time taken from the last
        known answer: a figure missing once is no change."""
        return replace(
            self,
            member_accounts_enrolled=_first_known(
                self.member_accounts_enrolled, known.member_accounts_enrolled
            ),
            member_accounts_opted_in=_first_known(
                self.member_accounts_opted_in, known.member_accounts_opted_in
            ),
        )

    @classmethod
    def from_api(cls, response: Mapping[str, Any]) -> Enrollment:
        """One answer, each field parsed once (``parse``): what does not fit is not said, so
        what is recorded is what ``from_dict`` reads back. An answer without a status is not
        AWS's (``parse.Missing``)."""
        get = response.get
        status = parse.required(response, "status")
        return cls(
            status=parse.text("status", status, STATUS_LIMIT) or UNKNOWN,
            status_reason=parse.text("statusReason", get("statusReason"), REASON_LIMIT) or None,
            last_updated=parse.moment("lastUpdatedTimestamp", get("lastUpdatedTimestamp")),
            member_accounts_enrolled=parse.flag(
                "memberAccountsEnrolled", get("memberAccountsEnrolled")
            ),
            member_accounts_opted_in=parse.count(
                "numberOfMemberAccountsOptedIn", get("numberOfMemberAccountsOptedIn")
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The API's own field names, times in ISO 8601: the shape of the alert document."""
        document: dict[str, Any] = {"status": self.status, "statusReason": self.status_reason}
        document["lastUpdatedTimestamp"] = iso(self.last_updated) if self.last_updated else None
        if self.member_accounts_enrolled is not None:
            document["memberAccountsEnrolled"] = self.member_accounts_enrolled
        if self.member_accounts_opted_in is not None:
            document["numberOfMemberAccountsOptedIn"] = self.member_accounts_opted_in
        if self.holders is not None:
            document["holders"] = list(self.holders)
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Enrollment:
        """The enrollment as ``to_dict`` wrote it; ValueError if it is not one (a hand edit)."""
        holders = document.get("holders")
        enrollment = cls(
            status=document["status"],
            status_reason=document.get("statusReason"),
            last_updated=aware(document.get("lastUpdatedTimestamp")),
            member_accounts_enrolled=document.get("memberAccountsEnrolled"),
            member_accounts_opted_in=document.get("numberOfMemberAccountsOptedIn"),
            holders=tuple(holders) if isinstance(holders, list) else holders,
        )
        if not (
            isinstance(enrollment.status, str)
            and isinstance(enrollment.status_reason, str | None)
            and isinstance(enrollment.member_accounts_enrolled, bool | None)
            and type(enrollment.member_accounts_opted_in) in (int, type(None))
            and (
                enrollment.holders is None
                or (
                    isinstance(enrollment.holders, tuple)
                    and all(parse.is_account_id(holder) for holder in enrollment.holders)
                )
            )
        ):
            raise ValueError(f"not an enrollment as the monitor stores it: {document}")
        return enrollment


class NotAnAccount(ValueError):
    """A listed entry that names no member account: its account id is not 12 digits."""

    def __init__(self, value: Any) -> None:
        self.shown = parse.shown(value)
        super().__init__(f"accountId {self.shown} is not a 12-digit account id")


@dataclass(frozen=True)
class MemberEnrollment:
    """One member account as GetEnrollmentStatusesForOrganization lists it."""

    account_id: str
    status: str
    status_reason: str | None = None
    last_updated: datetime | None = None

    @classmethod
    def from_api(cls, entry: Any) -> MemberEnrollment:
        """One listed entry, parsed as ``Enrollment.from_api`` parses an answer; NotAnAccount
        if it names no account (its id becomes a key: it is never "not said")."""
        if not isinstance(entry, dict):  # what botocore parses a JSON object into
            raise NotAnAccount(entry)
        account_id = entry.get("accountId")
        if not parse.is_account_id(account_id):
            raise NotAnAccount(account_id)
        get = entry.get
        status = parse.text("status", get("status"), STATUS_LIMIT, account_id) or UNKNOWN
        reason = parse.text("statusReason", get("statusReason"), REASON_LIMIT, account_id)
        return cls(
            account_id=account_id,
            status=sys.intern(status),  # thousands of members share a handful of statuses
            status_reason=reason or None,
            last_updated=parse.moment(
                "lastUpdatedTimestamp", get("lastUpdatedTimestamp"), account_id
            ),
        )


@dataclass(frozen=True)
class Observation:
    """What the monitor remembers: the enrollment, since when, when it last alerted, and the
    episode its alerts belong to (their chat thread)."""

    enrollment: Enrollment
    observed_at: datetime
    alerted_at: datetime | None = None
    # An episode runs from the change away from Active, through its reminders and further
    # changes, to the return to Active; None: no alert yet (a silent baseline).
    episode: str | None = None
    # False: written before member figures were kept at every change (they may be months old).
    figures_current: bool = True


class Decision(enum.Enum):
    NOTHING = "nothing"
    BASELINE = "baseline"
    CHANGED = "changed"
    REMINDER = "reminder"


class Outcome(enum.StrEnum):
    """What one step of a check did, as the invocation's result reports it."""

    NOTHING = "nothing"
    BASELINE = "baseline"  # a first observation, recorded without an alert
    CHANGED = "changed"  # a change recorded, its alert owed
    REMINDER = "reminder"  # a reminder owed
    LOST_RACE = "left to another invocation"  # another invocation wrote first, or holds the lease
    DEFERRED = "left to the next check"  # member changes written, reported by the next check
    REPAIRED = "repaired"  # unreported member changes that reverted, state repaired
    UNCONFIRMED = "departures to confirm"  # members not listed: the next listing confirms


def decide(
    previous: Observation | None,
    current: Enrollment,
    now: datetime,
    reminder_interval: timedelta | None,
    expects_active: bool = True,
) -> Decision:
    """Whether this check records a silent baseline, alerts a change, reminds, or does nothing.

    ``expects_active`` False: a subject watched for changes alone (some keep it off on
    purpose): its first observation is a baseline whatever it says, and it is never reminded."""
    if previous is None:
        return Decision.BASELINE if current.active or not expects_active else Decision.CHANGED
    if previous.enrollment.status != current.status or current.moved_from(previous.enrollment):
        return Decision.CHANGED
    if current.active or not reminder_interval or not expects_active:
        return Decision.NOTHING
    last_told = previous.alerted_at or previous.observed_at
    return Decision.REMINDER if now - last_told >= reminder_interval else Decision.NOTHING


def outcome_of(decision: Decision) -> Outcome:
    return _OUTCOMES[decision]


_OUTCOMES = {
    Decision.NOTHING: Outcome.NOTHING,
    Decision.BASELINE: Outcome.BASELINE,
    Decision.CHANGED: Outcome.CHANGED,
    Decision.REMINDER: Outcome.REMINDER,
}


def recorded_after(
    decision: Decision,
    previous: Observation | None,
    current: Enrollment,
    now: datetime,
    expects_active: bool = True,
) -> Observation | None:
    """The observation a check records after ``decision`` (None: nothing to record). A
    reminder keeps the time the status was first seen. A previous observation stamped in the
    future is recorded again with its times clamped to now (``settled``). ``expects_active``
    as ``decide`` takes it: an alert of a subject watched for changes alone is an episode of
    its own."""
    repaired = previous and settled(previous, now)
    if decision is Decision.NOTHING:
        if repaired and (
            repaired != previous
            or not repaired.figures_current
            or repaired.enrollment.figures != current.figures
            or repaired.enrollment.holders != current.holders
        ):
            # Kept silently, to compare with at the next check (holders seen for the first
            # time among what is kept).
            return replace(repaired, enrollment=current, figures_current=True)
        return None
    if decision is Decision.BASELINE:
        return Observation(current, now)
    since = repaired.observed_at if repaired and decision is Decision.REMINDER else now
    ongoing = previous if expects_active else None
    return Observation(current, since, alerted_at=now, episode=_episode(ongoing, now))


def settled(observation: Observation, now: datetime) -> Observation:
    """The observation with no time after ``now``: stamped later than a check running beside
    this one could have stamped it (a hand edit, a clock gone wrong), it would silence the
    reminders until then. Logged, and the caller writes it back repaired."""
    moments = (observation.observed_at, observation.alerted_at)
    if all(moment is None or moment <= now + LONGEST_INVOCATION for moment in moments):
        return observation
    stamped = {"observedAt": iso(moments[0]), "alertedAt": moments[1] and iso(moments[1])}
    logger.warning(
        "state repaired: an observation stamped in the future (%s), its times clamped to %s",
        stamped,
        iso(now),
        extra=stamped,
    )
    alerted_at = observation.alerted_at and min(observation.alerted_at, now)
    return replace(
        observation, observed_at=min(observation.observed_at, now), alerted_at=alerted_at
    )


def _episode(previous: Observation | None, now: datetime) -> str:
    """The episode of an alert: the one under way while the status is not Active (a table
    written before episodes existed has none: one starts), else a new one."""
    ongoing = previous.episode if previous and not previous.enrollment.active else None
    return ongoing or stamp(now)


def opt_ins_decreased(previous: Observation | None, current: Enrollment) -> bool:
    """Fewer member accounts opted in than at the last check, or members no longer enrolled.
    The first observation, an increase, and a figure the API did not return are silent."""
    if previous is None or not previous.figures_current:
        return False
    before = previous.enrollment
    fewer = (
        before.member_accounts_opted_in is not None
        and current.member_accounts_opted_in is not None
        and current.member_accounts_opted_in < before.member_accounts_opted_in
    )
    return fewer or (
        before.member_accounts_enrolled is True and current.member_accounts_enrolled is False
    )


def _first_known(value: T | None, known: T | None) -> T | None:
    return known if value is None else value


def aware(text: str | None) -> datetime | None:
    """A stored ISO 8601 time; ValueError without a time zone (a hand edit)."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment


def stamp(moment: datetime) -> str:
    """A moment as an identifier, to the microsecond: ``20261126T093000000000Z``."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def iso(moment: datetime) -> str:
    """UTC, to the second: ``2026-11-26T09:30:00Z``."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
