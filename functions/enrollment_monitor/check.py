"""One invocation: check every watched subject, or send a test notification.

A subject is one service's enrollment in one scope (``subjects``): Compute Optimizer in each
watched Region, and what AlsoWatch adds. The subjects are checked at the same time, each in a
thread of its own: none waits for another, and one that fails or hangs (until its client's
timeouts cut it) stops no other. A subject's check reads the enrollment, decides
(``enrollment.decide``), records the new observation with the alert it owes
(``store.observations``) and delivers every owed alert, oldest first (``outbox``). Then, for
Compute Optimizer in the member listing Region, with member tracking, the members step owes its
own alert (``members``), which is delivered in turn. The metrics come last, once per check; the
heartbeat among them only when every subject's check completed.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger

from enrollment_monitor import metrics
from enrollment_monitor.alerts.message import Alert
from enrollment_monitor.clients import AwsClients
from enrollment_monitor.enrollment import (
    COMPUTE_OPTIMIZER,
    Decision,
    Observation,
    Outcome,
    WatchedSubject,
    decide,
    opt_ins_decreased,
    outcome_of,
    recorded_after,
)
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.invocation import Invocation
from enrollment_monitor.outbox import Delivery, deliver
from enrollment_monitor.parse import SHOWN_LIMIT
from enrollment_monitor.results import Checked, SubjectResult, TestSent
from enrollment_monitor.settings import Settings
from enrollment_monitor.store.observations import Stored
from enrollment_monitor.store.watched import WatchedSubjects
from enrollment_monitor.subjects import service_of, watched

logger = Logger()

CHECK_ACTION = "check"
TEST_NOTIFICATION_ACTION = "test-notification"
ACTIONS = (CHECK_ACTION, TEST_NOTIFICATION_ACTION)
_NOT_DONE = (Outcome.LOST_RACE, Outcome.DEFERRED)
_ALERTING = (Decision.CHANGED, Decision.REMINDER)


class UnknownAction(MonitorError):
    """The event asks for something the monitor does not do: nothing is checked or sent."""


class NotAnEvent(UnknownAction):
    """The payload is not a JSON object, so it asks for nothing: nothing is checked or sent."""


class CheckFailed(MonitorError):
    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("; ".join(failures))


def run(
    event: Any,
    settings: Settings,
    clients: AwsClients,
    context: Any,
    now: datetime | None = None,
) -> Checked | TestSent:
    if not isinstance(event, dict):
        raise NotAnEvent(
            f"the payload is not a JSON object but {_json(event)}: the monitor accepts an object, "
            f"{_json({'action': ACTIONS[0]})} (the default) or {_json({'action': ACTIONS[1]})}. "
            "Nothing was checked or sent."
        )
    action = event.get("action", CHECK_ACTION)
    if action not in ACTIONS:
        raise UnknownAction(
            f"unknown action {action!r} in the event: the monitor accepts {ACTIONS[0]!r} (the "
            f"default) and {ACTIONS[1]!r}. Nothing was checked or sent."
        )
    invocation = Invocation.start(settings, clients, context, now)
    if action == TEST_NOTIFICATION_ACTION:
        from enrollment_monitor.alerts.selftest import TEST_NOTIFICATION, selftest_alert

        where = WatchedSubject(invocation.account_id, settings.regions[0])
        message_id = invocation.publisher.publish(selftest_alert(where, invocation.now))
        return TestSent(TEST_NOTIFICATION, message_id)

    subjects = watched(settings, invocation.account_id)
    outcomes = _each_subject(invocation, subjects)
    results = [outcome for outcome in outcomes if isinstance(outcome, SubjectResult)]
    failures = [
        _named(outcome, subject)
        for subject, outcome in zip(subjects, outcomes, strict=True)
        if not isinstance(outcome, SubjectResult)
    ]
    unwatched, delivered_all = _deliver_what_unwatched_owe(invocation, subjects, not failures)
    failures += unwatched
    complete = not failures and delivered_all and all(result.complete for result in results)
    _emit_metrics(settings, results, complete)
    if failures:
        raise CheckFailed(failures)
    return Checked(tuple(results))


def _each_subject(
    invocation: Invocation, subjects: list[WatchedSubject]
) -> list[SubjectResult | Exception]:
    """Every subject's check, all at once (one subject runs in the invocation's own thread)."""
    check = partial(_check_one, invocation)
    if len(subjects) == 1:
        return [check(subjects[0])]
    with ThreadPoolExecutor(max_workers=len(subjects), thread_name_prefix="check") as pool:
        return list(pool.map(check, subjects))


def _check_one(invocation: Invocation, subject: WatchedSubject) -> SubjectResult | Exception:
    """One subject's check; its failure, logged with the subject, is returned, not raised."""
    thread = threading.current_thread()
    if thread is not threading.main_thread():
        thread.name = f"check {_shown(subject)}"  # in thread dumps, and for the fault sweep
    # "watched", not "service": Powertools' own "service" key is the stack's name.
    logger.thread_safe_append_keys(region=subject.region, watched=subject.service)
    try:
        return check_subject(invocation, subject)
    except Exception as failure:  # noqa: BLE001 - one subject never stops the others
        logger.exception("check failed", extra={"error": str(failure)})
        return failure
    finally:
        logger.thread_safe_remove_keys(["region", "watched"])


