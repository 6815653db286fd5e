"""No bad item, alert, Region or member step makes the monitor quiet or stuck (issue 9): each
fault ends in a failed invocation or a missing heartbeat, and the rest goes on."""

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from organization import Organization, account
from storage import (
    copy_owed_alert,
    corrupt_member,
    corrupt_observation,
    corrupt_owed_alert,
    delete_owed_alert,
    nothing_stored,
    owed,
    roster,
    set_aside,
    stored,
)

from devtools.local_aws.aws_requests import Crash
from devtools.local_aws.resources import LambdaContext, LocalAws, local_aws
from enrollment_monitor.alerts.render import API_TEXT_LIMIT
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.settings import ConfigurationError, Settings

from conftest import Monitor, check_at, heartbeats, watching


def crash() -> None:
    raise Crash


def owe_two_alerts(monitor: Monitor) -> None:
    """Active, then Inactive and Pending while SNS is down: two alerts owed, oldest first."""
    monitor.status("Active")
    monitor.check()
    monitor.aws.wire.fail("sns", "Publish", "InternalError", times=100)
    for status in ("Inactive", "Pending"):
        monitor.status(status)
        with pytest.raises(MonitorError):
            monitor.check()
    monitor.aws.wire.heal()


def transitions(monitor: Monitor) -> list[tuple[str | None, str]]:
    return [
        ((alert["previous"] or {}).get("status"), alert["current"]["status"])
        for alert in monitor.alerts()
    ]


# 1. An item the code cannot read is set aside, re-observed, and fails the invocation once.


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("enrollment", None),
        ("enrollment", {"S": "not json"}),
        ("version", {"S": "seven"}),
        ("observedAt", {"S": "yesterday"}),
        ("alertedAt", {"N": "1"}),
        ("observedAt", {"S": "2026-01-01T00:00:00"}),  # no time zone
        ("enrollment", {"S": '{"status": null}'}),
        ("enrollment", {"S": '{"status": "Inactive", "statusReason": 7}'}),
    ],
)
def test_an_unreadable_observation_is_set_aside_and_the_status_alerted_again(
    monitor: Monitor, name: str, value: dict[str, str] | None
) -> None:
    monitor.status("Inactive")
    monitor.check()
    monitor.alerts()
    corrupt_observation(monitor.aws, name, value)

    with pytest.raises(MonitorError, match="state item set aside: ENROLLMENT#.* LATEST"):
        monitor.check()

    assert transitions(monitor) == [(None, "Inactive")]  # as if never seen: alerted again
    (kept,) = set_aside(monitor.aws)
    assert kept["setAsideBecause"]["S"].startswith("unreadable: ")
    monitor.check()  # the next check meets a readable observation: all quiet
    assert monitor.alerts() == []


def test_a_check_that_sets_an_item_aside_emits_no_heartbeat(monitor: Monitor, capsys: Any) -> None:
    monitor.status("Inactive")
    monitor.check()
    corrupt_observation(monitor.aws, "enrollment", None)
    capsys.readouterr()

    with pytest.raises(MonitorError, match="state item set aside"):
        monitor.check()

    assert heartbeats(capsys.readouterr().out) == []  # it did not complete
    monitor.check()
    assert heartbeats(capsys.readouterr().out) == [1.0]


def test_an_owed_alert_ahead_of_its_observation_is_never_replaced(monitor: Monitor) -> None:
    owe_two_alerts(monitor)  # PENDING#2 and PENDING#3, LATEST at version 3
    corrupt_observation(monitor.aws, "version", {"N": "2"})  # a restored backup: behind its outbox
    monitor.aws.wire.fail("sns", "Publish", "InternalError", times=100)
    monitor.status("Failed")
    with pytest.raises(MonitorError, match="sns:Publish"):
        monitor.check()
    monitor.aws.wire.heal()

    monitor.check()

    assert transitions(monitor) == [
        ("Active", "Inactive"),
        ("Inactive", "Pending"),
        ("Pending", "Failed"),
    ]


