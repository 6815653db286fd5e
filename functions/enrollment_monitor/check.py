"""One invocation: check every configured Region, or send a test notification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from enrollment_monitor import metrics
from enrollment_monitor.alerts import REMINDER, STATUS_CHANGED, alert_for_test_notification
from enrollment_monitor.alerts import status_alert as render_status_alert
from enrollment_monitor.clients import AwsClients
from enrollment_monitor.compute_optimizer import read_enrollment
from enrollment_monitor.delivery import Publisher, deliver
from enrollment_monitor.enrollment import AccountRegion, Decision, Observation, decide
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.settings import Settings
from enrollment_monitor.state import StateTable

if TYPE_CHECKING:
    from enrollment_monitor.members import MemberCheck

logger = Logger()

TEST_NOTIFICATION_ACTION = "test-notification"
# A lease outlives the invocation that holds it by this much, so a pending alert is never
# taken over while its sender may still be publishing it.
_LEASE_MARGIN_SECONDS = 10


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
    account_id = context.invoked_function_arn.split(":")[4]
    now = now or datetime.now(UTC)
    publisher = Publisher(lambda: clients.sns, settings.alert_topic_arn)
    if isinstance(event, dict) and event.get("action") == TEST_NOTIFICATION_ACTION:
        where = AccountRegion(account_id, settings.regions[0])
        message_id = publisher.publish(alert_for_test_notification(where, now))
        return {"sent": "TestNotification", "messageId": message_id}

    lease_seconds = context.get_remaining_time_in_millis() / 1000 + _LEASE_MARGIN_SECONDS
    check = RegionCheck(settings, clients, publisher, now, now.timestamp() + lease_seconds)
    results, failures = [], []
    for region in settings.regions:
        try:
            results.append(check.run(AccountRegion(account_id, region)))
        except MonitorError as failure:
            logger.error("check failed", extra={"region": region, "error": str(failure)})
            failures.append(failure)
    if failures:
        raise CheckFailed(failures)
    return {"checked": results}


class RegionCheck:
    """Read, emit metrics, compare with the last observation, and alert at most once."""

    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        publisher: Publisher,
        now: datetime,
        lease_until: float,
    ) -> None:
        self._settings = settings
        self._clients = clients
        self._table = StateTable(clients.dynamodb, settings.state_table_name)
        self._publisher = publisher
        self._now = now
        self._lease_until = lease_until
        hours = settings.reminder_interval_hours
        self._reminder_interval = timedelta(hours=hours) if hours else None
        self._members: MemberCheck | None = None
        if settings.track_member_accounts:
            # Imported only when tracking: the default configuration does not pay for it at
            # every cold start.
            from enrollment_monitor.members import MemberCheck

            self._members = MemberCheck(settings, clients, self._table, now, lease_until)

    def run(self, where: AccountRegion) -> dict[str, Any]:
        enrollment = read_enrollment(self._clients.compute_optimizer(where.region), where.region)
        metrics.emit_check(self._settings.metric_namespace, where.region, enrollment)
        result: dict[str, Any] = {"region": where.region, "status": enrollment.status}

        stored = self._table.load(where)
        previous = stored.observation if stored else None
        decision = decide(previous, enrollment, self._now, self._reminder_interval)
        result["outcome"] = decision.value
        if decision is Decision.BASELINE:
            stored = self._table.record(where, stored, Observation(enrollment, self._now))
        elif decision in (Decision.CHANGED, Decision.REMINDER):
            event_type = REMINDER if decision is Decision.REMINDER else STATUS_CHANGED
            since = previous.observed_at if previous and event_type == REMINDER else self._now
            observation = Observation(enrollment, since, alerted_at=self._now)
            alert = render_status_alert(where, previous, enrollment, self._now, event_type)
            stored = self._table.record(where, stored, observation, alert)
            if stored is None:
                logger.info("another invocation recorded this transition", extra=result)
                result["outcome"] = "left to another invocation"
        # Members after the account, before delivery: their alert is owed in order with the
        # account's. Their failure (say, not the management account) fails the check once the
        # account's alerts are delivered.
        members_failed = None
        if self._members and stored:
            try:
                stored, result["members"] = self._members.run(where, stored)
            except MonitorError as failure:
                members_failed = failure
        if stored and stored.pending:
            result["alertsSent"] = deliver(
                self._table,
                self._publisher,
                where,
                stored.pending,
                self._lease_until,
                self._now.timestamp(),
            )
        if members_failed:
            raise members_failed
        return result
