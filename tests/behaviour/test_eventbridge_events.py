"""Each alert is also one event on the default EventBridge bus, owed and delivered with the SNS
message's guarantees, each sink on its own (docs/ALERTS.md, "EventBridge events";
docs/DELIVERY.md, "Delivery guarantees")."""

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator
from storage import owed, set_aside

from devtools.local_aws.resources import LocalAws, drain
from enrollment_monitor.alerts.message import DETAIL_TYPES, EVENT_ENTRY_LIMIT, Alert
from enrollment_monitor.errors import MonitorError

from conftest import Monitor, check_at, invoke_at

START = datetime(2026, 11, 26, 9, tzinfo=UTC)
ALERTS_MD = Path(__file__).resolve().parents[2] / "docs" / "ALERTS.md"


def documented_rule() -> dict[str, Any]:
    """The rule's event pattern docs/ALERTS.md shows, as written there."""
    section = ALERTS_MD.read_text().split("## EventBridge events", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```json\n(.*?)```", section, re.DOTALL)
    pattern: dict[str, Any] = json.loads(block)
    return pattern


def failed_entry(aws: LocalAws, code: str, times: int = 1) -> None:
    """The next PutEvents answer 200, the entry refused with ``code`` (as EventBridge does)."""
    entry = {"ErrorCode": code, "ErrorMessage": f"{code} (injected)"}
    extra = {"FailedEntryCount": 1, "Entries": [entry]}
    aws.wire.fail("events", "PutEvents", code, http_status=200, times=times, extra=extra)


def test_a_change_is_one_sns_message_and_one_event_with_the_documented_fields(
    monitor: Monitor,
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")

    monitor.check()

    (alert,) = monitor.alerts()
    (event,) = monitor.aws.events()
    assert event["source"] == "enrollment-monitor"
    assert event["detail-type"] == "Enrollment Status Changed"
    assert event["detail"] == alert  # the machine document, as SNS's default carries it
    assert event["detail"]["version"] == 1
    assert event["time"] == alert["observedAt"]
    assert event["resources"] == []


def test_every_alert_kind_has_its_own_documented_detail_type() -> None:
    documented = ALERTS_MD.read_text().split("## EventBridge events", 1)[1].split("\n## ", 1)[0]
    for event_type, detail_type in DETAIL_TYPES.items():
        assert f"`{detail_type}`" in documented, event_type
    assert len(set(DETAIL_TYPES.values())) == len(DETAIL_TYPES)


def test_each_kind_of_alert_puts_exactly_one_event_the_documented_rule_sees(aws: LocalAws) -> None:
    os.environ["TRACK_MEMBER_ACCOUNTS"] = "true"  # local_aws restores the environment
    os.environ["REMINDER_INTERVAL_HOURS"] = "1"
    rule_queue = _queue_for_rule(documented_rule())
    members = [{"accountId": f"11111111111{n}", "status": "Active"} for n in range(2)]
    aws.compute_optimizer.members["us-east-1"] = members
    aws.compute_optimizer.set_enrollment("us-east-1", "Active", numberOfMemberAccountsOptedIn=5)
    check_at(START)
    aws.compute_optimizer.set_enrollment("us-east-1", "Inactive", numberOfMemberAccountsOptedIn=4)
    members[0]["status"] = "Inactive"  # a member changed, and one fewer opted in
    check_at(START + timedelta(hours=1))
    check_at(START + timedelta(hours=2, minutes=1))  # a reminder
    invoke_at(START + timedelta(hours=3), {"action": "test-notification"})

    sent = [delivery["Message"]["eventType"] for delivery in aws.deliveries()]
    events = aws.events()
    assert sorted(e["detail"]["eventType"] for e in events) == sorted(sent)
    assert sorted(sent) == sorted(DETAIL_TYPES)  # every kind, once as a message, once an event
    assert all(e["detail-type"] == DETAIL_TYPES[e["detail"]["eventType"]] for e in events)
    matched = [e["detail"]["eventType"] for e in drain(rule_queue)]
    assert sorted(matched) == ["EnrollmentReminder", "EnrollmentStatusChanged"]


def test_an_event_entry_fits_the_put_events_model_and_its_size_is_counted_as_aws_documents(
    monitor: Monitor,
) -> None:
    monitor.status("Inactive", "Opted out by é" * 80)
    monitor.check()
    assert owed(monitor.aws) == ()  # delivered to both sinks
    alert = _the_alert_sent(monitor.aws)
    entry = alert.event_entry()

    model = boto3.session.Session()._session.get_service_model("events")
    shape = model.operation_model("PutEvents").input_shape
    report = ParamValidator().validate({"Entries": [entry]}, shape)
    assert not report.has_errors(), report.generate_report()
    assert len(entry["DetailType"]) <= 128
    documented = 14 + sum(
        len(entry[field].encode()) for field in ("Source", "DetailType", "Detail")
    )
    assert alert.event_size() == documented <= EVENT_ENTRY_LIMIT
    assert alert.fits()


def test_an_eventbridge_outage_holds_back_no_sns_message_and_the_next_check_puts_the_event_once(
    monitor: Monitor,
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    monitor.aws.wire.fail("events", "PutEvents", "InternalException", times=10)

    with pytest.raises(MonitorError, match="events:PutEvents in us-east-1 failed"):
        monitor.check()

    assert [a["eventType"] for a in monitor.alerts()] == ["EnrollmentStatusChanged"]
    assert monitor.aws.events() == []
    assert [o.sink for o in owed(monitor.aws)] == ["events"]
    monitor.aws.wire.heal()

    monitor.check()
    monitor.check()

    assert monitor.alerts() == []  # SNS is not sent again
    (event,) = monitor.aws.events()
    assert event["detail"]["current"]["status"] == "Inactive"
    assert owed(monitor.aws) == ()


def test_an_sns_outage_holds_back_no_event_and_the_next_check_sends_the_message_once(
    monitor: Monitor,
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    monitor.aws.wire.fail("sns", "Publish", "InternalError", times=10)

    with pytest.raises(MonitorError, match="sns:Publish"):
        monitor.check()

    assert len(monitor.aws.events()) == 1
    monitor.aws.wire.heal()
    monitor.check()
    assert len(monitor.alerts()) == 1
    assert monitor.aws.events() == []


def test_an_entry_put_events_failed_with_a_200_is_retried_by_the_next_check(
    monitor: Monitor,
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    failed_entry(monitor.aws, "InternalFailure")

    with pytest.raises(MonitorError, match="events:PutEvents in us-east-1 failed: InternalFailure"):
        monitor.check()
    assert monitor.aws.events() == []

    monitor.check()

    assert len(monitor.aws.events()) == 1
    assert len(monitor.alerts()) == 1


def test_an_entry_refused_as_invalid_is_set_aside_and_the_invocation_fails(
    monitor: Monitor,
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    failed_entry(monitor.aws, "InvalidArgument", times=2)  # as it is, and its minimal form

    with pytest.raises(MonitorError, match="set aside: .*EventBridge refused it"):
        monitor.check()

    assert len(monitor.alerts()) == 1  # SNS took its message
    assert monitor.aws.events() == []
    (kept,) = set_aside(monitor.aws)
    assert "#events#" in str(kept["sk"])  # the event's copy, kept under a key not read
    monitor.status("Active")
    monitor.check()  # later alerts go out on both sinks
    assert len(monitor.alerts()) == 1 and len(monitor.aws.events()) == 1


def test_with_events_off_no_event_is_owed_or_put(aws: LocalAws) -> None:
    os.environ["PUBLISH_EVENTS"] = "false"  # local_aws restores the environment
    monitor = Monitor(aws)
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    aws.wire.fail("sns", "Publish", "InternalError", times=10)
    with pytest.raises(MonitorError):
        monitor.check()

    assert [o.sink for o in owed(aws)] == ["sns"]
    aws.wire.heal()
    monitor.check()
    monitor.invoke({"action": "test-notification"})
    assert aws.wire.calls["events:PutEvents"] == 0
    assert len(monitor.alerts()) == 2 and aws.events() == []


def test_turning_events_off_drops_the_events_still_owed_and_keeps_the_messages(
    aws: LocalAws,
) -> None:
    monitor = Monitor(aws)
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    aws.wire.fail("events", "PutEvents", "InternalException", times=10)
    with pytest.raises(MonitorError):
        monitor.check()
    aws.wire.heal()
    os.environ["PUBLISH_EVENTS"] = "false"  # local_aws restores the environment
    calls = aws.wire.calls["events:PutEvents"]

    monitor.check(cold=True)

    assert aws.wire.calls["events:PutEvents"] == calls
    assert owed(aws) == () and aws.events() == []
    assert len(monitor.alerts()) == 1  # the message went out once, before


def test_a_steady_check_puts_no_event_and_writes_nothing(monitor: Monitor) -> None:
    monitor.status("Inactive")
    monitor.check()
    monitor.aws.wire.calls.clear()

    monitor.check()

    calls = set(monitor.aws.wire.calls)
    assert "events:PutEvents" not in calls
    assert not any(
        call.startswith(("dynamodb:Put", "dynamodb:Update", "dynamodb:Delete", "dynamodb:Transact"))
        for call in calls
    )


def test_the_test_notification_is_an_event_too(monitor: Monitor) -> None:
    monitor.invoke({"action": "test-notification"})

    (event,) = monitor.aws.events()
    assert event["detail-type"] == "Test Notification"
    assert event["detail"]["eventType"] == "TestNotification"


def _the_alert_sent(aws: LocalAws) -> Alert:
    (published,) = aws.wire.published
    return Alert(
        published["Subject"],
        published["Message"],
        {k: v["StringValue"] for k, v in published["MessageAttributes"].items()},
    )


def _queue_for_rule(pattern: dict[str, Any]) -> str:
    """A queue that a rule on the default bus with ``pattern`` sends what it matches to."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="documented-rule")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="documented", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="documented", Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)