def test_an_item_in_the_way_of_a_new_owed_alert_fails_loudly_and_is_kept(monitor: Monitor) -> None:
    owe_two_alerts(monitor)  # PENDING#2 and PENDING#3, LATEST at version 3
    monitor.aws.wire.fail("sns", "Publish", "InternalError", times=100)
    monitor.status("Failed")
    # A hand edit between the check's read and its write, where its alert goes.
    monitor.aws.wire.once_after("dynamodb:Query", lambda: copy_owed_alert(monitor.aws, 4))

    with pytest.raises(MonitorError, match="PENDING#000000000004: an owed alert is already there"):
        monitor.check()

    assert len(owed(monitor.aws)) == 3  # nothing replaced, nothing recorded
    assert stored(monitor.aws).observation.enrollment.status == "Pending"


def test_two_invocations_that_compute_the_same_lease_end_never_both_send(monitor: Monitor) -> None:
    owe_two_alerts(monitor)
    moment = datetime.now(UTC) + timedelta(minutes=1)
    # The second runs whole while the first holds its first lease: same clock, same deadline.
    monitor.aws.wire.once_after("dynamodb:UpdateItem", lambda: check_at(moment))

    check_at(moment)

    assert transitions(monitor) == [("Active", "Inactive"), ("Inactive", "Pending")]


def test_an_unreadable_observation_does_not_stop_the_regions_after_it() -> None:
    with local_aws(regions=("eu-west-1", "us-east-1")) as aws:
        monitor = Monitor(aws)
        monitor.status("Active", region="eu-west-1")
        monitor.status("Active", region="us-east-1")
        monitor.check()
        corrupt_observation(aws, "enrollment", None, region="eu-west-1")
        monitor.status("Inactive", region="us-east-1")

        with pytest.raises(MonitorError, match="eu-west-1"):
            monitor.check()

        assert transitions(monitor) == [("Active", "Inactive")]  # us-east-1, after eu-west-1


def test_an_unreadable_owed_alert_is_set_aside_and_the_next_one_goes_out(monitor: Monitor) -> None:
    owe_two_alerts(monitor)
    corrupt_owed_alert(monitor.aws, {"S": "{not json"})

    with pytest.raises(MonitorError, match="state item set aside: .* PENDING#"):
        monitor.check()

    assert transitions(monitor) == [("Inactive", "Pending")]
    assert len(set_aside(monitor.aws)) == 1
    monitor.check()
    assert owed(monitor.aws) == ()


@pytest.mark.parametrize(
    "stored",
    [
        json.dumps({"subject": "s", "message": '{"default": "{}"}', "attributes": {}}),
        json.dumps({"subject": "s", "message": '{"default": "plain text"}', "attributes": {}}),
        json.dumps({"subject": "s", "message": '"default"', "attributes": {"eventType": "x"}}),
    ],
    ids=["no attributes", "default not a document", "message not renderings"],
)
def test_an_owed_alert_not_as_the_monitor_stores_it_is_set_aside_not_resent(
    monitor: Monitor, stored: str
) -> None:
    owe_two_alerts(monitor)
    corrupt_owed_alert(monitor.aws, {"S": stored})

    with pytest.raises(MonitorError, match="state item set aside"):
        monitor.check()
    monitor.check()

    assert transitions(monitor) == [("Inactive", "Pending")]
    assert owed(monitor.aws) == ()


