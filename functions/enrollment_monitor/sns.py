"""Publishes to SNS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from enrollment_monitor.alerts import Alert
from enrollment_monitor.errors import calling
from enrollment_monitor.store.owed import SNS

logger = Logger()


class Publisher:
    """Publishes to the topic in its own Region. ``client`` makes the SNS client of a Region on
    first use: a check that sends nothing never creates it (milliseconds of a cold start)."""

    sink = SNS
    # SNS refuses the message itself (too long, say): sending it again as it is cannot help.
    refused_as_it_is = frozenset({"InvalidParameter", "ParameterValueInvalid"})

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
