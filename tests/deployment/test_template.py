"""template.yaml: lint-clean in every partition, transformable, least privilege, encrypted,
deployable on moto with its own topic or yours, and alarmed on exactly the metrics the handler
emits."""

from __future__ import annotations

import fnmatch
import io
import itertools
import json
import re
import shlex
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from cfnlint.api import ManualArgs, lint_file
from moto import mock_aws

from devtools.local_aws import emf
from devtools.local_aws.compute_optimizer import FakeComputeOptimizer
from devtools.local_aws.resources import LambdaContext
from enrollment_monitor.alerts.render import CONSOLE_HOSTS
from enrollment_monitor.verify.policy import Request, Verdict, evaluate

from conftest import new_sandbox
from template import (
    ACCOUNT_ID,
    CHAT_TEMPLATE,
    OWN_METRIC_ALARMS,
    REGION,
    STACK_NAME,
    TEMPLATE,
    Resolver,
    create_stack,
    deployed_environment,
    function_environment,
    load_template,
    own_metric_alarm,
    parameter_defaults,
    resources_of_type,
    stack_arn,
    table_definition,
    transformed_template,
)

KNOWN_STATUSES = {"Active", "Inactive", "Pending", "Failed"}
# Metrics Insights alarms evaluate the most recent three hours of data, no more.
METRICS_INSIGHTS_ALARM_WINDOW_SECONDS = 3 * 3600
# One Region of each partition: the template must deploy in all three.
PARTITION_REGIONS = {"us-east-1": "aws", "us-gov-west-1": "aws-us-gov", "cn-north-1": "aws-cn"}
OPTIONAL_RESOURCES = {
    "AlertKey": "CreatesTopic",
    "AlertKeyAlias": "CreatesTopic",
    "AlertTopic": "CreatesTopic",
    "AlertTopicPolicy": "CreatesTopic",
    "EmailSubscription": "HasEmail",
    "ChatChannels": "HasChatbot",
    "CloudTrailEnrollmentRule": "HasCloudTrailTrigger",
    "CloudTrailEnrollmentRulePermission": "HasCloudTrailTrigger",
    "CloudTrailEnrollmentRuleDeadLetters": "HasCloudTrailTrigger",
    "CloudTrailHubRule": "HasHubTrigger",
    "CloudTrailHubRulePermission": "HasHubTrigger",
    "CloudTrailAutomationRule": "HasAutomationTrigger",
    "CloudTrailAutomationRulePermission": "HasAutomationTrigger",
    "CloudTrailOrganizationRule": "HasOrganizationTrigger",
    "CloudTrailOrganizationRulePermission": "HasOrganizationTrigger",
    "Dashboard": "HasDashboard",
}
ALARMS = {
    "EnrollmentNotActiveAlarm",
    "MonitorSilentAlarm",
    "FunctionErrorsAlarm",
    "FailedInvocationsAlarm",
}
# A topic and key of your own. In another Region than the stack's here, so that what must
# follow the topic's Region is seen to (the alarms themselves need it in the stack's Region).
YOUR_TOPIC = f"arn:aws:sns:eu-west-1:{ACCOUNT_ID}:platform-alerts"
YOUR_KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# Each AlsoWatch value: the condition that says it is watched, what the code calls for it
# (docs/CONFIGURATION.md), and the CloudTrail rule that checks when it changes.
ALSO_WATCH = {
    "CostOptimizationHub": (
        "WatchesHub",
        {"cost-optimization-hub:ListEnrollmentStatuses"},
        "CloudTrailHubRule",
    ),
    "ComputeOptimizerAutomation": (
        "WatchesAutomation",
        {"aco-automation:GetEnrollmentConfiguration"},
        "CloudTrailAutomationRule",
    ),
    "OrganizationAccess": (
        "WatchesOrganization",
        {
            "organizations:ListAWSServiceAccessForOrganization",
            "organizations:ListDelegatedAdministrators",
        },
        "CloudTrailOrganizationRule",
    ),
}
# Every value AlsoWatch takes: each subset of the three, in every order.
ALSO_WATCH_VALUES = [
    ",".join(chosen) for size in range(4) for chosen in itertools.permutations(ALSO_WATCH, size)
]
# Every optional resource that refers to the topic turned on, and every service watched.
EVERYTHING_ON = {
    "NotificationEmail": "ops@example.com",
    "SlackWorkspaceId": "T0123456789",
    "SlackChannelId": "C0123456789",
    "EnableCloudTrailTrigger": "true",
    "AlsoWatch": ",".join(ALSO_WATCH),
}
TOPIC_MODES = {
    "the stack's topic": {},
    "your topic and key": {"AlertTopicArn": YOUR_TOPIC, "AlertTopicKmsKeyArn": YOUR_KEY},
    "your unencrypted topic": {"AlertTopicArn": YOUR_TOPIC},
}
# Another stack name than the default: what follows the stack name must follow it here too.
OTHER_STACK_NAME = "billing-enrollment"
# Actions whose resources exist in this stack, or are given to it: each must be scoped to them.
RESOURCE_SCOPED_SERVICES = {"dynamodb", "sns", "kms", "sqs", "lambda", "logs"}
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?>")
_QUERY = re.compile(
    r"SELECT\s+(?P<stat>\w+)\((?P<metric>\w+)\)\s+FROM\s+SCHEMA\(\"(?P<namespace>[^\"]+)\",\s*"
    r"(?P<dimensions>[^)]*)\)(?:\s+WHERE\s+(?P<where>.*?))?(?:\s+GROUP BY\s+(?P<group>.*))?$"
)
_FILTER = re.compile(r"^(\w+)\s*=\s*'([^']*)'$")

# moto's CloudFormation skips, with a warning, the types it does not model (alarms, the
# schedule, the topic policy, the invoke config ...); the stack still completes.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* not supported by moto:UserWarning"
)


# ---------------------------------------------------------------------------- helpers


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resolver(
    parameters: dict[str, str] | None = None,
    region: str = REGION,
    stack_name: str = STACK_NAME,
) -> Resolver:
    """A Resolver whose own topic, when the stack makes one, has an ARN (the dashboard and the
    key grant read its Region from it); the other resources stay placeholders."""
    partition = PARTITION_REGIONS.get(region, "aws")
    topic = f"arn:{partition}:sns:{region}:{ACCOUNT_ID}:{stack_name}-AlertTopic-0123"
    return Resolver(parameters, {"AlertTopic": topic}, region, stack_name)


def deployed(
    parameters: dict[str, str] | None = None,
    region: str = REGION,
    stack_name: str = STACK_NAME,
) -> dict[str, dict[str, Any]]:
    """The transformed template's resources and outputs that ``parameters`` create, resolved."""
    resolve = resolver(parameters, region, stack_name)
    template = transformed_template(region)
    return {
        "Resources": resolve.created(template),
        "Outputs": resolve.created(template, "Outputs"),
    }


def policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role, statement) for every inline policy statement of every role in the template."""
    for name, role in resources(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                yield name, statement
    for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for name, policy in resources(template, policy_type).items():
            for statement in as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
                yield name, statement


def function_role_statements(parameters: dict[str, str] | None = None) -> list[dict[str, Any]]:
    role = deployed(parameters)["Resources"]["EnrollmentMonitorFunctionRole"]
    return [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]


def actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in as_list(statement["Action"])}


def stack_resources_in(value: str, template: dict[str, Any]) -> set[str]:
    """The logical ids of the stack's resources a resolved value refers to."""
    return {name for name in _PLACEHOLDER.findall(value) if name in template["Resources"]}


def strings(node: Any) -> Iterator[str]:
    """Every string in a resolved template value."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, item in node.items():
            yield key
            yield from strings(item)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def parse_query(expression: str) -> dict[str, Any]:
    """The parts of a Metrics Insights query of the form the alarms and dashboard use."""
    match = _QUERY.match(" ".join(expression.split()))
    assert match, f"not a SELECT ... FROM SCHEMA(...) query: {expression}"
    filters = {}
    if match["where"]:
        for condition in re.split(r"\s+AND\s+", match["where"]):
            parsed = _FILTER.match(condition.strip())
            assert parsed, f"unsupported WHERE condition {condition!r} in {expression}"
            filters[parsed[1]] = parsed[2]
    return {
        "stat": match["stat"],
        "metric": match["metric"],
        "namespace": match["namespace"],
        "dimensions": frozenset(d.strip() for d in match["dimensions"].split(",")),
        "filters": filters,
        "group_by": {g.strip() for g in (match["group"] or "").split(",") if g.strip()},
    }


def alarms() -> dict[str, dict[str, Any]]:
    return resources(transformed_template(), "AWS::CloudWatch::Alarm")


def namespaces(alarm: dict[str, Any]) -> set[str]:
    """The namespaces an alarm reads: its metric's, or those of its metric math's metrics."""
    properties = alarm["Properties"]
    stats = [q["MetricStat"]["Metric"] for q in properties.get("Metrics", []) if "MetricStat" in q]
    return {resolver().value(m["Namespace"]) for m in [properties, *stats] if "Namespace" in m}


def metrics_insights_queries(stack_name: str = STACK_NAME) -> dict[str, dict[str, Any]]:
    """Alarm name -> its parsed query, for the alarms on Metrics Insights queries."""
    resolve = resolver(stack_name=stack_name)
    queries = {}
    for name, alarm in alarms().items():
        for metric in alarm["Properties"].get("Metrics", []):
            if metric.get("ReturnData") and "Expression" in metric:
                queries[name] = parse_query(resolve.value(metric["Expression"]))
    return queries


def dashboard(
    parameters: dict[str, str] | None = None,
    region: str = REGION,
    stack_name: str = STACK_NAME,
) -> dict[str, Any]:
    parameters = {"CreateDashboard": "true", **(parameters or {})}
    body = deployed(parameters, region, stack_name)["Resources"]["Dashboard"]["Properties"]
    parsed: dict[str, Any] = json.loads(body["DashboardBody"])
    return parsed


def dashboard_queries(stack_name: str = STACK_NAME) -> list[dict[str, Any]]:
    queries = []
    for widget in dashboard(stack_name=stack_name)["widgets"]:
        for line in widget.get("properties", {}).get("metrics", []):
            if isinstance(line[0], str):  # [namespace, metric, dimension, value, ..., {options}]
                names = [item for item in line if isinstance(item, str)]
                queries.append(_metric_line(names))
            for item in line:
                if isinstance(item, dict) and "expression" in item:
                    queries.append(parse_query(item["expression"]))
    return queries


def _metric_line(names: list[str]) -> dict[str, Any]:
    """A dashboard's metric line as the parts of a query: one series, every dimension fixed."""
    namespace, metric, *pairs = names
    filters = dict(zip(pairs[::2], pairs[1::2], strict=True))
    return {
        "metric": metric,
        "namespace": namespace,
        "dimensions": frozenset(filters),
        "filters": filters,
        "group_by": set(),
    }


