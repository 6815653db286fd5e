"""Puts alerts on the account's default EventBridge bus, one event each."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from enrollment_monitor.alerts import Alert
from enrollment_monitor.errors import NOT_AWS, AwsCallError, calling
from enrollment_monitor.parse import required
from enrollment_monitor.store.owed import EVENTS

logger = Logger()

PUT_EVENTS = "events:PutEvents"


class Publisher:
    """Puts each alert as one entry on the default bus of ``client``'s Region (the function's).

    PutEvents answers 200 even when it refuses the entry, with ``FailedEntryCount`` and the
    entry's ``ErrorCode``: that is a failed call, raised as any other, so the alert stays owed.
    """

    sink = EVENTS
    # The entry itself is refused (the API reference's non-retryable entry errors that name
    # the entry, not the caller's permissions): putting it again as it is cannot help.
    refused_as_it_is = frozenset({"InvalidArgument", "MalformedDetail"})

    def __init__(self, client: Any) -> None:
        self._client = client

    def publish(self, alert: Alert) -> str:
        region = self._client.meta.region_name
        entry = alert.event_entry()
        with calling(PUT_EVENTS, region):
            entries = required(self._client.put_events(Entries=[entry]), "Entries")
        answered = entries[0] if isinstance(entries, list) and entries else {}
        if not isinstance(answered, dict) or not answered.get("EventId"):
            said = answered if isinstance(answered, dict) else {}
            code = said.get("ErrorCode") or NOT_AWS
            detail = said.get("ErrorMessage") or f"the entry was not put: {entries!r:.200}"
            raise AwsCallError(PUT_EVENTS, region, str(code), str(detail))
        logger.info("event put", extra={"detailType": entry["DetailType"]})
        return str(answered["EventId"])
