"""What each line of ``enrollment-monitor verify``'s checklist says, decided from facts alone:
the stack's description, its alarms, subscriptions, policies' evaluations. Pure functions, so
every verdict is tested without AWS; ``checklist`` gathers the facts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from enrollment_monitor.errors import AwsCallError, MonitorError
from enrollment_monitor.verify.policy import Evaluation, Verdict

# The template names its alarms after the stack. The first watches enrollment (its ALARM is
# the monitor working); an ALARM on the others means the monitor is broken.
ENROLLMENT_ALARM = "enrollment-not-active"
HEALTH_ALARMS = ("monitor-silent", "function-errors", "failed-invocations")
ALARMS = (ENROLLMENT_ALARM, *HEALTH_ALARMS)
# The alarms on the monitor's own metrics (Metrics Insights queries), and the metric each reads.
METRIC_ALARMS = {ENROLLMENT_ALARM: "EnrollmentStatus", "monitor-silent": "CheckCompleted"}
COMPLETE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
# How far back the alarms' own notifications are read: CloudWatch keeps 30 days of history.
NOTIFICATION_DAYS = 14
DEFAULT_PERIOD_SECONDS = 3600
CLOUDWATCH = "cloudwatch.amazonaws.com"
# What a key policy must let CloudWatch alarms do to publish to a topic encrypted with it.
KEY_GRANT = f"the service principal {CLOUDWATCH} kms:Decrypt and kms:GenerateDataKey*"
CHATBOT_ENDPOINT = "chatbot.amazonaws.com"
CHAT_PARAMETERS = {
    "Slack": ("SlackWorkspaceId", "SlackChannelId"),
    "Microsoft Teams": ("TeamsTeamId", "TeamsChannelId", "TeamsTenantId"),
}
DRIFT_FIX = (
    "it was changed outside CloudFormation: revert the drift (CloudFormation drift detection "
    "shows it), then verify again"
)
_QUERY = re.compile(
    r"SELECT\s+\w+\((?P<metric>\w+)\)\s+FROM\s+SCHEMA\(\s*\"(?P<namespace>[^\"]+)\"\s*,"
    r"(?P<dimensions>[^)]*)\)(?:\s+WHERE\s+(?P<where>.*?))?(?:\s+GROUP\s+BY\s+.*)?$",
    re.IGNORECASE,
)
_CONDITION = re.compile(r"^(\w+)\s*=\s*'([^']*)'$")


class NotAMonitorStack(MonitorError):
    def __init__(self, stack: str, region: str, missing: list[str]) -> None:
        super().__init__(
            f"stack {stack} in {region} has no {' or '.join(missing)} output: is it an "
            "enrollment-monitor stack, deployed completely?"
        )


class StackNotFound(MonitorError):
    def __init__(self, stack: str, region: str) -> None:
        super().__init__(
            f"no stack named {stack} in {region}: check --stack and --region "
            "(`aws cloudformation list-stacks` lists them)"
        )


class IncompleteMetricData(MonitorError):
    """GetMetricData answered, but not with all the data: no data is not "no data points"."""


@dataclass(frozen=True)
class Line:
    check: str
    passed: bool
    found: str
    fix: str | None = None


def passed(check: str, found: str) -> Line:
    return Line(check, True, found)


def failed(check: str, found: str, fix: str) -> Line:
    return Line(check, False, found, fix)


@dataclass(frozen=True)
class Stack:
    name: str
    region: str
    status: str
    reason: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    stack_id: str = "arn:aws:cloudformation:::stack/"  # its ARN: partition and account

    @property
    def partition(self) -> str:
        return self.stack_id.split(":")[1]

    @property
    def account(self) -> str:
        return self.stack_id.split(":")[4]

    @property
    def period(self) -> int:
        """The alarms' period: "the last two periods" is what the alarms themselves read."""
        value = self.parameters.get("CheckPeriodSeconds", "")
        return int(value) if value.isdigit() else DEFAULT_PERIOD_SECONDS

    @property
    def function(self) -> str:
        return self.outputs["FunctionName"]

    @property
    def topic(self) -> str:
        return self.outputs["AlertTopicArn"]

    @property
    def brings_its_own_topic(self) -> bool:
        return bool(self.parameters.get("AlertTopicArn"))

    def alarm_name(self, suffix: str) -> str:
        return f"{self.name}-{suffix}"

    @property
    def alarm_names(self) -> list[str]:
        return [self.alarm_name(suffix) for suffix in ALARMS]

    @property
    def missing_outputs(self) -> list[str]:
        """The outputs verify needs that the stack lacks (all of them after a failed create)."""
        return [key for key in ("FunctionName", "AlertTopicArn") if key not in self.outputs]

    def chat_channels(self) -> list[str]:
        """The chat apps the stack's parameters configure a channel for."""
        return [
            app
            for app, names in CHAT_PARAMETERS.items()
            if all(self.parameters.get(name) for name in names)
        ]


