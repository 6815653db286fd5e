"""The test notification: proves the subscriptions work, reports no change."""

from __future__ import annotations

from datetime import datetime

from enrollment_monitor.alerts.message import Alert
from enrollment_monitor.alerts.render import AlertText, compose, document, thread_id
from enrollment_monitor.enrollment import WatchedSubject, iso, stamp

TEST_NOTIFICATION = "TestNotification"


def selftest_alert(where: WatchedSubject, now: datetime) -> Alert:
    text = AlertText(
        headline="Test notification from the Compute Optimizer enrollment monitor",
        meaning="This is a test. The monitor is deployed and can reach this topic: "
        "you will get alerts like this one when the enrollment changes.",
        facts=[("Account", where.account_id), ("Region", where.region), ("Sent at", iso(now))],
        steps=["Nothing: no action is needed for a test notification."],
        thread=thread_id("test", where, stamp(now)),  # never an episode's thread
    )
    body = {"previous": None, "current": None}
    subject = "Test: Compute Optimizer enrollment monitor"
    return compose(
        where, subject, text, document(TEST_NOTIFICATION, where, now, body), "Test", None
    )