def _emit_metrics(settings: Settings, results: list[SubjectResult], complete: bool) -> None:
    """The check's metrics, once: the heartbeat only if ``complete``, counting the subjects
    expected Active that are not (Automation and the delegated administrator count for no
    alarm), and each of those by its Region and status; the organization's figures as
    Compute Optimizer answered in the (first) member listing Region, whenever the answer
    carries them; with member tracking, the members per status as listed."""
    listing = [result for result in results if _lists_members(settings, result.subject)]
    counts: dict[str, int] = {}
    for result in listing:
        counts |= result.members.counts if result.members else {}
    not_active = [r for r in results if service_of(r.subject).counts_not_active(r.enrollment)]
    metrics.emit_check(
        settings.metric_namespace,
        len(not_active) if complete else None,
        listing[0].enrollment if listing else None,
        counts,
        [(r.subject.service, r.region, r.status) for r in not_active],
    )


def _deliver_what_unwatched_owe(
    invocation: Invocation, subjects: list[WatchedSubject], record: bool
) -> tuple[list[str], bool]:
    """Delivers what a subject watched at an earlier check, and no longer, still owes (a Region
    removed from ``Regions`` while SNS was down): configuration never drops an alert. With
    ``record`` (every subject's check went through), the subjects watched are recorded when
    they change, a subject left out only once it owes nothing. Returns the failures, each
    naming the subject, and whether all of it is done (else another invocation, or the next
    check, completes it: no heartbeat)."""
    watched_before, account = WatchedSubjects(invocation.table), invocation.account_id
    try:
        before = watched_before.load(account)
    except MonitorError as failure:
        return [f"the subjects watched before: {failure}"], False
    failures: list[str] = []
    still_owing: list[WatchedSubject] = []
    for subject in sorted((before or frozenset()) - set(subjects), key=lambda s: s.scope):
        try:
            if not _delivered_all(invocation, subject):
                still_owing.append(subject)
        except MonitorError as failure:
            failures.append(f"{_shown(subject)}, no longer watched: {failure}")
            still_owing.append(subject)
    keep = frozenset({*subjects, *still_owing})
    if record and before != keep:
        try:
            watched_before.save(account, keep)
        except MonitorError as failure:
            failures.append(f"recording the subjects watched: {failure}")
    return failures, not still_owing


def _delivered_all(invocation: Invocation, subject: WatchedSubject) -> bool:
    """Delivers what ``subject``, no longer watched, owes; False: an alert was left to another
    invocation. An item it cannot read, or an alert a sink refused, is set aside and fails the
    check, as a watched subject's does."""
    stored, set_aside = _load(invocation, subject)
    owed = stored.owed if stored else ()
    delivery = Delivery()
    if owed:
        logger.warning(
            "delivering what a subject no longer watched owes",
            extra={"region": subject.region, "watched": subject.service, "owed": len(owed)},
        )
        delivery = deliver(invocation.outbox, invocation.publisher, owed, invocation.at)
    _fail_on([], [*set_aside, *delivery.set_aside])
    return delivery.complete


def _load(invocation: Invocation, subject: WatchedSubject) -> tuple[Stored | None, list[str]]:
    """The subject's last observation with what it owes, and the items it cannot read, set
    aside (named in the check's failure): the check goes on as if they had never been seen."""
    loaded = invocation.observations.load(subject)
    set_aside = [
        invocation.observations.set_aside(item, invocation.at) for item in loaded.unreadable
    ]
    return loaded.stored, set_aside


def _lists_members(settings: Settings, subject: WatchedSubject) -> bool:
    """Whether the members are listed beside this subject: Compute Optimizer's, in a member
    listing Region."""
    return subject.service == COMPUTE_OPTIMIZER and subject.region in settings.member_regions