@dataclass(frozen=True)
class Query:
    """A Metrics Insights alarm query of the form the template writes."""

    metric: str
    namespace: str
    dimensions: tuple[str, ...]
    filters: Mapping[str, str]

    @classmethod
    def parse(cls, expression: str) -> Query | None:
        match = _QUERY.match(" ".join(expression.split()))
        if not match:
            return None
        filters = {}
        for condition in re.split(r"\s+AND\s+", match["where"] or "", flags=re.IGNORECASE):
            if not condition.strip():
                continue
            parsed = _CONDITION.match(condition.strip())
            if not parsed:
                return None
            filters[parsed[1]] = parsed[2]
        dimensions = tuple(d.strip() for d in match["dimensions"].split(",") if d.strip())
        return cls(match["metric"], match["namespace"], dimensions, filters)

    def dimensions_in(self, region: str) -> dict[str, str] | None:
        """The one dimension set this query reads for ``region``; None if it cannot tell."""
        values = {
            name: self.filters.get(name) or (region if name == "Region" else "")
            for name in self.dimensions
        }
        return values if all(values.values()) else None


@dataclass(frozen=True)
class Window:
    """The last two alarm periods, ending at the next whole minute (CloudWatch's resolution)
    so that a data point of this very minute counts."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, now: datetime, period: int) -> Window:
        end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return cls(end - timedelta(seconds=2 * period), end)

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def __str__(self) -> str:
        return f"in the last {self.seconds // 60} min"


# ------------------------------------------------------------------------------ verdicts


def judge_stack(stack: Stack) -> Line:
    if stack.status in COMPLETE:
        return passed("stack", f"{stack.name} is {stack.status}")
    if stack.status == "REVIEW_IN_PROGRESS":
        fix = "a change set waits for you: execute it (or delete it), then verify again"
    elif stack.status.endswith("_IN_PROGRESS"):
        fix = "wait for the operation to finish, then verify again"
    elif stack.status.endswith("ROLLBACK_COMPLETE"):
        fix = "the last change was rolled back: read the stack's events, fix, deploy again"
    else:
        fix = "read the stack's events (aws cloudformation describe-stack-events), fix, redeploy"
    reason = f" ({stack.reason})" if stack.reason else ""
    return failed("stack", f"{stack.name} is {stack.status}{reason}", fix)


def judge_invocations(
    function: str, log_group: str, window: Window, invocations: float, errors: float
) -> Line:
    logs = f"aws logs tail {log_group} --since {window.seconds // 60}m"
    if errors:
        return failed(
            "invocations",
            f"{errors:g} of {invocations:g} invocations of {function} failed {window}",
            f"read its log: {logs} --filter-pattern ERROR",
        )
    if not invocations:
        return failed(
            "invocations",
            f"{function} was not invoked {window}",
            "check that the stack's schedule is enabled; a new stack needs one scheduled check: "
            "verify again after it",
        )
    return passed("invocations", f"{invocations:g} invocations of {function} {window}, none failed")


def judge_alarm(stack: Stack, suffix: str, alarm: Mapping[str, Any] | None) -> Line:
    name = stack.alarm_name(suffix)
    check = f"alarm {suffix}"
    if alarm is None:
        return failed(check, f"{name} does not exist", DRIFT_FIX)
    state, reason = alarm["StateValue"], alarm.get("StateReason", "")
    if not alarm.get("ActionsEnabled", True):
        return failed(
            check,
            f"{name} has its actions disabled: it notifies no one",
            f"aws cloudwatch enable-alarm-actions --alarm-names {name}",
        )
    actions = set(alarm.get("AlarmActions", [])) & set(alarm.get("OKActions", []))
    if stack.topic not in actions:
        return failed(check, f"{name} does not notify {stack.topic}", DRIFT_FIX)
    if state == "INSUFFICIENT_DATA":
        return failed(
            check,
            f"{name} is INSUFFICIENT_DATA: it has not evaluated a check yet",
            "wait for the next scheduled check (two periods for a new stack), then verify again",
        )
    if state == "ALARM" and suffix != ENROLLMENT_ALARM:
        return failed(check, f"{name} is ALARM: {reason}", "fix what its reason says")
    return passed(check, f"{name} is {state}")


def judge_notifications(latest: Mapping[str, Mapping[str, Any] | None]) -> Line:
    """``latest``: each alarm's newest Action item about the topic since the alarm was last
    configured (None: none in the window). What CloudWatch itself says of publishing to the
    topic: the proof the policies work."""
    check = "alarm notifications"
    failures = {name: item for name, item in latest.items() if item and _action_failed(item)}
    if failures:
        name, item = next(iter(failures.items()))
        others = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return failed(
            check,
            f"the last notification of {name} failed{others}: {item.get('HistorySummary', '')}",
            "CloudWatch could not publish to the topic: fix what the topic policy and key "
            "policy lines say (README: Bring your own topic), then prove it: aws cloudwatch "
            f"set-alarm-state --alarm-name {name} --state-value ALARM --state-reason verify",
        )
    delivered = [name for name, item in latest.items() if item]
    if not delivered:
        return passed(check, f"no alarm has notified in the last {NOTIFICATION_DAYS} days")
    return passed(check, f"CloudWatch published the last notification of {len(delivered)} alarm(s)")


def names_topic(item: Mapping[str, Any], topic: str) -> bool:
    """Whether a history item is about ``topic`` (not about a topic whose name extends it)."""
    said = f"{item.get('HistorySummary', '')} {item.get('HistoryData', '')}"
    return re.search(re.escape(topic) + r"(?![\w-])", said) is not None


def _action_failed(item: Mapping[str, Any]) -> bool:
    try:
        state = json.loads(item.get("HistoryData") or "{}").get("actionState")
    except (ValueError, AttributeError):
        state = None
    return state == "Failed" or str(item.get("HistorySummary", "")).startswith("Failed")


def judge_metric(
    metric: str,
    alarm: str,
    query: Query | None,
    environment: Mapping[str, str],
    with_data: Mapping[str, bool],
) -> Line:
    """``with_data``: for each Region the function checks, whether the alarm's dimension set
    has data in the window."""
    check = f"metric {metric}"
    if query is None or query.metric != metric:
        return failed(check, f"{alarm} does not read {metric} as the template writes it", DRIFT_FIX)
    emitted = {
        "namespace": environment.get("POWERTOOLS_METRICS_NAMESPACE", ""),
        "service": environment.get("POWERTOOLS_SERVICE_NAME", ""),
    }
    read = {"namespace": query.namespace, "service": query.filters.get("service", "")}
    if read != emitted:
        return failed(
            check,
            f"{alarm} reads {read} but the function emits {emitted}",
            "deploy the stack again: the alarm and the function must come from one template",
        )
    if not with_data:
        return failed(
            check, "the function checks no Region (MONITORED_REGIONS is empty)", DRIFT_FIX
        )
    missing = sorted(region for region, found in with_data.items() if not found)
    if missing:
        return failed(
            check,
            f"no data point with the dimensions {alarm} reads, in {', '.join(missing)}",
            "a check that fails emits none: see the invocations line and the function's log",
        )
    return passed(check, f"data points in {', '.join(sorted(with_data))}, as {alarm} reads them")


def confirmed(subscription: Mapping[str, str]) -> bool:
    """SNS shows ``PendingConfirmation`` (or ``Deleted``) instead of an unconfirmed
    subscription's ARN."""
    return subscription["SubscriptionArn"].startswith("arn:")


