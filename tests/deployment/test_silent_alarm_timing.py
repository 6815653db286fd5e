"""monitor-silent fires when the README says, under CloudWatch's documented rules
(devtools.local_aws.alarm_evaluation, which first reproduces the user guide's examples), whatever
the evaluation range CloudWatch uses (its length is not documented: every range from N+1 to N+3
periods is tried) and whatever FILL returns for a range with no datapoint at all (not
documented either: both are tried). Issue 22.

The promise: the alarm fires once no check has completed in every watched Region for 2.5
periods (CheckPeriodSeconds, rounded up to the minute), so one missed check never alarms and
two in a row always do. Checks run every period; each datapoint is taken to reach CloudWatch a
minute after its check.
"""

from __future__ import annotations

import math

import pytest

from devtools.local_aws.alarm_evaluation import ALARM, OK, HeartbeatAlarm, notifications

from template import alarm_properties, load_template

PERIODS = [int(p) for p in load_template()["Parameters"]["CheckPeriodSeconds"]["AllowedValues"]]
DEFAULT_PERIOD = int(load_template()["Parameters"]["CheckPeriodSeconds"]["Default"])
VISIBLE_AFTER = 60  # seconds from a check's datapoint to CloudWatch seeing it
CHECKS = 12  # periods of steady checks a scenario spans


def silent_alarm(period: int) -> HeartbeatAlarm:
    return HeartbeatAlarm.from_properties(
        alarm_properties("MonitorSilentAlarm", {"CheckPeriodSeconds": str(period)})
    )


def promised(period: int) -> int:
    """Seconds without a completed check after which the alarm fires: 2.5 periods, rounded up
    to the minute."""
    return math.ceil(2.5 * period / 60) * 60


def ranges(alarm: HeartbeatAlarm) -> list[int]:
    return [alarm.evaluation_periods + extra for extra in (1, 2, 3)]


def states(
    period: int,
    checks: list[float],
    evaluation_range: int,
    fill_empty_range: bool,
    periods_after: float = 1,
) -> list[tuple[float, str]]:
    """The alarm's state at each evaluation from its creation at 0 to ``periods_after``
    periods past the last check, for checks whose datapoints carry the times ``checks``."""
    return list(
        silent_alarm(period).timeline(
            [check + VISIBLE_AFTER for check in checks],
            start=0,
            end=checks[-1] + periods_after * period,
            evaluation_range=evaluation_range,
            fill_empty_range=fill_empty_range,
        )
    )


def after_first_check(timeline: list[tuple[float, str]], checks: list[float]) -> list[str]:
    """The states once the first check has turned the new alarm OK."""
    return [state for time, state in timeline if time > checks[0] + VISIBLE_AFTER + 60]


def scenarios(periods: list[int]) -> list[tuple[int, int, bool]]:
    """(period, evaluation range, what FILL gives an empty range) for every combination."""
    return [
        (period, evaluation_range, fill_empty_range)
        for period in periods
        for evaluation_range in ranges(silent_alarm(period))
        for fill_empty_range in (True, False)
    ]


def ids(scenario: tuple[int, int, bool]) -> str:
    period, evaluation_range, fill_empty_range = scenario
    return f"{period}s-range{evaluation_range}-{'filled' if fill_empty_range else 'empty'}"


ALL = scenarios(PERIODS)
DEFAULT = scenarios([DEFAULT_PERIOD])


@pytest.mark.parametrize("scenario", ALL, ids=ids)
def test_a_stopped_monitor_alarms_two_and_a_half_periods_after_its_last_check_and_stays_alarm(
    scenario: tuple[int, int, bool],
) -> None:
    period, evaluation_range, fill_empty_range = scenario
    checks = [k * period for k in range(CHECKS // 2)]
    last_seen = checks[-1] + VISIBLE_AFTER

    timeline = states(period, checks, evaluation_range, fill_empty_range, periods_after=6)

    alarmed = [time for time, state in timeline if time > last_seen and state == ALARM]
    assert alarmed, "the alarm never fired"
    # Within a minute (CloudWatch evaluates every minute) of the promise, and never before one
    # missed check's gap has passed.
    assert last_seen + 2 * period < alarmed[0] <= last_seen + promised(period) + 60
    assert {state for time, state in timeline if time >= alarmed[0]} == {ALARM}


@pytest.mark.parametrize("scenario", ALL, ids=ids)
def test_two_checks_missed_in_a_row_alarm_once_and_the_next_check_ends_it(
    scenario: tuple[int, int, bool],
) -> None:
    period, evaluation_range, fill_empty_range = scenario
    checks = [k * period for k in range(CHECKS) if k not in (5, 6)]

    timeline = states(period, checks, evaluation_range, fill_empty_range)

    changes = notifications(iter(timeline))
    assert [state for time, state in changes if time > checks[0] + VISIBLE_AFTER + 60] == [
        ALARM,
        OK,
    ]


@pytest.mark.parametrize("scenario", ALL, ids=ids)
def test_one_missed_check_never_alarms_even_when_the_next_comes_a_quarter_period_late(
    scenario: tuple[int, int, bool],
) -> None:
    period, evaluation_range, fill_empty_range = scenario
    checks = [k * period + (period // 4 if k == 6 else 0) for k in range(CHECKS) if k != 5]

    timeline = states(period, checks, evaluation_range, fill_empty_range)

    assert set(after_first_check(timeline, checks)) == {OK}


@pytest.mark.parametrize("scenario", ALL, ids=ids)
def test_checks_landing_anywhere_in_their_period_never_alarm(
    scenario: tuple[int, int, bool],
) -> None:
    period, evaluation_range, fill_empty_range = scenario
    # Early, then as late as the period allows, then early again: the longest gaps there are
    # without a missed check.
    late = period - VISIBLE_AFTER - 1
    checks = [k * period + (late if k % 2 else 0) for k in range(CHECKS)]

    timeline = states(period, checks, evaluation_range, fill_empty_range)

    assert set(after_first_check(timeline, checks)) == {OK}


@pytest.mark.parametrize("scenario", DEFAULT, ids=ids)
def test_a_new_stack_is_alarm_until_its_first_check_then_ok(
    scenario: tuple[int, int, bool],
) -> None:
    """What README says a new stack does: the alarm is created before the first check, finds
    no heartbeat and goes to ALARM at once; the first completed check turns it OK."""
    period, evaluation_range, fill_empty_range = scenario
    first = 10 * 60  # the schedule's first check, ten minutes after the alarm exists
    checks = [first + k * period for k in range(CHECKS)]

    timeline = states(period, checks, evaluation_range, fill_empty_range)

    assert notifications(iter(timeline)) == [(0, ALARM), (first + VISIBLE_AFTER + 60, OK)]