def check_subject(invocation: Invocation, where: WatchedSubject) -> SubjectResult:
    """Read, compare with the last observation, record, and alert at most once; then, for
    Compute Optimizer in the member listing Region, the members. ``complete`` in the result:
    all of it done here.

    An item the check cannot read is set aside and the check goes on as if it had never been
    seen; then the check fails naming it, without a heartbeat: it did not complete."""
    settings, now, service = invocation.settings, invocation.now, service_of(where)
    client = invocation.clients.regional(service.client, where.region)
    enrollment = service.read(client, where.region, where.account_id)
    result = SubjectResult(where, enrollment, Outcome.NOTHING)

    observations = invocation.observations
    stored, set_aside = _load(invocation, where)
    previous = stored.observation if stored else None
    if previous:
        enrollment = enrollment.with_figures_from(previous.enrollment)
    decision = decide(previous, enrollment, now, settings.reminder_interval, service.expects_active)
    result = replace(result, enrollment=enrollment, outcome=outcome_of(decision))
    recorded = recorded_after(decision, previous, enrollment, now, service.expects_active)
    if recorded:
        fewer_opt_ins = opt_ins_decreased(previous, enrollment)
        result = replace(result, opt_ins_decreased=fewer_opt_ins)
        alerts = _alerts(where, decision, previous, recorded, now, fewer_opt_ins)
        stored = observations.record(where, stored, recorded, alerts)
        if stored is None:
            logger.info("another invocation wrote this observation first", extra=result.to_dict())
            result = replace(result, outcome=Outcome.LOST_RACE)
    if stored is None:
        _fail_on([], set_aside)
        return result  # the other invocation checks the members, and emits the heartbeat
    # The account's alerts go out before the member listing: nothing there can hold them back.
    # An SNS failure does not stop the members step: changes seen during an outage are owed,
    # in order, and go out once SNS is back.
    failures: list[MonitorError] = []
    delivery = _deliver(invocation, stored, failures)
    complete = delivery.complete
    if settings.track_member_accounts and _lists_members(settings, where):
        # Imported only when tracking: the default configuration does not pay for it at
        # every cold start.
        from enrollment_monitor.members import check_members

        try:
            members = check_members(invocation, where, replace(stored, owed=()))
        except MonitorError as failure:
            failures.append(failure)
        else:
            stored = members.stored
            set_aside += members.set_aside
            result = replace(result, members=members.summary)
            if complete and not failures:  # else its alert waits its turn: the next check
                delivery = delivery.then(_deliver(invocation, stored, failures))
                complete = delivery.complete
            # Left to another invocation, or to the next check: this one is not done.
            complete = complete and members.summary.outcome not in _NOT_DONE
            if members.not_members:  # named once every other member's change is reported
                failures.append(members.not_members)
    _fail_on(failures, [*set_aside, *delivery.set_aside])
    # Not complete: another invocation (or the next check) completes it, with a heartbeat.
    return replace(result, alerts_sent=delivery.sent, complete=complete)


def _alerts(
    where: WatchedSubject,
    decision: Decision,
    previous: Observation | None,
    recorded: Observation,
    now: datetime,
    fewer_opt_ins: bool,
) -> list[Alert]:
    """The alerts a recorded observation owes: a change of status or a reminder, and fewer
    member accounts opted in. Renderers are imported only here: a steady check, the common
    one, does not pay for them at a cold start."""
    alerts = []
    if decision in _ALERTING:
        from enrollment_monitor.alerts.status import status_alert

        alerts.append(status_alert(where, decision, previous, recorded, now))
    if previous and fewer_opt_ins:
        from enrollment_monitor.alerts.opt_ins import opt_ins_alert

        alerts.append(opt_ins_alert(where, previous.enrollment, recorded.enrollment, now))
    return alerts


def _deliver(invocation: Invocation, stored: Stored, failures: list[MonitorError]) -> Delivery:
    """Delivers what ``stored`` owes; a failure goes to ``failures``, and the delivery then
    counts as incomplete."""
    if not stored.owed:
        return Delivery()
    try:
        return deliver(invocation.outbox, invocation.publisher, stored.owed, invocation.at)
    except MonitorError as failure:
        failures.append(failure)
        return Delivery(complete=False)


def _fail_on(failures: list[MonitorError], set_aside: list[str]) -> None:
    """Fails the check, so no heartbeat says it completed. Items set aside were logged one by
    one; the check fails once naming them, so the errors alarm sees it (the next check no
    longer meets them)."""
    if len(failures) == 1 and not set_aside:
        raise failures[0]
    problems = [*map(str, failures), *(f"state item set aside: {item}" for item in set_aside)]
    if problems:
        raise MonitorError("; ".join(problems))


def _json(value: Any) -> str:
    """A payload as the invoker wrote it, bounded."""
    written = json.dumps(value, default=repr)
    return written if len(written) <= SHOWN_LIMIT else f"{written[: SHOWN_LIMIT - 3]}..."


def _named(failure: Exception, subject: WatchedSubject) -> str:
    """A failure as the invocation's error names it: the subject being checked first (a
    failure at DynamoDB or SNS names their Region, not the one checked), then what failed."""
    said = (
        str(failure)
        if isinstance(failure, MonitorError)
        else f"{type(failure).__name__}: {failure}"
    )
    return f"checking {_shown(subject)}: {said}"


def _shown(subject: WatchedSubject) -> str:
    """A subject in a thread's name and a failure, as its state's scope names it: the Region,
    and the service if it is not Compute Optimizer (whose checks are named by Region alone, as
    they always were)."""
    return subject.scope.replace("#", " ")
