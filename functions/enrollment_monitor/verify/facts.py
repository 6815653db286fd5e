"""What AWS says of a deployed stack. Each answer is read once, on first use, and converted
where it enters into typed values: nothing past this module sees a boto3 dict.

Read-only with the caller's credentials (``Facts.invoke_test_notification`` aside).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from enrollment_monitor.clients import AwsClients
from enrollment_monitor.compute_optimizer import READ_MEMBERS
from enrollment_monitor.enrollment import Enrollment, WatchedSubject
from enrollment_monitor.errors import AwsCallError, calling
from enrollment_monitor.subjects import ALSO_WATCHED, compute_optimizer, service_of, subjects_of
from enrollment_monitor.verify.model import (
    NOTIFICATION_DAYS,
    UNREADABLE,
    IncompleteMetricData,
    NotAMonitorStack,
    Series,
    Stack,
    StackNotFound,
    Window,
)
from enrollment_monitor.verify.policy import Policy

CHATBOT_ENDPOINT = "chatbot.amazonaws.com"

# ------------------------------------------------------------------------------ the facts


@dataclass(frozen=True)
class Function:
    """The function's configuration, as far as verify reads it."""

    namespace: str = ""  # POWERTOOLS_METRICS_NAMESPACE: where its metrics go
    service: str = ""  # POWERTOOLS_SERVICE_NAME: their service dimension
    regions: tuple[str, ...] = ()  # MONITORED_REGIONS
    timeout: int = 60
    log_group: str | None = None  # None: Lambda's default, /aws/lambda/<function>
    role: str = ""  # its execution role's ARN
    also_watch: tuple[str, ...] = ()  # ALSO_WATCH, the values the monitor knows
    track_members: bool = False  # TRACK_MEMBER_ACCOUNTS

    @classmethod
    def from_api(cls, configuration: Mapping[str, Any]) -> Function:
        variables = configuration.get("Environment", {}).get("Variables", {})
        also_watch = (v.strip() for v in variables.get("ALSO_WATCH", "").split(","))
        return cls(
            namespace=variables.get("POWERTOOLS_METRICS_NAMESPACE", ""),
            service=variables.get("POWERTOOLS_SERVICE_NAME", ""),
            regions=tuple(r for r in variables.get("MONITORED_REGIONS", "").split(",") if r),
            timeout=int(configuration.get("Timeout", 60)),
            log_group=configuration.get("LoggingConfig", {}).get("LogGroup") or None,
            role=configuration.get("Role", ""),
            also_watch=tuple(dict.fromkeys(v for v in also_watch if v in ALSO_WATCHED)),
            # As the function reads it (settings): anything else fails its cold start.
            track_members=str(variables.get("TRACK_MEMBER_ACCOUNTS", "")).strip().lower()
            in ("true", "1", "yes"),
        )

    @property
    def reads(self) -> tuple[str, ...]:
        """The IAM actions of every read its checks make: Compute Optimizer's enrollment, its
        members with member tracking, and each service AlsoWatch names."""
        members = (READ_MEMBERS,) if self.track_members else ()
        also = (call for v in self.also_watch for s in ALSO_WATCHED[v] for call in s.calls)
        return tuple(dict.fromkeys((*compute_optimizer.SERVICE.calls, *members, *also)))


@dataclass(frozen=True)
class Role:
    """The function's execution role as IAM evaluates its requests: its inline and attached
    managed policies together, and its permissions boundary (None: it has none)."""

    arn: str
    policies: Policy
    boundary: Policy | None = None
    boundary_arn: str = ""

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Alarm:
    state: str
    reason: str = ""
    actions_enabled: bool = True
    alarm_actions: frozenset[str] = frozenset()
    ok_actions: frozenset[str] = frozenset()
    configured_at: datetime | None = None
    series: Series | None = None  # the one series it reads; None: a query, or several metrics

    @classmethod
    def from_api(cls, alarm: Mapping[str, Any]) -> Alarm:
        configured = alarm.get("AlarmConfigurationUpdatedTimestamp")
        return cls(
            state=alarm["StateValue"],
            reason=alarm.get("StateReason", ""),
            actions_enabled=alarm.get("ActionsEnabled", True),
            alarm_actions=frozenset(alarm.get("AlarmActions", [])),
            ok_actions=frozenset(alarm.get("OKActions", [])),
            configured_at=configured if isinstance(configured, datetime) else None,
            series=_watched(alarm),
        )


