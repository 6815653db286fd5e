"""``enrollment-monitor verify``: proof on the user's own account that a deployed stack works.

Read-only with the caller's credentials (``--send-test`` aside, which invokes the function's
test notification). Each check is one line of a checklist: what was found, and for a failed
line what to do about it. Gathering (AWS calls) and judging (pure functions) are kept apart so
every verdict can be tested without AWS.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from enrollment_monitor.clients import AwsClients
from enrollment_monitor.errors import AwsCallError, MonitorError, calling

# The template names its alarms after the stack; the first watches enrollment, the others
# the monitor itself (an ALARM there means the monitor is broken).
ENROLLMENT_ALARM = "enrollment-not-active"
HEALTH_ALARMS = ("monitor-silent", "function-errors", "failed-invocations")
COMPLETE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
DEFAULT_PERIOD_SECONDS = 3600
CHATBOT_ENDPOINT = "chatbot.amazonaws.com"
CHAT_PARAMETERS = {
    "Slack": ("SlackWorkspaceId", "SlackChannelId"),
    "Microsoft Teams": ("TeamsTeamId", "TeamsChannelId", "TeamsTenantId"),
}
_QUERY = re.compile(
    r"SELECT\s+\w+\((?P<metric>\w+)\)\s+FROM\s+SCHEMA\(\s*\"(?P<namespace>[^\"]+)\"\s*,"
    r"(?P<dimensions>[^)]*)\)(?:\s+WHERE\s+(?P<where>.*?))?(?:\s+GROUP\s+BY\s+.*)?$",
    re.IGNORECASE,
)
_CONDITION = re.compile(r"^(\w+)\s*=\s*'([^']*)'$")


class StackNotFound(MonitorError):
    def __init__(self, stack: str, region: str) -> None:
        super().__init__(
            f"no stack named {stack} in {region}: check --stack and --region "
            "(`aws cloudformation list-stacks` lists them)"
        )


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


# ------------------------------------------------------------------------------ verdicts


def judge_stack(stack: Stack) -> Line:
    if stack.status in COMPLETE:
        return passed("stack", f"{stack.name} is {stack.status}")
    if stack.status.endswith("_IN_PROGRESS"):
        fix = "wait for the operation to finish, then run verify again"
    elif stack.status == "UPDATE_ROLLBACK_COMPLETE":
        fix = "the last update was rolled back: read the stack's events, fix, deploy again"
    else:
        fix = "read the stack's events (aws cloudformation describe-stack-events), fix, redeploy"
    reason = f" ({stack.reason})" if stack.reason else ""
    return failed("stack", f"{stack.name} is {stack.status}{reason}", fix)


def judge_invocations(function: str, invocations: float, errors: float, hours: float) -> Line:
    window = f"in the last {hours:g} h"
    if errors:
        return failed(
            "invocations",
            f"{errors:g} of {invocations:g} invocations of {function} failed {window}",
            f"read its log: aws logs tail /aws/lambda/{function} --since {hours:g}h "
            "--filter-pattern ERROR",
        )
    if not invocations:
        return failed(
            "invocations",
            f"{function} was not invoked {window}",
            "check that the stack's schedule is enabled; a new stack needs one scheduled check: "
            "run verify again after it",
        )
    return passed("invocations", f"{invocations:g} invocations of {function} {window}, none failed")


def judge_alarm(stack: Stack, suffix: str, alarm: Mapping[str, Any] | None, topic: str) -> Line:
    name = stack.alarm_name(suffix)
    check = f"alarm {suffix}"
    if alarm is None:
        return failed(check, f"{name} does not exist", "deploy the stack again to recreate it")
    state, reason = alarm["StateValue"], alarm.get("StateReason", "")
    actions = set(alarm.get("AlarmActions", [])) & set(alarm.get("OKActions", []))
    if topic not in actions:
        return failed(
            check,
            f"{name} does not notify {topic}",
            "deploy the stack again to restore its actions",
        )
    if state == "INSUFFICIENT_DATA":
        return failed(
            check,
            f"{name} is INSUFFICIENT_DATA: it has not evaluated a check yet",
            "wait for the next scheduled check (two periods for a new stack), then verify again",
        )
    if state == "ALARM" and suffix != ENROLLMENT_ALARM:
        return failed(
            check, f"{name} is ALARM: {reason}", "fix what its reason says (see the other lines)"
        )
    return passed(check, f"{name} is {state}")


def judge_metric(
    query: Query | None,
    alarm: str,
    environment: Mapping[str, str],
    with_data: Mapping[str, bool],
) -> Line:
    """``with_data``: for each monitored Region, whether the alarm's dimension set has data."""
    if query is None:
        return failed(
            f"metrics of {alarm}", "its query is not one verify can read", "deploy the stack again"
        )
    check = f"metric {query.metric}"
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
    missing = sorted(region for region, found in with_data.items() if not found)
    if missing:
        return failed(
            check,
            f"no data point with the dimensions {alarm} reads, in {', '.join(missing)}",
            "a check that fails emits none: see the invocations line and the function's log",
        )
    return passed(check, f"data points in {', '.join(sorted(with_data))}, as {alarm} reads them")


