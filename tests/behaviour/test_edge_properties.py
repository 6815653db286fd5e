"""Property: any answer of GetEnrollmentStatus that the botocore model allows, and hostile ones
(a count as 7.0, true or "7", a flag as 1, lone surrogates, text far too long, a field of another
type, a time botocore cannot read), is recorded as read, read back unchanged, never set aside,
and a change of status is alerted exactly once."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from storage import set_aside, stored

from devtools.local_aws.resources import LocalAws, local_aws
from enrollment_monitor.compute_optimizer import read_enrollment
from enrollment_monitor.enrollment import Enrollment

from conftest import Monitor

OUTPUT = (
    botocore.session.get_session()
    .get_service_model("compute-optimizer")
    .operation_model("GetEnrollmentStatus")
    .output_shape
)
# Every character, lone surrogates included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
HOSTILE = st.sampled_from(
    [7.0, 7.5, True, False, 1, 0, -1, 2**40, float("nan"), "7", "", "\ud800", "\udfff" * 3]
    + [None, [], {}, "not a time", "10000-01-01T00:00:00Z"]
) | st.text(st.characters(categories=["Cs", "Cc", "Cf", "Co"]), min_size=1, max_size=5)


def allowed(shape: Any) -> st.SearchStrategy[Any]:
    """The values the model allows for ``shape``, as they travel in JSON 1.0."""
    if shape.type_name == "string":
        enum = getattr(shape, "enum", None) or []
        long_text = st.just("r" * 5_000)
        return (st.sampled_from(enum) if enum else ANY_TEXT) | ANY_TEXT | long_text
    if shape.type_name == "boolean":
        return st.booleans()
    if shape.type_name == "integer":
        return st.integers(-(2**31), 2**31 - 1)
    if shape.type_name == "timestamp":  # epoch seconds, as AWS sends them
        return st.integers(0, 4_102_444_800) | st.floats(0, 4_102_444_800, allow_nan=False)
    raise AssertionError(f"a shape the test does not know: {shape.type_name}")


def field(shape: Any) -> st.SearchStrategy[Any]:
    return allowed(shape) | HOSTILE


# Every answer of AWS says a status: one without is not AWS's, a failed call (test_edge.py).
answers = st.fixed_dictionaries(
    {"status": field(OUTPUT.members["status"]).filter(lambda status: status is not None)},
    optional={name: field(shape) for name, shape in OUTPUT.members.items() if name != "status"},
)


# Each example watches a Region of its own (in the aws partition by its name): a state of its
# own without setting moto up again, which is most of an example's time.
REGIONS = (f"us-edge-{n}" for n in itertools.count(1))


@pytest.fixture(scope="module")
def shared() -> Iterator[LocalAws]:
    with local_aws() as aws:
        os.environ["REMINDER_INTERVAL_HOURS"] = "0"  # local_aws restores the environment
        yield aws


def as_read(answer: dict[str, Any], aws: LocalAws, region: str) -> Enrollment:
    """``answer`` as the monitor reads it: on the wire, parsed by botocore, then at the edge."""
    aws.compute_optimizer.enrollments[region] = answer
    return read_enrollment(boto3.client("compute-optimizer", region_name=region), region)


def assert_typed(enrollment: Enrollment) -> None:
    """What the rest of the monitor may rely on, whatever the API said."""
    assert type(enrollment.status) is str and 0 < len(enrollment.status) <= 100
    assert not any("\ud800" <= c <= "\udfff" for c in enrollment.status)
    reason = enrollment.status_reason
    assert reason is None or (type(reason) is str and 0 < len(reason) <= 1_000)
    assert reason is None or not any("\ud800" <= c <= "\udfff" for c in reason)
    assert enrollment.member_accounts_enrolled in (None, True, False)
    opted_in = enrollment.member_accounts_opted_in
    assert opted_in is None or (type(opted_in) is int and 0 <= opted_in < 2**31)
    last_updated = enrollment.last_updated
    assert last_updated is None or (last_updated.tzinfo and last_updated.microsecond == 0)


def fewer(before: Enrollment, after: Enrollment) -> bool:
    counts = before.member_accounts_opted_in, after.member_accounts_opted_in
    dropped = None not in counts and counts[1] < counts[0]  # type: ignore[operator]
    enrolled = before.member_accounts_enrolled, after.member_accounts_enrolled
    return dropped or enrolled == (True, False)


# Bounded: some 0.25 s an example (four checks); the explicit examples below run every time.
@pytest.mark.thorough
@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=answers, then=answers)
@example(
    first={"status": "Inactive", "numberOfMemberAccountsOptedIn": 7.0}, then={"status": "Inactive"}
)
@example(
    first={"status": "Inactive", "numberOfMemberAccountsOptedIn": True}, then={"status": "Inactive"}
)
@example(
    first={"status": "Inactive", "numberOfMemberAccountsOptedIn": "7"}, then={"status": "Inactive"}
)
@example(first={"status": "Inactive", "memberAccountsEnrolled": 1}, then={"status": "Inactive"})
@example(first={"status": "Inactive\ud800", "statusReason": "\udfff"}, then={"status": "Active"})
@example(
    first={"status": "Active", "numberOfMemberAccountsOptedIn": 9, "memberAccountsEnrolled": True},
    then={"status": "Active", "numberOfMemberAccountsOptedIn": 7.0, "memberAccountsEnrolled": 1},
)
def test_any_answer_is_read_back_as_recorded_and_a_change_alerted_once(
    shared: LocalAws, first: dict[str, Any], then: dict[str, Any]
) -> None:
    aws, region = shared, next(REGIONS)
    os.environ["MONITORED_REGIONS"] = region
    monitor = Monitor(aws)

    def check(answer: dict[str, Any]) -> list[str]:
        aws.compute_optimizer.enrollments[region] = answer
        monitor.check()  # fails if the monitor's own reader refused what it wrote
        return [alert["eventType"] for alert in monitor.alerts()]

    def recorded() -> Enrollment:
        observation = stored(aws, region)
        assert observation and observation.observation
        return observation.observation.enrollment

    before = as_read(first, aws, region)
    assert_typed(before)
    alerts = check(first)
    assert recorded() == before  # recorded, stored and read back unchanged
    assert alerts == ([] if before.active else ["EnrollmentStatusChanged"])
    assert check(first) == []

    after = as_read(then, aws, region)
    assert_typed(after)
    alerts = check(then)
    changed = after.status != before.status
    assert alerts.count("EnrollmentStatusChanged") == int(changed)
    assert alerts.count("MemberOptInsDecreased") == int(
        fewer(before, after.with_figures_from(before))
    )
    if changed:
        assert recorded() == after.with_figures_from(before)
    assert recorded().figures == after.with_figures_from(before).figures
    assert check(then) == []
    assert set_aside(aws) == []


def test_the_strategy_follows_the_model() -> None:
    assert set(OUTPUT.members) == {
        "status",
        "statusReason",
        "memberAccountsEnrolled",
        "lastUpdatedTimestamp",
        "numberOfMemberAccountsOptedIn",
    }