def is_chatbot(subscription: Mapping[str, str]) -> bool:
    return CHATBOT_ENDPOINT in subscription.get("Endpoint", "")


def judge_subscriptions(stack: Stack, subscriptions: Sequence[Mapping[str, str]]) -> Line:
    email = stack.parameters.get("NotificationEmail", "")
    emailed = any(
        s["Protocol"] == "email" and s.get("Endpoint", "").lower() == email.lower()
        for s in subscriptions
    )
    if email and not emailed:
        return failed(
            "subscriptions",
            f"{email} (NotificationEmail) is not subscribed: it unsubscribed, or was removed",
            f"aws sns subscribe --topic-arn {stack.topic} --protocol email "
            f"--notification-endpoint {email}, then confirm the mail",
        )
    if not subscriptions:
        return failed(
            "subscriptions",
            "the topic has no subscription: alerts reach no one",
            "set NotificationEmail or a chat channel and deploy, or subscribe an endpoint",
        )
    unconfirmed = [s for s in subscriptions if not confirmed(s)]
    if unconfirmed:
        listed = ", ".join(f"{_endpoint(s)} ({s['SubscriptionArn']})" for s in unconfirmed)
        return failed(
            "subscriptions",
            f"not confirmed: {listed}",
            "follow the link in the confirmation message SNS sent (for email, look in spam "
            "too); SNS drops an unconfirmed subscription after 3 days, so a mistyped address "
            "goes away by itself",
        )
    described = ", ".join(_endpoint(s) for s in subscriptions)
    return passed("subscriptions", f"{len(subscriptions)} confirmed: {described}")


def _endpoint(subscription: Mapping[str, str]) -> str:
    if is_chatbot(subscription):
        return "AWS Chatbot"
    return f"{subscription['Protocol']} {subscription.get('Endpoint', '')}".strip()


