"""The scheduled check end to end: Compute Optimizer on the wire, moto for DynamoDB and SNS."""

import io
import itertools
import json
import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from storage import nothing_stored, owed, stored

from devtools.local_aws import emf
from devtools.local_aws.aws_requests import HANG
from devtools.local_aws.resources import local_aws
from devtools.local_aws.template import load_template
from enrollment_monitor.clients import CLIENT_CONFIG
from enrollment_monitor.enrollment import Outcome
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.settings import ConfigurationError

from conftest import Monitor, check_at, emitted_metrics, event, heartbeats, watching

STATUSES = ["Active", "Inactive", "Pending", "Failed"]


def test_first_active_check_records_a_silent_baseline(monitor: Monitor) -> None:
    monitor.status("Active")

    result = monitor.check()

    assert result["checked"][0]["outcome"] == Outcome.BASELINE
    assert monitor.alerts() == []
    observation = stored(monitor.aws)
    assert observation and observation.observation.enrollment.status == "Active"
    assert observation.owed == ()


@pytest.mark.parametrize("status", ["Inactive", "Pending", "Failed"])
def test_first_check_of_a_not_active_account_alerts(monitor: Monitor, status: str) -> None:
    monitor.status(status, reason="Opted out by a user")

    monitor.check()

    (alert,) = monitor.alerts()
    assert alert["eventType"] == "EnrollmentStatusChanged"
    assert alert["previous"] is None
    assert alert["current"]["status"] == status
    assert alert["current"]["statusReason"] == "Opted out by a user"


@pytest.mark.parametrize(
    ("before", "after"),
    [p for p in itertools.permutations(STATUSES, 2) if p[0] == "Active"]
    + [("Inactive", "Active"), ("Pending", "Active"), ("Failed", "Active"), ("Pending", "Failed")],
)
def test_each_transition_sends_one_alert(monitor: Monitor, before: str, after: str) -> None:
    monitor.status(before)
    monitor.check()
    monitor.alerts()

    monitor.status(after, reason="changed")
    monitor.check()

    deliveries = monitor.aws.deliveries()
    assert len(deliveries) == 1
    envelope = deliveries[0]
    assert envelope["Subject"] == (
        f"Compute Optimizer enrollment {before} -> {after} (123456789012, us-east-1)"
    )
    assert envelope["Message"]["previous"]["status"] == before
    assert envelope["Message"]["current"]["status"] == after
    attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes == {
        "eventType": "EnrollmentStatusChanged",
        "status": after,
        "previousStatus": before,
        "accountId": "123456789012",
        "region": "us-east-1",
        "service": "compute-optimizer",
    }


def test_second_identical_check_reads_twice_and_writes_nothing(monitor: Monitor) -> None:
    monitor.status("Inactive")
    monitor.check()
    monitor.alerts()
    wire = monitor.aws.wire
    wire.calls.clear()

    result = monitor.check()

    assert dict(wire.calls) == {
        "compute-optimizer:GetEnrollmentStatus": 1,
        "dynamodb:Query": 2,  # the observation, and the subjects watched before
    }
    assert result["checked"][0]["outcome"] == Outcome.NOTHING
    assert monitor.alerts() == []


def test_status_sequence_alerts_once_per_change_across_cold_and_warm_starts(
    monitor: Monitor,
) -> None:
    timeline = [
        ("Active", True),
        ("Active", False),
        ("Pending", False),
        ("Inactive", True),
        ("Inactive", False),
        ("Active", True),
        ("Active", False),
    ]
    seen = []
    for status, cold in timeline:
        monitor.status(status)
        monitor.check(cold=cold)
        seen += [
            (a["previous"] and a["previous"]["status"], a["current"]["status"])
            for a in monitor.alerts()
        ]

    assert seen == [("Active", "Pending"), ("Pending", "Inactive"), ("Inactive", "Active")]


