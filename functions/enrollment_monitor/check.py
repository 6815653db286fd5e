"""One invocation: check every configured Region, or send a test notification.

A Region's check reads the enrollment, decides (``enrollment.decide``), records the new
observation with the alert it owes (``store.observations``), lets the members step owe its own
alert (``members``), then delivers every owed alert, oldest first (``outbox``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from enrollment_monitor import metrics
from enrollment_monitor.clients import AwsClients
from enrollment_monitor.compute_optimizer import read_enrollment
from enrollment_monitor.enrollment import (
    AccountRegion,
    Decision,
    Outcome,
    decide,
    outcome_of,
    recorded_after,
)
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.invocation import Invocation
from enrollment_monitor.outbox import deliver
from enrollment_monitor.settings import Settings
from enrollment_monitor.store.observations import Observations

logger = Logger()

TEST_NOTIFICATION_ACTION = "test-notification"


class CheckFailed(MonitorError):
    def __init__(self, failures: list[MonitorError]) -> None:
        self.failures = failures
        super().__init__("; ".join(str(failure) for failure in failures))


def run(
    event: Any,
    settings: Settings,
    clients: AwsClients,
    context: Any,
    now: datetime | None = None,
) -> dict[str, Any]:
    invocation = Invocation.start(settings, clients, context, now)
    if isinstance(event, dict) and event.get("action") == TEST_NOTIFICATION_ACTION:
        from enrollment_monitor.alerts.selftest import TEST_NOTIFICATION, selftest_alert

        where = AccountRegion(invocation.account_id, settings.regions[0])
        message_id = invocation.publisher.publish(selftest_alert(where, invocation.now))
        return {"sent": TEST_NOTIFICATION, "messageId": message_id}

    results, failures = [], []
    for region in settings.regions:
        logger.append_keys(region=region)
        try:
            results.append(check_region(invocation, AccountRegion(invocation.account_id, region)))
        except MonitorError as failure:
            logger.error("check failed", extra={"error": str(failure)})
            failures.append(failure)
    logger.remove_keys(["region"])
    if failures:
        raise CheckFailed(failures)
    return {"checked": results}


def check_region(invocation: Invocation, where: AccountRegion) -> dict[str, Any]:
    """Read, emit metrics, compare with the last observation, and alert at most once."""
    settings, now = invocation.settings, invocation.now
    enrollment = read_enrollment(invocation.clients.compute_optimizer(where.region), where.region)
    metrics.emit_check(settings.metric_namespace, where.region, enrollment)
    result: dict[str, Any] = {"region": where.region, "status": enrollment.status}

    observations = Observations(invocation.table)
    stored = observations.load(where)
    previous = stored.observation if stored else None
    decision = decide(previous, enrollment, now, settings.reminder_interval)
    result["outcome"] = outcome_of(decision)
    recorded = recorded_after(decision, previous, enrollment, now)
    if recorded:
        alert = None
        if decision is not Decision.BASELINE:
            # Renderers are imported when an alert is built: a steady check, the common one,
            # does not pay for them at a cold start.
            from enrollment_monitor.alerts.status import status_alert

            alert = status_alert(where, decision, previous, recorded, now)
        stored = observations.record(where, stored, recorded, alert)
        if stored is None:
            logger.info("another invocation recorded this transition", extra=result)
            result["outcome"] = Outcome.LOST_RACE
    # Members after the account, before delivery: their alert is owed in order with the
    # account's. Their failure (say, not the management account) fails the check once the
    # account's alerts are delivered.
    members_failed = None
    if settings.track_member_accounts and stored:
        # Imported only when tracking: the default configuration does not pay for it at
        # every cold start.
        from enrollment_monitor.members import check_members

        try:
            stored, result["members"] = check_members(invocation, where, stored)
        except MonitorError as failure:
            members_failed = failure
    if stored and stored.owed:
        result["alertsSent"] = deliver(
            invocation.table,
            invocation.publisher,
            stored.owed,
            invocation.lease_until,
            now.timestamp(),
        )
    if members_failed:
        raise members_failed
    return result