@pytest.mark.parametrize("lease", [{"N": "1e12"}, {"S": "soon"}], ids=["far future", "text"])
def test_a_lease_no_invocation_could_hold_does_not_hold_back_an_alert(
    monitor: Monitor, lease: dict[str, str]
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    monitor.aws.wire.fail("sns", "Publish", "InternalError", times=4)
    with pytest.raises(MonitorError):
        monitor.check()
    corrupt_owed_alert(monitor.aws, lease, name="leaseUntil")  # a hand edit

    monitor.check()

    assert transitions(monitor) == [("Active", "Inactive")]


def test_a_check_that_leaves_an_alert_to_another_invocation_emits_no_heartbeat(
    aws: LocalAws, capsys: Any
) -> None:
    first, second = Monitor(aws), Monitor(aws)
    first.status("Active")
    first.check()
    first.status("Inactive")
    outputs: list[str] = []

    def second_runs_while_first_holds_the_lease() -> None:
        capsys.readouterr()
        second.check(cold=True)
        outputs.append(capsys.readouterr().out)

    aws.wire.once_after("dynamodb:UpdateItem", second_runs_while_first_holds_the_lease)
    first.check(cold=True)

    assert heartbeats(outputs[0]) == []  # the second sent nothing: the first's heartbeat counts
    assert heartbeats(capsys.readouterr().out) == [1.0]
    assert transitions(first) == [("Active", "Inactive")]


def test_a_set_aside_that_races_another_invocation_alerts_once(aws: LocalAws) -> None:
    first, second = Monitor(aws), Monitor(aws)
    first.status("Inactive")
    first.check()
    first.alerts()
    corrupt_observation(aws, "enrollment", None)

    aws.wire.once_after("dynamodb:Query", lambda: _fails(lambda: second.check(cold=True)))
    with pytest.raises(MonitorError, match="changed while it was being set aside"):
        first.check(cold=True)

    assert transitions(first) == [(None, "Inactive")]  # the second's, once
    assert len(set_aside(aws)) == 1


def _fails(check: Any) -> None:
    with pytest.raises(MonitorError, match="state item set aside"):
        check()


# 2. A mistyped member item never withholds the account's own alert.


def test_a_mistyped_member_item_never_withholds_the_accounts_alert(aws: LocalAws) -> None:
    org = Organization(aws, a1="Active", a2="Active")
    org.check()
    corrupt_member(aws, account("a1"), "status", {"N": "1"})
    org.status("Inactive")

    with pytest.raises(MonitorError, match=f"state item set aside: MEMBERS#.* {account('a1')}"):
        org.check()

    account_alert, member_alert = org.alerts()
    assert account_alert["eventType"] == "EnrollmentStatusChanged"
    # As if never seen: the member is reported as new, once.
    assert [(c["accountId"], c["previous"]) for c in member_alert["changes"]] == [
        (account("a1"), None)
    ]
    org.check()
    assert org.alerts() == []


def test_an_unreadable_control_item_does_not_drop_member_changes(aws: LocalAws) -> None:
    org = Organization(aws, a1="Active", a2="Active")
    org.check()
    corrupt_member(aws, "#ROUND", "round", {"S": "one"})
    org.member("a1", "Inactive")

    with pytest.raises(MonitorError, match="state item set aside: MEMBERS#.* #ROUND"):
        org.check()

    (alert,) = org.member_alerts()
    assert [(c["accountId"], c["previous"], c["current"]) for c in alert["changes"]] == [
        (account("a1"), "Active", "Inactive")
    ]
    org.check()
    assert org.alerts() == []


# 2b. State that contradicts itself is repaired, not obeyed: logged once, written back.


def repairs_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage().split(":")[1].split("(")[0].strip()
        for record in caplog.records
        if record.getMessage().startswith("state repaired:")
    ]


@pytest.mark.parametrize("member", ["a1", "a2"])  # its change reported; it left, reported
def test_a_member_tagged_with_a_round_not_yet_reached_is_not_reported_again(
    aws: LocalAws, caplog: pytest.LogCaptureFixture, member: str
) -> None:
    org = Organization(aws, a1="Active", a2="Active", a3="Active")
    org.check()
    org.member("a1", "Inactive")
    org.leave("a2")
    org.check()
    org.check()  # the departure confirmed
    org.member_alerts()
    corrupt_member(aws, account(member), "round", {"N": "9"})  # a round the members never reached
    caplog.clear()

    for _ in range(3):
        org.check()

    assert org.alerts() == []
    assert repairs_logged(caplog) == ["a member tagged with a round not yet reached"]
    repaired = roster(aws)
    assert not repaired.repairs  # written back
    assert repaired.members.get(account(member)) == {"a1": "Inactive", "a2": None}[member]