# ---------------------------------------------------------------------------- deployed on moto


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    """The transformed template created as a stack in moto, under another name than the
    default, with every optional resource moto can create turned on. moto's CloudFormation
    creates no alarms and no dashboards (it skips AWS::CloudWatch::Alarm, and a dashboard
    referring to the alarms would fail), so the dashboard is off here; the alarms are checked
    on the template itself. Nested stacks are not modelled either: chat is off."""
    parameters = {
        "CreateDashboard": "false",
        "EnableCloudTrailTrigger": "true",
        "NotificationEmail": "ops@example.com",
        "AlsoWatch": ",".join(ALSO_WATCH),
    }
    with mock_aws():
        yield create_stack(parameters, OTHER_STACK_NAME)


@pytest.fixture(scope="module")
def stack_with_your_topic() -> Iterator[dict[str, Any]]:
    """A stack given an existing encrypted topic and its key, both made first in moto; with
    the topics and keys that creating the stack added."""

    def topics_and_keys() -> set[str]:
        sns = boto3.client("sns", region_name=REGION)
        kms = boto3.client("kms", region_name=REGION)
        return {t["TopicArn"] for t in sns.list_topics()["Topics"]} | {
            k["KeyArn"] for k in kms.list_keys()["Keys"]
        }

    with mock_aws():
        key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        topic = boto3.client("sns", region_name=REGION).create_topic(
            Name="platform-alerts", Attributes={"KmsMasterKeyId": key}
        )["TopicArn"]
        parameters = {
            "CreateDashboard": "false",
            "NotificationEmail": "ops@example.com",
            "AlertTopicArn": topic,
            "AlertTopicKmsKeyArn": key,
        }
        before = topics_and_keys()
        created = create_stack(parameters, STACK_NAME)
        created["parameters"] = parameters
        created["new topics and keys"] = topics_and_keys() - before
        created["environment"] = deployed_environment(created["outputs"]["FunctionName"])
        yield created


def test_the_transformed_template_creates_a_stack_on_moto(stack: dict[str, Any]) -> None:
    assert stack["status"] == "CREATE_COMPLETE"
    for logical_id in (
        "AlertKey",
        "AlertTopic",
        "StateTable",
        "FailedInvocationQueue",
        "FunctionLogGroup",
        "EnrollmentMonitorFunction",
        "EnrollmentMonitorFunctionRole",
        "EnrollmentMonitorFunctionScheduleRole",
        "CloudTrailEnrollmentRule",
        *(rule for _, _, rule in ALSO_WATCH.values()),
    ):
        assert stack["resources"].get(logical_id), f"{logical_id} was not created"
    # The CLI (`enrollment-monitor verify`) reads AlertTopicArn and FunctionName.
    assert set(stack["outputs"]) >= {
        "AlertTopicArn",
        "FunctionName",
        "StateTableName",
        "FailedInvocationQueueUrl",
    }


def test_the_deployed_table_has_the_template_key_schema(stack: dict[str, Any]) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = dynamodb.describe_table(TableName=stack["outputs"]["StateTableName"])["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["KeySchema"] == table_definition()["KeySchema"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_the_deployed_topic_and_queue_exist(stack: dict[str, Any]) -> None:
    sns = boto3.client("sns", region_name=REGION)
    attributes = sns.get_topic_attributes(TopicArn=stack["outputs"]["AlertTopicArn"])
    assert attributes["Attributes"]["KmsMasterKeyId"] == stack["resources"]["AlertKey"]
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.get_queue_attributes(
        QueueUrl=stack["outputs"]["FailedInvocationQueueUrl"], AttributeNames=["All"]
    )
    assert queue["Attributes"]["QueueArn"].startswith(f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:")


def test_the_deployed_function_environment_is_what_the_helper_resolves(
    stack: dict[str, Any],
) -> None:
    function_name = stack["outputs"]["FunctionName"]
    expected = function_environment(
        resources={
            "StateTable": stack["outputs"]["StateTableName"],
            "AlertTopic": stack["outputs"]["AlertTopicArn"],
        },
        parameters={"AlsoWatch": ",".join(ALSO_WATCH)},
        stack_name=OTHER_STACK_NAME,
    )
    assert deployed_environment(function_name) == expected
    assert expected["POWERTOOLS_SERVICE_NAME"] == OTHER_STACK_NAME
    function = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=function_name
    )
    assert function["Handler"] == "enrollment_monitor.app.lambda_handler"
    assert function["Runtime"] == "python3.13"
    # (moto's CloudFormation drops Architectures: arm64 is checked on the template.)


def test_a_stack_given_your_topic_creates_no_topic_and_no_key(
    stack_with_your_topic: dict[str, Any],
) -> None:
    given = stack_with_your_topic["parameters"]
    assert stack_with_your_topic["status"] == "CREATE_COMPLETE"
    assert stack_with_your_topic["outputs"]["AlertTopicArn"] == given["AlertTopicArn"]
    assert stack_with_your_topic["new topics and keys"] == set()
    assert not {"AlertKey", "AlertKeyAlias", "AlertTopic", "AlertTopicPolicy"} & set(
        stack_with_your_topic["resources"]
    )
    expected = function_environment(
        given,
        resources={"StateTable": stack_with_your_topic["outputs"]["StateTableName"]},
    )
    assert stack_with_your_topic["environment"] == expected
    assert expected["ALERT_TOPIC_ARN"] == given["AlertTopicArn"]


# ---------------------------------------------------------------------------- lint and transform


@pytest.mark.parametrize(
    ("template", "regions"),
    [
        # The monitor deploys in every partition.
        (TEMPLATE, list(PARTITION_REGIONS)),
        # Chat only where AWS Chatbot exists.
        (CHAT_TEMPLATE, ["us-east-1"]),
    ],
    ids=["template.yaml", "nested/chatbot.yaml"],
)
def test_cfn_lint_reports_no_error_and_no_warning(template: Path, regions: list[str]) -> None:
    matches = lint_file(template, ManualArgs(regions=regions))
    assert [str(match) for match in matches] == []


def test_the_sam_transform_produces_the_function_its_role_schedule_and_destination() -> None:
    template = transformed_template()
    assert "Transform" not in template
    types = {name: resource["Type"] for name, resource in template["Resources"].items()}
    assert types["EnrollmentMonitorFunction"] == "AWS::Lambda::Function"
    assert types["EnrollmentMonitorFunctionRole"] == "AWS::IAM::Role"
    assert types["EnrollmentMonitorFunctionSchedule"] == "AWS::Scheduler::Schedule"
    assert types["EnrollmentMonitorFunctionEventInvokeConfig"] == "AWS::Lambda::EventInvokeConfig"
    assert not any(t.startswith("AWS::Serverless::") for t in types.values())


# ---------------------------------------------------------------------------- the function


def test_an_account_that_cannot_reserve_concurrency_gets_the_function_without_a_reservation() -> (
    None
):
    # Lambda refuses a reservation that leaves fewer than 100 executions unreserved
    # (PutFunctionConcurrency): a new account's quota of 10 could not create the function.
    function = transformed_template()["Resources"]["EnrollmentMonitorFunction"]["Properties"]

    unreserved = Resolver({"ReserveConcurrency": "false"}).value(function)

    assert "ReservedConcurrentExecutions" not in unreserved
    assert parameter_defaults()["ReserveConcurrency"] == "true"


def test_the_function_follows_the_contract() -> None:
    function = transformed_template()["Resources"]["EnrollmentMonitorFunction"]["Properties"]
    assert function["Handler"] == "enrollment_monitor.app.lambda_handler"
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert Resolver().value(function)["ReservedConcurrentExecutions"] == 1
    assert function["MemorySize"] <= 512
    # Modest for one account; room for listing a large organization's members.
    assert Resolver().value(function["Timeout"]) == 60
    assert Resolver({"TrackMemberAccounts": "true"}).value(function["Timeout"]) == 600
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "FunctionLogGroup"}}
    assert "Layers" not in function
    (source,) = resources_of_type("AWS::Serverless::Function").values()
    assert source["Properties"]["CodeUri"] == "functions/"


