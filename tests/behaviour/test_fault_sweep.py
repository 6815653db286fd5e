"""Faults below botocore at every AWS call of a check (crash, error on every attempt, reply lost
after the call was applied): after recovery every transition is delivered exactly once and in
order, as an SNS message and as an event, one duplicate allowed only right after that sink's
publish (docs/DELIVERY.md)."""

import contextlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.demos.fault_sweep import (
    MEMBERS,
    REGION,
    SCENARIOS,
    Point,
    check_at,
    collapse,
    delivered,
    headline,
    points,
    run,
)
from devtools.local_aws.aws_requests import FAULTS, Crash
from devtools.local_aws.resources import local_aws

EVERY_POINT = [point for scenario in SCENARIOS for point in points(scenario)]
ACCOUNT = f"compute-optimizer {REGION}"  # the account's transitions, as ``delivered`` keys them


def in_make_test(point: Point) -> bool:
    """`make test` meets every call of the account path with every fault; `make test-thorough`
    runs the other scenarios' points (docs/DEVELOPMENT.md)."""
    return point.scenario.name == "account"


@pytest.mark.parametrize(
    "point",
    [pytest.param(p, marks=() if in_make_test(p) else pytest.mark.thorough) for p in EVERY_POINT],
    ids=[f"{p.scenario.name}-{p.number}-{p.call}-{p.fault}" for p in EVERY_POINT],
)
def test_every_transition_is_delivered_once_whatever_call_fails(point: Point) -> None:
    outcome = run(point)

    assert outcome.exactly_once, outcome
    assert outcome.silent_only_when_healthy, outcome


def test_the_sweep_covers_every_call_of_both_paths() -> None:
    calls = {p.call for p in EVERY_POINT if p.scenario.members}

    assert calls == {
        "compute-optimizer:GetEnrollmentStatus",
        "compute-optimizer:GetEnrollmentStatusesForOrganization",
        "dynamodb:Query",
        "dynamodb:TransactWriteItems",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "sns:Publish",
        "events:PutEvents",
    }
    assert len(EVERY_POINT) == 3 * (10 + 21 + 9 + 9 + 3)


def test_the_sweep_headline_counts_each_call_of_each_thread_once() -> None:
    # The also-watched subjects each number their calls from 1, in threads of their own.
    assert headline(EVERY_POINT) == "156 points (52 calls x 3 faults)"


def test_delivery_md_states_the_number_of_points_the_sweep_prints() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "DELIVERY.md").read_text()

    (stated,) = re.findall(r"devtools\.demos\.fault_sweep` prints the (\d+) points", page)
    assert int(stated) == len(EVERY_POINT)


def test_the_sweep_covers_every_call_of_the_also_watched_subjects() -> None:
    calls = {p.call for p in EVERY_POINT if p.scenario.also}

    assert calls == {
        "cost-optimization-hub:ListEnrollmentStatuses",
        "aco-automation:GetEnrollmentConfiguration",
        "organizations:ListAWSServiceAccessForOrganization",
        "organizations:ListDelegatedAdministrators",
        "dynamodb:Query",
        "dynamodb:TransactWriteItems",
        "dynamodb:UpdateItem",
        "sns:Publish",
        "events:PutEvents",
        "dynamodb:DeleteItem",
    }


# ------------------------------------------------------------- random faults, random histories

STATUSES = ["Active", "Inactive", "Pending", "Failed", None]  # None: not a member
steps = st.lists(
    st.one_of(
        st.tuples(st.just(ACCOUNT), st.sampled_from(STATUSES[:-1])),
        # One member stays: an empty listing is refused (test_silence_means_healthy).
        st.tuples(st.just(MEMBERS[0]), st.sampled_from(STATUSES[:-1])),
        st.tuples(st.sampled_from(MEMBERS[1:]), st.sampled_from(STATUSES)),
        st.tuples(st.just("check"), st.none()),
        st.tuples(st.just("fault"), st.tuples(st.integers(1, 16), st.sampled_from(FAULTS))),
    ),
    min_size=1,
    max_size=10,
)


# Each example runs the handler on moto: a quarter of the profile's examples (tests/conftest.py).
@pytest.mark.thorough
@settings(
    max_examples=settings.default.max_examples // 4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(steps=steps)
def test_random_faults_never_lose_or_repeat_a_transition(steps: list[tuple[str, Any]]) -> None:
    with local_aws() as aws:
        os.environ["TRACK_MEMBER_ACCOUNTS"] = "true"  # local_aws restores the environment
        os.environ["REMINDER_INTERVAL_HOURS"] = "0"
        statuses: dict[str, str | None] = {ACCOUNT: "Active", **dict.fromkeys(MEMBERS, "Active")}
        _list(aws, statuses)
        check_at(aws, 0)
        may_duplicate = 0
        for minute, (step, value) in enumerate([*steps, ("check", None)], start=1):
            if step in statuses:
                statuses[step] = value
                _list(aws, statuses)
                continue
            sequence = len(aws.wire.sequence)
            if step == "fault":
                number, fault = value
                aws.wire.at_call(number, fault)
            with contextlib.suppress(Crash, Exception):
                check_at(aws, minute)
            if step == "fault" and sequence + number <= len(aws.wire.sequence):
                hit = aws.wire.sequence[sequence + number - 1]
                before = aws.wire.sequence[sequence + number - 2]
                may_duplicate += Point(SCENARIOS[1], number, hit, fault, before).may_duplicate
            aws.wire.heal()
        for later in range(3):  # recovery, minutes apart: every lease has ended
            check_at(aws, len(steps) + 2 + later)
        transitions, duplicates = delivered(aws)

    assert sum(duplicates.values()) <= may_duplicate
    for key, final in [*statuses.items(), *((f"event {k}", v) for k, v in statuses.items())]:
        chain = collapse(transitions.get(key, []))
        assert all(a[1] == b[0] for a, b in zip(chain, chain[1:], strict=False)), (key, chain)
        assert (chain[0][0] if chain else "Active") == "Active", (key, chain)
        assert (chain[-1][1] if chain else "Active") == final, (key, chain, final)


def _list(aws: Any, statuses: dict[str, str | None]) -> None:
    aws.compute_optimizer.set_enrollment(REGION, statuses[ACCOUNT])
    aws.compute_optimizer.members[REGION] = [
        {"accountId": m, "status": statuses[m]} for m in MEMBERS if statuses[m]
    ]
