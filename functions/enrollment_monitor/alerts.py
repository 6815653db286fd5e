"""Alerts as people and machines receive them: one SNS message with three renderings.

``default`` is the machine document, ``email`` the text a person reads in a mail client and
``https`` an AWS Chatbot custom notification (Chatbot drops any other shape).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from enrollment_monitor.enrollment import ACTIVE, AccountRegion, Enrollment, Observation, iso

STATUS_CHANGED = "EnrollmentStatusChanged"
REMINDER = "EnrollmentReminder"
TEST_NOTIFICATION = "TestNotification"

SUBJECT_LIMIT = 99
_ATTRIBUTE_TYPE = "String"
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]+")

_WHAT_IT_MEANS = {
    "Active": "Compute Optimizer analyses this account's resources and keeps its "
    "recommendations up to date.",
    "Inactive": "Compute Optimizer does not analyse this account: no new recommendations are "
    "made and savings opportunities go unnoticed.",
    "Pending": "Compute Optimizer is still processing the enrollment; for an organization, "
    "member accounts can take longer to be enrolled.",
    "Failed": "The enrollment failed: Compute Optimizer does not analyse this account.",
}
_WHAT_TO_DO = {
    "Active": ["Nothing: this is the healthy state."],
    "Inactive": [
        "If nobody meant to opt out, opt in again on the Compute Optimizer console or with "
        "`aws compute-optimizer update-enrollment-status --status Active`.",
        "Look up UpdateEnrollmentStatus in CloudTrail to see who changed it.",
    ],
    "Pending": [
        "Usually nothing: the monitor alerts again when the status settles.",
        "If it stays Pending for more than a day, read the reason and contact AWS Support.",
    ],
    "Failed": [
        "Read the reason above.",
        "Check that the service-linked role AWSServiceRoleForComputeOptimizer exists, "
        "then opt in again on the Compute Optimizer console.",
    ],
}
_UNKNOWN_STATUS_TO_DO = [
    "AWS reported a status this monitor does not know; it is treated as not Active.",
    "Check the enrollment on the Compute Optimizer console.",
]


@dataclass(frozen=True)
class Alert:
    """The SNS Publish arguments of one alert, except the topic. Kept as JSON while pending."""

    subject: str
    message: str
    attributes: dict[str, str]

    @property
    def event_type(self) -> str:
        return self.attributes["eventType"]

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

    def to_json(self) -> str:
        return json.dumps(
            {"subject": self.subject, "message": self.message, "attributes": self.attributes}
        )

    @classmethod
    def from_json(cls, text: str) -> Alert:
        stored = json.loads(text)
        return cls(stored["subject"], stored["message"], stored["attributes"])


@dataclass(frozen=True)
class AlertText:
    """What an alert says, before it is rendered for email and for chat. A listing (lines of
    text) goes after the facts: in the email before what it means, in the chat description."""

    headline: str
    meaning: str
    facts: list[tuple[str, str]]
    steps: list[str]
    email_listing: Sequence[str] = ()
    chat_listing: Sequence[str] = ()


def console_url(region: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/compute-optimizer/home?region={region}#/settings"
    )


def status_alert(
    where: AccountRegion,
    previous: Observation | None,
    current: Enrollment,
    observed_at: datetime,
    event_type: str = STATUS_CHANGED,
) -> Alert:
    """A change of status (or, with ``REMINDER``, a status that stays not Active)."""
    old = previous.enrollment.status if previous else None
    new = current.status
    if event_type == REMINDER:
        since = previous.observed_at if previous else observed_at
        headline = f"Compute Optimizer enrollment is still {new} (since {iso(since)})"
        subject = f"Reminder: Compute Optimizer enrollment still {short_status(new)}"
    elif old is None:
        headline = f"Compute Optimizer enrollment is {new}"
        subject = f"Compute Optimizer enrollment is {short_status(new)}"
    else:
        headline = f"Compute Optimizer enrollment changed from {old} to {new}"
        subject = f"Compute Optimizer enrollment {short_status(old)} -> {short_status(new)}"
    steps = _WHAT_TO_DO.get(new, _UNKNOWN_STATUS_TO_DO)
    meaning = _WHAT_IT_MEANS.get(new, f"AWS reports the status {new!r}.")
    facts = [
        ("Account", where.account_id),
        ("Region", where.region),
        ("Status", new if old is None or old == new else f"{new} (was {old})"),
        ("Reason", current.status_reason or "none given"),
        ("Changed at", iso(current.last_updated) if current.last_updated else "not reported"),
        ("Observed at", iso(observed_at)),
    ]
    document = _document(event_type, where, previous, current, observed_at)
    return compose(where, subject, AlertText(headline, meaning, facts, steps), document, new, old)


def alert_for_test_notification(where: AccountRegion, observed_at: datetime) -> Alert:
    """A clearly labelled message that proves the subscriptions work. It reports no change."""
    headline = "Test notification from the Compute Optimizer enrollment monitor"
    meaning = (
        "This is a test. The monitor is deployed and can reach this topic: "
        "you will get alerts like this one when the enrollment changes."
    )
    facts = [
        ("Account", where.account_id),
        ("Region", where.region),
        ("Sent at", iso(observed_at)),
    ]
    document = _document(TEST_NOTIFICATION, where, None, None, observed_at)
    subject = "Test: Compute Optimizer enrollment monitor"
    steps = ["Nothing: no action is needed for a test notification."]
    return compose(
        where, subject, AlertText(headline, meaning, facts, steps), document, "Test", None
    )


def _document(
    event_type: str,
    where: AccountRegion,
    previous: Observation | None,
    current: Enrollment | None,
    observed_at: datetime,
) -> dict[str, Any]:
    return {
        "version": 1,
        "eventType": event_type,
        "accountId": where.account_id,
        "region": where.region,
        "previous": _observed(previous) if previous else None,
        "current": current.to_dict() if current else None,
        "observedAt": iso(observed_at),
    }


def _observed(observation: Observation) -> dict[str, Any]:
    return {**observation.enrollment.to_dict(), "observedAt": iso(observation.observed_at)}


def compose(
    where: AccountRegion,
    subject: str,
    text: AlertText,
    document: dict[str, Any],
    status: str,
    previous_status: str | None,
) -> Alert:
    full_subject = _subject(f"{subject} ({where.account_id}, {where.region})")
    message = {
        "default": json.dumps(document),
        "email": _email(where, text),
        "https": json.dumps(_chatbot(where, full_subject, text, document, status)),
    }
    attributes = {
        "eventType": document["eventType"],
        "status": status,
        "accountId": where.account_id,
        "region": where.region,
    }
    if previous_status:
        attributes["previousStatus"] = previous_status
    return Alert(full_subject, json.dumps(message), attributes)


def _email(where: AccountRegion, text: AlertText) -> str:
    width = max(len(label) for label, _ in text.facts) + 2
    lines = [text.headline, "=" * len(text.headline), ""]
    lines += [f"{label + ':':<{width}}{value}" for label, value in text.facts]
    if text.email_listing:
        lines += ["", *text.email_listing]
    lines += ["", "What it means", textwrap.fill(text.meaning, 78), "", "What to do"]
    lines += [
        textwrap.fill(step, 78, initial_indent="- ", subsequent_indent="  ") for step in text.steps
    ]
    lines += ["", "Compute Optimizer console", console_url(where.region), ""]
    lines += ["-- ", "Sent by enrollment-monitor, which checks the enrollment on a schedule."]
    return "\n".join(lines)


def _chatbot(
    where: AccountRegion, subject: str, text: AlertText, document: dict[str, Any], status: str
) -> dict[str, Any]:
    details = "\n".join(
        [*(f"*{label}:* {value}" for label, value in text.facts), *text.chat_listing]
    )
    return {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": f":{_emoji(document['eventType'], status)}: {text.headline}",
            "description": f"{text.meaning}\n{details}",
            "nextSteps": [
                *text.steps,
                f"<{console_url(where.region)}|Open the Compute Optimizer console>",
            ],
        },
        "metadata": {
            "threadId": f"compute-optimizer-enrollment-{where.account_id}-{where.region}",
            "summary": subject,
            "eventType": document["eventType"],
            "additionalContext": {"accountId": where.account_id, "region": where.region},
        },
    }


def _emoji(event_type: str, status: str) -> str:
    if event_type == TEST_NOTIFICATION:
        return "information_source"
    return "white_check_mark" if status == ACTIVE else "warning"


def short_status(status: str) -> str:
    """A status as it may appear in a subject: printable ASCII, one line, bounded."""
    return _NOT_PRINTABLE.sub(" ", status).strip()[:20] or "?"


def _subject(text: str) -> str:
    text = _NOT_PRINTABLE.sub(" ", text)
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."
