"""The checklist of ``enrollment-monitor verify``.

Read-only with the caller's credentials (``--send-test`` aside, which invokes the function's
test notification). Each line says what was found and, when it fails, what to do. ``Facts``
reads each fact from AWS once; the ``judge_*`` functions decide each line from facts alone, so
every verdict is tested without AWS. A call AWS refuses fails the lines that need it, naming
the permission; the other lines still run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import Any

from enrollment_monitor.clients import AwsClients
from enrollment_monitor.errors import AwsCallError, MonitorError, calling
from enrollment_monitor.verify.policy import Evaluation, Request, Verdict, evaluate_all

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
    if stack.status.endswith("_IN_PROGRESS"):
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
    """``latest``: each alarm's newest Action item of its history (None: none in the window).
    What CloudWatch itself says of delivering to the topic: the proof the policies work."""
    check = "alarm notifications"
    failures = {name: item for name, item in latest.items() if item and _action_failed(item)}
    if failures:
        name, item = next(iter(failures.items()))
        others = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return failed(
            check,
            f"the last notification of {name} failed{others}: {item.get('HistorySummary', '')}",
            "CloudWatch could not publish to the topic: fix what the topic policy and key "
            "policy lines say (README: Bring your own topic); the next state change proves it",
        )
    delivered = [name for name, item in latest.items() if item]
    if not delivered:
        return passed(check, f"no alarm has notified in the last {NOTIFICATION_DAYS} days")
    return passed(check, f"CloudWatch delivered the last notification of {len(delivered)} alarm(s)")


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


def judge_subscriptions(subscriptions: Sequence[Mapping[str, str]]) -> Line:
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
        "allow the service principal cloudwatch.amazonaws.com sns:Publish on the topic, with "
        "aws:SourceAccount = this account (README: Bring your own topic)",
    )


def judge_key(stack: Stack, metadata: Mapping[str, Any], account: str) -> Line | None:
    """What is wrong with the topic's key whatever its policy says, if anything. ``account``:
    the stack's."""
    arn = metadata["Arn"]
    if metadata.get("KeyManager") == "AWS":
        return failed(
            "key policy",
            f"the topic is encrypted with an AWS managed key ({arn}), which CloudWatch cannot "
            "use: alarm notifications are dropped",
            "encrypt the topic with a customer managed key whose policy allows "
            "cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*",
        )
    if metadata.get("KeyState") != "Enabled":
        return failed(
            "key policy",
            f"{arn} is {metadata.get('KeyState')}: nothing can publish to the topic",
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
    if owner != account:
        # GetKeyPolicy works in the key's own account only.
        return failed(
            "key policy",
            f"{arn} belongs to account {owner}: verify cannot read its policy",
            f"ask that account to check that the key policy allows {CLOUDWATCH} kms:Decrypt "
            "and kms:GenerateDataKey*, with aws:SourceAccount = this account",
        )
    return None


def judge_key_policy(arn: str, evaluation: Evaluation) -> Line:
    return _judge_policy(
        "key policy",
        evaluation,
        f"{arn} lets this stack's alarms encrypt",
        "allow the service principal cloudwatch.amazonaws.com kms:Decrypt and "
        "kms:GenerateDataKey* in the key policy (README: Bring your own topic)",
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
        error = reply.get("Payload") or {}
        return failed(
            "test notification",
            f"{function} failed: {error.get('errorType')}: {error.get('errorMessage')}",
            f"read its log: aws logs tail {log_group} --since 10m",
        )
    return passed(
        "test notification",
        "published: every subscription should show a TestNotification within a minute",
    )


def _fix_for(error: AwsCallError) -> str:
    if error.denied:
        return f"let your credentials call {error.call} (read-only), then verify again"
    if error.code.endswith(("NotFound", "NotFoundException")):
        return f"{error.call} found nothing: {DRIFT_FIX}"
    if error.code in ("TooManyRequestsException", "ThrottlingException", "Throttling"):
        return "AWS is throttling (the function runs one check at a time): verify again shortly"
    return "verify again; if it persists, check the AWS Health Dashboard"


# ------------------------------------------------------------------------------ gathering


def read_stack(clients: AwsClients, name: str, region: str) -> Stack:
    try:
        with calling("cloudformation:DescribeStacks", region):
            client = clients.regional("cloudformation", region)
            (described,) = client.describe_stacks(StackName=name)["Stacks"]
    except AwsCallError as error:
        if error.code == "ValidationError" and "does not exist" in str(error):
            raise StackNotFound(name, region) from error
        raise
    stack = Stack(
        name=name,
        region=region,
        status=described["StackStatus"],
        reason=described.get("StackStatusReason"),
        parameters={
            p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])
        },
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
    )
    missing = [key for key in ("FunctionName", "AlertTopicArn") if key not in stack.outputs]
    if missing and judge_stack(stack).passed:
        raise NotAMonitorStack(name, region, missing)
    return stack


