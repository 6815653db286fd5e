"""The one alert of a check in which organization members changed enrollment.

Members are grouped by their new status, most severe first (Failed, Inactive, a status this
monitor does not know, Pending, Active, then the members that left the organization), in the
email, the chat text and the machine document alike. The whole SNS message stays under SNS's
256 KB: when the list is too long, the alert lists the first members, in that order, says how
many it leaves out, and still counts every change per group.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from enrollment_monitor.alerts.message import Alert
from enrollment_monitor.alerts.render import (
    AlertText,
    api_text,
    chat_safe,
    compose,
    document,
    short_status,
    status_text,
    thread_id,
)
from enrollment_monitor.enrollment import KNOWN_STATUSES, WatchedSubject, iso, stamp
from enrollment_monitor.member_diff import REMOVED, ChangeList, MemberChange

MEMBERS_CHANGED = "MemberEnrollmentChanged"
# A chat message is for attention, not for reading a thousand account ids.
CHAT_LISTED = 20

_SEVERITY = {"Failed": 0, "Inactive": 1, "Pending": 3, "Active": 4, REMOVED: 5}
_UNKNOWN_SEVERITY = 2


def _groups(changes: ChangeList) -> list[str]:
    """The groups of changes, most severe first."""
    return sorted(changes.counts, key=lambda g: (_SEVERITY.get(g, _UNKNOWN_SEVERITY), g))


def member_alert(
    where: WatchedSubject,
    changes: ChangeList,
    members: Mapping[str, int],
    observed_at: datetime,
) -> Alert:
    """The alert listing as many changes as SNS and the owed-alert item can hold.

    ``members`` counts every member of the organization per status (for context)."""
    listed = [change for group in _groups(changes) for change in changes.kept[group]]

    def render(count: int) -> Alert:
        return _render(where, changes, listed[:count], members, observed_at)

    alert = render(len(listed))
    if alert.fits():
        return alert
    fits, too_many = 0, len(listed)  # render(0) always fits: it is a few KB
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        if render(middle).fits():
            fits = middle
        else:
            too_many = middle
    return render(fits)


def _render(
    where: WatchedSubject,
    changes: ChangeList,
    listed: Sequence[MemberChange],
    members: Mapping[str, int],
    observed_at: datetime,
) -> Alert:
    total = len(changes)
    groups = _groups(changes)
    worst = groups[0]
    body = {
        "changeCount": total,
        "changesByStatus": _as_shown((group, changes.counts[group]) for group in groups),
        "truncated": len(listed) < total,
        "changes": [_change_document(change) for change in listed],
        "memberCounts": _member_counts(members),
    }
    plural = "s" if total != 1 else ""
    text = AlertText(
        headline=f"Compute Optimizer enrollment changed for {total:,} member account{plural}",
        meaning="Compute Optimizer analyses a member account's resources only while the "
        "member is Active: Inactive and Failed members get no new recommendations, Pending "
        "ones are still being enrolled.",
        facts=[
            ("Account", f"{where.account_id} (reads the organization)"),
            ("Region", where.region),
            ("Changed", f"{total:,} member account{plural}"),
            (
                "Members now",
                ", ".join(f"{s} {n:,}" for s, n in _member_counts(members).items()),
            ),
            ("Observed at", iso(observed_at)),
        ],
        steps=_steps(set(groups)),
        thread=thread_id("members", where, stamp(observed_at)),  # never an episode's thread
        email_listing=_email_listing(changes, listed),
        chat_listing=_chat_listing(changes, listed),
    )
    subject = _subject(changes, listed, worst)
    return compose(
        where, subject, text, document(MEMBERS_CHANGED, where, observed_at, body), worst, None
    )


def _change_document(change: MemberChange) -> dict[str, str | None]:
    return {
        "accountId": change.account_id,
        "previous": status_text(change.previous) if change.previous else None,
        "current": status_text(change.current) if change.current else None,
        "statusReason": api_text(change.status_reason) if change.status_reason else None,
        "lastUpdatedTimestamp": iso(change.last_updated) if change.last_updated else None,
    }


def _member_counts(members: Mapping[str, int]) -> dict[str, int]:
    """The four known statuses always, then any status AWS added, as counted (and shown)."""
    known = [(status, members.get(status, 0)) for status in KNOWN_STATUSES]
    return _as_shown([*known, *((s, n) for s, n in members.items() if s not in KNOWN_STATUSES)])


def _as_shown(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Counts per status as shown (``status_text``): statuses that differ only by characters
    no rendering shows are counted together, in the order first met."""
    shown: dict[str, int] = {}
    for status, count in counts:
        key = status_text(status)
        shown[key] = shown.get(key, 0) + count
    return shown


