"""The outbox: owed alerts published to SNS, oldest first, each under its lease, each once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from enrollment_monitor.alerts import Alert
from enrollment_monitor.enrollment import iso
from enrollment_monitor.errors import AwsCallError, MonitorError, calling
from enrollment_monitor.store.observations import Owed
from enrollment_monitor.store.table import Lease, Refusal, delete, give_back

if TYPE_CHECKING:
    from enrollment_monitor.invocation import Invocation

logger = Logger()

# SNS refuses the message itself (too long, say): sending it again as it is cannot help.
_REFUSED_AS_IT_IS = {"InvalidParameter", "ParameterValueInvalid"}


class Publisher:
    """Publishes to the topic in its own Region. ``client`` makes the SNS client of a Region on
    first use: a check that sends nothing never creates it (milliseconds of a cold start)."""

    def __init__(self, client: Callable[[str], Any], topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn
        self._region = topic_arn.split(":")[3]

    def publish(self, alert: Alert) -> str:
        with calling("sns:Publish", self._region):
            client = self._client(self._region)
            response = client.publish(**alert.publish_arguments(self._topic_arn))
        logger.info("alert sent", extra={"subject": alert.subject})
        return str(response["MessageId"])


@dataclass
class Delivery:
    sent: int = 0
    complete: bool = True  # False: stopped at an alert another invocation is sending


def deliver(invocation: Invocation, alerts: Sequence[Owed]) -> Delivery:
    """Sends the owed alerts, oldest first.

    It skips an alert another invocation has sent meanwhile, and stops at one that another
    invocation is sending (the rest wait for the next check, to keep their order) and at an
    SNS failure, which it raises: the alert stays owed. An alert SNS refuses as it is goes out
    without its free text, or is set aside: it never holds back the ones after it.
    """
    table, delivery = invocation.table, Delivery()
    for owed in alerts:
        lease = table.take(owed.key, invocation.lease_until, invocation.now.timestamp())
        if lease is Refusal.GONE:
            continue
        if lease is Refusal.HELD:
            logger.info("another invocation is sending an owed alert")
            delivery.complete = False
            break
        try:
            published = _publish(invocation, owed, lease)
        except Exception:
            _give_back(invocation, lease)
            raise
        delivery.sent += published
        # A process that dies right here has sent the alert but still owes it: a later check
        # sends it again (docs/DELIVERY.md, "Delivery guarantees").
        if published and not table.apply(delete(lease)):
            logger.warning("an owed alert was taken over while it was being sent")
    return delivery


def _publish(invocation: Invocation, owed: Owed, lease: Lease) -> bool:
    """Publishes the alert, or its minimal form if SNS refuses it as it is; False when SNS
    refused both and the alert was set aside."""
    try:
        invocation.publisher.publish(owed.alert)
        return True
    except AwsCallError as refused:
        if refused.code not in _REFUSED_AS_IT_IS:
            raise
        logger.warning("SNS refused an alert as it is", extra={"error": str(refused)})
    try:
        invocation.publisher.publish(owed.alert.minimal())
        return True
    except AwsCallError as refused:
        if refused.code not in _REFUSED_AS_IT_IS:
            raise
        why = f"SNS refused it, with and without its free text: {refused}"
    invocation.table.set_aside(owed.key, owed.item, why, iso(invocation.now), lease)
    return False


def _give_back(invocation: Invocation, lease: Lease) -> None:
    """After a failed publish, so that the next check retries at once; the publish failure is
    what the invocation reports, so a failure here is only logged (the lease ends anyway)."""
    try:
        invocation.table.apply(give_back(lease))
    except MonitorError as error:
        logger.warning("could not give an owed alert's lease back", extra={"error": str(error)})