@pytest.mark.parametrize("round_", [0, -1])
def test_a_members_round_below_the_members_is_repaired_not_a_silent_baseline(
    aws: LocalAws, caplog: pytest.LogCaptureFixture, round_: int
) -> None:
    org = Organization(aws, a1="Active", a2="Active")
    org.check()
    org.member("a1", "Inactive")
    org.check()
    org.member_alerts()
    corrupt_member(aws, "#ROUND", "round", {"N": str(round_)})
    org.member("a2", "Failed")
    caplog.clear()

    org.check()
    org.check()

    (alert,) = org.member_alerts()
    assert [(c["accountId"], c["previous"], c["current"]) for c in alert["changes"]] == [
        (account("a2"), "Active", "Failed")
    ]
    assert repairs_logged(caplog) == ["the members' round contradicts the members"]
    assert roster(aws).round == 3  # from round 2, the latest its members named


@pytest.mark.parametrize(
    "edits",
    [
        {"alertedAt": {"S": "2100-01-01T00:00:00Z"}},
        {"alertedAt": None, "observedAt": {"S": "2100-01-01T00:00:00Z"}},
    ],
)
def test_an_observation_stamped_in_the_future_does_not_silence_reminders(
    monitor: Monitor, caplog: pytest.LogCaptureFixture, edits: dict[str, Any]
) -> None:
    start = datetime.now(UTC)
    monitor.status("Inactive")
    check_at(start)
    monitor.alerts()
    for name, value in edits.items():
        corrupt_observation(monitor.aws, name, value)
    caplog.clear()

    outcomes = [
        check_at(start + timedelta(hours=hours)).subjects[0].outcome for hours in (1, 2, 25)
    ]

    assert [str(outcome) for outcome in outcomes] == ["nothing", "nothing", "reminder"]
    (reminder,) = monitor.alerts()
    assert reminder["eventType"] == "EnrollmentReminder"
    assert reminder["previous"]["observedAt"] < "2100"  # clamped, to the check that repaired it
    assert repairs_logged(caplog) == ["an observation stamped in the future"]


def test_the_accounts_alert_goes_out_before_the_member_listing(aws: LocalAws) -> None:
    org = Organization(aws, a1="Active")
    org.check()
    org.status("Inactive")
    org.member("a1", "Failed")
    aws.wire.once_after("compute-optimizer:GetEnrollmentStatusesForOrganization", crash)

    with pytest.raises(Crash):  # the sandbox dies during the listing
        org.check()

    (alert,) = org.alerts()
    assert alert["eventType"] == "EnrollmentStatusChanged"


# 3. Long text from the API is cut; an alert SNS refuses never holds the queue.


