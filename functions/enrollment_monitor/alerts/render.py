"""What every alert shares: its renderings, built from an ``AlertText``, in one SNS message.

``default`` is the machine document, ``email`` the text a person reads in a mail client and
``https`` an AWS Chatbot custom notification (Chatbot drops any other shape). The subject is
one line of printable ASCII under 100 characters, naming the account and the Region.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from enrollment_monitor.alerts.message import Alert
from enrollment_monitor.enrollment import Enrollment, WatchedSubject, iso
from enrollment_monitor.invisible import visible
from enrollment_monitor.settings import partition_of
from enrollment_monitor.subjects import service_of

SUBJECT_LIMIT = 99
API_TEXT_LIMIT = 300
# Characters that mean markup in Slack or Teams, as look-alikes that mean nothing there.
_CHAT_MARKUP = str.maketrans(
    {
        "*": "\u2217",
        "_": "\u02cd",
        "~": "\u223c",
        "`": "\u02b9",
        "<": "\u2039",
        ">": "\u203a",
        "|": "\u01c0",
        "&": "\uff06",
        "[": "\uff3b",
        "]": "\uff3d",
        "#": "\uff03",
    }
)
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]+")
# The opening colon of an emoji code (``:fire:``, ``:+1:``, ``:100:``), found with a lookahead so
# that chained codes are all caught; digits alone (a time, ``09:12:00``) are no code.
_EMOJI_CODE = re.compile(r":(?=([a-z0-9_+-]+):)")


@dataclass(frozen=True)
class AlertText:
    """What an alert says, before it is rendered for email and for chat. A listing (lines of
    text) goes after the facts: in the email before what it means, in the chat description."""

    headline: str
    meaning: str
    facts: list[tuple[str, str]]
    steps: list[str]
    thread: str  # the chat thread it belongs to (metadata.threadId)
    email_listing: Sequence[str] = ()
    chat_listing: Sequence[str] = ()
    damage: str | None = None  # what stops (or starts) with this change


# Each partition's console (the template's dashboard links say the same). An alert from another
# partition carries no link rather than a wrong one.
CONSOLE_HOSTS = {
    "aws": "console.aws.amazon.com",
    "aws-us-gov": "console.amazonaws-us-gov.com",
    "aws-cn": "console.amazonaws.cn",
}


def console_links(where: WatchedSubject) -> list[str]:
    """The console page of the subject's service in its Region's partition, if we know both."""
    host = CONSOLE_HOSTS.get(partition_of(where.region))
    page = service_of(where).console
    return [f"https://{host}/{page.format(region=where.region)}"] if host and page else []


def document(
    event_type: str, where: WatchedSubject, observed_at: datetime, body: dict[str, Any]
) -> dict[str, Any]:
    """The machine document (``default``): the fields every alert has, around ``body``."""
    return {
        "version": 1,
        "eventType": event_type,
        "accountId": where.account_id,
        "region": where.region,
        **body,
        "observedAt": iso(observed_at),
    }


def compose(
    where: WatchedSubject,
    subject: str,
    text: AlertText,
    document: dict[str, Any],
    status: str,
    previous_status: str | None,
) -> Alert:
    full_subject = _subject(subject, where)
    message = {
        "default": json.dumps(document),
        "email": _email(where, text),
        "https": json.dumps(_chatbot(where, full_subject, text, document, status)),
    }
    attributes = {
        "eventType": document["eventType"],
        "status": status_text(status),
        "accountId": where.account_id,
        "region": where.region,
        "service": where.service,
    }
    if previous_status:
        attributes["previousStatus"] = status_text(previous_status)
    return Alert(full_subject, json.dumps(message), attributes)


def api_text(text: str) -> str:
    """Text from the API as every rendering shows it: one line (control characters and line
    breaks become spaces), nothing invisible (``invisible.visible``), at most
    ``API_TEXT_LIMIT`` characters."""
    line = " ".join(visible(text).split())
    return line if len(line) <= API_TEXT_LIMIT else line[: API_TEXT_LIMIT - 1] + "\u2026"


def status_text(status: str) -> str:
    """A status as every rendering shows it and the message attributes carry it: as
    ``api_text`` shows it, never empty (SNS takes no empty attribute value)."""
    return api_text(status) or "?"


def chat_safe(text: str) -> str:
    """Text that chat shows as it is: its markup characters neutralised, and emoji codes
    (``:fire:``) broken by a zero-width space."""
    broken = _EMOJI_CODE.sub(lambda m: ":" if _time_part(m[1]) else ":\u200b", text)
    return broken.translate(_CHAT_MARKUP)


def _time_part(token: str) -> bool:
    return token.isdigit() and len(token) <= 2


def _email(where: WatchedSubject, text: AlertText) -> str:
    width = max(len(label) for label, _ in text.facts) + 2
    lines = [text.headline, "=" * len(text.headline), ""]
    lines += [f"{label + ':':<{width}}{value}" for label, value in text.facts]
    if text.email_listing:
        lines += ["", *text.email_listing]
    lines += ["", "What it means", textwrap.fill(text.meaning, 78)]
    if text.damage:
        lines += ["", "What stops", textwrap.fill(text.damage, 78)]
    lines += ["", "What to do"]
    lines += [
        textwrap.fill(step, 78, initial_indent="- ", subsequent_indent="  ") for step in text.steps
    ]
    for link in console_links(where):
        lines += ["", f"{service_of(where).name} console", link]
    lines += [""]
    lines += ["-- ", "Sent by enrollment-monitor, which checks the enrollment on a schedule."]
    return "\n".join(lines)


def _chatbot(
    where: WatchedSubject, subject: str, text: AlertText, document: dict[str, Any], status: str
) -> dict[str, Any]:
    """An AWS Chatbot custom notification that Slack and Teams both render as meant: plain
    text and plain URLs, no emoji codes, nothing whose meaning hangs on bold or italics."""
    facts = [f"{label}: {chat_safe(value)}" for label, value in text.facts]
    damage = [f"What stops: {chat_safe(text.damage)}"] if text.damage else []
    return {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": chat_safe(text.headline),
            "description": "\n".join(
                [chat_safe(text.meaning), *damage, *facts, *text.chat_listing]
            ),
            "nextSteps": [
                *text.steps,
                *(f"{service_of(where).name} console: {link}" for link in console_links(where)),
            ],
            "keywords": [chat_safe(api_text(status)), where.region],
        },
        "metadata": {
            "threadId": text.thread,
            "summary": chat_safe(subject),
            "eventType": document["eventType"],
            "additionalContext": {"accountId": where.account_id, "region": where.region},
        },
    }


def member_figures(
    current: Enrollment, previous: Enrollment | None = None
) -> list[tuple[str, str]]:
    """The facts on member accounts, when the API returns them: how many are opted in and
    whether they are enrolled, each with its earlier value if it changed."""
    before = previous.figures if previous else (None, None)
    facts = []
    labels = ("Members opted in", "Members enrolled")
    for label, now, was in zip(labels, current.figures, before, strict=True):
        if now is None:
            continue
        shown = _yes_no(now)
        facts.append((label, shown if was in (None, now) else f"{shown} (was {_yes_no(was)})"))
    return facts


def _yes_no(value: bool | int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:,}"


def thread_id(kind: str, where: WatchedSubject, stamp: str) -> str:
    """A chat thread: one per episode, test notification or member alert."""
    return f"{where.service}-{kind}-{where.account_id}-{where.region}-{stamp}"


def short_status(status: str) -> str:
    """A status as it may appear in a subject: printable ASCII, one line, bounded."""
    return _NOT_PRINTABLE.sub(" ", api_text(status)).strip()[:20] or "?"


def _subject(subject: str, where: WatchedSubject) -> str:
    """One line of printable ASCII under 100 characters; cut in the middle if it must be, so
    the account and the Region at its end always stay."""
    where_ = _NOT_PRINTABLE.sub(" ", f" ({where.account_id}, {where.region})")
    text, room = _NOT_PRINTABLE.sub(" ", subject), SUBJECT_LIMIT - len(where_)
    if len(text) > room:
        head = (room - 3 + 1) // 2
        text = f"{text[:head]}...{text[len(text) - (room - 3 - head) :]}"
    return text + where_
