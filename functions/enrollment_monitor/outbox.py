"""The delivery policy: owed alerts published to each sink (SNS, and EventBridge when events are
on), oldest first per sink, each under its lease, each once (``store.owed`` keeps the record,
``sns`` and ``events`` publish)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools import Logger

from enrollment_monitor.alerts import Alert
from enrollment_monitor.errors import AwsCallError, MonitorError
from enrollment_monitor.store.owed import EVENTS, SNS, Owed, OwedAlerts
from enrollment_monitor.store.table import Lease, Refusal

logger = Logger()

_NAMED = {SNS: "SNS", EVENTS: "EventBridge"}


class Publisher(Protocol):
    sink: str  # the sink it publishes to (store.owed's SNS or EVENTS)
    refused_as_it_is: frozenset[str]  # the error codes of an alert refused as it is

    def publish(self, alert: Alert) -> str: ...


class Publishers:
    """Every sink an alert goes to, SNS's first."""

    def __init__(self, *publishers: Publisher) -> None:
        self._by_sink = {publisher.sink: publisher for publisher in publishers}

    def to(self, sink: str) -> Publisher | None:
        """The sink's publisher; None: that sink is off (events turned off since it was owed)."""
        return self._by_sink.get(sink)

    def publish(self, alert: Alert) -> str:
        """Publishes to every sink at once, without the outbox (the test notification); SNS's
        message id."""
        ids = [publisher.publish(alert) for publisher in self._by_sink.values()]
        return ids[0]


@dataclass(frozen=True)
class Delivery:
    sent: int = 0  # alerts SNS accepted
    complete: bool = True  # False: stopped at an alert another invocation is sending
    set_aside: tuple[str, ...] = ()  # alerts a sink refused, with and without their free text
    events: int = 0  # events EventBridge accepted

    def then(self, later: Delivery) -> Delivery:
        """This delivery followed by ``later``."""
        return Delivery(
            self.sent + later.sent,
            self.complete and later.complete,
            self.set_aside + later.set_aside,
            self.events + later.events,
        )


def deliver(
    outbox: OwedAlerts, publishers: Publishers, alerts: Sequence[Owed], at: str
) -> Delivery:
    """Sends the owed alerts to each sink, oldest first: each sink on its own, so that one
    failing (an EventBridge outage) neither holds back nor sends again what the other owes.

    It skips an alert another invocation has sent meanwhile, and stops a sink at one that
    another invocation is sending (the rest wait for the next check, to keep their order) and
    at a failure, which it raises once every sink had its turn: the alert stays owed. An alert
    a sink refuses as it is goes out without its free text, or is set aside (``at``: when): it
    never holds back the ones after it. What a sink that is off owes is dropped."""
    delivery, failures = Delivery(), list[MonitorError]()
    for sink in dict.fromkeys(owed.sink for owed in alerts):
        owed_here = [owed for owed in alerts if owed.sink == sink]
        try:
            delivery = delivery.then(_deliver_to(outbox, publishers.to(sink), owed_here, at))
        except MonitorError as failure:
            failures.append(failure)
    if len(failures) > 1:
        raise MonitorError("; ".join(map(str, failures)))
    if failures:
        raise failures[0]
    return delivery


def _deliver_to(
    outbox: OwedAlerts, publisher: Publisher | None, alerts: Sequence[Owed], at: str
) -> Delivery:
    """``deliver``, for the alerts one sink owes (``publisher`` None: the sink is off)."""
    sent, set_aside = 0, list[str]()
    for owed in alerts:
        lease = outbox.take(owed)
        if lease is Refusal.GONE:
            continue
        if lease is Refusal.HELD:
            logger.info("another invocation is sending an owed alert", extra={"sink": owed.sink})
            return _delivered(owed.sink, sent, set_aside, complete=False)
        if publisher is None:
            logger.warning("dropped what a sink now off was owed", extra={"sink": owed.sink})
            outbox.sent(lease)
            continue
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
    return _delivered(alerts[0].sink if alerts else "", sent, set_aside)


def _delivered(sink: str, sent: int, set_aside: list[str], complete: bool = True) -> Delivery:
    if sink == EVENTS:
        return Delivery(0, complete, tuple(set_aside), events=sent)
    return Delivery(sent, complete, tuple(set_aside))


def _publish(publisher: Publisher, owed: Owed) -> str:
    """Publishes the alert, or its minimal form if the sink refuses it as it is; why the sink
    refused both ("": sent)."""
    try:
        publisher.publish(owed.alert)
        return ""
    except AwsCallError as refused:
        if refused.code not in publisher.refused_as_it_is:
            raise
        logger.warning("an alert was refused as it is", extra={"error": str(refused)})
    try:
        publisher.publish(owed.alert.minimal())
        return ""
    except AwsCallError as refused:
        if refused.code not in publisher.refused_as_it_is:
            raise
        return f"{_NAMED[publisher.sink]} refused it, with and without its free text: {refused}"


def _give_back(outbox: OwedAlerts, lease: Lease) -> None:
    """After a failed publish, so that the next check retries at once; the publish failure is
    what the invocation reports, so a failure here is only logged (the lease ends anyway)."""
    try:
        outbox.give_back(lease)
    except MonitorError as error:
        logger.warning("could not give an owed alert's lease back", extra={"error": str(error)})