def judge_subscriptions(subscriptions: list[Mapping[str, str]]) -> Line:
    if not subscriptions:
        return failed(
            "subscriptions",
            "the topic has no subscription: alerts reach no one",
            "set NotificationEmail or a chat channel and deploy, or subscribe an endpoint",
        )
    pending = [s for s in subscriptions if s["SubscriptionArn"] == "PendingConfirmation"]
    described = ", ".join(_endpoint(s) for s in subscriptions)
    if pending:
        return failed(
            "subscriptions",
            f"not confirmed: {', '.join(_endpoint(s) for s in pending)}",
            "open the confirmation message SNS sent (email: look in spam too) and follow its "
            "link; it expires after 3 days, then subscribe again",
        )
    return passed("subscriptions", f"{len(subscriptions)} confirmed: {described}")


def _endpoint(subscription: Mapping[str, str]) -> str:
    if CHATBOT_ENDPOINT in subscription.get("Endpoint", ""):
        return "AWS Chatbot"
    return f"{subscription['Protocol']} {subscription.get('Endpoint', '')}".strip()


def judge_topic_policy(topic: str, policy: str | None) -> Line:
    if allows(policy, "cloudwatch.amazonaws.com", ["sns:Publish"]):
        return passed("topic policy", "lets CloudWatch alarms publish")
    return failed(
        "topic policy",
        f"{topic}'s policy does not let cloudwatch.amazonaws.com call sns:Publish",
        "add a statement allowing the service principal cloudwatch.amazonaws.com sns:Publish, "
        "with aws:SourceAccount = this account (README: Bring your own topic)",
    )


def judge_key(key: str | None, metadata: Mapping[str, Any] | None, policy: str | None) -> Line:
    """``key``: the topic's KmsMasterKeyId; ``metadata`` and ``policy`` of that key."""
    if not key:
        return passed("key policy", "the topic is not encrypted with a KMS key")
    if key.endswith("alias/aws/sns"):
        return failed(
            "key policy",
            "the topic is encrypted with the AWS managed key alias/aws/sns, which CloudWatch "
            "cannot use: alarm notifications are dropped",
            "encrypt the topic with a customer managed key whose policy allows "
            "cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*",
        )
    assert metadata is not None
    if metadata.get("KeyState") != "Enabled":
        return failed(
            "key policy",
            f"{metadata['Arn']} is {metadata.get('KeyState')}: nothing can publish to the topic",
            "enable the key (or cancel its deletion)",
        )
    if allows(policy, "cloudwatch.amazonaws.com", ["kms:Decrypt", "kms:GenerateDataKey"]):
        return passed("key policy", f"{metadata['Arn']} lets CloudWatch alarms encrypt")
    return failed(
        "key policy",
        f"{metadata['Arn']}'s policy does not let cloudwatch.amazonaws.com use it",
        "allow the service principal cloudwatch.amazonaws.com kms:Decrypt and "
        "kms:GenerateDataKey* in the key policy (README: Bring your own topic)",
    )


def judge_chat(stack: Stack, subscriptions: list[Mapping[str, str]]) -> Line:
    configured = stack.chat_channels()
    if not configured:
        return passed("chat", "no Slack or Teams channel configured")
    attached = [
        s
        for s in subscriptions
        if CHATBOT_ENDPOINT in s.get("Endpoint", "")
        and s["SubscriptionArn"] != "PendingConfirmation"
    ]
    if not attached:
        return failed(
            "chat",
            f"{' and '.join(configured)} configured, but AWS Chatbot does not subscribe",
            "open the AWS Chatbot console: the channel configuration must list the topic",
        )
    return passed("chat", f"{' and '.join(configured)} channel attached through AWS Chatbot")


