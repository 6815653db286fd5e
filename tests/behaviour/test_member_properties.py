"""Property: whatever the sequence of member changes, SNS outages, races and crashes, each
member's transitions delivered are exactly those between the checks that observed the
members, in order, a departure once two of them in a row missed the member: none lost, none
twice."""

import contextlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.local_aws.resources import LocalAws, local_aws
from enrollment_monitor.enrollment import Outcome
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.results import Checked

from conftest import check_at

REGION = "us-east-1"
MEMBERS = ("111111111111", "222222222222", "333333333333")
STATUSES = ["Active", "Inactive", "Pending", "Failed", None]  # None: not a member
POINTS = [
    "dynamodb:Query",
    "compute-optimizer:GetEnrollmentStatusesForOrganization",
    "dynamodb:UpdateItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:TransactWriteItems",
    "sns:Publish",
]
NOT_OBSERVED = {Outcome.LOST_RACE, Outcome.DEFERRED}
steps = st.lists(
    st.one_of(
        # One member stays: an empty listing is refused (test_silence_means_healthy).
        st.tuples(st.just("status"), st.just(MEMBERS[0]), st.sampled_from(STATUSES[:-1])),
        st.tuples(st.just("status"), st.sampled_from(MEMBERS[1:]), st.sampled_from(STATUSES)),
        st.tuples(st.sampled_from(["check", "sns down"]), st.none(), st.none()),
        st.tuples(
            st.sampled_from(["race", "race, account changed"]), st.sampled_from(POINTS), st.none()
        ),
        # A crash right after sns:Publish sends that alert again once its lease ends: the one
        # documented window (README, "Delivery guarantees"), for every alert alike.
        st.tuples(st.just("crash"), st.sampled_from(POINTS[:-1]), st.none()),
    ),
    min_size=1,
    max_size=12,
)


class Crash(BaseException):
    """The sandbox dies: no handler of the monitor runs."""


def crash() -> None:
    raise Crash


def observed(result: Checked) -> bool:
    """Whether the check compared the members (and so reported or recorded their status)."""
    (region,) = result.subjects
    # No members: it lost the account's own race and left the members to the winner.
    return region.members is not None and region.members.outcome not in NOT_OBSERVED


def expected(seen: list[dict[str, str | None]]) -> dict[str, list[tuple[Any, Any]]]:
    """Per member, the transitions between the statuses reported: the first observation is
    silent; a departure is reported by the second observation in a row that misses the member
    (the first miss may be a member a listing skipped), any other change by the first."""
    transitions: dict[str, list[tuple[Any, Any]]] = {m: [] for m in MEMBERS}
    for member in MEMBERS:
        reported, missed = seen[0][member], False
        for observation in seen[1:]:
            current = observation[member]
            missed = current is None and reported is not None and not missed
            if not missed and current != reported:
                transitions[member].append((reported, current))
                reported = current
    return transitions


def delivered(aws: LocalAws) -> dict[str, list[tuple[Any, Any]]]:
    transitions: dict[str, list[tuple[Any, Any]]] = {m: [] for m in MEMBERS}
    for envelope in aws.deliveries():
        alert = envelope["Message"]
        if alert["eventType"] != "MemberEnrollmentChanged":
            continue  # the account's own alerts
        for change in alert["changes"]:
            transitions[change["accountId"]].append((change["previous"], change["current"]))
    return transitions


# Each example runs the handler on moto: a quarter of the profile's examples (tests/conftest.py).
@pytest.mark.thorough
@settings(
    max_examples=settings.default.max_examples // 4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(steps=steps)
def test_member_transitions_delivered_equal_transitions_observed(
    steps: list[tuple[str, Any, Any]],
) -> None:
    with local_aws() as aws:
        os.environ["TRACK_MEMBER_ACCOUNTS"] = "true"  # local_aws restores the environment
        aws.compute_optimizer.set_enrollment(REGION, "Active")
        statuses: dict[str, str | None] = dict.fromkeys(MEMBERS, "Active")
        list_members(aws, statuses)
        seen: list[dict[str, str | None]] = []
        start = datetime(2026, 11, 26, 9, tzinfo=UTC)
        for number, (action, point, status) in enumerate([*steps, ("check", None, None)]):
            if action == "status":
                statuses[point] = status
                list_members(aws, statuses)
                continue
            # Checks two minutes apart: a crashed check's lease (60 s + margin) has ended.
            moment = start + timedelta(minutes=2 * number)
            if observe(aws, action, point, moment):
                seen.append(dict(statuses))
            aws.wire.disarm()  # a race or crash point this check did not reach

        assert delivered(aws) == expected(seen)


def list_members(aws: LocalAws, statuses: dict[str, str | None]) -> None:
    aws.compute_optimizer.members[REGION] = [
        {"accountId": m, "status": s} for m, s in statuses.items() if s
    ]


def observe(aws: LocalAws, action: str, point: str | None, moment: datetime) -> bool:
    """Runs one step; whether a check of it observed the members."""
    if action == "check":
        return observed(check_at(moment))
    if action == "sns down":
        aws.wire.fail("sns", "Publish", "InternalError", times=4)
        with contextlib.suppress(MonitorError):
            check_at(moment)  # the members were compared before the alert failed to go
        aws.wire.heal()
        return True
    assert point
    if action == "crash":
        aws.wire.once_after(point, crash)
        try:
            return observed(check_at(moment))
        except Crash:
            # After the alert is owed, the change is recorded; before, it is not.
            return point == "dynamodb:TransactWriteItems"
    # A race, the second check run at ``point`` of the first.
    racing: list[dict[str, Any]] = []

    def second() -> None:
        if action == "race, account changed":  # the second sees, and records, a new status
            account = aws.compute_optimizer.enrollments[REGION]["status"]
            new = "Inactive" if account == "Active" else "Active"
            aws.compute_optimizer.set_enrollment(REGION, new)
        racing.append(check_at(moment + timedelta(seconds=1)))

    aws.wire.once_after(point, second)
    first = check_at(moment)
    return observed(first) or any(observed(r) for r in racing)