class Facts:
    """What AWS says of one deployed stack, each read once, on first use."""

    def __init__(self, clients: AwsClients, stack: Stack, now: datetime) -> None:
        self.clients = clients
        self.stack = stack
        self.window = Window.of(now, stack.period)
        self.topic_region = stack.topic.split(":")[3]

    @contextmanager
    def _client(self, call: str, region: str) -> Iterator[Any]:
        """The client for ``call`` (an IAM action), made and used under one error name."""
        with calling(call, region):
            # Every IAM prefix verify uses is also the client's service name.
            yield self.clients.regional(call.split(":")[0], region)

    @cached_property
    def configuration(self) -> Mapping[str, Any]:
        with self._client("lambda:GetFunctionConfiguration", self.stack.region) as client:
            configured: Mapping[str, Any] = client.get_function_configuration(
                FunctionName=self.stack.function
            )
        return configured

    @property
    def environment(self) -> Mapping[str, str]:
        variables: Mapping[str, str] = self.configuration.get("Environment", {}).get(
            "Variables", {}
        )
        return variables

    @property
    def log_group(self) -> str:
        group: str = self.configuration.get("LoggingConfig", {}).get(
            "LogGroup", f"/aws/lambda/{self.stack.function}"
        )
        return group

    @cached_property
    def alarms(self) -> Mapping[str, Mapping[str, Any]]:
        names = [self.stack.alarm_name(suffix) for suffix in ALARMS]
        with self._client("cloudwatch:DescribeAlarms", self.stack.region) as client:
            described = client.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm"])
        return {alarm["AlarmName"]: alarm for alarm in described["MetricAlarms"]}

    @property
    def account(self) -> str:
        return str(self.configuration["FunctionArn"].split(":")[4])

    def latest_notification(self, name: str) -> Mapping[str, Any] | None:
        start = self.window.end - timedelta(days=NOTIFICATION_DAYS)
        with self._client("cloudwatch:DescribeAlarmHistory", self.stack.region) as client:
            items: list[Mapping[str, Any]] = client.describe_alarm_history(
                AlarmName=name,
                AlarmTypes=["MetricAlarm"],
                HistoryItemType="Action",
                StartDate=start,
                EndDate=self.window.end,
                ScanBy="TimestampDescending",
                MaxRecords=1,
            )["AlarmHistoryItems"]
        return items[0] if items else None

    def alarm_arns(self) -> list[str]:
        """The ARNs the alarms publish as (aws:SourceArn), whether they exist or not."""
        partition = self.configuration["FunctionArn"].split(":")[1]
        return [
            f"arn:{partition}:cloudwatch:{self.stack.region}:{self.account}:alarm:"
            f"{self.stack.alarm_name(suffix)}"
            for suffix in ALARMS
        ]

    def statistic(
        self, namespace: str, metric: str, dimensions: Mapping[str, str], stat: str
    ) -> float:
        """``stat`` of the metric over the window (0 when it has no data point)."""
        query = {
            "Id": "m",
            "MetricStat": {
                "Metric": {
                    "Namespace": namespace,
                    "MetricName": metric,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                },
                "Period": self.window.seconds,
                "Stat": stat,
            },
        }
        with self._client("cloudwatch:GetMetricData", self.stack.region) as client:
            (result,) = client.get_metric_data(
                MetricDataQueries=[query], StartTime=self.window.start, EndTime=self.window.end
            )["MetricDataResults"]
        if result.get("StatusCode", "Complete") != "Complete":
            messages = "; ".join(m.get("Value", "") for m in result.get("Messages", []))
            raise IncompleteMetricData(
                f"cloudwatch:GetMetricData answered {result['StatusCode']} for {metric}: {messages}"
            )
        return float(sum(result.get("Values", [])))

    @cached_property
    def topic_attributes(self) -> Mapping[str, str]:
        with self._client("sns:GetTopicAttributes", self.topic_region) as client:
            attributes: Mapping[str, str] = client.get_topic_attributes(TopicArn=self.stack.topic)[
                "Attributes"
            ]
        return attributes

    @cached_property
    def subscriptions(self) -> list[Mapping[str, str]]:
        found: list[Mapping[str, str]] = []
        with self._client("sns:ListSubscriptionsByTopic", self.topic_region) as client:
            pages = client.get_paginator("list_subscriptions_by_topic")
            for page in pages.paginate(TopicArn=self.stack.topic):
                found += page["Subscriptions"]
        return found

    @cached_property
    def key(self) -> Mapping[str, Any] | None:
        """The topic's key (DescribeKey resolves an alias, an ID or an ARN), or None."""
        key_id = self.topic_attributes.get("KmsMasterKeyId")
        if not key_id:
            return None
        with self._client("kms:DescribeKey", self.topic_region) as client:
            metadata: Mapping[str, Any] = client.describe_key(KeyId=key_id)["KeyMetadata"]
        return metadata

    def key_policy(self, key_arn: str) -> str:
        with self._client("kms:GetKeyPolicy", self.topic_region) as client:
            policy: str = client.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
        return policy

    def alarm_requests(self, action: str, resource: str) -> list[Request]:
        """The requests CloudWatch makes for each alarm of the stack."""
        return [
            Request(
                service=CLOUDWATCH,
                action=action,
                resource=resource,
                context={
                    "aws:SourceAccount": alarm.split(":")[4],
                    "aws:SourceArn": alarm,
                    "aws:SecureTransport": "true",
                    "aws:PrincipalServiceName": CLOUDWATCH,
                    "aws:PrincipalIsAWSService": "true",
                },
            )
            for alarm in self.alarm_arns()
        ]


