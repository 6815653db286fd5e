"""The outbox: owed alerts published to SNS, oldest first, each under its lease, each once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools import Logger

from enrollment_monitor.alerts import Alert
from enrollment_monitor.errors import MonitorError, calling
from enrollment_monitor.store.observations import Owed
from enrollment_monitor.store.table import Table, delete, give_back

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
    table: Table, publisher: Publisher, alerts: Sequence[Owed], lease_until: float, now: float
) -> int:
    """Sends the owed alerts, oldest first, and returns how many this invocation sent.

    It stops at an alert that another invocation is sending (the rest wait for the next
    check, to keep their order) and at an SNS failure, which it raises: the alert stays owed.
    """
    sent = 0
    for owed in alerts:
        lease = table.take(owed.key, lease_until, now)
        if lease is None:
            logger.info("another invocation is sending an owed alert")
            break
        try:
            publisher.publish(owed.alert)
        except MonitorError:
            table.apply(give_back(lease))
            raise
        sent += 1
        # A process that dies right here has sent the alert but still owes it: the one window
        # in which a later check sends it again (docs/DELIVERY.md).
        if not table.apply(delete(lease)):
            logger.warning("an owed alert was taken over while it was being sent")
    return sent