def judge_chat(stack: Stack, subscriptions: Sequence[Mapping[str, str]]) -> Line:
    configured = stack.chat_channels()
    if not configured:
        return passed("chat", "no Slack or Teams channel configured")
    # Each channel configuration subscribes to the topic on its own.
    attached = [s for s in subscriptions if is_chatbot(s) and confirmed(s)]
    if len(attached) < len(configured):
        return failed(
            "chat",
            f"{' and '.join(configured)} configured, {len(attached)} AWS Chatbot subscription(s)",
            "open the AWS Chatbot console: each channel configuration must list the topic",
        )
    return passed("chat", f"{' and '.join(configured)} channel(s) subscribed through AWS Chatbot")


def judge_topic_policy(stack: Stack, evaluation: Evaluation) -> Line:
    topic_region = stack.topic.split(":")[3]
    if topic_region != stack.region:
        return failed(
            "topic policy",
            f"the topic is in {topic_region} and the alarms in {stack.region}: CloudWatch "
            "notifies topics of its own Region only",
            f"give AlertTopicArn a topic in {stack.region}",
        )
    return _judge_policy(
        "topic policy",
        evaluation,
        "lets this stack's alarms publish",
        f"allow the service principal {CLOUDWATCH} sns:Publish on the topic, with "
        "aws:SourceAccount = this account (README: Bring your own topic)",
    )


def judge_key(stack: Stack, metadata: Mapping[str, Any]) -> Line | None:
    """What is wrong with the topic's key whatever its policy says, if anything. Of another
    account's key, verify knows only the ARN: no manager, no state."""
    arn = metadata["Arn"]
    if metadata.get("KeyManager") == "AWS":
        return failed(
            "key policy",
            f"the topic is encrypted with an AWS managed key ({arn}), which CloudWatch cannot "
            "use: alarm notifications are dropped",
            f"encrypt the topic with a customer managed key whose policy allows {KEY_GRANT}",
        )
    if "KeyState" in metadata and metadata["KeyState"] != "Enabled":
        return failed(
            "key policy",
            f"{arn} is {metadata['KeyState']}: nothing can publish to the topic",
            "enable the key (or cancel its deletion)",
        )
    granted = stack.parameters.get("AlertTopicKmsKeyArn", "")
    if stack.brings_its_own_topic and granted != arn:
        return failed(
            "key policy",
            f"the topic's key is {arn}, but the function is granted "
            f"{granted or 'no key'} (AlertTopicKmsKeyArn): its alerts cannot be published",
            f"deploy with AlertTopicKmsKeyArn={arn}",
        )
    owner = arn.split(":")[4]
    if owner != stack.account:
        # GetKeyPolicy works in the key's own account only.
        return failed(
            "key policy",
            f"{arn} belongs to account {owner}: verify cannot read its policy",
            f"ask that account to check that the key policy allows {KEY_GRANT}, with "
            "aws:SourceAccount = this account",
        )
    return None


def judge_key_policy(arn: str, evaluation: Evaluation) -> Line:
    return _judge_policy(
        "key policy",
        evaluation,
        f"{arn} lets this stack's alarms encrypt",
        f"allow {KEY_GRANT} in the key policy (README: Bring your own topic)",
    )


def _judge_policy(check: str, evaluation: Evaluation, allowed: str, fix: str) -> Line:
    if evaluation.verdict is Verdict.ALLOWED:
        return passed(check, allowed)
    if evaluation.verdict is Verdict.UNKNOWN:
        return failed(
            check,
            f"cannot tell whether CloudWatch alarms may use it: {evaluation.why} depends on "
            "what verify cannot know",
            f"make sure that statement lets them; {fix}",
        )
    return failed(check, f"CloudWatch alarms are {evaluation.verdict.value}: {evaluation.why}", fix)


def judge_test_notification(function: str, log_group: str, reply: Mapping[str, Any]) -> Line:
    if reply.get("FunctionError"):
        error = reply.get("Payload")
        said = (
            f"{error.get('errorType')}: {error.get('errorMessage')}"
            if isinstance(error, dict)
            else str(error)
        )
        return failed(
            "test notification",
            f"{function} failed: {said}",
            f"read its log: aws logs tail {log_group} --since 10m",
        )
    return passed(
        "test notification",
        "published: every subscription should show a TestNotification within a minute",
    )


def fix_for(error: AwsCallError) -> str:
    if error.denied:
        return f"let your credentials call {error.call} (read-only), then verify again"
    if error.code.endswith(("NotFound", "NotFoundException")):
        return f"{error.call} found nothing: {DRIFT_FIX}"
    if error.code in ("TooManyRequestsException", "ThrottlingException", "Throttling"):
        return (
            "AWS is throttling the call (for --send-test: the function runs one check at a "
            "time): verify again shortly"
        )
    return "verify again; if it persists, check the AWS Health Dashboard"