def test_the_function_environment_resolves_to_the_documented_defaults() -> None:
    environment = function_environment(
        resources={"StateTable": "state", "AlertTopic": "arn:aws:sns:us-east-1:1:alerts"}
    )
    assert environment == {
        "STATE_TABLE_NAME": "state",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:1:alerts",
        "POWERTOOLS_SERVICE_NAME": STACK_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": "ComputeOptimizerEnrollment",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "MEMBER_LISTING_REGIONS": "",
        "MONITORED_REGIONS": REGION,
        "REMINDER_INTERVAL_HOURS": "24",
        "TRACK_MEMBER_ACCOUNTS": "false",
        "ALSO_WATCH": "",
        "PUBLISH_EVENTS": "true",
    }
    chosen = function_environment(
        {
            "Regions": "eu-west-1,us-east-1",
            "TrackMemberAccounts": "true",
            "AlsoWatch": "OrganizationAccess,CostOptimizationHub",
            "PublishEvents": "false",
        }
    )
    assert chosen["PUBLISH_EVENTS"] == "false"
    assert chosen["MONITORED_REGIONS"] == "eu-west-1,us-east-1"
    assert chosen["TRACK_MEMBER_ACCOUNTS"] == "true"
    assert chosen["ALSO_WATCH"] == "OrganizationAccess,CostOptimizationHub"


def test_the_service_name_is_the_stack_name() -> None:
    environment = function_environment(stack_name=OTHER_STACK_NAME)
    assert environment["POWERTOOLS_SERVICE_NAME"] == OTHER_STACK_NAME


