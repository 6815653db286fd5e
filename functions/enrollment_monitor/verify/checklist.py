"""The checklist of ``enrollment-monitor verify``.

Read-only with the caller's credentials (``--send-test`` aside, which invokes the function's
test notification). ``Facts`` reads each fact from AWS once; ``verdicts`` decides each line
from facts alone. A call AWS refuses fails the lines that need it, naming the permission; the
other lines still run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar, cast

from enrollment_monitor.clients import AwsClients
from enrollment_monitor.errors import AwsCallError, calling
from enrollment_monitor.verify.policy import Request, evaluate_all
from enrollment_monitor.verify.verdicts import (
    ALARMS,
    CLOUDWATCH,
    DRIFT_FIX,
    METRIC_ALARMS,
    NOTIFICATION_DAYS,
    IncompleteMetricData,
    Line,
    NotAMonitorStack,
    Query,
    Stack,
    StackNotFound,
    Window,
    failed,
    fix_for,
    judge_alarm,
    judge_chat,
    judge_invocations,
    judge_key,
    judge_key_policy,
    judge_metric,
    judge_notifications,
    judge_stack,
    judge_subscriptions,
    judge_test_notification,
    judge_topic_policy,
    names_topic,
    passed,
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
    stack = Stack(
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
    if stack.missing_outputs and judge_stack(stack).passed:
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
            except AwsCallError as error:
                self._read[fact] = error
        found = self._read[fact]
        if isinstance(found, AwsCallError):
            raise found
        return cast(T, found)

    @property
    def topic_region(self) -> str:
        return self.stack.topic.split(":")[3]

    def _client(self, call: str, region: str) -> AbstractContextManager[Any]:
        return client_for(self.clients, call, region)

    @property
    def configuration(self) -> Mapping[str, Any]:
        return self._once("configuration", self._read_configuration)

    def _read_configuration(self) -> Mapping[str, Any]:
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
        """For the fixes' commands only: a configuration verify cannot read costs no line."""
        try:
            group: str = self.configuration.get("LoggingConfig", {}).get("LogGroup", "")
        except AwsCallError:
            group = ""
        return group or f"/aws/lambda/{self.stack.function}"

    @property
    def alarms(self) -> Mapping[str, Mapping[str, Any]]:
        return self._once("alarms", self._read_alarms)

    def _read_alarms(self) -> Mapping[str, Mapping[str, Any]]:
        with self._client("cloudwatch:DescribeAlarms", self.stack.region) as client:
            described = client.describe_alarms(
                AlarmNames=self.stack.alarm_names, AlarmTypes=["MetricAlarm"]
            )
        return {alarm["AlarmName"]: alarm for alarm in described["MetricAlarms"]}

    def latest_notification(self, name: str) -> Mapping[str, Any] | None:
        """The alarm's newest notification to the topic since it was last configured: history
        outlives a change of topic, a fixed policy, even the alarm itself."""
        start = self.window.end - timedelta(days=NOTIFICATION_DAYS)
        configured = self.alarms.get(name, {}).get("AlarmConfigurationUpdatedTimestamp")
        if isinstance(configured, datetime):
            start = max(start, configured)
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
        return next((item for item in items if names_topic(item, self.stack.topic)), None)

    def alarm_arns(self) -> list[str]:
        """The ARNs the alarms publish as (aws:SourceArn), whether they exist or not."""
        return [
            f"arn:{self.stack.partition}:cloudwatch:{self.stack.region}:{self.stack.account}:"
            f"alarm:{name}"
            for name in self.stack.alarm_names
        ]

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

    @property
    def topic_attributes(self) -> Mapping[str, str]:
        return self._once("topic_attributes", self._read_topic_attributes)

    def _read_topic_attributes(self) -> Mapping[str, str]:
        with self._client("sns:GetTopicAttributes", self.topic_region) as client:
            attributes: Mapping[str, str] = client.get_topic_attributes(TopicArn=self.stack.topic)[
                "Attributes"
            ]
        return attributes

    @property
    def subscriptions(self) -> list[Mapping[str, str]]:
        return self._once("subscriptions", self._read_subscriptions)

    def _read_subscriptions(self) -> list[Mapping[str, str]]:
        found: list[Mapping[str, str]] = []
        with self._client("sns:ListSubscriptionsByTopic", self.topic_region) as client:
            pages = client.get_paginator("list_subscriptions_by_topic")
            for page in pages.paginate(TopicArn=self.stack.topic):
                found += page["Subscriptions"]
        return found

    @property
    def key(self) -> Mapping[str, Any] | None:
        return self._once("key", self._read_key)

    def _read_key(self) -> Mapping[str, Any] | None:
        """The topic's key (DescribeKey resolves an alias, an ID or an ARN), or None."""
        key_id = self.topic_attributes.get("KmsMasterKeyId")
        if not key_id:
            return None
        if key_id.startswith("arn:") and key_id.split(":")[4] != self.stack.account:
            # KMS lets another account describe the key only if its policy says so.
            return {"Arn": key_id}
        with self._client("kms:DescribeKey", self.topic_region) as client:
            metadata: Mapping[str, Any] = client.describe_key(KeyId=key_id)["KeyMetadata"]
        return metadata

    def key_policy(self, key_arn: str) -> str:
        with self._client("kms:GetKeyPolicy", self.topic_region) as client:
            policy: str = client.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
        return policy

    def alarm_requests(
        self, action: str, resource: str, context: Mapping[str, str] | None = None
    ) -> list[Request]:
        """The requests CloudWatch makes for each alarm of the stack, with the condition keys
        they carry (``aws:SourceOwner`` is the older name of ``aws:SourceAccount``, which the
        topic policy SNS writes by default still uses)."""
        return [
            Request(
                service=CLOUDWATCH,
                action=action,
                resource=resource,
                context={
                    "aws:SourceAccount": self.stack.account,
                    "aws:SourceOwner": self.stack.account,
                    "aws:SourceArn": alarm,
                    "aws:SecureTransport": "true",
                    "aws:PrincipalServiceName": CLOUDWATCH,
                    "aws:PrincipalIsAWSService": "true",
                    **(context or {}),
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
            "subscriptions": lambda: judge_subscriptions(self.stack, self.facts.subscriptions),
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
        return judge_notifications(
            {name: self.facts.latest_notification(name) for name in self.stack.alarm_names}
        )

    def topic_policy(self) -> Line:
        requests = self.facts.alarm_requests("sns:Publish", self.stack.topic)
        policy = self.facts.topic_attributes.get("Policy")
        return judge_topic_policy(self.stack, evaluate_all(policy, requests))

    def key_policy(self) -> Line:
        key = self.facts.key
        if key is None:
            return passed("key policy", "the topic is not encrypted with a KMS key")
        problem = judge_key(self.stack, key)
        if problem:
            return problem
        # SNS asks KMS for the alarms with the topic in the encryption context.
        context = {"kms:EncryptionContext:aws:sns:topicArn": self.stack.topic}
        requests = [
            request
            for action in ("kms:Decrypt", "kms:GenerateDataKey")
            for request in self.facts.alarm_requests(action, key["Arn"], context)
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
            payload = reply["Payload"].read().decode(errors="replace")
        try:
            parsed: Any = json.loads(payload or "null")
        except ValueError:
            parsed = payload
        answer = {**reply, "Payload": parsed}
        return judge_test_notification(self.stack.function, self.facts.log_group, answer)


def _guarded(check: str, judge: Callable[[], Line]) -> Line:
    try:
        return judge()
    except AwsCallError as error:
        return failed(check, str(error), fix_for(error))
    except IncompleteMetricData as error:
        return failed(check, str(error), "verify again in a minute")
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as error:
        # An answer of a shape verify does not know (a hand-written policy, say) fails its
        # own line, never the checklist.
        return failed(
            check,
            f"verify could not read AWS's answer: {type(error).__name__}: {error}",
            "check that line by hand, and tell the monitor's maintainers what AWS answered",
        )


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
    if not stack.missing_outputs:
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