# ------------------------------------------------------------------------------ the lines


class Checklist:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.stack = facts.stack

    def lines(self, send_test: bool) -> list[Line]:
        checks: dict[str, Callable[[], Line]] = {
            "invocations": self.invocations,
            **{
                f"metric {metric}": partial(self.metric, alarm, metric)
                for alarm, metric in METRIC_ALARMS.items()
            },
            **{f"alarm {suffix}": partial(self.alarm, suffix) for suffix in ALARMS},
            "alarm notifications": self.notifications,
            "subscriptions": lambda: judge_subscriptions(self.facts.subscriptions),
            "chat": lambda: judge_chat(self.stack, self.facts.subscriptions),
            "topic policy": self.topic_policy,
            "key policy": self.key_policy,
        }
        if send_test:
            checks["test notification"] = self.test_notification
        return [_guarded(name, check) for name, check in checks.items()]

    def invocations(self) -> Line:
        dimensions = {"FunctionName": self.stack.function}
        figures = [
            self.facts.statistic("AWS/Lambda", metric, dimensions, "Sum")
            for metric in ("Invocations", "Errors")
        ]
        return judge_invocations(
            self.stack.function, self.facts.log_group, self.facts.window, *figures
        )

    def metric(self, alarm_suffix: str, metric: str) -> Line:
        name = self.stack.alarm_name(alarm_suffix)
        alarm = self.facts.alarms.get(name)
        if alarm is None:
            return failed(f"metric {metric}", f"cannot tell: {name} does not exist", DRIFT_FIX)
        expressions = [m.get("Expression", "") for m in alarm.get("Metrics", [])]
        query = Query.parse(expressions[0]) if len(expressions) == 1 else None
        regions = [r for r in self.facts.environment.get("MONITORED_REGIONS", "").split(",") if r]
        with_data = {region: self._has_data(query, region) for region in regions}
        return judge_metric(metric, name, query, self.facts.environment, with_data)

    def _has_data(self, query: Query | None, region: str) -> bool:
        dimensions = query.dimensions_in(region) if query else None
        if query is None or dimensions is None:
            return False
        return bool(self.facts.statistic(query.namespace, query.metric, dimensions, "SampleCount"))

    def alarm(self, suffix: str) -> Line:
        return judge_alarm(self.stack, suffix, self.facts.alarms.get(self.stack.alarm_name(suffix)))

    def notifications(self) -> Line:
        names = [self.stack.alarm_name(suffix) for suffix in ALARMS]
        return judge_notifications({name: self.facts.latest_notification(name) for name in names})

    def topic_policy(self) -> Line:
        requests = self.facts.alarm_requests("sns:Publish", self.stack.topic)
        policy = self.facts.topic_attributes.get("Policy")
        return judge_topic_policy(self.stack, evaluate_all(policy, requests))

    def key_policy(self) -> Line:
        key = self.facts.key
        if key is None:
            return passed("key policy", "the topic is not encrypted with a KMS key")
        problem = judge_key(self.stack, key, self.facts.account)
        if problem:
            return problem
        requests = [
            request
            for action in ("kms:Decrypt", "kms:GenerateDataKey")
            for request in self.facts.alarm_requests(action, key["Arn"])
        ]
        return judge_key_policy(
            key["Arn"], evaluate_all(self.facts.key_policy(key["Arn"]), requests)
        )

    def test_notification(self) -> Line:
        """The one write: an invocation that is never retried (a retry would send twice),
        given as long as the function may run."""
        timeout = int(self.facts.configuration.get("Timeout", 60)) + 10
        with calling("lambda:InvokeFunction", self.stack.region):
            client = self.facts.clients.single_attempt("lambda", self.stack.region, timeout)
            reply = client.invoke(
                FunctionName=self.stack.function,
                Payload=json.dumps({"action": "test-notification"}).encode(),
            )
            payload = reply["Payload"].read()
        answer = {**reply, "Payload": json.loads(payload or b"null")}
        return judge_test_notification(self.stack.function, self.facts.log_group, answer)


