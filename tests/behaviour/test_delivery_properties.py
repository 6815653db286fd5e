"""Property: whatever the sequence of statuses, SNS outages, cold starts and racing
invocations, the alerts delivered are exactly the transitions the checks observed, in order."""

import contextlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.local_aws.resources import local_aws
from enrollment_monitor.errors import MonitorError

from conftest import Monitor

STATUSES = ["Active", "Inactive", "Pending", "Failed", "Suspended"]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("status"), st.sampled_from(STATUSES)),
        st.tuples(st.sampled_from(["check", "cold check", "sns down", "race"]), st.none()),
    ),
    min_size=1,
    max_size=12,
)


def expected_alerts(observed: list[str]) -> list[tuple[str | None, str]]:
    transitions: list[tuple[str | None, str]] = []
    previous: str | None = None
    for status in observed:
        if status != previous and (previous is not None or status != "Active"):
            transitions.append((previous, status))
        previous = status
    return transitions


def racing(first: Monitor, second: Monitor) -> None:
    """The second invocation runs whole while the first is between its read and its claim."""
    first.aws.wire.once_after("dynamodb:Query", lambda: second.check(cold=True))
    first.check(cold=True)


# Each example runs the handler on moto: a quarter of the profile's examples (tests/conftest.py).
@pytest.mark.thorough
@settings(
    max_examples=settings.default.max_examples // 4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(steps=steps)
def test_alerts_delivered_equal_transitions_observed(steps: list[tuple[str, str | None]]) -> None:
    with local_aws() as aws:
        os.environ["REMINDER_INTERVAL_HOURS"] = "0"  # local_aws restores the environment
        monitor, other = Monitor(aws), Monitor(aws)
        status, observed = "Active", []
        aws.compute_optimizer.set_enrollment("us-east-1", status)
        for action, value in [*steps, ("check", None)]:
            if action == "status":
                status = value or status
                aws.compute_optimizer.set_enrollment("us-east-1", status)
                continue
            observed.append(status)
            if action == "race":
                racing(monitor, other)
            elif action == "sns down":
                aws.wire.fail("sns", "Publish", "InternalError", times=4)
                with contextlib.suppress(MonitorError):
                    monitor.check()
                aws.wire.heal()
            else:
                monitor.check(cold=action == "cold check")

        delivered = [
            (alert["previous"] and alert["previous"]["status"], alert["current"]["status"])
            for alert in monitor.alerts()
        ]
        assert delivered == expected_alerts(observed)
