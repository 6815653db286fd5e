"""The alert that fewer member accounts are opted in than at the last check (or that members
are no longer enrolled), with member tracking or without."""

from __future__ import annotations

from datetime import datetime

from enrollment_monitor.alerts.message import Alert
from enrollment_monitor.alerts.render import (
    AlertText,
    compose,
    document,
    member_figures,
    status_text,
    thread_id,
)
from enrollment_monitor.enrollment import Enrollment, WatchedSubject, iso, stamp

OPT_INS_DECREASED = "MemberOptInsDecreased"


def opt_ins_alert(
    where: WatchedSubject, previous: Enrollment, current: Enrollment, now: datetime
) -> Alert:
    before, after = previous.member_accounts_opted_in, current.member_accounts_opted_in
    counts = f"{before:,} -> {after:,}" if before is not None and after is not None else ""
    if before is not None and after is not None and after < before:
        headline = f"Fewer member accounts opted in to Compute Optimizer: {after:,}, was {before:,}"
        subject = f"Compute Optimizer: member accounts opted in {counts}"
    else:
        headline = "Member accounts are no longer enrolled in Compute Optimizer"
        subject = "Compute Optimizer: member accounts no longer enrolled" + (
            f", opted in {counts}" if counts else ""
        )
    status = status_text(current.status)
    text = AlertText(
        headline,
        meaning="Compute Optimizer analyses a member account only while it is opted in: "
        "the members that opted out get no recommendations, and their savings opportunities "
        f"go unnoticed. This account's own enrollment is {status}.",
        facts=[
            ("Account", f"{where.account_id} (the organization's view)"),
            ("Region", where.region),
            *member_figures(current, previous),
            ("Status", status),
            ("Observed at", iso(now)),
        ],
        steps=[
            "Find who opted out: turn member tracking on (the TrackMemberAccounts parameter) "
            "to be told each member's status, or open Account management on the Compute "
            "Optimizer console, which lists the organization's members.",
            "If nobody meant to opt them out, opt them in again from the management account: "
            "`aws compute-optimizer update-enrollment-status --status Active "
            "--include-member-accounts`.",
        ],
        thread=thread_id("opt-ins", where, stamp(now)),  # never an episode's thread
    )
    body = {"previous": _figures(previous), "current": _figures(current), "status": status}
    alert = compose(
        where, subject, text, document(OPT_INS_DECREASED, where, now, body), current.status, None
    )
    return alert if alert.fits() else alert.minimal()


def _figures(enrollment: Enrollment) -> dict[str, int | bool | None]:
    return {
        "numberOfMemberAccountsOptedIn": enrollment.member_accounts_opted_in,
        "memberAccountsEnrolled": enrollment.member_accounts_enrolled,
    }
