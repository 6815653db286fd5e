"""Publishing alerts to SNS: each owed alert once, in the order the transitions happened."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools import Logger

from enrollment_monitor.alerts import Alert
from enrollment_monitor.enrollment import AccountRegion
from enrollment_monitor.errors import MonitorError, calling
from enrollment_monitor.state import PendingAlert, StateTable

logger = Logger()


class Publisher:
    """``client`` makes the SNS client on first use: a check that sends nothing never creates
    it (a few milliseconds of every cold start)."""

    def __init__(self, client: Callable[[], Any], topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn
        self._region = topic_arn.split(":")[3]

    def publish(self, alert: Alert) -> str:
        with calling("sns:Publish", self._region):
            response = self._client().publish(**alert.publish_arguments(self._topic_arn))
        logger.info("alert sent", extra={"subject": alert.subject, "eventType": alert.event_type})
        return str(response["MessageId"])


def deliver(
    table: StateTable,
    publisher: Publisher,
    where: AccountRegion,
    owed: Sequence[PendingAlert],
    lease_until: float,
    now: float,
) -> int:
    """Sends the owed alerts, oldest first, and returns how many this invocation sent.

    It stops at an alert that another invocation is sending (the rest wait for the next
    check, to keep their order) and at an SNS failure, which it raises: the alert stays owed.
    """
    sent = 0
    for pending in owed:
        if not table.lease(where, pending, lease_until, now):
            logger.info(
                "another invocation is sending an owed alert", extra={"region": where.region}
            )
            break
        try:
            publisher.publish(pending.alert)
        except MonitorError:
            table.release(where, pending, lease_until)
            raise
        sent += 1
        # A process that dies right here has sent the alert but still owes it: the one window
        # in which a later check sends it again (README, "Delivery guarantees").
        if not table.delivered(where, pending, lease_until):
            logger.warning("an owed alert was taken over while it was being sent")
    return sent