def test_alert_survives_sns_outage_and_is_sent_once_by_the_next_check(monitor: Monitor) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    monitor.aws.wire.fail("sns", "Publish", "InternalError", http_status=500, times=10)

    with pytest.raises(MonitorError, match="sns:Publish in us-east-1 failed: InternalError"):
        monitor.check()
    assert monitor.alerts() == []
    assert len(owed(monitor.aws)) == 1

    monitor.aws.wire.heal()
    result = monitor.check()

    (alert,) = monitor.alerts()
    assert (alert["previous"]["status"], alert["current"]["status"]) == ("Active", "Inactive")
    assert result["checked"][0]["alertsSent"] == 1
    assert owed(monitor.aws) == ()
    monitor.check()
    assert monitor.alerts() == []


def test_changes_seen_during_an_sns_outage_are_all_sent_in_order(monitor: Monitor) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.aws.wire.fail("sns", "Publish", "InternalError", times=100)
    for status in ("Pending", "Inactive", "Active"):
        monitor.status(status)
        with pytest.raises(MonitorError):
            monitor.check()
    monitor.aws.wire.heal()

    monitor.check()

    transitions = [(a["previous"]["status"], a["current"]["status"]) for a in monitor.alerts()]
    assert transitions == [("Active", "Pending"), ("Pending", "Inactive"), ("Inactive", "Active")]


def test_pending_alert_is_delivered_before_a_newer_change(monitor: Monitor) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    monitor.aws.wire.fail("sns", "Publish", "InternalError", times=10)
    with pytest.raises(MonitorError):
        monitor.check(cold=True)
    monitor.aws.wire.heal()

    monitor.status("Active")
    monitor.check(cold=True)

    transitions = [(a["previous"]["status"], a["current"]["status"]) for a in monitor.alerts()]
    assert transitions == [("Active", "Inactive"), ("Inactive", "Active")]


def test_sns_throttling_is_retried_within_the_check(monitor: Monitor) -> None:
    monitor.status("Inactive")
    monitor.aws.wire.fail("sns", "Publish", "Throttling", http_status=400, times=2)

    monitor.check()

    assert len(monitor.alerts()) == 1


@pytest.mark.parametrize(
    "between",
    [
        "dynamodb:Query",  # the first has read the state and not yet recorded the change
        "dynamodb:TransactWriteItems",  # it has recorded the change and owes the alert
        "dynamodb:UpdateItem",  # it holds the lease on the alert and is about to publish
        "sns:Publish",  # it has published and not yet forgotten the alert
    ],
)
def test_two_invocations_racing_on_one_transition_send_one_alert(aws: Any, between: str) -> None:
    first, second = Monitor(aws), Monitor(aws)
    first.status("Active")
    first.check()
    first.status("Inactive")

    aws.wire.once_after(between, lambda: second.check(cold=True))
    first.check(cold=True)

    (alert,) = first.alerts()
    assert (alert["previous"]["status"], alert["current"]["status"]) == ("Active", "Inactive")
    first.check()
    second.check()
    assert first.alerts() == []


class Crash(BaseException):
    """The sandbox dies (timeout, out of memory): no handler of the monitor runs."""


def crash() -> None:
    raise Crash


def test_alert_owed_by_a_crashed_invocation_is_sent_once_its_lease_ends(monitor: Monitor) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Failed")
    monitor.aws.wire.once_after("dynamodb:UpdateItem", crash)  # right after taking the lease
    with pytest.raises(Crash):
        monitor.check(remaining_millis=30_000)

    monitor.check(cold=True)  # the lease (30 s + margin) still stands: another may be sending
    assert monitor.alerts() == []

    check_at(datetime.now(UTC) + timedelta(minutes=1))
    (alert,) = monitor.alerts()
    assert alert["current"]["status"] == "Failed"
    check_at(datetime.now(UTC) + timedelta(minutes=2))
    assert monitor.alerts() == []


def test_state_write_failure_fails_the_check_and_sends_nothing(monitor: Monitor) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    monitor.aws.wire.fail("dynamodb", "TransactWriteItems", "InternalServerError", times=4)

    with pytest.raises(MonitorError, match="dynamodb:PutItem in us-east-1 failed"):
        monitor.check()
    assert monitor.alerts() == []

    monitor.check()
    assert len(monitor.alerts()) == 1


