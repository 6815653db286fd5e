"""Publishing alerts to SNS, and delivering an alert left pending by an earlier check."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from enrollment_monitor.alerts import Alert
from enrollment_monitor.enrollment import AccountRegion
from enrollment_monitor.errors import MonitorError, calling
from enrollment_monitor.state import StateTable, Stored

logger = Logger()


class Publisher:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn
        self._region = topic_arn.split(":")[3]

    def publish(self, alert: Alert) -> str:
        with calling("sns:Publish", self._region):
            response = self._client.publish(**alert.publish_arguments(self._topic_arn))
        logger.info("alert sent", extra={"subject": alert.subject, "eventType": alert.event_type})
        return str(response["MessageId"])


def deliver(
    table: StateTable, publisher: Publisher, where: AccountRegion, claimed: Stored
) -> Stored | None:
    """Publishes the pending alert of ``claimed`` (whose lease this invocation holds), then
    clears it. If SNS fails the alert stays pending and the lease is given back. None means
    another invocation changed the item meanwhile and owns what comes next."""
    assert claimed.pending is not None
    try:
        publisher.publish(claimed.pending)
    except MonitorError:
        table.release(where, claimed)
        raise
    # A process that dies right here has sent the alert without clearing it: the one window
    # in which the next check would send it again (see README, "Delivery guarantees").
    cleared = table.delivered(where, claimed)
    if cleared is None:
        logger.warning("another invocation took the pending alert over while it was sent")
    return cleared