def test_failed_asynchronous_invocations_go_to_the_queue_with_few_retries() -> None:
    template = transformed_template()
    (config,) = resources(template, "AWS::Lambda::EventInvokeConfig").values()
    properties = config["Properties"]
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailedInvocationQueue", "Arn"]
    }
    assert properties["MaximumRetryAttempts"] <= 2
    (schedule,) = resources(template, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["Target"]["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["FailedInvocationQueue", "Arn"]}
    }


@pytest.mark.parametrize("also_watch", ["", ",".join(ALSO_WATCH)])
def test_events_the_cloudtrail_rules_cannot_deliver_go_to_the_queue(also_watch: str) -> None:
    queue = "<FailedInvocationQueue.Arn>"
    created = deployed({"EnableCloudTrailTrigger": "true", "AlsoWatch": also_watch})["Resources"]
    rules = resources({"Resources": created}, "AWS::Events::Rule")
    watched = [value for value in also_watch.split(",") if value]
    assert set(rules) == {"CloudTrailEnrollmentRule", *(ALSO_WATCH[v][2] for v in watched)}
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": queue}
    # EventBridge sends dead letters as events.amazonaws.com: the queue lets in these rules only,
    # in its one policy (a second policy on the queue would replace the first).
    (policy,) = resources({"Resources": created}, "AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == ["<FailedInvocationQueue>"]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == queue
    assert statement["Condition"].keys() == {"ArnEquals"}
    assert sorted(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        f"<{name}.Arn>" for name in rules
    )


def test_the_schedule_is_a_parameter_that_defaults_to_hourly() -> None:
    (schedule,) = resources(transformed_template(), "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    parameters = load_template()["Parameters"]
    assert parameters["ScheduleExpression"]["Default"] == "rate(1 hour)"
    # The alarms' period matches the default schedule.
    assert parameters["CheckPeriodSeconds"]["Default"] == 3600


# ---------------------------------------------------------------------------- your own topic


@pytest.mark.parametrize(
    "value",
    [
        "",
        "arn:aws:sns:us-east-1:123456789012:alerts",
        "arn:aws-us-gov:sns:us-gov-west-1:123456789012:Platform_Alerts-1",
        "arn:aws-cn:sns:cn-northwest-1:123456789012:alerts",
        "arn:aws-eusc:sns:eusc-de-east-1:123456789012:alerts",
    ],
)
def test_alert_topic_arn_accepts_a_standard_topic_in_any_partition(value: str) -> None:
    pattern = load_template()["Parameters"]["AlertTopicArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, value)


@pytest.mark.parametrize(
    "value",
    [
        # FIFO topics need a MessageGroupId the monitor does not send.
        "arn:aws:sns:us-east-1:123456789012:alerts.fifo",
        "alerts",
        "arn:aws:sqs:us-east-1:123456789012:alerts",
        "arn:aws:sns:us-east-1:12345:alerts",
        " arn:aws:sns:us-east-1:123456789012:alerts",
    ],
)
def test_alert_topic_arn_refuses_anything_else(value: str) -> None:
    pattern = load_template()["Parameters"]["AlertTopicArn"]["AllowedPattern"]
    assert not re.fullmatch(pattern, value)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        (YOUR_KEY, True),
        ("arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab", True),
        (
            "arn:aws-eusc:kms:eusc-de-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            True,
        ),
        (
            "arn:aws-us-gov:kms:us-gov-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            True,
        ),
        # The grant's Resource is the key: an alias ARN would grant nothing.
        ("arn:aws:kms:us-east-1:123456789012:alias/platform-alerts", False),
        ("1234abcd-12ab-34cd-56ef-1234567890ab", False),
        ("arn:aws:kms:us-east-1:123456789012:key/mrk-123", False),
    ],
)
def test_alert_topic_kms_key_arn_accepts_key_arns_only(value: str, accepted: bool) -> None:
    pattern = load_template()["Parameters"]["AlertTopicKmsKeyArn"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted


@pytest.mark.parametrize("regions", ["us-east-1", "eusc-de-east-1,us-gov-west-1,cn-north-1"])
def test_the_regions_parameter_takes_every_partitions_region_names(regions: str) -> None:
    pattern = load_template()["Parameters"]["Regions"]["AllowedPattern"]
    assert re.fullmatch(pattern, regions)


# What CloudWatch's API takes as a namespace (botocore's model: the constraints it enforces).
NAMESPACE = botocore.session.get_session().get_service_model("cloudwatch").shape_for("Namespace")


def cloudwatch_takes_namespace(value: str) -> bool:
    constraints = NAMESPACE.metadata
    return constraints["min"] <= len(value) <= constraints["max"] and bool(
        re.fullmatch(constraints["pattern"], value)
    )


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("ComputeOptimizerEnrollment", True),
        ("Team/Enrollment:prod#1", True),
        ("N" * 255, True),
        (":Enrollment", False),  # CloudWatch's pattern, [^:].*, refuses a leading colon
        ("N" * 256, False),
        ("", False),
        ("AWS/Enrollment", False),  # reserved for AWS's own namespaces
    ],
)
def test_the_metric_namespace_takes_nothing_cloudwatch_refuses(value: str, accepted: bool) -> None:
    parameter = load_template()["Parameters"]["MetricNamespace"]
    assert parameter_accepts(parameter, value) is accepted
    assert cloudwatch_takes_namespace(value) or not accepted


@pytest.mark.parametrize(
    ("parameters", "accepted"),
    [
        ({}, True),
        ({"AlertTopicArn": YOUR_TOPIC, "AlertTopicKmsKeyArn": YOUR_KEY}, True),
        ({"AlertTopicArn": YOUR_TOPIC}, True),
        # A key without its topic would be ignored without a word: CloudFormation refuses it.
        ({"AlertTopicKmsKeyArn": YOUR_KEY}, False),
    ],
)
def test_a_key_is_accepted_only_with_its_topic(parameters: dict[str, str], accepted: bool) -> None:
    assert (refusals(parameters) == []) is accepted


def refusals(
    parameters: dict[str, str], region: str = REGION, partition: str | None = None
) -> list[str]:
    """What CloudFormation answers when the template's Rules refuse ``parameters`` (each
    broken assertion's description), in ``region`` or, if given, in ``partition``."""
    resolve = Resolver(parameters, region=region)
    if partition:
        resolve.pseudo["AWS::Partition"] = partition
    refused = []
    for rule in load_template()["Rules"].values():
        if "RuleCondition" not in rule or resolve.value(rule["RuleCondition"]):
            refused += [
                a["AssertDescription"] for a in rule["Assertions"] if not resolve.value(a["Assert"])
            ]
    return refused


SLACK = {"SlackWorkspaceId": "T0123456789", "SlackChannelId": "C0123456789"}
TEAMS = {
    "TeamsTeamId": "00000000-0000-0000-0000-000000000000",
    "TeamsChannelId": "19%3a0123%40thread.tacv2",
    "TeamsTenantId": "00000000-0000-0000-0000-000000000001",
}


@pytest.mark.parametrize("partition", ["aws-us-gov", "aws-cn", "aws-iso", "aws-iso-b", "aws-eusc"])
def test_chat_parameters_are_refused_where_aws_chatbot_is_not(partition: str) -> None:
    """AWS Chatbot exists in the aws partition only: elsewhere a channel would fail the nested
    chat stack mid-deploy. CloudFormation refuses it before anything is created, saying why."""
    region = {"aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}.get(partition, REGION)
    assert refusals({}, region, partition) == []
    for name, value in {**SLACK, **TEAMS}.items():
        (refusal,) = refusals({name: value}, region, partition)
        assert "AWS Chatbot" in refusal
        assert all(parameter in refusal for parameter in CHANNEL_FIELDS), refusal
    for channels in (SLACK, TEAMS, {**SLACK, **TEAMS}):
        assert len(refusals(channels, region, partition)) == 1
        assert refusals(channels) == []


def deployer_texts(template: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """What a deployer reads of a template: its description and the Serverless Application
    Repository's, each parameter's label, description and constraint, each rule's refusal and
    each output's description (not resource properties, which the accounts keep)."""
    metadata = template.get("Metadata", {})
    yield "Description", template["Description"]
    sar = metadata.get("AWS::ServerlessRepo::Application", {})
    yield "ServerlessRepo Description", sar.get("Description", "")
    labels = metadata.get("AWS::CloudFormation::Interface", {}).get("ParameterLabels", {})
    for name, label in labels.items():
        yield f"label of {name}", label["default"]
    for name, parameter in template.get("Parameters", {}).items():
        for field in ("Description", "ConstraintDescription"):
            yield f"{name}.{field}", parameter.get(field, "")
    for name, rule in template.get("Rules", {}).items():
        for assertion in rule["Assertions"]:
            yield f"rule {name}", assertion["AssertDescription"]
    for name, output in template.get("Outputs", {}).items():
        yield f"output {name}", output.get("Description", "")


@pytest.mark.parametrize("template", [TEMPLATE, CHAT_TEMPLATE], ids=["template", "chat"])
def test_a_deployer_reads_amazon_q_developer_where_the_template_names_aws_chatbot(
    template: Path,
) -> None:
    """AWS renamed AWS Chatbot to Amazon Q Developer in chat applications: its console and pages
    say the new name only, so what a deployer reads says it, with the old one beside it."""
    texts = dict(deployer_texts(load_template(template)))
    old_name_only = [
        where
        for where, text in texts.items()
        if "Chatbot" in text and "Amazon Q Developer" not in text
    ]

    assert any("Amazon Q Developer" in text for text in texts.values())
    assert old_name_only == []
    assert [where for where, text in texts.items() if "Chatbot console" in text] == []


# ---------------------------------------------------------------------------- AlsoWatch


def test_also_watch_takes_each_service_at_most_once_in_any_order() -> None:
    pattern = load_template()["Parameters"]["AlsoWatch"]["AllowedPattern"]
    for size in range(5):
        for chosen in itertools.product(ALSO_WATCH, repeat=size):
            value = ",".join(chosen)
            once_each = len(set(chosen)) == len(chosen)
            assert bool(re.fullmatch(pattern, value)) is once_each, value
    for malformed in (
        ",",
        "CostOptimizationHub,",
        "CostOptimizationHub, OrganizationAccess",
        "costoptimizationhub",
        "CostOptimizationHubs",
        "Organization",
        "ComputeOptimizer",
        "OrganizationAccess,,CostOptimizationHub",
    ):
        assert not re.fullmatch(pattern, malformed), malformed


@pytest.mark.parametrize("also_watch", ALSO_WATCH_VALUES)
def test_a_service_is_watched_exactly_when_also_watch_names_it(also_watch: str) -> None:
    resolve = resolver({"AlsoWatch": also_watch})
    for value, (condition, _, _) in ALSO_WATCH.items():
        assert resolve.condition(condition) is (value in also_watch.split(",")), condition
    assert function_environment({"AlsoWatch": also_watch})["ALSO_WATCH"] == also_watch


@pytest.mark.parametrize("also_watch", ALSO_WATCH_VALUES)
def test_the_role_adds_exactly_the_reads_of_each_watched_service(also_watch: str) -> None:
    baseline = actions(function_role_statements())
    watched = [value for value in also_watch.split(",") if value]
    statements = function_role_statements({"AlsoWatch": also_watch})

    assert actions(statements) == baseline.union(*(ALSO_WATCH[v][1] for v in watched))
    # None of these actions has a resource type (Service Authorization Reference).
    for statement in statements:
        if set(as_list(statement["Action"])) - baseline:
            assert statement["Effect"] == "Allow"
            assert statement["Resource"] == "*"


def test_at_the_defaults_the_role_allows_none_of_the_services_also_watch_reads() -> None:
    reads = set().union(*(grant for _, grant, _ in ALSO_WATCH.values()))
    assert actions(function_role_statements()) & reads == set()


@pytest.mark.parametrize("trigger", ["true", "false"])
@pytest.mark.parametrize("also_watch", ALSO_WATCH_VALUES)
def test_a_watched_service_has_its_cloudtrail_rule_only_with_the_trigger_on(
    also_watch: str, trigger: str
) -> None:
    parameters = {"AlsoWatch": also_watch, "EnableCloudTrailTrigger": trigger}
    created = deployed(parameters)["Resources"]
    rules = resources({"Resources": created}, "AWS::Events::Rule")
    permissions = resources({"Resources": created}, "AWS::Lambda::Permission")
    watched = [value for value in also_watch.split(",") if value]

    expected = {"CloudTrailEnrollmentRule", *(ALSO_WATCH[v][2] for v in watched)}
    assert set(rules) == (expected if trigger == "true" else set())
    # Each rule invokes the function, as the Compute Optimizer rule does, and may: its own
    # permission, for this account's rule only.
    assert sorted(p["Properties"]["SourceArn"] for p in permissions.values()) == sorted(
        f"<{name}.Arn>" for name in rules
    )
    for permission in permissions.values():
        assert permission["Properties"]["Principal"] == "events.amazonaws.com"
        assert permission["Properties"]["SourceAccount"] == ACCOUNT_ID
        assert permission["Properties"]["FunctionName"] == "<EnrollmentMonitorFunction>"
    for name, rule in rules.items():
        (target,) = rule["Properties"]["Targets"]
        (model,) = created["CloudTrailEnrollmentRule"]["Properties"]["Targets"]
        assert target == model, name
        assert rule["Properties"]["State"] == "ENABLED"


@pytest.mark.parametrize("partition", ["aws-us-gov", "aws-cn", "aws-iso", "aws-iso-b", "aws-eusc"])
def test_also_watch_refuses_the_hub_and_automation_where_they_are_not(partition: str) -> None:
    """Cost Optimization Hub and Automation exist in the aws partition only: elsewhere every
    check would fail reading them. CloudFormation refuses them before anything is created."""
    region = {"aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}.get(partition, REGION)
    for also_watch in ALSO_WATCH_VALUES:
        offered_everywhere = set(also_watch.split(",")) <= {"", "OrganizationAccess"}
        found = refusals({"AlsoWatch": also_watch}, region, partition)
        assert refusals({"AlsoWatch": also_watch}) == []
        if offered_everywhere:
            assert found == [], also_watch
        else:
            (refusal,) = found
            assert "CostOptimizationHub and ComputeOptimizerAutomation" in refusal
            assert "AlsoWatch" in refusal


# What the chat API takes (botocore's model of it: the constraints the API enforces).
CHAT_API = botocore.session.get_session().get_service_model("chatbot")
# Each channel parameter, in both templates, and the API field it becomes.
CHANNEL_FIELDS = {
    "SlackWorkspaceId": ("CreateSlackChannelConfiguration", "SlackTeamId"),
    "SlackChannelId": ("CreateSlackChannelConfiguration", "SlackChannelId"),
    "TeamsTeamId": ("CreateMicrosoftTeamsChannelConfiguration", "TeamId"),
    "TeamsChannelId": ("CreateMicrosoftTeamsChannelConfiguration", "ChannelId"),
    "TeamsTenantId": ("CreateMicrosoftTeamsChannelConfiguration", "TenantId"),
}
CHANNELS = {
    "SlackChannel": "CreateSlackChannelConfiguration",
    "TeamsChannel": "CreateMicrosoftTeamsChannelConfiguration",
}
# CloudFormation takes stack names of up to 128 characters.
LONGEST_STACK_NAME = "m" + "-x" * 63 + "y"


def api_field(operation: str, field: str) -> dict[str, Any]:
    """The pattern and lengths the chat API takes for ``field`` of ``operation``."""
    metadata: dict[str, Any] = (
        CHAT_API.operation_model(operation).input_shape.members[field].metadata
    )
    return metadata


def api_accepts(operation: str, field: str, value: str) -> bool:
    constraints = api_field(operation, field)
    return constraints["min"] <= len(value) <= constraints["max"] and bool(
        re.fullmatch(constraints["pattern"], value)
    )


def parameter_accepts(parameter: dict[str, Any], value: str) -> bool:
    """Whether CloudFormation takes ``value`` for a String parameter."""
    return len(value) <= int(parameter.get("MaxLength", len(value))) and bool(
        re.fullmatch(parameter.get("AllowedPattern", ".*"), value)
    )


def chat_configuration_names(
    monitor_stack: str,
    parameters: dict[str, str] | None = None,
    region: str = REGION,
    stack_uuid: str | None = None,
) -> dict[str, str]:
    """The names the chat stack nested in ``monitor_stack`` gives its channels."""
    nested = f"{monitor_stack}-ChatChannels-0123456789AB"
    resolve = Resolver(
        {"MonitorStackName": monitor_stack, **(parameters or {})},
        region=region,
        stack_name=nested,
        path=CHAT_TEMPLATE,
        stack_id=stack_arn(region, nested, stack_uuid),
    )
    chat = load_template(CHAT_TEMPLATE)["Resources"]
    return {
        channel: resolve.value(chat[channel]["Properties"]["ConfigurationName"])
        for channel in CHANNELS
    }


@pytest.mark.parametrize("stack_name", ["m", STACK_NAME, LONGEST_STACK_NAME])
def test_chat_configuration_names_fit_the_chat_api_for_any_stack_name(stack_name: str) -> None:
    for channel, name in chat_configuration_names(stack_name).items():
        assert api_accepts(CHANNELS[channel], "ConfigurationName", name), (channel, name)


def test_chat_configuration_names_are_unique_per_stack_and_stable_across_updates() -> None:
    names = chat_configuration_names(STACK_NAME)
    assert len(set(names.values())) == 2
    # Another stack: of the same name in another Region, or named alike up to the API's limit.
    others = [
        chat_configuration_names(STACK_NAME, region="eu-west-1"),
        chat_configuration_names(LONGEST_STACK_NAME),
        chat_configuration_names(LONGEST_STACK_NAME[:-1] + "z"),
    ]
    seen = [set(n.values()) for n in (names, *others)]
    assert all(a.isdisjoint(b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    # An update with other channels, topic or logging renames nothing (a new name would be
    # a replacement).
    updated = {
        "SlackChannelId": "C9876543210",
        "TeamsChannelId": "19%3aabcdef%40thread.tacv2",
        "AlertTopicArn": YOUR_TOPIC,
        "LoggingLevel": "INFO",
    }
    assert chat_configuration_names(STACK_NAME, updated) == names
    # Not a name this stack's channels had before (the monitor's own template named them
    # <stack>-slack, the chat stack first <stack>-chat-slack): an update creates the new
    # configuration before it deletes the old one, and the names must not collide.
    earlier = {
        f"{STACK_NAME}{infix}-{app}" for infix in ("", "-chat") for app in ("slack", "teams")
    }
    assert not earlier & set(names.values())


# Values at and past the API's limits, for each channel parameter.
CHANNEL_SAMPLES = {
    "SlackWorkspaceId": ["T0123456789", "T" * 255, "T" * 256, "t0123456789", "T012 345"],
    "SlackChannelId": ["C0123456789", "C" * 255, "C" * 256, "C0123-456", "#alerts"],
    "TeamsTeamId": [
        "0123abcd-0123-ABCD-0123-0123456789ab",
        "0123abcd01230123012301230123456789ab",
        "{0123abcd-0123-abcd-0123-0123456789ab}",
    ],
    "TeamsChannelId": [
        "19%3a0123abc%40thread.tacv2",
        "19%3A" + "a" * 247 + "%40",
        "19%3A" + "a" * 248 + "%40",
        "19:0123abc@thread.tacv2",
        "19%3a0123 abc%40thread.tacv2",
    ],
    "TeamsTenantId": ["0123abcd-0123-abcd-0123-0123456789ab", "0123abcd-0123-abcd-0123-0123456789"],
}


@pytest.mark.parametrize("template", [TEMPLATE, CHAT_TEMPLATE], ids=["template", "chat"])
@pytest.mark.parametrize("name", CHANNEL_FIELDS)
def test_channel_parameters_take_exactly_what_the_chat_api_takes(template: Path, name: str) -> None:
    operation, field = CHANNEL_FIELDS[name]
    constraints = api_field(operation, field)
    parameter = load_template(template)["Parameters"][name]
    # Empty (no channel), or the API's pattern (anchored, as its reference writes it) and its
    # maximum length: CloudFormation refuses at once what the API would refuse mid-deploy.
    assert parameter["AllowedPattern"] == f"^$|^{constraints['pattern']}$"
    assert parameter["MaxLength"] == constraints["max"]
    assert parameter_accepts(parameter, "")
    for value in CHANNEL_SAMPLES[name]:
        assert parameter_accepts(parameter, value) is api_accepts(operation, field, value), value


def topic_references(parameters: dict[str, str]) -> dict[str, Any]:
    """Everywhere the deployed stack names the alert topic, with every user of it turned on."""
    stack = deployed({**EVERYTHING_ON, **parameters})
    created = stack["Resources"]
    (publish,) = (
        s for s in function_role_statements(parameters) if s.get("Sid") == "PublishAlerts"
    )
    references = {
        "function environment": created["EnrollmentMonitorFunction"]["Properties"]["Environment"][
            "Variables"
        ]["ALERT_TOPIC_ARN"],
        "sns:Publish grant": publish["Resource"],
        "email subscription": created["EmailSubscription"]["Properties"]["TopicArn"],
        "chat channels": created["ChatChannels"]["Properties"]["Parameters"]["AlertTopicArn"],
        "AlertTopicArn output": stack["Outputs"]["AlertTopicArn"]["Value"],
    }
    for name in ALARMS:
        properties = created[name]["Properties"]
        references[f"{name} actions"] = [*properties["AlarmActions"], *properties["OKActions"]]
    return references


@pytest.mark.parametrize("mode", TOPIC_MODES)
def test_every_user_of_the_topic_uses_the_one_topic(mode: str) -> None:
    parameters = TOPIC_MODES[mode]
    topic = parameters.get("AlertTopicArn", resolver().resources["AlertTopic"])
    for place, value in topic_references(parameters).items():
        assert set(as_list(value)) == {topic}, place
    text = dashboard({**EVERYTHING_ON, **parameters})["widgets"][0]["properties"]["markdown"]
    assert f"#/topic/{topic})" in text
    assert f"[{topic.rsplit(':', 1)[1]}]" in text


@pytest.mark.parametrize("mode", ["your topic and key", "your unencrypted topic"])
def test_with_your_topic_nothing_refers_to_a_topic_or_key_the_stack_does_not_create(
    mode: str,
) -> None:
    stack = deployed({**EVERYTHING_ON, "CreateDashboard": "true", **TOPIC_MODES[mode]})
    assert not {"AlertKey", "AlertKeyAlias", "AlertTopic", "AlertTopicPolicy"} & set(
        stack["Resources"]
    )
    for text in strings(stack):
        assert "<AlertTopic" not in text and "<AlertKey" not in text, text


def test_the_function_may_use_only_the_key_of_its_topic() -> None:
    def key_grants(parameters: dict[str, str]) -> list[dict[str, Any]]:
        return [s for s in function_role_statements(parameters) if "kms:Decrypt" in s["Action"]]

    (own,) = key_grants({})
    assert own["Resource"] == "<AlertKey.Arn>"
    assert own["Condition"] == {"StringEquals": {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}}
    (yours,) = key_grants(TOPIC_MODES["your topic and key"])
    assert yours["Resource"] == YOUR_KEY
    # Only through SNS, in the topic's Region.
    assert yours["Condition"] == {"StringEquals": {"kms:ViaService": "sns.eu-west-1.amazonaws.com"}}
    assert key_grants(TOPIC_MODES["your unencrypted topic"]) == []


def test_the_key_grant_names_sns_the_way_each_partition_does() -> None:
    for region, partition in PARTITION_REGIONS.items():
        suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
        topic = f"arn:{partition}:sns:{region}:{ACCOUNT_ID}:alerts"
        key = f"arn:{partition}:kms:{region}:{ACCOUNT_ID}:key/mrk-{'0' * 32}"
        role = deployed({"AlertTopicArn": topic, "AlertTopicKmsKeyArn": key}, region)["Resources"][
            "EnrollmentMonitorFunctionRole"
        ]
        (grant,) = (
            s
            for policy in role["Properties"]["Policies"]
            for s in policy["PolicyDocument"]["Statement"]
            if s.get("Sid") == "EncryptAlertsThroughSns"
        )
        assert grant["Condition"]["StringEquals"]["kms:ViaService"] == f"sns.{region}.{suffix}"


# ---------------------------------------------------------------------------- every partition


def test_the_main_template_has_no_chat_type_and_nests_chat_only_with_a_channel() -> None:
    template = transformed_template()
    assert not [r for r in template["Resources"].values() if r["Type"].startswith("AWS::Chatbot")]
    (name,) = resources(template, "AWS::CloudFormation::Stack")
    nested = template["Resources"][name]
    assert nested["Condition"] == "HasChatbot"
    assert (TEMPLATE.parent / nested["Properties"]["TemplateURL"]).resolve() == CHAT_TEMPLATE
    on = {
        "nothing": {},
        "Slack": {"SlackWorkspaceId": "T0123456789", "SlackChannelId": "C0123456789"},
        "Teams": {
            "TeamsTeamId": "00000000-0000-0000-0000-000000000000",
            "TeamsChannelId": "19%3a0123%40thread.tacv2",
            "TeamsTenantId": "00000000-0000-0000-0000-000000000001",
        },
        "half a Slack channel": {"SlackWorkspaceId": "T0123456789"},
    }
    assert {case: name in deployed(p)["Resources"] for case, p in on.items()} == {
        "nothing": False,
        "Slack": True,
        "Teams": True,
        "half a Slack channel": False,
    }


def test_the_chat_stack_is_given_what_its_channels_need() -> None:
    chat = load_template(CHAT_TEMPLATE)
    for case in (
        {"SlackWorkspaceId": "T0123456789", "SlackChannelId": "C0123456789"},
        {
            "TeamsTeamId": "00000000-0000-0000-0000-000000000000",
            "TeamsChannelId": "19%3a0123%40thread.tacv2",
            "TeamsTenantId": "00000000-0000-0000-0000-000000000001",
            "ChatbotLoggingLevel": "INFO",
        },
    ):
        parent = resolver(case)
        given = parent.created(transformed_template())["ChatChannels"]["Properties"]["Parameters"]
        required = {n for n, p in chat["Parameters"].items() if "Default" not in p}
        assert required <= set(given) <= set(chat["Parameters"])
        assert given["MonitorStackName"] == STACK_NAME
        assert given["LoggingLevel"] == parent.parameters["ChatbotLoggingLevel"]
        # The chat stack makes exactly the channels the monitor's parameters configure.
        child = Resolver(given, path=CHAT_TEMPLATE)
        for channel in ("HasSlack", "HasTeams"):
            assert child.condition(channel) is parent.condition(channel), (case, channel)


def test_chat_channels_have_guardrails_logging_and_the_topic() -> None:
    chat = load_template(CHAT_TEMPLATE)
    channels = {
        name: resource
        for name, resource in chat["Resources"].items()
        if resource["Type"].startswith("AWS::Chatbot::")
    }
    assert {r["Type"] for r in channels.values()} == {
        "AWS::Chatbot::SlackChannelConfiguration",
        "AWS::Chatbot::MicrosoftTeamsChannelConfiguration",
    }
    for channel in channels.values():
        properties = channel["Properties"]
        assert properties["GuardrailPolicies"], "without guardrails Chatbot allows admin access"
        assert properties["LoggingLevel"] == {"Ref": "LoggingLevel"}
        assert properties["SnsTopicArns"] == [{"Ref": "AlertTopicArn"}]
        assert properties["IamRoleArn"] == {"Fn::GetAtt": ["ChannelRole", "Arn"]}
    # The monitor's outputs say which channels exist, with the chat stack's outputs.
    outputs = load_template()["Outputs"]
    for output, condition in (
        ("SlackChannelConfigurationArn", "HasSlack"),
        ("TeamsChannelConfigurationArn", "HasTeams"),
    ):
        assert outputs[output]["Condition"] == chat["Outputs"][output]["Condition"] == condition
        assert outputs[output]["Value"] == {"Fn::GetAtt": ["ChatChannels", f"Outputs.{output}"]}


def test_the_chat_role_only_reads_this_stacks_alarms() -> None:
    role = Resolver({"MonitorStackName": STACK_NAME}, path=CHAT_TEMPLATE).value(
        load_template(CHAT_TEMPLATE)["Resources"]["ChannelRole"]
    )
    (policy,) = role["Properties"]["Policies"]
    scoped = {
        s["Action"]: s["Resource"]
        for s in policy["PolicyDocument"]["Statement"]
        if s["Resource"] != "*"
    }
    alarms_of_the_stack = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{STACK_NAME}-*"
    assert scoped == {"cloudwatch:DescribeAlarms": alarms_of_the_stack}
    for alarm in alarm_arns():
        assert fnmatch.fnmatchcase(alarm, scoped["cloudwatch:DescribeAlarms"])


@pytest.mark.parametrize("region", PARTITION_REGIONS)
def test_every_arn_and_principal_is_in_the_stacks_partition(region: str) -> None:
    partition = PARTITION_REGIONS[region]
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    stack = deployed({**EVERYTHING_ON, "CreateDashboard": "true"}, region)
    for text in strings(stack):
        for found in re.findall(r"arn:([a-z-]+):", text):
            assert found == partition, text
    (logs,) = (
        s["Principal"]["Service"]
        for s in stack["Resources"]["AlertKey"]["Properties"]["KeyPolicy"]["Statement"]
        if "kms:EncryptionContext:aws:logs:arn" in json.dumps(s)
    )
    # CloudWatch Logs' principal is regional and, in China, ends in amazonaws.com.cn.
    assert logs == f"logs.{region}.{suffix}"


@pytest.mark.parametrize("region", PARTITION_REGIONS)
def test_console_links_open_the_partitions_console(region: str) -> None:
    host = CONSOLE_HOSTS[PARTITION_REGIONS[region]]
    outputs = deployed({"CreateDashboard": "true"}, region=region)["Outputs"]
    assert outputs["DashboardUrl"]["Value"].startswith(
        f"https://{host}/cloudwatch/home?region={region}#dashboards/dashboard/"
    )
    text = dashboard(region=region)["widgets"][0]["properties"]["markdown"]
    (link,) = re.findall(r"\]\((https://[^)]*)\)", text)
    assert link.startswith(f"https://{host}/sns/v3/home?region={region}#/topic/")


# The options of `aws` itself both AWS CLI versions take (v2 alone has --cli-binary-format).
CLI_GLOBAL_OPTIONS = {"--region", "--profile", "--endpoint-url", "--output", "--query"}


def test_the_test_notification_command_is_one_aws_cli_v1_and_v2_both_run() -> None:
    """v1 refuses --cli-binary-format; v2 reads an inline --payload as base64 unless given it.
    Both read a fileb:// payload as raw bytes (v2's help for --cli-binary-format says so)."""
    function = "team-enrollment-EnrollmentMonitorFunction-0123"
    resolve = Resolver(resources={"EnrollmentMonitorFunction": function})
    command = resolve.value(load_template()["Outputs"]["TestNotificationCommand"]["Value"])

    piped, invoked = command.split(" | ")
    echo, payload = shlex.split(piped)
    words = shlex.split(invoked)
    options = dict(zip(words[3:-1:2], words[4:-1:2], strict=True))
    invoke = botocore.session.get_session().get_service_model("lambda").operation_model("Invoke")
    members = {re.sub(r"(?<!^)(?=[A-Z])", "-", m).lower() for m in invoke.input_shape.members}

    assert (echo, json.loads(payload)) == ("echo", {"action": "test-notification"})
    assert words[:3] == ["aws", "lambda", "invoke"] and words[-1] == "/dev/stdout"
    assert set(options) <= CLI_GLOBAL_OPTIONS | {f"--{member}" for member in members}
    assert options == {
        "--region": REGION,
        "--function-name": function,
        "--payload": "fileb:///dev/stdin",
    }


def test_the_topic_link_opens_the_topics_region() -> None:
    text = dashboard(TOPIC_MODES["your topic and key"])["widgets"][0]["properties"]["markdown"]
    (link,) = re.findall(r"\]\((https://[^)]*)\)", text)
    assert (
        link == f"https://console.aws.amazon.com/sns/v3/home?region=eu-west-1#/topic/{YOUR_TOPIC}"
    )


# ---------------------------------------------------------------------------- least privilege


@pytest.mark.parametrize("mode", TOPIC_MODES)
def test_no_policy_grants_a_wildcard_action(mode: str) -> None:
    template = deployed({**EVERYTHING_ON, **TOPIC_MODES[mode]})
    for role, statement in policy_statements(template):
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{role} allows {action}"


def test_no_policy_grants_put_metric_data() -> None:
    template = deployed(EVERYTHING_ON)
    granted = {a.lower() for _, s in policy_statements(template) for a in as_list(s["Action"])}
    assert "cloudwatch:putmetricdata" not in granted


@pytest.mark.parametrize("mode", TOPIC_MODES)
def test_actions_on_this_stacks_resources_are_scoped_to_them(mode: str) -> None:
    parameters = TOPIC_MODES[mode]
    template = deployed({**EVERYTHING_ON, **parameters})
    given = {parameters.get("AlertTopicArn"), parameters.get("AlertTopicKmsKeyArn")} - {None}
    own_topic = resolver().resources["AlertTopic"]
    for role, statement in policy_statements(template):
        services = {action.split(":")[0] for action in as_list(statement["Action"])}
        if services & RESOURCE_SCOPED_SERVICES:
            for resource in as_list(statement["Resource"]):
                mine = resource == own_topic or stack_resources_in(resource, template)
                assert resource in given or mine, (
                    f"{role}: {statement['Action']} on {resource} is not a resource of the stack"
                )


# What the function calls only with TrackMemberAccounts=true: the listing and the roster.
MEMBER_ACTIONS = {
    "compute-optimizer:GetEnrollmentStatusesForOrganization",
    "dynamodb:BatchWriteItem",
}


@pytest.mark.parametrize("tracking", ["false", "true"])
def test_compute_optimizer_reads_are_the_only_actions_on_every_resource(tracking: str) -> None:
    statements = function_role_statements({"TrackMemberAccounts": tracking})
    unscoped = actions([s for s in statements if s["Resource"] == "*"])
    listing = {"compute-optimizer:GetEnrollmentStatusesForOrganization"}
    assert unscoped == {"compute-optimizer:GetEnrollmentStatus"} | (
        listing if tracking == "true" else set()
    )


@pytest.mark.parametrize("events", ["true", "false"])
@pytest.mark.parametrize("tracking", ["false", "true"])
@pytest.mark.parametrize("mode", TOPIC_MODES)
def test_the_function_role_grants_exactly_what_the_monitor_calls(
    mode: str, tracking: str, events: str
) -> None:
    parameters = {**TOPIC_MODES[mode], "TrackMemberAccounts": tracking, "PublishEvents": events}
    granted = actions(function_role_statements(parameters))
    expected = {
        "compute-optimizer:GetEnrollmentStatus",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "sns:Publish",
        "sqs:SendMessage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    # Members are listed and kept only when tracked.
    if tracking == "true":
        expected |= MEMBER_ACTIONS
    # No key, no key grant: an unencrypted topic of your own needs none.
    if mode != "your unencrypted topic":
        expected |= {"kms:GenerateDataKey", "kms:Decrypt"}
    # Each alert also an event on the default bus, unless events are off.
    if events == "true":
        expected |= {"events:PutEvents"}
    assert granted == expected


def test_the_function_writes_logs_to_its_own_log_group_only() -> None:
    """No AWSLambdaBasicExecutionRole (logs:CreateLogGroup, CreateLogStream and PutLogEvents on
    every log group): the log group exists, so Lambda needs only to add streams and events to
    it, where the function's LoggingConfig sends them."""
    log_group = f"/aws/lambda/{OTHER_STACK_NAME}-enrollment-monitor"
    resolve = resolver(stack_name=OTHER_STACK_NAME)
    resolve.resources["FunctionLogGroup"] = log_group
    created = resolve.created(transformed_template())
    role = created["EnrollmentMonitorFunctionRole"]["Properties"]
    assert role.get("ManagedPolicyArns", []) == []
    (grant,) = (
        statement
        for policy in role["Policies"]
        for statement in as_list(policy["PolicyDocument"]["Statement"])
        if any(action.startswith("logs:") for action in as_list(statement["Action"]))
    )
    assert set(as_list(grant["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert grant["Resource"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{log_group}:log-stream:*"
    )
    function = created["EnrollmentMonitorFunction"]["Properties"]
    assert function["LoggingConfig"] == {"LogGroup": log_group}
    assert created["FunctionLogGroup"]["Properties"]["LogGroupName"] == log_group


def schedule_group(account: str, group: str = "default") -> str:
    """What EventBridge Scheduler sends as aws:SourceArn: the schedule's group."""
    return f"arn:aws:scheduler:{REGION}:{account}:schedule-group/{group}"


def service_roles() -> dict[str, dict[str, Any]]:
    """Every role of the stack and of its chat stack, with everything turned on."""
    stack = deployed({**EVERYTHING_ON, **TEAMS})["Resources"]
    chat = Resolver({"MonitorStackName": STACK_NAME}, path=CHAT_TEMPLATE).created(
        load_template(CHAT_TEMPLATE)
    )
    return {
        name: resource
        for name, resource in {**stack, **chat}.items()
        if resource["Type"] == "AWS::IAM::Role"
    }


def test_a_trust_policy_conditions_only_on_keys_aws_documents_the_service_sends() -> None:
    """Confused deputy where AWS documents the keys (EventBridge Scheduler's guide): the
    scheduler assumes its role only for this account's default schedule group, the schedule's.
    Lambda and AWS Chatbot, whose pages document no such keys, assume theirs whatever they
    send: a condition they did not meet would stop every check (Lambda) or take the alarm
    details out of chat (AWS Chatbot)."""
    trusted = {}
    for name, role in service_roles().items():
        document = role["Properties"]["AssumeRolePolicyDocument"]
        for statement in as_list(document["Statement"]):
            for service in as_list(statement["Principal"]["Service"]):
                trusted[service] = json.dumps(document)
                if service != "scheduler.amazonaws.com":
                    assert "Condition" not in statement, name
    assert set(trusted) == {
        "lambda.amazonaws.com",
        "scheduler.amazonaws.com",
        "chatbot.amazonaws.com",
    }
    for service in ("lambda.amazonaws.com", "chatbot.amazonaws.com"):
        sent_nothing = Request(service, "sts:AssumeRole", "*", {})
        assert evaluate(trusted[service], sent_nothing).verdict is Verdict.ALLOWED, service

    scheduler = "scheduler.amazonaws.com"
    for account, group, verdict in (
        (ACCOUNT_ID, "default", Verdict.ALLOWED),
        ("999999999999", "default", Verdict.NOT_ALLOWED),
        (ACCOUNT_ID, "other", Verdict.NOT_ALLOWED),
    ):
        context = {"aws:SourceAccount": account, "aws:SourceArn": schedule_group(account, group)}
        request = Request(scheduler, "sts:AssumeRole", "*", context)
        assert evaluate(trusted[scheduler], request).verdict is verdict, (account, group)


def test_the_schedule_runs_in_the_group_its_role_trusts_and_may_only_invoke() -> None:
    template = transformed_template()
    (schedule,) = resources(template, "AWS::Scheduler::Schedule").values()
    # No group: the default one, which the role's trust policy names.
    assert "GroupName" not in schedule["Properties"]
    role_arn = schedule["Properties"]["Target"]["RoleArn"]
    assert role_arn == {"Fn::GetAtt": ["EnrollmentMonitorFunctionScheduleRole", "Arn"]}
    role = Resolver().value(template["Resources"]["EnrollmentMonitorFunctionScheduleRole"])
    granted = {
        (action, statement["Resource"])
        for policy in role["Properties"]["Policies"]
        for statement in as_list(policy["PolicyDocument"]["Statement"])
        for action in as_list(statement["Action"])
    }
    assert granted == {
        ("lambda:InvokeFunction", "<EnrollmentMonitorFunction.Arn>"),
        ("sqs:SendMessage", "<FailedInvocationQueue.Arn>"),
    }


# ---------------------------------------------------------------------------- encryption


def alarm_arns(stack_name: str = STACK_NAME) -> list[str]:
    resolve = resolver(stack_name=stack_name)
    return [
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:"
        + resolve.value(alarm["Properties"]["AlarmName"])
        for alarm in alarms().values()
    ]


def only_this_stacks_alarms(statement: dict[str, Any], stack_name: str, action: str) -> bool:
    """Whether a cloudwatch.amazonaws.com grant lets in this stack's four alarms and no other:
    not those of a stack whose name starts like this one's, not those of another account.
    Evaluated as verify evaluates a deployed policy (enrollment_monitor.verify.policy)."""
    document = json.dumps({"Statement": [{**statement, "Resource": "*"}]})

    def verdict(alarm: str) -> Verdict:
        context = {"aws:SourceAccount": alarm.split(":")[4], "aws:SourceArn": alarm}
        request = Request("cloudwatch.amazonaws.com", action, "*", context)
        return evaluate(document, request).verdict

    others = [
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{stack_name}-staging-function-errors",
        f"arn:aws:cloudwatch:{REGION}:999999999999:alarm:{stack_name}-function-errors",
    ]
    return all(verdict(alarm) is Verdict.ALLOWED for alarm in alarm_arns(stack_name)) and all(
        verdict(alarm) is Verdict.NOT_ALLOWED for alarm in others
    )


def test_the_key_lets_in_only_what_uses_it() -> None:
    key = resolver().created(transformed_template())["AlertKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    grants = {
        json.dumps(s["Principal"], sort_keys=True): s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
    }
    assert set(grants) == {
        json.dumps({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}),
        # Alarms publishing to the encrypted topic (EventBridge publishes nothing to it).
        json.dumps({"Service": "cloudwatch.amazonaws.com"}),
        # The function's encrypted log group.
        json.dumps({"Service": f"logs.{REGION}.amazonaws.com"}),
    }
    alarms_grant = grants[json.dumps({"Service": "cloudwatch.amazonaws.com"})]
    assert set(alarms_grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert only_this_stacks_alarms(alarms_grant, STACK_NAME, action)
    logs_grant = grants[json.dumps({"Service": f"logs.{REGION}.amazonaws.com"})]
    log_group = (
        f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/{STACK_NAME}-enrollment-monitor"
    )
    assert logs_grant["Condition"] == {
        "ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group}
    }


def test_the_topic_lets_in_only_this_stacks_alarms_and_tls() -> None:
    policy = resolver(stack_name=OTHER_STACK_NAME).created(transformed_template())[
        "AlertTopicPolicy"
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = (s for s in statements if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert only_this_stacks_alarms(allow, OTHER_STACK_NAME, "sns:Publish")
    (deny,) = (s for s in statements if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_key_outlives_a_replacement_but_not_the_stack() -> None:
    key = load_template()["Resources"]["AlertKey"]
    assert key["DeletionPolicy"] == "Delete"
    assert key["UpdateReplacePolicy"] == "Retain"
    assert key["Properties"]["PendingWindowInDays"] == 30


def test_the_topic_is_encrypted_with_the_stacks_key() -> None:
    topic = resolver().created(transformed_template())["AlertTopic"]
    assert topic["Properties"]["KmsMasterKeyId"] == "<AlertKey>"


def test_the_queue_the_table_and_the_logs_are_encrypted() -> None:
    template = transformed_template()
    (queue,) = resources(template, "AWS::SQS::Queue").values()
    assert queue["Properties"].get("SqsManagedSseEnabled") or queue["Properties"].get(
        "KmsMasterKeyId"
    )
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    # DynamoDB always encrypts at rest; the table uses the AWS owned key (see its checkov note).
    assert table["Properties"].get("SSESpecification", {}).get("SSEEnabled", False) is False
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }
    (log_group,) = resources(template, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    own = resolver().value(log_group["Properties"])
    assert own["KmsKeyId"] == "<AlertKey.Arn>"
    # With your topic the stack has no key: CloudWatch Logs' default encryption.
    yours = resolver(TOPIC_MODES["your topic and key"]).value(log_group["Properties"])
    assert "KmsKeyId" not in yours


# ---------------------------------------------------------------------------- optional resources


def test_each_optional_resource_has_its_condition() -> None:
    template = transformed_template()
    conditional = {
        name: resource["Condition"]
        for name, resource in template["Resources"].items()
        if "Condition" in resource
    }
    assert conditional == OPTIONAL_RESOURCES
    for resource_type in (
        "AWS::CloudFormation::Stack",
        "AWS::SNS::Subscription",
        "AWS::CloudWatch::Dashboard",
        "AWS::Events::Rule",
        "AWS::SQS::QueuePolicy",
        "AWS::KMS::Key",
        "AWS::SNS::Topic",
    ):
        for name in resources(template, resource_type):
            assert name in OPTIONAL_RESOURCES, f"{name} is created unconditionally"


def test_the_optional_resources_are_off_by_default_except_the_topic() -> None:
    defaults = resolver()
    on = {name for name, condition in OPTIONAL_RESOURCES.items() if defaults.condition(condition)}
    # The dashboard (3 USD a month) is opt-in: `enrollment-monitor status` is the free view.
    assert on == {"AlertKey", "AlertKeyAlias", "AlertTopic", "AlertTopicPolicy"}


# ---------------------------------------------------------------------------- alarms


@pytest.mark.parametrize("mode", TOPIC_MODES)
def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok(mode: str) -> None:
    parameters = TOPIC_MODES[mode]
    topic = parameters.get("AlertTopicArn", resolver().resources["AlertTopic"])
    created = deployed(parameters)["Resources"]
    assert {n for n, r in created.items() if r["Type"] == "AWS::CloudWatch::Alarm"} == ALARMS
    for name in ALARMS:
        properties = created[name]["Properties"]
        assert properties["AlarmActions"] == [topic], name
        assert properties["OKActions"] == [topic], name


def test_the_aws_metric_alarms_watch_this_stacks_function_and_queue() -> None:
    errors = alarms()["FunctionErrorsAlarm"]["Properties"]
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "EnrollmentMonitorFunction"}}
    ]
    queued = alarms()["FailedInvocationsAlarm"]["Properties"]
    assert (queued["Namespace"], queued["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert queued["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedInvocationQueue", "QueueName"]}}
    ]
    assert (queued["ComparisonOperator"], queued["Threshold"]) == ("GreaterThanThreshold", 0)


@pytest.mark.parametrize("track_members", ["false", "true"])
def test_the_dashboards_timeout_line_is_the_functions_timeout(track_members: str) -> None:
    parameters = {"TrackMemberAccounts": track_members}
    function = deployed(parameters)["Resources"]["EnrollmentMonitorFunction"]
    (duration,) = (
        w for w in dashboard(parameters)["widgets"] if w["properties"].get("annotations")
    )
    (line,) = duration["properties"]["annotations"]["horizontal"]
    assert line == {"label": "timeout", "value": function["Properties"]["Timeout"] * 1000}


@pytest.fixture(scope="module")
def emitted() -> dict[str, Any]:
    """What the real handler writes as EMF for one check of two Regions with member tracking
    on, run with the template's own environment in a stack not named as the default:
    {metric: {dimension set: [datapoints]}}."""
    capture = io.StringIO()
    with (
        mock_aws(),
        FakeComputeOptimizer() as compute_optimizer,
        pytest.MonkeyPatch.context() as patch,
    ):
        # Clients must come from a session made after the fake was installed (another
        # fixture's moto context may have made boto3's default session already).
        patch.setattr(boto3, "DEFAULT_SESSION", None)
        for region, status in (("us-east-1", "Active"), ("eu-west-1", "Inactive")):
            compute_optimizer.set_enrollment(
                region, status, memberAccountsEnrolled=True, numberOfMemberAccountsOptedIn=2
            )
            compute_optimizer.members[region] = [
                {"accountId": "111111111111", "status": "Active"},
                {"accountId": "222222222222", "status": "Pending"},
            ]
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="state", **table_definition())
        topic = boto3.client("sns", region_name=REGION).create_topic(Name="alerts")["TopicArn"]
        environment = function_environment(
            {"Regions": "us-east-1,eu-west-1", "TrackMemberAccounts": "true"},
            resources={"StateTable": "state", "AlertTopic": topic},
            stack_name=OTHER_STACK_NAME,
        )
        for name, value in environment.items():
            patch.setenv(name, value)
        patch.setenv("AWS_REGION", REGION)
        patch.setattr("sys.stdout", capture)
        new_sandbox().lambda_handler({"action": "check"}, LambdaContext())
    datapoints: dict[str, dict[frozenset[str], list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for metric in emf.metrics(capture.getvalue()):
        point = {**metric.dimensions, "Namespace": metric.namespace}
        datapoints[metric.name][frozenset(metric.dimensions)].append(point)
    return {"datapoints": datapoints, "environment": environment}


def test_the_handler_emits_the_contracted_metrics_and_dimension_sets(
    emitted: dict[str, Any],
) -> None:
    shapes = {metric: set(sets) for metric, sets in emitted["datapoints"].items()}
    assert shapes == {
        "RegionsNotActive": {frozenset({"service"})},
        "MemberAccounts": {frozenset({"Status", "service"})},
        "MemberAccountsOptedIn": {frozenset({"service"})},
        "MemberAccountsEnrolled": {frozenset({"service"})},
        "StatusNotActive": {frozenset({"Subject", "Region", "Status", "service"})},
    }
    for sets in emitted["datapoints"].values():
        for points in sets.values():
            for point in points:
                assert point["Namespace"] == emitted["environment"]["POWERTOOLS_METRICS_NAMESPACE"]
                assert point["service"] == OTHER_STACK_NAME
    # Organization figures once per check, not once per Region; members only in held statuses.
    for metric in ("RegionsNotActive", "MemberAccountsOptedIn", "MemberAccountsEnrolled"):
        assert len(emitted["datapoints"][metric][frozenset({"service"})]) == 1
    members = emitted["datapoints"]["MemberAccounts"][frozenset({"Status", "service"})]
    assert sorted(point["Status"] for point in members) == ["Active", "Pending"]


def assert_query_matches_emitted(query: dict[str, Any], emitted: dict[str, Any]) -> None:
    environment = emitted["environment"]
    assert query["namespace"] == environment["POWERTOOLS_METRICS_NAMESPACE"]
    metric_sets = emitted["datapoints"].get(query["metric"])
    assert metric_sets, f"the handler never emits {query['metric']}"
    # CloudWatch keeps one metric per dimension set: a query on another set sees no data.
    assert query["dimensions"] in metric_sets, (
        f"{query['metric']} is emitted with {[sorted(s) for s in metric_sets]}, "
        f"the query reads {sorted(query['dimensions'])}"
    )
    points = metric_sets[query["dimensions"]]
    for dimension, value in query["filters"].items():
        assert dimension in query["dimensions"]
        assert any(point[dimension] == value for point in points), (
            f"no {query['metric']} datapoint has {dimension} = {value!r}"
        )
    assert query["filters"].get("service") == environment["POWERTOOLS_SERVICE_NAME"]
    assert query["group_by"] <= query["dimensions"]


def test_every_alarm_on_the_monitors_metrics_reads_what_the_handler_emits(
    emitted: dict[str, Any],
) -> None:
    namespace = emitted["environment"]["POWERTOOLS_METRICS_NAMESPACE"]
    on_own_metrics = {name for name, alarm in alarms().items() if namespace in namespaces(alarm)}
    assert on_own_metrics == OWN_METRIC_ALARMS
    for name in OWN_METRIC_ALARMS:
        alarm = own_metric_alarm(name, OTHER_STACK_NAME)
        query = {
            "metric": alarm["metric"],
            "namespace": alarm["namespace"],
            "dimensions": frozenset(alarm["dimensions"]),
            "filters": alarm["dimensions"],
            "group_by": set(),
        }
        assert_query_matches_emitted(query, emitted)


def test_the_dashboard_graphs_what_the_handler_emits(emitted: dict[str, Any]) -> None:
    namespace = emitted["environment"]["POWERTOOLS_METRICS_NAMESPACE"]
    queries = [q for q in dashboard_queries(OTHER_STACK_NAME) if q["namespace"] == namespace]
    assert {query["metric"] for query in queries} == set(emitted["datapoints"]) - {
        "MemberAccountsEnrolled"
    }
    for query in queries:
        assert_query_matches_emitted(query, emitted)