def test_unknown_status_is_alerted_as_not_active(monitor: Monitor, capsys: Any) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Suspended", reason="A status AWS added later")
    capsys.readouterr()

    monitor.check()

    (envelope,) = monitor.aws.deliveries()
    assert envelope["Subject"] == (
        "Compute Optimizer enrollment Active -> Suspended (123456789012, us-east-1)"
    )
    assert heartbeats(capsys.readouterr().out) == [1.0]  # a Region not Active


def test_access_denied_fails_naming_the_call_and_changes_nothing(monitor: Monitor) -> None:
    monitor.aws.wire.fail(
        "compute-optimizer", "GetEnrollmentStatus", "AccessDeniedException", http_status=400
    )

    with pytest.raises(MonitorError) as failure:
        monitor.check()

    message = str(failure.value)
    assert (
        "compute-optimizer:GetEnrollmentStatus in us-east-1 failed: AccessDeniedException"
        in message
    )
    assert "IAM policy must allow compute-optimizer:GetEnrollmentStatus" in message
    assert nothing_stored(monitor.aws)
    assert monitor.alerts() == []


def test_throttling_then_success_is_retried(monitor: Monitor) -> None:
    monitor.status("Inactive")
    monitor.aws.wire.fail(
        "compute-optimizer", "GetEnrollmentStatus", "ThrottlingException", http_status=400, times=2
    )

    monitor.check()

    assert monitor.aws.compute_optimizer.calls_of("GetEnrollmentStatus") == 1  # after 2 faults
    assert len(monitor.alerts()) == 1


def test_server_errors_beyond_the_retries_fail_the_check(monitor: Monitor) -> None:
    monitor.aws.wire.fail(
        "compute-optimizer", "GetEnrollmentStatus", "ServiceUnavailableException", times=4
    )

    with pytest.raises(MonitorError, match="ServiceUnavailableException"):
        monitor.check()
    assert nothing_stored(monitor.aws)


