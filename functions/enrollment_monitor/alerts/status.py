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
    Decision,
    Enrollment,
    Observation,
    WatchedSubject,
    iso,
    stamp,
)
from enrollment_monitor.subjects import service_of

STATUS_CHANGED = "EnrollmentStatusChanged"
REMINDER = "EnrollmentReminder"
EVENT_TYPES = {Decision.CHANGED: STATUS_CHANGED, Decision.REMINDER: REMINDER}


def status_alert(
    where: WatchedSubject,
    decision: Decision,
    previous: Observation | None,
    recorded: Observation,
    now: datetime,
) -> Alert:
    """The alert of ``decision`` (a change, or a reminder), from the observation ``previous``
    to the one ``recorded`` with it."""
    service = service_of(where)
    current = recorded.enrollment
    before = previous.enrollment if previous else None
    old = status_text(before.status) if before else None
    new = status_text(current.status)
    watched = service.watched
    moved = before is not None and current.moved_from(before)
    if decision is Decision.REMINDER:
        headline = f"{watched} is still {_held(current)} (since {iso(recorded.observed_at)})"
        subject = f"Reminder: {watched} still {short_status(new)}"
    elif before is None:
        headline = f"{watched} is {_held(current)}"
        subject = f"{watched} is {short_status(new)}"
    else:
        headline = f"{watched} changed from {_held(before)} to {_held(current)}"
        # A move keeps the status: its subject names the accounts instead.
        shown = _holders if moved else _short_status
        subject = f"{watched} {shown(before)} -> {shown(current)}"
    damage = service.damage_of(current.status, moved)
    facts = [
        ("Account", where.account_id),
        ("Region", where.region),
        ("Status", new if old is None or old == new else f"{new} (was {old})"),
        *_held_by(current, before),
        ("Reason", api_text(current.status_reason or "") or "none given"),
        ("Changed at", iso(current.last_updated) if current.last_updated else "not reported"),
        *member_figures(current, before),
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


def _held(enrollment: Enrollment) -> str:
    """The status as a headline shows it, naming the accounts that hold it, if any:
    ``Registered (account 111111111111)``."""
    status = status_text(enrollment.status)
    if not enrollment.holders:
        return status
    return f"{status} (account{'s' * (len(enrollment.holders) > 1)} {_holders(enrollment)})"


def _short_status(enrollment: Enrollment) -> str:
    return short_status(status_text(enrollment.status))


def _holders(enrollment: Enrollment) -> str:
    return ", ".join(enrollment.holders or ()) or "none"


def _held_by(current: Enrollment, before: Enrollment | None) -> list[tuple[str, str]]:
    """The fact naming the accounts that hold the status, with the former ones if they
    changed; none for a subject without holders."""
    if current.holders is None:
        return []
    if before is None or before.holders == current.holders:
        return [("Held by", _holders(current))]
    if before.holders is None:  # recorded before holders were kept: its reason named them
        was = api_text(before.status_reason or "") or "not recorded"
        return [("Held by", f"{_holders(current)} (before: {was})")]
    return [("Held by", f"{_holders(current)} (was {_holders(before)})")]
