"""The delivery policy: owed alerts published to SNS, oldest first, each under its lease, each
once (``store.owed`` keeps the record, ``sns`` publishes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from enrollment_monitor.errors import AwsCallError, MonitorError
from enrollment_monitor.sns import Publisher
from enrollment_monitor.store.owed import Owed, OwedAlerts
from enrollment_monitor.store.table import Lease, Refusal

logger = Logger()

# SNS refuses the message itself (too long, say): sending it again as it is cannot help.
_REFUSED_AS_IT_IS = {"InvalidParameter", "ParameterValueInvalid"}


@dataclass(frozen=True)
class Delivery:
    sent: int = 0
    complete: bool = True  # False: stopped at an alert another invocation is sending
    set_aside: tuple[str, ...] = ()  # alerts SNS refused, with and without their free text

    def then(self, later: Delivery) -> Delivery:
        """This delivery followed by ``later``."""
        return Delivery(self.sent + later.sent, later.complete, self.set_aside + later.set_aside)


def deliver(outbox: OwedAlerts, publisher: Publisher, alerts: Sequence[Owed], at: str) -> Delivery:
    """Sends the owed alerts, oldest first.

    It skips an alert another invocation has sent meanwhile, and stops at one that another
    invocation is sending (the rest wait for the next check, to keep their order) and at an
    SNS failure, which it raises: the alert stays owed. An alert SNS refuses as it is goes out
    without its free text, or is set aside (``at``: when): it never holds back the ones after it.
    """
    sent, set_aside = 0, list[str]()
    for owed in alerts:
        lease = outbox.take(owed)
        if lease is Refusal.GONE:
            continue
        if lease is Refusal.HELD:
            logger.info("another invocation is sending an owed alert")
            return Delivery(sent, complete=False, set_aside=tuple(set_aside))
        try:
            refusal = _publish(publisher, owed)
        except Exception:
            _give_back(outbox, lease)
            raise
        if refusal:
            set_aside.append(outbox.set_aside(owed, lease, refusal, at))
            continue
        sent += 1
        # A process that dies right here has sent the alert but still owes it: a later check
        # sends it again (docs/DELIVERY.md, "Delivery guarantees").
        if not outbox.sent(lease):
            logger.warning("an owed alert was taken over while it was being sent")
    return Delivery(sent, set_aside=tuple(set_aside))


def _publish(publisher: Publisher, owed: Owed) -> str:
    """Publishes the alert, or its minimal form if SNS refuses it as it is; why SNS refused
    both ("": sent)."""
    try:
        publisher.publish(owed.alert)
        return ""
    except AwsCallError as refused:
        if refused.code not in _REFUSED_AS_IT_IS:
            raise
        logger.warning("SNS refused an alert as it is", extra={"error": str(refused)})
    try:
        publisher.publish(owed.alert.minimal())
        return ""
    except AwsCallError as refused:
        if refused.code not in _REFUSED_AS_IT_IS:
            raise
        return f"SNS refused it, with and without its free text: {refused}"


def _give_back(outbox: OwedAlerts, lease: Lease) -> None:
    """After a failed publish, so that the next check retries at once; the publish failure is
    what the invocation reports, so a failure here is only logged (the lease ends anyway)."""
    try:
        outbox.give_back(lease)
    except MonitorError as error:
        logger.warning("could not give an owed alert's lease back", extra={"error": str(error)})