def _watched(alarm: Mapping[str, Any]) -> Series | None:
    """The one series a metric alarm reads: its metric, or the only metric its metric math
    reads (monitor-silent's FILL). None for an alarm on a query or on several metrics."""
    if "MetricName" in alarm:
        metric = alarm
    else:
        stats = [q["MetricStat"]["Metric"] for q in alarm.get("Metrics", []) if "MetricStat" in q]
        if len(stats) != 1:
            return None
        metric = stats[0]
    dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
    return Series(metric["Namespace"], metric["MetricName"], dimensions)


@dataclass(frozen=True)
class Notification:
    """An alarm's notification to the topic, as its history tells it."""

    summary: str
    action_state: str | None = None  # what the item's HistoryData says, if it says

    @property
    def failed(self) -> bool:
        return self.action_state == "Failed" or self.summary.startswith("Failed")

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Notification:
        try:
            state = json.loads(item.get("HistoryData") or "{}").get("actionState")
        except (ValueError, AttributeError):
            state = None
        return cls(str(item.get("HistorySummary", "")), state)


@dataclass(frozen=True)
class Subscription:
    arn: str  # SNS shows PendingConfirmation (or Deleted) instead of an unconfirmed one's ARN
    protocol: str
    endpoint: str = ""

    @property
    def confirmed(self) -> bool:
        return self.arn.startswith("arn:")

    @property
    def chatbot(self) -> bool:
        return CHATBOT_ENDPOINT in self.endpoint

    @classmethod
    def from_api(cls, subscription: Mapping[str, str]) -> Subscription:
        return cls(
            subscription["SubscriptionArn"],
            subscription["Protocol"],
            subscription.get("Endpoint", ""),
        )


@dataclass(frozen=True)
class Key:
    """The topic's KMS key. Of another account's key, verify knows only the ARN."""

    arn: str
    manager: str | None = None
    state: str | None = None

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @classmethod
    def from_api(cls, metadata: Mapping[str, Any]) -> Key:
        return cls(metadata["Arn"], metadata.get("KeyManager"), metadata.get("KeyState"))


@dataclass(frozen=True)
class Reply:
    """What the function answered an invocation."""

    error: str | None = None  # its error ("type: message"), or its payload when not JSON

    @classmethod
    def from_api(cls, reply: Mapping[str, Any], payload: str) -> Reply:
        if not reply.get("FunctionError"):
            return cls()
        try:
            error: Any = json.loads(payload or "null")
        except ValueError:
            error = payload
        if isinstance(error, dict):
            return cls(f"{error.get('errorType')}: {error.get('errorMessage')}")
        return cls(str(error))


def stack_from_api(described: Mapping[str, Any], region: str) -> Stack:
    return Stack(
        name=described["StackName"],  # --stack may be the stack's ARN
        region=region,
        status=described["StackStatus"],
        reason=described.get("StackStatusReason"),
        parameters={
            p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])
        },
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        stack_id=described["StackId"],
    )


# ------------------------------------------------------------------------------ gathering


@contextmanager
def client_for(clients: AwsClients, call: str, region: str) -> Iterator[Any]:
    """The client for ``call`` (an IAM action), made and used under one error name."""
    with calling(call, region):
        # Every IAM prefix verify uses is also the client's service name.
        yield clients.regional(call.split(":")[0], region)


def read_stack(clients: AwsClients, name: str, region: str) -> Stack:
    try:
        with client_for(clients, "cloudformation:DescribeStacks", region) as client:
            (described,) = client.describe_stacks(StackName=name)["Stacks"]
    except AwsCallError as error:
        if error.code == "ValidationError" and "does not exist" in str(error):
            raise StackNotFound(name, region) from error
        raise
    stack = stack_from_api(described, region)
    if stack.missing_outputs and stack.complete:
        raise NotAMonitorStack(name, region, stack.missing_outputs)
    return stack


T = TypeVar("T")