def judge_test_notification(function: str, reply: Mapping[str, Any]) -> Line:
    if reply.get("FunctionError"):
        return failed(
            "test notification",
            f"{function} failed: {reply.get('Payload', '')}",
            f"read its log: aws logs tail /aws/lambda/{function} --since 10m",
        )
    return passed(
        "test notification",
        "published: every subscription should show a TestNotification within a minute",
    )


def allows(policy: str | None, service: str, actions: Iterable[str]) -> bool:
    """Whether ``policy`` (a resource policy document) lets the service principal do every one
    of ``actions``: some Allow statement matches each, and no unconditional Deny matches any.
    Conditions on an Allow are taken as met (they scope the caller, which verify cannot be)."""
    statements = _statements(policy)

    def matching(effect: str, action: str) -> Iterator[Mapping[str, Any]]:
        for statement in statements:
            if statement.get("Effect") == effect and _names(statement, service, action):
                yield statement

    return all(
        any(matching("Allow", action))
        and not any("Condition" not in deny for deny in matching("Deny", action))
        for action in actions
    )


def _statements(policy: str | None) -> list[Mapping[str, Any]]:
    if not policy:
        return []
    statements = json.loads(policy).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _names(statement: Mapping[str, Any], service: str, action: str) -> bool:
    principal = statement.get("Principal")
    if principal != "*":
        if not isinstance(principal, dict):
            return False
        services, anyone = _as_list(principal.get("Service")), _as_list(principal.get("AWS"))
        if service not in services and "*" not in anyone:
            return False
    patterns = _as_list(statement.get("Action"))
    # Key policies grant e.g. kms:GenerateDataKey*: match as IAM does, case-insensitively.
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns) or any(
        fnmatch.fnmatchcase(f"{action}*".lower(), p.lower()) for p in patterns
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------------------ gathering


class Verification:
    """The facts verify reads, each read once, and the checklist built from them."""

    def __init__(
        self, clients: AwsClients, stack_name: str, region: str, now: datetime | None = None
    ) -> None:
        self.clients = clients
        self.region = region
        self.now = now or datetime.now(UTC)
        self.stack = self._read_stack(stack_name)

    def checklist(self, send_test: bool = False) -> list[Line]:
        stack_line = judge_stack(self.stack)
        if not stack_line.passed:
            return [stack_line]
        checks: dict[str, Callable[[], list[Line]]] = {
            "invocations": self._invocations,
            "metrics": self._metrics,
            "alarms": self._alarms,
            "topic": self._topic,
        }
        if send_test:
            checks["test notification"] = self._send_test
        lines = [stack_line]
        for name, check in checks.items():
            try:
                lines += check()
            except AwsCallError as error:
                # One refused or failed call fails its own lines, never the whole checklist.
                lines.append(failed(name, str(error), _fix_for(error)))
        return lines

    # -- the stack

    def _read_stack(self, name: str) -> Stack:
        client = self.clients.regional("cloudformation", self.region)
        try:
            with calling("cloudformation:DescribeStacks", self.region):
                (described,) = client.describe_stacks(StackName=name)["Stacks"]
        except AwsCallError as error:
            if error.code == "ValidationError" and "does not exist" in str(error):
                raise StackNotFound(name, self.region) from error
            raise
        return Stack(
            name=name,
            region=self.region,
            status=described["StackStatus"],
            reason=described.get("StackStatusReason"),
            parameters={
                p["ParameterKey"]: p.get("ParameterValue", "")
                for p in described.get("Parameters", [])
            },
            outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        )

    @property
    def function(self) -> str:
        return self.stack.outputs.get("FunctionName", "")

    @property
    def topic(self) -> str:
        return self.stack.outputs.get("AlertTopicArn", "")

    @cached_property
    def _environment(self) -> dict[str, str]:
        client = self.clients.regional("lambda", self.region)
        with calling("lambda:GetFunctionConfiguration", self.region):
            configuration = client.get_function_configuration(FunctionName=self.function)
        variables: dict[str, str] = configuration.get("Environment", {}).get("Variables", {})
        return variables

    # -- metrics and alarms

    def _window(self) -> tuple[datetime, datetime, int]:
        """The last two alarm periods, ending at the next whole minute (CloudWatch's
        resolution) so that a data point of this very minute counts."""
        period = 2 * self.stack.period
        end = self.now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return end - timedelta(seconds=period), end, period

    def _has_data(
        self, namespace: str, metric: str, dimensions: Mapping[str, str], stat: str = "SampleCount"
    ) -> float:
        """The ``stat`` of the metric over the last two periods (0 when it has no data)."""
        start, end, period = self._window()
        client = self.clients.regional("cloudwatch", self.region)
        query = {
            "Id": "m",
            "MetricStat": {
                "Metric": {
                    "Namespace": namespace,
                    "MetricName": metric,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                },
                "Period": period,
                "Stat": stat,
            },
        }
        with calling("cloudwatch:GetMetricData", self.region):
            (result,) = client.get_metric_data(
                MetricDataQueries=[query], StartTime=start, EndTime=end
            )["MetricDataResults"]
        return float(sum(result.get("Values", [])))

    def _invocations(self) -> list[Line]:
        dimensions = {"FunctionName": self.function}
        invocations = self._has_data("AWS/Lambda", "Invocations", dimensions, "Sum")
        errors = self._has_data("AWS/Lambda", "Errors", dimensions, "Sum")
        return [judge_invocations(self.function, invocations, errors, self._window()[2] / 3600)]

    @cached_property
    def _described_alarms(self) -> dict[str, Mapping[str, Any]]:
        names = [self.stack.alarm_name(s) for s in (ENROLLMENT_ALARM, *HEALTH_ALARMS)]
        client = self.clients.regional("cloudwatch", self.region)
        with calling("cloudwatch:DescribeAlarms", self.region):
            alarms = client.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm"])[
                "MetricAlarms"
            ]
        return {alarm["AlarmName"]: alarm for alarm in alarms}

    def _alarms(self) -> list[Line]:
        alarms = self._described_alarms
        return [
            judge_alarm(self.stack, suffix, alarms.get(self.stack.alarm_name(suffix)), self.topic)
            for suffix in (ENROLLMENT_ALARM, *HEALTH_ALARMS)
        ]

    def _metrics(self) -> list[Line]:
        """For each alarm on a Metrics Insights query: data with exactly its dimensions, in
        every Region the function checks."""
        environment = self._environment
        regions = [r for r in environment.get("MONITORED_REGIONS", "").split(",") if r]
        lines = []
        for name, alarm in self._described_alarms.items():
            for metric in alarm.get("Metrics", []):
                expression = metric.get("Expression", "")
                if not expression.upper().startswith("SELECT"):
                    continue
                query = Query.parse(expression)
                with_data = {region: self._query_has_data(query, region) for region in regions}
                lines.append(judge_metric(query, name, environment, with_data))
        return lines

    def _query_has_data(self, query: Query | None, region: str) -> bool:
        dimensions = query.dimensions_in(region) if query else None
        return bool(
            query and dimensions and self._has_data(query.namespace, query.metric, dimensions)
        )

    # -- the topic

    def _topic(self) -> list[Line]:
        region = self.topic.split(":")[3]
        sns = self.clients.sns(region)
        with calling("sns:GetTopicAttributes", region):
            attributes = sns.get_topic_attributes(TopicArn=self.topic)["Attributes"]
        subscriptions: list[Mapping[str, str]] = []
        with calling("sns:ListSubscriptionsByTopic", region):
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
                TopicArn=self.topic
            ):
                subscriptions += page["Subscriptions"]
        return [
            judge_subscriptions(subscriptions),
            judge_chat(self.stack, subscriptions),
            judge_topic_policy(self.topic, attributes.get("Policy")),
            self._key(region, attributes.get("KmsMasterKeyId")),
        ]

    def _key(self, region: str, key: str | None) -> Line:
        if not key or key.endswith("alias/aws/sns"):
            return judge_key(key, None, None)
        kms = self.clients.regional("kms", region)
        with calling("kms:DescribeKey", region):
            metadata = kms.describe_key(KeyId=key)["KeyMetadata"]
        with calling("kms:GetKeyPolicy", region):
            policy = kms.get_key_policy(KeyId=metadata["Arn"], PolicyName="default")["Policy"]
        return judge_key(key, metadata, policy)

    # -- the one write

    def _send_test(self) -> list[Line]:
        client = self.clients.regional("lambda", self.region)
        with calling("lambda:InvokeFunction", self.region):
            reply = client.invoke(
                FunctionName=self.function,
                Payload=json.dumps({"action": "test-notification"}).encode(),
            )
        payload = reply["Payload"].read().decode(errors="replace")
        return [judge_test_notification(self.function, {**reply, "Payload": payload})]


def _fix_for(error: AwsCallError) -> str:
    if error.denied:
        return f"let your credentials call {error.call} (read-only), then run verify again"
    return "run verify again; if it persists, check the AWS Health Dashboard"


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