def _guarded(check: str, judge: Callable[[], Line]) -> Line:
    try:
        return judge()
    except AwsCallError as error:
        return failed(check, str(error), _fix_for(error))
    except IncompleteMetricData as error:
        return failed(check, str(error), "verify again in a minute")


def run(
    clients: AwsClients,
    stack_name: str,
    region: str,
    send_test: bool = False,
    now: datetime | None = None,
) -> tuple[Stack, list[Line]]:
    """The stack, and its checklist. A stack with no outputs (a failed creation, say) gets
    only its own line; a stack that rolled back an update is still checked: its previous
    version is what runs."""
    stack = read_stack(clients, stack_name, region)
    lines = [judge_stack(stack)]
    if "FunctionName" in stack.outputs and "AlertTopicArn" in stack.outputs:
        facts = Facts(clients, stack, now or datetime.now(UTC))
        lines += Checklist(facts).lines(send_test)
    return stack, lines


# ------------------------------------------------------------------------------ output


def as_text(stack: Stack, lines: list[Line]) -> str:
    width = max(len(line.check) for line in lines)
    out = [f"enrollment-monitor verify: stack {stack.name} in {stack.region}"]
    for line in lines:
        mark = "ok  " if line.passed else "FAIL"
        out.append(f"  [{mark}] {line.check:<{width}}  {line.found}")
        if line.fix:
            out.append(f"         {'':<{width}}  fix: {line.fix}")
    failures = sum(not line.passed for line in lines)
    out.append("all checks passed" if not failures else f"{failures} of {len(lines)} checks failed")
    return "\n".join(out)


def as_json(stack: Stack, lines: list[Line]) -> str:
    return json.dumps(
        {
            "stack": stack.name,
            "region": stack.region,
            "passed": all(line.passed for line in lines),
            "checks": [asdict(line) for line in lines],
        },
        indent=2,
    )