def test_missing_setting_fails_naming_the_variable(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STATE_TABLE_NAME")

    with pytest.raises(ConfigurationError, match="STATE_TABLE_NAME"):
        monitor.check(cold=True)


def test_test_notification_is_sent_and_changes_no_state(monitor: Monitor) -> None:
    result = monitor.invoke(event("test-notification"))

    (envelope,) = monitor.aws.deliveries()
    assert result["sent"] == "TestNotification"
    assert envelope["Message"]["eventType"] == "TestNotification"
    assert envelope["Subject"].startswith("Test: ")
    assert envelope["MessageAttributes"]["eventType"]["Value"] == "TestNotification"
    assert nothing_stored(monitor.aws)


def test_cloudtrail_event_runs_a_check(monitor: Monitor) -> None:
    monitor.status("Inactive")

    monitor.invoke(event("cloudtrail-update-enrollment"))

    assert len(monitor.alerts()) == 1


@pytest.mark.parametrize("tracking", ["false", "true"])
def test_the_opt_in_count_is_a_metric_whenever_the_answer_carries_it(
    monitor: Monitor, capsys: Any, tracking: str
) -> None:
    """Issue 22, case 1: the mission's "member opt-in count" needs no member tracking."""
    os.environ["TRACK_MEMBER_ACCOUNTS"] = tracking  # local_aws restores the environment
    monitor.aws.compute_optimizer.members["us-east-1"] = [
        {"accountId": "111111111111", "status": "Active"}
    ]
    monitor.aws.compute_optimizer.set_enrollment(
        "us-east-1", "Pending", memberAccountsEnrolled=True, numberOfMemberAccountsOptedIn=7
    )
    capsys.readouterr()

    monitor.check(cold=True)

    output = capsys.readouterr().out
    base = {"service": "enrollment-monitor"}
    pending = {**base, "Subject": "compute-optimizer", "Region": "us-east-1", "Status": "Pending"}
    expected = [
        ("RegionsNotActive", base, 1.0),
        ("MemberAccountsOptedIn", base, 7.0),
        ("MemberAccountsEnrolled", base, 1.0),
        ("StatusNotActive", pending, 1.0),
    ]
    members = [("MemberAccounts", {**base, "Status": "Active"}, 1.0)]
    expected += members if tracking == "true" else []
    assert sorted(emitted_metrics(output), key=str) == sorted(expected, key=str)
    # One document per dimension set: one Powertools flush for the check's own series.
    assert len(emf.documents(output)) == (3 if tracking == "true" else 2)


def test_an_account_whose_answer_has_no_organization_figures_pays_for_none(
    monitor: Monitor, capsys: Any
) -> None:
    monitor.status("Active")
    capsys.readouterr()

    monitor.check()

    assert emitted_metrics(capsys.readouterr().out) == [
        ("RegionsNotActive", {"service": "enrollment-monitor"}, 0.0)
    ]


@pytest.mark.parametrize("status", ["Active", "Inactive", "Pending", "Failed", "Suspended"])
def test_a_steady_check_names_the_region_and_status_only_while_not_active(
    monitor: Monitor, capsys: Any, status: str
) -> None:
    """Issue 22, case 2: "eu-west-1 Pending since Tuesday" on a graph, free while healthy."""
    monitor.status(status)
    monitor.check()
    capsys.readouterr()

    monitor.check()  # steady

    emitted = emitted_metrics(capsys.readouterr().out)
    base = {"service": "enrollment-monitor"}
    named = {**base, "Subject": "compute-optimizer", "Region": "us-east-1", "Status": status}
    expected = [("RegionsNotActive", base, float(status != "Active"))]
    expected += [("StatusNotActive", named, 1.0)] if status != "Active" else []
    assert emitted == expected


def test_a_status_that_is_not_ascii_is_sent_escaped_as_a_dimension(
    monitor: Monitor, capsys: Any
) -> None:
    monitor.status("Pend\u00efng")
    capsys.readouterr()

    monitor.check()

    (status,) = [
        d["Status"] for n, d, _ in emitted_metrics(capsys.readouterr().out) if "Status" in d
    ]
    assert status == "Pend\\xefng"
    assert status.isascii() and status.isprintable()


THREE_REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")


def test_the_heartbeat_counts_every_region_and_only_when_every_region_completed(
    capsys: Any,
) -> None:
    with watching(THREE_REGIONS) as monitor:
        aws = monitor.aws
        for region, status in zip(THREE_REGIONS, ["Active", "Inactive", "Failed"], strict=True):
            monitor.status(status, region=region)
        monitor.check()
        assert heartbeats(capsys.readouterr().out) == [2.0]

        # One Region silent among several: the others complete, the check sends no heartbeat.
        aws.wire.fail(
            "compute-optimizer", "GetEnrollmentStatus", "InternalError", times=9, region="eu-west-1"
        )
        monitor.status("Pending", region="ap-south-1")
        with pytest.raises(MonitorError, match="eu-west-1"):
            monitor.check()
        assert heartbeats(capsys.readouterr().out) == []
        assert [alert["current"]["status"] for alert in monitor.alerts()][-1] == "Pending"


def test_each_region_is_watched_on_its_own() -> None:
    with local_aws(regions=("us-east-1", "eu-west-1")) as aws:
        monitor = Monitor(aws)
        monitor.status("Active", region="us-east-1")
        monitor.status("Pending", region="eu-west-1")

        result = monitor.check()

        assert [r["outcome"] for r in result["checked"]] == [Outcome.BASELINE, Outcome.CHANGED]
        (envelope,) = aws.deliveries()
        assert envelope["MessageAttributes"]["region"]["Value"] == "eu-west-1"
        assert envelope["Subject"].endswith("(123456789012, eu-west-1)")
        assert stored(aws, "us-east-1") and stored(aws, "eu-west-1")


def test_a_region_that_fails_does_not_stop_the_others() -> None:
    with local_aws(regions=("eu-west-1", "us-east-1")) as aws:
        monitor = Monitor(aws)
        monitor.status("Inactive", region="us-east-1")
        aws.wire.fail(
            "compute-optimizer",
            "GetEnrollmentStatus",
            "AccessDeniedException",
            http_status=400,
            region="eu-west-1",
        )

        with pytest.raises(MonitorError, match="GetEnrollmentStatus in eu-west-1 failed"):
            monitor.check()

        (alert,) = monitor.alerts()
        assert alert["region"] == "us-east-1"


def test_not_active_is_reminded_once_per_interval(monitor: Monitor) -> None:
    start = datetime.now(UTC)
    monitor.status("Inactive")
    check_at(start)
    monitor.alerts()

    outcomes = [
        check_at(start + timedelta(hours=hours)).subjects[0].outcome
        for hours in (1, 23, 24, 25, 47, 48)
    ]

    nothing, reminder = Outcome.NOTHING, Outcome.REMINDER
    assert outcomes == [nothing, nothing, reminder, nothing, nothing, reminder]
    reminders = monitor.aws.deliveries()
    assert [r["Message"]["eventType"] for r in reminders] == ["EnrollmentReminder"] * 2
    assert reminders[0]["Subject"].startswith(
        "Reminder: Compute Optimizer enrollment still Inactive"
    )
    assert (
        reminders[1]["Message"]["previous"]["observedAt"]
        == reminders[0]["Message"]["previous"]["observedAt"]
    )


def test_racing_invocations_send_one_reminder(aws: Any) -> None:
    start = datetime.now(UTC)
    aws.compute_optimizer.set_enrollment("us-east-1", "Failed")
    check_at(start)
    aws.deliveries()
    later = start + timedelta(hours=30)

    aws.wire.once_after("dynamodb:Query", lambda: check_at(later))
    check_at(later)

    (reminder,) = aws.deliveries()
    assert reminder["Message"]["eventType"] == "EnrollmentReminder"


def test_a_region_that_hangs_is_cut_by_its_timeouts_and_fails_alone() -> None:
    with watching(THREE_REGIONS) as monitor:
        monitor.check()
        for region in THREE_REGIONS:
            monitor.status("Inactive", region=region)
        monitor.aws.wire.fail(
            "compute-optimizer", "GetEnrollmentStatus", HANG, times=9, region="eu-west-1"
        )

        with pytest.raises(
            MonitorError, match="GetEnrollmentStatus in eu-west-1 failed: ReadTimeout"
        ):
            monitor.check()

        assert sorted(alert["region"] for alert in monitor.alerts()) == ["ap-south-1", "us-east-1"]


def test_every_call_is_cut_well_inside_the_functions_shortest_timeout() -> None:
    attempts = CLIENT_CONFIG.retries["total_max_attempts"]
    longest = attempts * (CLIENT_CONFIG.connect_timeout + CLIENT_CONFIG.read_timeout)
    shortest_timeout = min(
        entry["Seconds"] for entry in load_template()["Mappings"]["FunctionTimeout"].values()
    )
    # The standard retry mode's backoff adds at most 20 s per retry; in practice a few seconds.
    assert longest + 2 * 5 < shortest_timeout


def test_regions_never_wait_for_each_other() -> None:
    with watching(THREE_REGIONS) as monitor:
        # Each read waits until all three are in flight: one after another, they never are.
        all_reading = threading.Barrier(len(THREE_REGIONS), timeout=30)
        monitor.aws.wire.during("compute-optimizer:GetEnrollmentStatus", all_reading.wait)

        result = monitor.check()

        assert [r["region"] for r in result["checked"]] == list(THREE_REGIONS)  # in order


def test_a_subjects_log_lines_keep_the_stack_as_their_service(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Powertools' "service" is the stack's name; the watched service has a key of its own."""
    written = io.StringIO()
    handler = logging.getLogger("enrollment-monitor").handlers[0]
    monkeypatch.setattr(handler, "stream", written)  # the function's log lines, as written
    monitor.aws.wire.fail("compute-optimizer", "GetEnrollmentStatus", "AccessDeniedException", 400)

    with pytest.raises(MonitorError):
        monitor.check()

    (failed,) = [
        json.loads(line) for line in written.getvalue().splitlines() if "check failed" in line
    ]
    assert (failed["service"], failed["watched"]) == ("enrollment-monitor", "compute-optimizer")
