"""A watched subject's alerts: a change of status, and the reminder that a status other than
Active still stands. What each says of its service (what a status means, what to do, the
damage) comes from the service's facts (``subjects``): nothing here branches on it."""

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
from enrollment_monitor.subjects import service_of

STATUS_CHANGED = "EnrollmentStatusChanged"
REMINDER = "EnrollmentReminder"
EVENT_TYPES = {Decision.CHANGED: STATUS_CHANGED, Decision.REMINDER: REMINDER}


def status_alert(
    where: AccountRegion,
    decision: Decision,
    previous: Observation | None,
    recorded: Observation,
    now: datetime,
) -> Alert:
    """The alert of ``decision`` (a change, or a reminder), from the observation ``previous``
    to the one ``recorded`` with it."""
    service = service_of(where)
    current = recorded.enrollment
    old = status_text(previous.enrollment.status) if previous else None
    new = status_text(current.status)
    watched = service.watched
    if decision is Decision.REMINDER:
        headline = f"{watched} is still {new} (since {iso(recorded.observed_at)})"
        subject = f"Reminder: {watched} still {short_status(new)}"
    elif old is None:
        headline = f"{watched} is {new}"
        subject = f"{watched} is {short_status(new)}"
    else:
        headline = f"{watched} changed from {old} to {new}"
        subject = f"{watched} {short_status(old)} -> {short_status(new)}"
    damage = service.damage_of(current.status)
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
        meaning=service.meaning.get(new, f"AWS reports the status {new!r}."),
        facts=facts,
        steps=list(service.steps_for(new)),
        thread=thread_id("enrollment", where, recorded.episode or stamp(now)),
        damage=damage,
    )
    body = {
        "service": service.id,
        "scope": service.scope,
        "previous": _observed(previous) if previous else None,
        "current": _shown(current),
        "damage": damage,
    }
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
