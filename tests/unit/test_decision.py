"""The decision "baseline, alert, remind or nothing" is a pure function: tested exhaustively."""

from datetime import UTC, datetime, timedelta

import pytest

from enrollment_monitor.enrollment import (
    Decision,
    Enrollment,
    Observation,
    decide,
    recorded_after,
    stamp,
)

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
DAY = timedelta(hours=24)
STATUSES = ["Active", "Inactive", "Pending", "Failed", "Suspended"]


def seen(status: str, since: timedelta, alerted: timedelta | None = None) -> Observation:
    return Observation(
        Enrollment(status), NOW - since, alerted_at=NOW - alerted if alerted is not None else None
    )


@pytest.mark.parametrize("status", STATUSES)
def test_first_observation_is_a_baseline_only_when_active(status: str) -> None:
    expected = Decision.BASELINE if status == "Active" else Decision.CHANGED

    assert decide(None, Enrollment(status), NOW, DAY) is expected


@pytest.mark.parametrize("before", STATUSES)
@pytest.mark.parametrize("after", STATUSES)
def test_any_change_of_status_alerts_and_no_change_does_not(before: str, after: str) -> None:
    decision = decide(seen(before, timedelta(hours=1)), Enrollment(after), NOW, DAY)

    assert decision is (Decision.CHANGED if before != after else Decision.NOTHING)


def test_a_new_reason_alone_is_not_a_change() -> None:
    previous = seen("Pending", timedelta(hours=1))

    assert (
        decide(previous, Enrollment("Pending", "members enrolling"), NOW, DAY) is Decision.NOTHING
    )


@pytest.mark.parametrize("status", ["Inactive", "Pending", "Failed", "Suspended"])
def test_not_active_for_longer_than_the_interval_reminds(status: str) -> None:
    assert (
        decide(seen(status, DAY * 3, alerted=DAY), Enrollment(status), NOW, DAY)
        is Decision.REMINDER
    )
    assert (
        decide(
            seen(status, DAY * 3, alerted=DAY - timedelta(seconds=1)), Enrollment(status), NOW, DAY
        )
        is Decision.NOTHING
    )


def test_reminder_interval_counts_from_first_sight_when_never_alerted() -> None:
    assert decide(seen("Inactive", DAY), Enrollment("Inactive"), NOW, DAY) is Decision.REMINDER


def test_active_is_never_reminded_and_zero_interval_turns_reminders_off() -> None:
    assert decide(seen("Active", DAY * 30), Enrollment("Active"), NOW, DAY) is Decision.NOTHING
    assert decide(seen("Failed", DAY * 30), Enrollment("Failed"), NOW, None) is Decision.NOTHING


# A subject watched for changes alone (Automation, the delegated administrator): issue 21.


@pytest.mark.parametrize("status", [*STATUSES, "NotRegistered"])
def test_watched_for_changes_a_first_observation_is_always_a_baseline(status: str) -> None:
    assert decide(None, Enrollment(status), NOW, DAY, expects_active=False) is Decision.BASELINE


@pytest.mark.parametrize("before", STATUSES)
@pytest.mark.parametrize("after", STATUSES)
def test_watched_for_changes_every_change_alerts_both_ways(before: str, after: str) -> None:
    previous = seen(before, timedelta(hours=1))

    decision = decide(previous, Enrollment(after), NOW, DAY, expects_active=False)

    assert decision is (Decision.CHANGED if before != after else Decision.NOTHING)


@pytest.mark.parametrize("status", STATUSES)
def test_watched_for_changes_a_status_kept_for_months_is_never_reminded(status: str) -> None:
    previous = seen(status, since=200 * DAY, alerted=100 * DAY)

    assert decide(previous, Enrollment(status), NOW, DAY, expects_active=False) is Decision.NOTHING


@pytest.mark.parametrize(
    ("ahead", "kept"),
    [
        (timedelta(minutes=14), True),  # an invocation beside this one stamped it: kept
        (timedelta(minutes=16), False),  # no invocation runs that long: repaired
        (timedelta(days=365), False),
    ],
)
def test_a_previous_observation_stamped_in_the_future_is_written_back_at_now(
    ahead: timedelta, kept: bool
) -> None:
    previous = seen("Inactive", -ahead, alerted=-ahead)

    recorded = recorded_after(Decision.NOTHING, previous, Enrollment("Inactive"), NOW)

    if kept:
        assert recorded is None
    else:
        assert recorded == Observation(Enrollment("Inactive"), NOW, alerted_at=NOW)
        assert decide(recorded, Enrollment("Inactive"), NOW + DAY, DAY) is Decision.REMINDER


# The accounts that hold a status (the delegated administrator): a move is a change.

A, B = "111111111111", "222222222222"


def held(status: str, *holders: str) -> Enrollment:
    return Enrollment(status, holders=holders)


def test_the_same_status_held_by_another_account_alerts() -> None:
    previous = Observation(held("Registered", A), NOW - DAY)

    assert decide(previous, held("Registered", B), NOW, DAY, False) is Decision.CHANGED
    assert decide(previous, held("Registered", A), NOW, DAY, False) is Decision.NOTHING


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Enrollment("Registered"), held("Registered", B)),  # recorded before holders were kept
        (held("Registered", A), Enrollment("Registered")),
    ],
)
def test_holders_are_compared_only_when_both_observations_name_them(
    before: Enrollment, after: Enrollment
) -> None:
    previous = Observation(before, NOW - DAY)

    assert decide(previous, after, NOW, DAY, False) is Decision.NOTHING


def test_holders_first_seen_are_recorded_silently_keeping_the_episode() -> None:
    previous = Observation(Enrollment("Registered"), NOW - DAY, NOW - DAY, episode="e")

    recorded = recorded_after(Decision.NOTHING, previous, held("Registered", A), NOW)

    assert recorded == Observation(held("Registered", A), NOW - DAY, NOW - DAY, episode="e")
    assert recorded_after(Decision.NOTHING, recorded, held("Registered", A), NOW) is None


@pytest.mark.parametrize("holders", [(A, B), ()])
def test_holders_survive_a_round_trip_through_storage(holders: tuple[str, ...]) -> None:
    enrollment = held("Registered", *holders)

    assert Enrollment.from_dict(enrollment.to_dict()) == enrollment


@pytest.mark.parametrize("holders", [[A, 7], ["#ROUND"], A, {"a": A}])
def test_holders_edited_by_hand_are_not_read(holders: object) -> None:
    with pytest.raises(ValueError):
        Enrollment.from_dict({"status": "Registered", "holders": holders})


def test_a_change_of_a_subject_not_expected_active_starts_its_own_chat_thread() -> None:
    # The delegated administrator: neither status is healthy, so no episode ever ends; an
    # ongoing one would put this change as a reply under a months-old alert.
    previous = Observation(held("Registered", A), NOW - DAY, NOW - DAY, episode="months-ago")

    moved = recorded_after(Decision.CHANGED, previous, held("Registered", B), NOW, False)
    continued = recorded_after(Decision.CHANGED, previous, held("Registered", B), NOW, True)

    assert moved is not None and continued is not None
    assert moved.episode == stamp(NOW)
    assert continued.episode == "months-ago"