@pytest.mark.parametrize("reason", ["x" * 120_000, "é" * 15_000, "é" * 25_000])
def test_a_long_status_reason_is_cut_and_the_alert_recorded_and_sent(
    monitor: Monitor, reason: str
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive", reason=reason)

    monitor.check()

    (envelope,) = monitor.aws.deliveries()
    shown = envelope["Message"]["current"]["statusReason"]
    assert len(shown) == API_TEXT_LIMIT and shown.endswith("\u2026")
    monitor.status("Active")
    monitor.check()
    assert transitions(monitor) == [("Inactive", "Active")]


def test_an_alert_sns_refuses_goes_out_without_its_free_text(monitor: Monitor) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive", reason="a reason SNS will not take")
    monitor.aws.wire.fail("sns", "Publish", "InvalidParameter", http_status=400)

    monitor.check()

    (published,) = monitor.aws.wire.published
    message = json.loads(published["Message"])
    assert set(message) == {"default"}
    assert json.loads(message["default"])["current"]["statusReason"] is None
    assert published["Subject"].startswith("Compute Optimizer enrollment Active -> Inactive")


def test_an_alert_sns_refuses_twice_is_set_aside_and_later_alerts_go_out(
    monitor: Monitor,
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    monitor.aws.wire.fail("sns", "Publish", "InvalidParameter", http_status=400, times=2)

    with pytest.raises(MonitorError, match="set aside: .*SNS refused it"):
        monitor.check()
    monitor.status("Active")
    monitor.check()

    assert transitions(monitor) == [("Inactive", "Active")]
    assert len(set_aside(monitor.aws)) == 1


# 4. Only a failed condition is a lost race.


def test_a_transaction_cancelled_for_throttling_fails_the_check(monitor: Monitor) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    reasons = {"CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}]}
    monitor.aws.wire.fail(
        "dynamodb", "TransactWriteItems", "TransactionCanceledException", 400, extra=reasons
    )

    with pytest.raises(MonitorError, match="dynamodb:PutItem in us-east-1 failed: Transaction"):
        monitor.check()
    assert monitor.alerts() == []

    monitor.check()
    assert transitions(monitor) == [("Active", "Inactive")]


# 5. Queries follow LastEvaluatedKey: more than 1 MB of owed alerts go out oldest first.


def test_more_than_a_megabyte_of_owed_alerts_goes_out_oldest_first(aws: LocalAws) -> None:
    org = Organization(aws)
    org.check()  # an empty organization: the baseline
    reason = '"Pending" review by the security team, see ticket SEC-1234. ' * 5
    aws.wire.fail("sns", "Publish", "InternalError", times=1000)
    for batch in range(4):  # four alerts near SNS's 256 KB each, stored in near 400 KB
        org.listed.extend(  # 700 new members each time
            {"accountId": f"{batch}{i:011d}", "status": "Inactive", "statusReason": reason}
            for i in range(700)
        )
        with pytest.raises(MonitorError):
            org.check()
    aws.wire.heal()
    aws.wire.calls.clear()

    org.check()

    alerts = org.member_alerts()
    assert [alert["changes"][0]["accountId"][0] for alert in alerts] == ["0", "1", "2", "3"]
    assert all(alert["truncated"] for alert in alerts)
    # The account's partition took two pages; one more read the subjects watched before.
    assert aws.wire.calls["dynamodb:Query"] == 4


# 6. The heartbeat comes last, for a completed check only.


def test_a_check_that_fails_on_dynamodb_emits_no_heartbeat(monitor: Monitor, capsys: Any) -> None:
    monitor.status("Active")
    monitor.aws.wire.fail("dynamodb", "Query", "InternalServerError", times=4)
    capsys.readouterr()

    with pytest.raises(MonitorError, match="dynamodb:Query"):
        monitor.check()

    assert heartbeats(capsys.readouterr().out) == []
    monitor.check()
    assert heartbeats(capsys.readouterr().out) == [0.0]  # every Region checked, none not Active


# 7. A failed publish is what the error names, even when giving the lease back fails too.


def test_a_failed_publish_is_named_even_if_giving_its_lease_back_fails(monitor: Monitor) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    monitor.aws.wire.fail("sns", "Publish", "KMSDisabled", http_status=400)
    monitor.aws.wire.once_after(
        "sns:Publish",
        lambda: monitor.aws.wire.fail("dynamodb", "UpdateItem", "InternalServerError", times=4),
    )

    with pytest.raises(MonitorError, match="sns:Publish in us-east-1 failed: KMSDisabled"):
        monitor.check()


# 8. An owed alert another invocation delivered meanwhile does not hold back the next one.


def test_an_alert_delivered_meanwhile_is_skipped_and_the_next_sent(monitor: Monitor) -> None:
    owe_two_alerts(monitor)
    monitor.aws.wire.once_after("dynamodb:Query", lambda: delete_owed_alert(monitor.aws))
    result = monitor.check()

    assert transitions(monitor) == [("Inactive", "Pending")]
    assert result["checked"][0]["alertsSent"] == 1


# 9. Topics: in the function's partition, published to in their own Region.


def test_a_topic_in_another_partition_is_refused_naming_the_variable() -> None:
    environment = {
        "STATE_TABLE_NAME": "t",
        "ALERT_TOPIC_ARN": "arn:aws-cn:sns:cn-north-1:123456789012:alerts",
        "POWERTOOLS_SERVICE_NAME": "s",
        "POWERTOOLS_METRICS_NAMESPACE": "n",
        "AWS_REGION": "us-east-1",
    }

    with pytest.raises(ConfigurationError, match="ALERT_TOPIC_ARN .* aws-cn partition"):
        Settings.from_env(environment)


def test_a_topic_in_another_region_is_published_to_there(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    sns = boto3.client("sns", region_name="eu-west-1")
    topic = sns.create_topic(Name="alerts-elsewhere")["TopicArn"]
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=monitor.aws.queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("ALERT_TOPIC_ARN", topic)
    monitor.status("Inactive")

    monitor.check(cold=True)

    assert transitions(monitor) == [(None, "Inactive")]


# 10. An unknown action fails, naming it and the accepted ones.


def test_an_unknown_action_fails_and_checks_nothing(monitor: Monitor) -> None:
    monitor.status("Inactive")

    with pytest.raises(MonitorError, match="'test-notificaton'.*'check'.*'test-notification'"):
        monitor.invoke({"action": "test-notificaton"})

    assert monitor.aws.wire.calls["compute-optimizer:GetEnrollmentStatus"] == 0
    assert nothing_stored(monitor.aws) and monitor.alerts() == []


# 11. Text from the API cannot forge sections of the email or markup in chat.


def test_a_reason_with_newlines_and_markup_stays_one_plain_line(monitor: Monitor) -> None:
    reason = "Opted out\n\nWhat to do\n- *ignore* this <https://evil.example|click>"
    monitor.status("Inactive", reason=reason)

    monitor.check()

    (published,) = monitor.aws.wire.published
    message = json.loads(published["Message"])
    email = message["email"]
    assert email.splitlines().count("What to do") == 1  # the one section, not a forged one
    assert "Reason:      Opted out What to do - *ignore* this <https" in email
    chat = json.loads(message["https"])["content"]["description"]
    assert "*ignore*" not in chat and "<https" not in chat and "|click" not in chat
    assert "Opted out What to do" in chat


# 12. A member listing slower than the function's time stops with a clear error.


class RunningOut(LambdaContext):
    """Lambda's remaining time, falling by ``step`` ms at every look."""

    def __init__(self, start: int, step: int) -> None:
        super().__init__(remaining_millis=start)
        self.step = step

    def get_remaining_time_in_millis(self) -> int:
        self.remaining_millis -= self.step
        return self.remaining_millis + self.step


def test_a_member_listing_too_slow_for_the_function_stops_before_the_deadline(
    aws: LocalAws,
) -> None:
    org = Organization(aws)
    org.listed[:] = [{"accountId": f"{i:012d}", "status": "Active"} for i in range(1_000)]
    org.check()
    org.status("Inactive")
    for i in range(0, 1_000, 100):
        org.listed[i]["status"] = "Failed"

    with pytest.raises(MonitorError, match="listing stopped after .* members .* s of the"):
        org.sandbox.lambda_handler({}, RunningOut(start=60_000, step=10_000))

    (alert,) = org.alerts()  # the account's own, before the listing
    assert alert["eventType"] == "EnrollmentStatusChanged"
    org.check()  # with time enough: the members' lease was given back
    (members,) = org.member_alerts()
    assert members["changeCount"] == 10


def test_a_first_listing_too_long_for_one_invocation_resumes_at_the_next(aws: LocalAws) -> None:
    org = Organization(aws)
    org.listed[:] = [{"accountId": f"{i:012d}", "status": "Active"} for i in range(1_000)]

    with pytest.raises(MonitorError, match="listing stopped after 400 members"):
        org.sandbox.lambda_handler({}, RunningOut(start=60_000, step=10_000))

    first = roster(aws)
    assert first.baseline and len(first.members) == 400  # written as listed, 25 at a time
    writes = aws.wire.calls["dynamodb:BatchWriteItem"]
    org.check()  # with time enough: the baseline goes on from where it stopped
    assert aws.wire.calls["dynamodb:BatchWriteItem"] - writes == 600 // 25  # the rest only
    assert not roster(aws).baseline and len(roster(aws).members) == 1_000
    assert org.alerts() == []  # a baseline is silent, however many invocations it took
    org.member(f"{7:012d}", "Inactive")
    org.check()
    (alert,) = org.member_alerts()
    assert alert["changeCount"] == 1


# The two member hazards, decided.


def test_an_empty_listing_after_members_reports_nobody_left_and_fails(aws: LocalAws) -> None:
    org = Organization(aws, a1="Active", a2="Inactive")
    org.check()
    listed, org.listed[:] = list(org.listed), []

    with pytest.raises(MonitorError, match="listed no members, while 2 were listed before"):
        org.check()
    assert org.alerts() == []
    assert roster(aws).members == {account("a1"): "Active", account("a2"): "Inactive"}

    org.listed[:] = listed
    org.check()
    assert org.alerts() == []


# Isolation: any exception in one Region, not only the monitor's own.


def test_an_unexpected_exception_in_one_region_does_not_stop_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from enrollment_monitor.subjects import compute_optimizer

    read = compute_optimizer.read_enrollment

    def broken_in_eu(client: Any, region: str) -> Any:
        if region == "eu-west-1":
            raise RuntimeError("a bug")
        return read(client, region)

    monkeypatch.setattr(compute_optimizer, "read_enrollment", broken_in_eu)
    with local_aws(regions=("eu-west-1", "us-east-1")) as aws:
        monitor = Monitor(aws)
        monitor.status("Inactive", region="us-east-1")

        with pytest.raises(MonitorError, match="eu-west-1: RuntimeError: a bug"):
            monitor.check()

        assert transitions(monitor) == [(None, "Inactive")]
        assert stored(aws, "us-east-1") is not None


# Issue 22, case 9: an alert owed is never dropped by configuration.


def remove_eu_west_1_while_it_owes_an_alert(monitor: Monitor) -> None:
    """eu-west-1's change is owed (SNS was down), then the stack no longer watches it."""
    monitor.check()
    monitor.status("Inactive", region="eu-west-1")
    monitor.aws.wire.fail("sns", "Publish", "InternalError", times=100)
    with pytest.raises(MonitorError):
        monitor.check()
    monitor.aws.wire.heal()
    os.environ["MONITORED_REGIONS"] = "us-east-1"


def test_a_region_removed_while_it_owes_an_alert_still_delivers_it_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with watching(("us-east-1", "eu-west-1")) as monitor:
        remove_eu_west_1_while_it_owes_an_alert(monitor)

        monitor.check(cold=True)
        monitor.check()

        (alert,) = monitor.alerts()
        assert (alert["region"], alert["current"]["status"]) == ("eu-west-1", "Inactive")
        assert "delivering what a subject no longer watched owes" in caplog.text
        assert owed(monitor.aws, "eu-west-1") == ()


def test_a_region_removed_owing_nothing_costs_no_request_after_the_check_that_sees_it_go() -> None:
    with watching(("us-east-1", "eu-west-1")) as monitor:
        monitor.check()
        os.environ["MONITORED_REGIONS"] = "us-east-1"
        monitor.check(cold=True)  # reads eu-west-1's partition once, and records the change
        monitor.aws.wire.calls.clear()

        monitor.check()

        assert dict(monitor.aws.wire.calls) == {
            "compute-optimizer:GetEnrollmentStatus": 1,
            "dynamodb:Query": 2,  # us-east-1's state, and the subjects watched before
        }


# Issue 22, case 10: a failure names the Region being checked.


def test_a_regions_check_that_fails_at_sns_names_the_region_checked() -> None:
    with watching(("us-east-1", "eu-west-1")) as monitor:
        monitor.check()
        monitor.status("Inactive", region="eu-west-1")
        monitor.aws.wire.fail("sns", "Publish", "InternalError", times=100)

        with pytest.raises(MonitorError, match=r"checking eu-west-1: sns:Publish in us-east-1"):
            monitor.check()


def test_an_alert_refused_for_a_region_no_longer_watched_fails_the_check_without_heartbeat(
    capsys: Any,
) -> None:
    with watching(("us-east-1", "eu-west-1")) as monitor:
        remove_eu_west_1_while_it_owes_an_alert(monitor)
        monitor.aws.wire.fail("sns", "Publish", "InvalidParameter", 400, times=2)  # poison
        capsys.readouterr()

        with pytest.raises(MonitorError, match="eu-west-1, no longer watched: .*set aside"):
            monitor.check(cold=True)

        assert heartbeats(capsys.readouterr().out) == []
        monitor.check()  # it owes nothing now: the record lets it go, and the check is quiet
        assert heartbeats(capsys.readouterr().out) == [0.0]