class Facts:
    """What AWS says of one deployed stack, each read once, on first use."""

    def __init__(self, clients: AwsClients, stack: Stack, now: datetime) -> None:
        self.clients = clients
        self.stack = stack
        self.window = Window.of(now, stack.period)
        self._read: dict[str, object] = {}

    def _once(self, fact: str, read: Callable[[], T]) -> T:
        """``read()`` the first time, its answer or its failure every time: each fact is one
        call, and every line that needs a fact AWS refused fails the same way."""
        if fact not in self._read:
            try:
                self._read[fact] = read()
            except (AwsCallError, *UNREADABLE) as error:
                self._read[fact] = error
        found = self._read[fact]
        if isinstance(found, Exception):
            raise found
        return cast(T, found)

    def _client(self, call: str, region: str) -> AbstractContextManager[Any]:
        return client_for(self.clients, call, region)

    @property
    def function(self) -> Function:
        return self._once("function", self._read_function)

    def _read_function(self) -> Function:
        with self._client("lambda:GetFunctionConfiguration", self.stack.region) as client:
            configured = client.get_function_configuration(FunctionName=self.stack.function)
        return Function.from_api(configured)

    @property
    def log_group(self) -> str:
        """For the fixes' commands only: a configuration verify cannot read costs no line."""
        try:
            group = self.function.log_group
        except (AwsCallError, *UNREADABLE):
            group = None
        return group or f"/aws/lambda/{self.stack.function}"

    @property
    def alarms(self) -> Mapping[str, Alarm]:
        return self._once("alarms", self._read_alarms)

    def _read_alarms(self) -> Mapping[str, Alarm]:
        with self._client("cloudwatch:DescribeAlarms", self.stack.region) as client:
            described = client.describe_alarms(
                AlarmNames=self.stack.alarm_names, AlarmTypes=["MetricAlarm"]
            )
        return {alarm["AlarmName"]: Alarm.from_api(alarm) for alarm in described["MetricAlarms"]}

    def latest_notification(self, name: str) -> Notification | None:
        """The alarm's newest notification to the topic since it was last configured: history
        outlives a change of topic, a fixed policy, even the alarm itself."""
        start = self.window.end - timedelta(days=NOTIFICATION_DAYS)
        alarm = self.alarms.get(name)
        if alarm and alarm.configured_at:
            start = max(start, alarm.configured_at)
        with self._client("cloudwatch:DescribeAlarmHistory", self.stack.region) as client:
            items: list[Mapping[str, Any]] = client.describe_alarm_history(
                AlarmName=name,
                AlarmTypes=["MetricAlarm"],
                HistoryItemType="Action",
                StartDate=start,
                EndDate=self.window.end,
                ScanBy="TimestampDescending",
                MaxRecords=10,
            )["AlarmHistoryItems"]
        about = (item for item in items if _names_topic(item, self.stack.topic))
        return next((Notification.from_api(item) for item in about), None)

    def statistic(
        self,
        namespace: str,
        metric: str,
        dimensions: Mapping[str, str],
        stat: str,
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

    def has_data(self, series: Series) -> bool:
        """Whether ``series`` has data in the window."""
        return bool(
            self.statistic(series.namespace, series.metric, series.dimensions, "SampleCount")
        )

    @property
    def _topic_attributes(self) -> Mapping[str, str]:
        return self._once("topic_attributes", self._read_topic_attributes)

    def _read_topic_attributes(self) -> Mapping[str, str]:
        with self._client("sns:GetTopicAttributes", self.stack.topic_region) as client:
            attributes: Mapping[str, str] = client.get_topic_attributes(TopicArn=self.stack.topic)[
                "Attributes"
            ]
        return attributes

    @property
    def topic_policy(self) -> Policy:
        return self._once("topic_policy", self._read_topic_policy)

    def _read_topic_policy(self) -> Policy:
        return Policy.parse(self._topic_attributes.get("Policy"))

    @property
    def subscriptions(self) -> list[Subscription]:
        return self._once("subscriptions", self._read_subscriptions)

    def _read_subscriptions(self) -> list[Subscription]:
        found: list[Subscription] = []
        with self._client("sns:ListSubscriptionsByTopic", self.stack.topic_region) as client:
            pages = client.get_paginator("list_subscriptions_by_topic")
            for page in pages.paginate(TopicArn=self.stack.topic):
                found += [Subscription.from_api(s) for s in page["Subscriptions"]]
        return found

    @property
    def key(self) -> Key | None:
        return self._once("key", self._read_key)

    def _read_key(self) -> Key | None:
        """The topic's key (DescribeKey resolves an alias, an ID or an ARN), or None."""
        key_id = self._topic_attributes.get("KmsMasterKeyId")
        if not key_id:
            return None
        if key_id.startswith("arn:") and key_id.split(":")[4] != self.stack.account:
            # KMS lets another account describe the key only if its policy says so.
            return Key(key_id)
        with self._client("kms:DescribeKey", self.stack.topic_region) as client:
            return Key.from_api(client.describe_key(KeyId=key_id)["KeyMetadata"])

    def key_policy(self, key: Key) -> Policy:
        with self._client("kms:GetKeyPolicy", self.stack.topic_region) as client:
            policy: str = client.get_key_policy(KeyId=key.arn, PolicyName="default")["Policy"]
        return Policy.parse(policy)

    def enrollments(self) -> dict[WatchedSubject, Enrollment]:
        """The enrollment of each subject the function watches and expects Active (Compute
        Optimizer in each Region, what AlsoWatch adds), read now with your credentials as the
        function reads it (each service's own reader, its call named in any failure)."""
        function = self.function
        watched = subjects_of(
            self.stack.account, function.regions, function.also_watch, self.stack.region
        )
        found = {}
        for subject in watched:
            service = service_of(subject)
            if service.expects_active:
                client = self.clients.regional(service.client, subject.region)
                found[subject] = service.read(client, subject.region, subject.account_id)
        return found

    @property
    def role(self) -> Role:
        return self._once("role", self._read_role)

    def _read_role(self) -> Role:
        """The function's role: its boundary, inline policies and attached managed policies."""
        arn = self.function.role
        name, region = arn.rsplit("/", 1)[-1], self.stack.region
        with self._client("iam:GetRole", region) as client:
            role = client.get_role(RoleName=name)["Role"]
        bounded = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        policies = Policy()
        with self._client("iam:ListRolePolicies", region) as client:
            pages = client.get_paginator("list_role_policies").paginate(RoleName=name)
            inline = [policy for page in pages for policy in page["PolicyNames"]]
        for policy in inline:
            with self._client("iam:GetRolePolicy", region) as client:
                document = client.get_role_policy(RoleName=name, PolicyName=policy)
            policies += Policy.parse(document["PolicyDocument"], policy, identity=True)
        with self._client("iam:ListAttachedRolePolicies", region) as client:
            pages = client.get_paginator("list_attached_role_policies").paginate(RoleName=name)
            attached = [
                policy["PolicyArn"] for page in pages for policy in page["AttachedPolicies"]
            ]
        for policy_arn in attached:
            policies += self._managed_policy(policy_arn)
        if not bounded:
            return Role(arn, policies)
        return Role(arn, policies, self._managed_policy(bounded), bounded)

    def _managed_policy(self, arn: str) -> Policy:
        """A managed policy's default version (boto3 decodes IAM's URL-encoded document)."""
        with self._client("iam:GetPolicy", self.stack.region) as client:
            version = client.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        with self._client("iam:GetPolicyVersion", self.stack.region) as client:
            found = client.get_policy_version(PolicyArn=arn, VersionId=version)
        document = found["PolicyVersion"]["Document"]
        return Policy.parse(document, arn.rsplit("/", 1)[-1], identity=True)

    def invoke_test_notification(self) -> Reply:
        """The one write: an invocation that is never retried (a retry would send twice),
        given as long as the function may run."""
        timeout = self.function.timeout + 10
        with calling("lambda:InvokeFunction", self.stack.region):
            client = self.clients.single_attempt("lambda", self.stack.region, timeout)
            reply = client.invoke(
                FunctionName=self.stack.function,
                Payload=json.dumps({"action": "test-notification"}).encode(),
            )
            payload = reply["Payload"].read().decode(errors="replace")
        return Reply.from_api(reply, payload)


def _names_topic(item: Mapping[str, Any], topic: str) -> bool:
    """Whether a history item is about ``topic`` (not about a topic whose name extends it)."""
    said = f"{item.get('HistorySummary', '')} {item.get('HistoryData', '')}"
    return re.search(re.escape(topic) + r"(?![\w-])", said) is not None