def _subject(changes: ChangeList, listed: Sequence[MemberChange], worst: str) -> str:
    total = len(changes)
    if total == 1 and listed:
        (change,) = listed
        if change.current is None:
            return f"Compute Optimizer: member {change.account_id} left the organization"
        if change.previous is None:
            return (
                f"Compute Optimizer: new member {change.account_id} is "
                f"{short_status(change.current)}"
            )
        return (
            f"Compute Optimizer member {change.account_id} "
            f"{short_status(change.previous)} -> {short_status(change.current)}"
        )
    worst_count = f"{changes.counts[worst]:,}"
    outcome = "left" if worst == REMOVED else f"now {short_status(worst)}"
    return f"Compute Optimizer: {total:,} member enrollments changed, {worst_count} {outcome}"


def _title(group: str) -> str:
    return "Left the organization" if group == REMOVED else f"Now {status_text(group)}"


def _was(change: MemberChange) -> str:
    return "new member" if change.previous is None else f"was {status_text(change.previous)}"


def _email_listing(changes: ChangeList, listed: Sequence[MemberChange]) -> list[str]:
    lines: list[str] = []
    if len(listed) < len(changes):
        note = (
            f"This alert lists {len(listed):,} of the {len(changes):,} changes: an SNS message "
            "holds 256 KB at most. Every group below still counts all its members; the "
            "Compute Optimizer console (Account management) lists them all."
        )
        lines += [*textwrap.wrap(note, 78), ""]
    by_group = _by_group(listed)
    for group in _groups(changes):
        shown, count = by_group.get(group, []), changes.counts[group]
        more = "" if len(shown) == count else f" ({len(shown):,} listed)"
        lines += [f"{_title(group)}: {count:,}{more}"]
        for change in shown:
            line = f"- {api_text(change.account_id)}  {_was(change)}"
            if change.status_reason:
                line += f": {api_text(change.status_reason)}"
            lines += textwrap.wrap(line, 78, subsequent_indent="    ")
        lines.append("")
    return lines[:-1]


def _chat_listing(changes: ChangeList, listed: Sequence[MemberChange]) -> list[str]:
    lines, room = [], CHAT_LISTED
    by_group = _by_group(listed)
    for group in _groups(changes):
        lines.append(f"{chat_safe(_title(group))} ({changes.counts[group]:,})")
        for change in by_group.get(group, [])[: max(room, 0)]:
            reason = (
                f": {chat_safe(api_text(change.status_reason))}" if change.status_reason else ""
            )
            lines.append(chat_safe(f"{api_text(change.account_id)} {_was(change)}") + reason)
        room -= len(by_group.get(group, []))
    if room < 0 or len(listed) < len(changes):
        lines.append(f"Only the first {min(CHAT_LISTED, len(listed))} are shown: see the email.")
    return lines


def _by_group(listed: Sequence[MemberChange]) -> dict[str, list[MemberChange]]:
    grouped: dict[str, list[MemberChange]] = {}
    for change in listed:
        grouped.setdefault(change.group, []).append(change)
    return grouped


def _steps(groups: set[str]) -> list[str]:
    steps = []
    not_active = {g for g in groups if g not in ("Active", "Pending", REMOVED)}
    if not_active:
        steps.append(
            "If nobody meant to opt these members out, opt them in again from the management "
            "account or the delegated administrator: Compute Optimizer console, Account "
            "management, or `aws compute-optimizer update-enrollment-status --status Active "
            "--include-member-accounts` in the management account."
        )
    if "Inactive" in groups:
        steps.append("Look up UpdateEnrollmentStatus in CloudTrail to see who changed it.")
    if "Failed" in groups:
        steps.append(
            "For Failed members, read the reason and check that the service-linked role "
            "AWSServiceRoleForComputeOptimizer exists in the member account."
        )
    if not_active - set(_SEVERITY):
        steps.append(
            "AWS reported a status this monitor does not know; it is treated as not Active."
        )
    if "Pending" in groups:
        steps.append("Pending usually settles: the monitor reports the members again then.")
    if REMOVED in groups:
        steps.append(
            "Members that left the organization are no longer listed by Compute Optimizer: "
            "nothing to do if that was intended."
        )
    return steps or ["Nothing: these members are analysed by Compute Optimizer."]
