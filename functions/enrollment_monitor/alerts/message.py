"""An alert as SNS publishes it, as EventBridge receives it, and as the outbox keeps it while it
is owed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# SNS counts the message, the subject and the attributes against its limit of 256 KiB.
SNS_MESSAGE_LIMIT = 262_144
# An owed alert waits in one DynamoDB item (400 KB at most, keys and names included) as JSON,
# which escapes the message's quotes once more.
STORED_ALERT_LIMIT = 390_000
_ATTRIBUTE_TYPE = "String"
_ATTRIBUTES = {"eventType", "status", "accountId", "region"}  # every alert has these
# EventBridge counts an entry's Time as 14 bytes, and Source, DetailType, Detail and each of its
# Resources in UTF-8, against 256 KB ("Calculating PutEvents event entry size").
EVENT_ENTRY_LIMIT = 262_144
_EVENT_TIME_SIZE = 14
EVENT_SOURCE = "enrollment-monitor"
# Each alert's detail-type: stable, what an EventBridge rule matches (docs/ALERTS.md).
DETAIL_TYPES = {
    "EnrollmentStatusChanged": "Enrollment Status Changed",
    "EnrollmentReminder": "Enrollment Reminder",
    "MemberEnrollmentChanged": "Member Enrollment Changed",
    "MemberOptInsDecreased": "Member Opt-Ins Decreased",
    "TestNotification": "Test Notification",
}


@dataclass(frozen=True)
class Alert:
    """The SNS Publish arguments of one alert, except the topic. Kept as JSON while pending."""

    subject: str
    message: str
    attributes: dict[str, str]

    def publish_size(self) -> int:
        """The bytes SNS counts against its message size limit: message, subject and
        attributes (name, data type and value), in UTF-8."""
        attributes = sum(
            len(name.encode()) + len(_ATTRIBUTE_TYPE) + len(value.encode())
            for name, value in self.attributes.items()
        )
        return len(self.message.encode()) + len(self.subject.encode()) + attributes

    def publish_arguments(self, topic_arn: str) -> dict[str, Any]:
        return {
            "TopicArn": topic_arn,
            "Subject": self.subject,
            "Message": self.message,
            "MessageStructure": "json",
            "MessageAttributes": {
                name: {"DataType": _ATTRIBUTE_TYPE, "StringValue": value}
                for name, value in self.attributes.items()
            },
        }

    def event_entry(self) -> dict[str, Any]:
        """The alert as one PutEvents entry on the default bus: its machine document as the
        detail, at the time it was observed."""
        detail = _document(self.message)
        entry: dict[str, Any] = {
            "Source": EVENT_SOURCE,
            "DetailType": DETAIL_TYPES[detail["eventType"]],
            "Detail": json.dumps(detail),
            "Resources": [],
        }
        if "observedAt" in detail:
            entry["Time"] = datetime.fromisoformat(detail["observedAt"])
        return entry

    def event_size(self) -> int:
        """The bytes EventBridge counts against its entry size limit."""
        entry = self.event_entry()
        sized = (entry["Source"], entry["DetailType"], entry["Detail"], *entry["Resources"])
        return sum(len(text.encode()) for text in sized) + _EVENT_TIME_SIZE * ("Time" in entry)

    def fits(self) -> bool:
        """Whether SNS and EventBridge take it and the outbox item holds it."""
        return (
            self.publish_size() <= SNS_MESSAGE_LIMIT
            and self.event_size() <= EVENT_ENTRY_LIMIT
            and len(self.to_json().encode()) <= STORED_ALERT_LIMIT
        )

    def minimal(self) -> Alert:
        """The alert without free text, for one that SNS refused as it was: the subject, the
        attributes and the machine document (for every protocol), text from the API left out."""
        message = json.dumps({"default": json.dumps(_without_text(_document(self.message)))})
        return Alert(self.subject, message, self.attributes)

    def to_json(self) -> str:
        return json.dumps(
            {"subject": self.subject, "message": self.message, "attributes": self.attributes}
        )

    @classmethod
    def from_json(cls, text: str) -> Alert:
        """The alert as ``to_json`` kept it; ValueError if it is not one (a hand edit)."""
        stored = json.loads(text)
        alert = cls(stored["subject"], stored["message"], stored["attributes"])
        attributes = alert.attributes
        if not (
            isinstance(alert.subject, str)
            and isinstance(alert.message, str)
            and isinstance(attributes, dict)
            and all(isinstance(v, str) for v in (*attributes, *attributes.values()))
            and attributes.keys() >= _ATTRIBUTES
            and isinstance(_document(alert.message), dict)
        ):
            raise ValueError("not an alert as the monitor stores it")
        alert.event_entry()  # KeyError, TypeError, ValueError: not an event the monitor makes
        return alert


def _document(message: str) -> Any:
    """The machine document of an SNS message of ``MessageStructure`` json."""
    renderings = json.loads(message)
    return json.loads(renderings["default"]) if isinstance(renderings, dict) else None


def _without_text(value: Any) -> Any:
    """``value`` with every ``statusReason`` emptied, at any depth."""
    if isinstance(value, dict):
        return {k: None if k == "statusReason" else _without_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_text(item) for item in value]
    return value
