"""The account's own alerts: a change of enrollment status, and the reminder that a status
other than Active still stands."""

from __future__ import annotations

from datetime import datetime

from enrollment_monitor.alerts.message import Alert
from enrollment_monitor.alerts.render import (
    AlertText,
    api_text,
    compose,
    document,
    member_figures,
    short_status,
    status_text,
    thread_id,
)
from enrollment_monitor.enrollment import (
    AccountRegion,
    Decision,
    Enrollment,
    Observation,
    iso,
    stamp,
)

STATUS_CHANGED = "EnrollmentStatusChanged"
REMINDER = "EnrollmentReminder"
EVENT_TYPES = {Decision.CHANGED: STATUS_CHANGED, Decision.REMINDER: REMINDER}

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


def status_alert(
    where: AccountRegion,
    decision: Decision,
    previous: Observation | None,
    recorded: Observation,
    now: datetime,
) -> Alert:
    """The alert of ``decision`` (a change, or a reminder), from the observation ``previous``
    to the one ``recorded`` with it."""
    current = recorded.enrollment
    old = status_text(previous.enrollment.status) if previous else None
    new = status_text(current.status)
    if decision is Decision.REMINDER:
        headline = (
            f"Compute Optimizer enrollment is still {new} (since {iso(recorded.observed_at)})"
        )
        subject = f"Reminder: Compute Optimizer enrollment still {short_status(new)}"
    elif old is None:
        headline = f"Compute Optimizer enrollment is {new}"
        subject = f"Compute Optimizer enrollment is {short_status(new)}"
    else:
        headline = f"Compute Optimizer enrollment changed from {old} to {new}"
        subject = f"Compute Optimizer enrollment {short_status(old)} -> {short_status(new)}"
    facts = [
        ("Account", where.account_id),
        ("Region", where.region),
        ("Status", new if old is None or old == new else f"{new} (was {old})"),
        ("Reason", api_text(current.status_reason or "") or "none given"),
        ("Changed at", iso(current.last_updated) if current.last_updated else "not reported"),
        *member_figures(current, previous.enrollment if previous else None),
        ("Observed at", iso(now)),
    ]
    text = AlertText(
        headline,
        meaning=_WHAT_IT_MEANS.get(new, f"AWS reports the status {new!r}."),
        facts=facts,
        steps=_WHAT_TO_DO.get(new, _UNKNOWN_STATUS_TO_DO),
        thread=thread_id("enrollment", where, recorded.episode or stamp(now)),
    )
    body = {"previous": _observed(previous) if previous else None, "current": _shown(current)}
    attributes = (current.status, previous.enrollment.status if previous else None)
    alert = compose(
        where, subject, text, document(EVENT_TYPES[decision], where, now, body), *attributes
    )
    # The size check. Text from the API is cut, so only a freak status (a megabyte) is too
    # big: the subject, the attributes and the machine document still go out.
    return alert if alert.fits() else alert.minimal()


def _observed(observation: Observation) -> dict[str, object]:
    return {**_shown(observation.enrollment), "observedAt": iso(observation.observed_at)}


def _shown(enrollment: Enrollment) -> dict[str, object]:
    """The enrollment in the machine document, its status and reason as every rendering shows
    them."""
    reason = enrollment.status_reason
    return {
        **enrollment.to_dict(),
        "status": status_text(enrollment.status),
        "statusReason": api_text(reason) if reason else None,
    }
