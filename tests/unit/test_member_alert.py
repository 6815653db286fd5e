"""The members' alert: what it says of one member, and how a long list is cut to fit."""

import json
from datetime import UTC, datetime

from enrollment_monitor.alerts.members import member_alert
from enrollment_monitor.alerts.message import SNS_MESSAGE_LIMIT, STORED_ALERT_LIMIT
from enrollment_monitor.enrollment import WatchedSubject
from enrollment_monitor.member_diff import ChangeList, MemberChange


def test_truncation_lists_as_many_changes_as_fit() -> None:
    changes = ChangeList()
    for i in range(5_000):
        changes.add(MemberChange(f"{i:012d}", "Active", "Failed", "x" * 200))
    where = WatchedSubject("123456789012", "ap-southeast-2")

    alert = member_alert(where, changes, {"Failed": 5_000}, datetime(2026, 11, 26, tzinfo=UTC))

    stored = len(alert.to_json().encode())
    assert alert.publish_size() <= SNS_MESSAGE_LIMIT and stored <= STORED_ALERT_LIMIT
    assert 0 < len(json.loads(json.loads(alert.message)["default"])["changes"]) < 5_000
    # The first part is as long as it can be: one more member would not fit.
    assert max(alert.publish_size() / SNS_MESSAGE_LIMIT, stored / STORED_ALERT_LIMIT) > 0.99


def test_subject_of_one_member_names_it_and_its_transition() -> None:
    changes = ChangeList()
    changes.add(MemberChange("111111111111", "Active", "Suspended\nby AWS"))
    where = WatchedSubject("123456789012", "us-east-1")

    alert = member_alert(where, changes, {}, datetime(2026, 11, 26, tzinfo=UTC))

    assert alert.subject == (
        "Compute Optimizer member 111111111111 Active -> Suspended by AWS (123456789012, us-east-1)"
    )
    # As every rendering shows it: a filter policy never meets a control character.
    assert alert.attributes["status"] == "Suspended by AWS"
