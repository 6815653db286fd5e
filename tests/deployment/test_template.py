"""template.yaml: lint-clean, transformable, least privilege, encrypted, deployable on moto, and
alarmed on exactly the metrics the handler emits."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, lint_file
from moto import mock_aws

from devtools.fake_compute_optimizer import FakeComputeOptimizer
from devtools.local_aws import LambdaContext

from conftest import emf_lines, new_sandbox
from template import (
    ACCOUNT_ID,
    CODE_URI,
    REGION,
    STACK_NAME,
    TEMPLATE,
    Resolver,
    function_environment,
    load_template,
    resources_of_type,
    table_definition,
    transformed_template,
)

KNOWN_STATUSES = {"Active", "Inactive", "Pending", "Failed"}
# Metrics Insights alarms evaluate the most recent three hours of data, no more.
METRICS_INSIGHTS_ALARM_WINDOW_SECONDS = 3 * 3600
OPTIONAL_RESOURCES = {
    "EmailSubscription": "HasEmail",
    "SlackChannel": "HasSlack",
    "TeamsChannel": "HasTeams",
    "ChatbotChannelRole": "HasChatbot",
    "CloudTrailEnrollmentRule": "HasCloudTrailTrigger",
    "CloudTrailEnrollmentRulePermission": "HasCloudTrailTrigger",
    "Dashboard": "HasDashboard",
}
# Another stack name than the default: what follows the stack name must follow it here too.
OTHER_STACK_NAME = "billing-enrollment"
# Actions whose resources exist in this stack: each must be scoped to them.
RESOURCE_SCOPED_SERVICES = {"dynamodb", "sns", "kms", "sqs", "lambda"}
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


def referenced_resource(value: Any, template: dict[str, Any]) -> str | None:
    """The logical id of the stack resource that ``value`` (a Ref, GetAtt or Sub) points at."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and argument in template["Resources"]:
            return str(argument)
        if key == "Fn::GetAtt" and argument[0] in template["Resources"]:
            return str(argument[0])
        if key == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            for name in re.findall(r"\$\{([A-Za-z0-9]+)[.}]", text):
                if name in template["Resources"]:
                    return str(name)
    return None


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


def metrics_insights_queries(stack_name: str = STACK_NAME) -> dict[str, dict[str, Any]]:
    """Alarm name -> its parsed query, for the alarms on Metrics Insights queries."""
    resolver = Resolver(stack_name=stack_name)
    queries = {}
    for name, alarm in alarms().items():
        for metric in alarm["Properties"].get("Metrics", []):
            if metric.get("ReturnData") and "Expression" in metric:
                queries[name] = parse_query(resolver.value(metric["Expression"]))
    return queries


def dashboard_queries(stack_name: str = STACK_NAME) -> list[dict[str, Any]]:
    resolver = Resolver(stack_name=stack_name)
    (dashboard,) = resources(transformed_template(), "AWS::CloudWatch::Dashboard").values()
    body = json.loads(resolver.value(dashboard["Properties"]["DashboardBody"]))
    queries = []
    for widget in body["widgets"]:
        for line in widget.get("properties", {}).get("metrics", []):
            for item in line:
                if isinstance(item, dict) and "expression" in item:
                    queries.append(parse_query(item["expression"]))
    return queries


# ---------------------------------------------------------------------------- deployed on moto


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    """The transformed template created as a stack in moto, under another name than the
    default, with every optional resource moto can create turned on. moto's CloudFormation
    creates no alarms and no dashboards (it skips AWS::CloudWatch::Alarm, and a dashboard
    referring to the alarms would fail), so the dashboard is off here; the alarms are checked
    on the template itself."""
    parameters = {
        "CreateDashboard": "false",
        "EnableCloudTrailTrigger": "true",
        "NotificationEmail": "ops@example.com",
    }
    with mock_aws():
        bucket, key = CODE_URI.removeprefix("s3://").split("/", 1)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=bucket)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("enrollment_monitor/__init__.py", "")
        s3.put_object(Bucket=bucket, Key=key, Body=code.getvalue())
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        with pytest.warns(UserWarning, match="not supported by moto"):
            cloudformation.create_stack(
                StackName=OTHER_STACK_NAME,
                TemplateBody=json.dumps(transformed_template()),
                Parameters=[
                    {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
                ],
                Capabilities=["CAPABILITY_IAM"],
            )
        (described,) = cloudformation.describe_stacks(StackName=OTHER_STACK_NAME)["Stacks"]
        summaries = cloudformation.list_stack_resources(StackName=OTHER_STACK_NAME)
        physical = {
            summary["LogicalResourceId"]: summary.get("PhysicalResourceId", "")
            for summary in summaries["StackResourceSummaries"]
        }
        yield {
            "status": described["StackStatus"],
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
            "resources": physical,
        }


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
    ):
        assert stack["resources"].get(logical_id), f"{logical_id} was not created"
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
    function = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=stack["outputs"]["FunctionName"]
    )
    # moto keeps a Number parameter's type where Lambda would see its string.
    deployed = {name: str(value) for name, value in function["Environment"]["Variables"].items()}
    expected = function_environment(
        resources={
            "StateTable": stack["outputs"]["StateTableName"],
            "AlertTopic": stack["outputs"]["AlertTopicArn"],
        },
        stack_name=OTHER_STACK_NAME,
    )
    assert deployed == expected
    assert expected["POWERTOOLS_SERVICE_NAME"] == OTHER_STACK_NAME
    assert function["Handler"] == "enrollment_monitor.app.lambda_handler"
    assert function["Runtime"] == "python3.13"
    # (moto's CloudFormation drops Architectures: arm64 is checked on the template.)


# ---------------------------------------------------------------------------- lint and transform


def test_cfn_lint_reports_no_error_and_no_warning() -> None:
    matches = lint_file(TEMPLATE, ManualArgs(regions=["us-east-1", "eu-west-1", "ap-southeast-2"]))
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


def test_the_function_follows_the_contract() -> None:
    function = transformed_template()["Resources"]["EnrollmentMonitorFunction"]["Properties"]
    assert function["Handler"] == "enrollment_monitor.app.lambda_handler"
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["ReservedConcurrentExecutions"] == 1
    assert function["MemorySize"] <= 512
    # Modest for one account; room for listing a large organization's members.
    assert Resolver().value(function["Timeout"]) == 60
    assert Resolver({"TrackMemberAccounts": "true"}).value(function["Timeout"]) == 300
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
        "MONITORED_REGIONS": REGION,
        "REMINDER_INTERVAL_HOURS": "24",
        "TRACK_MEMBER_ACCOUNTS": "false",
    }
    chosen = function_environment({"Regions": "eu-west-1,us-east-1", "TrackMemberAccounts": "true"})
    assert chosen["MONITORED_REGIONS"] == "eu-west-1,us-east-1"
    assert chosen["TRACK_MEMBER_ACCOUNTS"] == "true"


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


def test_the_schedule_is_a_parameter_that_defaults_to_hourly() -> None:
    (schedule,) = resources(transformed_template(), "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    parameters = load_template()["Parameters"]
    assert parameters["ScheduleExpression"]["Default"] == "rate(1 hour)"
    # The alarms' period matches the default schedule.
    assert parameters["CheckPeriodSeconds"]["Default"] == 3600


# ---------------------------------------------------------------------------- least privilege


def test_no_policy_grants_a_wildcard_action() -> None:
    for role, statement in policy_statements(transformed_template()):
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{role} allows {action}"


def test_no_policy_grants_put_metric_data() -> None:
    actions = {
        action.lower()
        for _, statement in policy_statements(transformed_template())
        for action in as_list(statement["Action"])
    }
    assert "cloudwatch:putmetricdata" not in actions


def test_actions_on_this_stacks_resources_are_scoped_to_them() -> None:
    template = transformed_template()
    for role, statement in policy_statements(template):
        services = {action.split(":")[0] for action in as_list(statement["Action"])}
        if services & RESOURCE_SCOPED_SERVICES:
            for resource in as_list(statement["Resource"]):
                assert referenced_resource(resource, template), (
                    f"{role}: {statement['Action']} on {resource} is not a resource of the stack"
                )


def test_compute_optimizer_reads_are_the_only_actions_on_every_resource() -> None:
    function_role = transformed_template()["Resources"]["EnrollmentMonitorFunctionRole"]
    statements = [
        statement
        for policy in function_role["Properties"]["Policies"]
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]
    unscoped = {
        action for s in statements if s["Resource"] == "*" for action in as_list(s["Action"])
    }
    assert unscoped == {
        "compute-optimizer:GetEnrollmentStatus",
        "compute-optimizer:GetEnrollmentStatusesForOrganization",
    }


def test_the_function_role_grants_exactly_what_the_monitor_calls() -> None:
    function_role = transformed_template()["Resources"]["EnrollmentMonitorFunctionRole"]
    actions = {
        action
        for policy in function_role["Properties"]["Policies"]
        for statement in as_list(policy["PolicyDocument"]["Statement"])
        for action in as_list(statement["Action"])
    }
    assert actions == {
        "compute-optimizer:GetEnrollmentStatus",
        "compute-optimizer:GetEnrollmentStatusesForOrganization",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "sqs:SendMessage",
    }
    # Logs: the one managed policy SAM attaches (CreateLogGroup, CreateLogStream, PutLogEvents).
    assert function_role["Properties"]["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ]


# ---------------------------------------------------------------------------- encryption


def test_the_topic_is_encrypted_with_the_stacks_key() -> None:
    template = transformed_template()
    (topic,) = resources(template, "AWS::SNS::Topic").values()
    assert referenced_resource(topic["Properties"]["KmsMasterKeyId"], template) == "AlertKey"
    key = template["Resources"]["AlertKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    granted = {
        service: statement["Action"]
        for statement in key["KeyPolicy"]["Statement"]
        for service in as_list(statement["Principal"].get("Service", []))
        if isinstance(service, str)
    }
    for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
        assert set(granted[service]) >= {"kms:Decrypt", "kms:GenerateDataKey*"}


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
    assert referenced_resource(log_group["Properties"]["KmsKeyId"], template) == "AlertKey"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


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
        "AWS::Chatbot::SlackChannelConfiguration",
        "AWS::Chatbot::MicrosoftTeamsChannelConfiguration",
        "AWS::SNS::Subscription",
        "AWS::CloudWatch::Dashboard",
        "AWS::Events::Rule",
    ):
        for name in resources(template, resource_type):
            assert name in OPTIONAL_RESOURCES, f"{name} is created unconditionally"


def test_the_optional_resources_are_off_by_default_except_the_dashboard() -> None:
    resolver = Resolver()
    on = {name for name, condition in OPTIONAL_RESOURCES.items() if resolver.condition(condition)}
    assert on == {"Dashboard"}


def test_chat_channels_have_guardrails_logging_and_the_topic() -> None:
    template = transformed_template()
    channels = {
        **resources(template, "AWS::Chatbot::SlackChannelConfiguration"),
        **resources(template, "AWS::Chatbot::MicrosoftTeamsChannelConfiguration"),
    }
    assert len(channels) == 2
    for channel in channels.values():
        properties = channel["Properties"]
        assert properties["GuardrailPolicies"], "without guardrails Chatbot allows admin access"
        assert properties["LoggingLevel"] == {"Ref": "ChatbotLoggingLevel"}
        assert properties["SnsTopicArns"] == [{"Ref": "AlertTopic"}]
        assert properties["IamRoleArn"] == {"Fn::GetAtt": ["ChatbotChannelRole", "Arn"]}


# ---------------------------------------------------------------------------- alarms


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok() -> None:
    assert set(alarms()) == {
        "EnrollmentNotActiveAlarm",
        "MonitorSilentAlarm",
        "FunctionErrorsAlarm",
        "FailedInvocationsAlarm",
    }
    for name, alarm in alarms().items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": "AlertTopic"}], name
        assert properties["OKActions"] == [{"Ref": "AlertTopic"}], name


def test_the_heartbeat_alarm_fires_on_missing_data_within_the_metrics_insights_window() -> None:
    alarm = alarms()["MonitorSilentAlarm"]["Properties"]
    assert alarm["TreatMissingData"] == "breaching"
    # A check still to come in the current period is no alarm: two empty periods are.
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"] == 2
    (query,) = alarm["Metrics"]
    assert query["Period"] == {"Ref": "CheckPeriodSeconds"}
    for period in load_template()["Parameters"]["CheckPeriodSeconds"]["AllowedValues"]:
        assert period % 60 == 0
        # One period of margin: evaluation periods align to the clock, not to "now".
        window = period * (alarm["EvaluationPeriods"] + 1)
        assert window <= METRICS_INSIGHTS_ALARM_WINDOW_SECONDS


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
    for document in emf_lines(capture.getvalue()):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    point = {name: document[name] for name in dimension_set}
                    point["Namespace"] = directive["Namespace"]
                    datapoints[metric["Name"]][frozenset(dimension_set)].append(point)
    return {"datapoints": datapoints, "environment": environment}


def test_the_handler_emits_the_contracted_metrics_and_dimension_sets(
    emitted: dict[str, Any],
) -> None:
    shapes = {metric: set(sets) for metric, sets in emitted["datapoints"].items()}
    assert shapes == {
        "EnrollmentStatus": {frozenset({"Region", "Status", "service"})},
        "MemberAccounts": {frozenset({"Region", "Status", "service"})},
        "MemberAccountsOptedIn": {frozenset({"Region", "service"})},
        "MemberAccountsEnrolled": {frozenset({"Region", "service"})},
        "CheckCompleted": {frozenset({"Region", "service"})},
    }
    for (points,) in (sets.values() for sets in emitted["datapoints"].values()):
        for point in points:
            assert point["Namespace"] == emitted["environment"]["POWERTOOLS_METRICS_NAMESPACE"]
            assert point["service"] == OTHER_STACK_NAME
    statuses = {
        (point["Region"], point["Status"])
        for point in emitted["datapoints"]["EnrollmentStatus"][
            frozenset({"Region", "Status", "service"})
        ]
    }
    assert statuses == {(r, s) for r in ("us-east-1", "eu-west-1") for s in KNOWN_STATUSES}


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


def test_the_metrics_insights_alarms_read_what_the_handler_emits(
    emitted: dict[str, Any],
) -> None:
    queries = metrics_insights_queries(OTHER_STACK_NAME)
    assert set(queries) == {"EnrollmentNotActiveAlarm", "MonitorSilentAlarm"}
    for query in queries.values():
        assert_query_matches_emitted(query, emitted)
    not_active = queries["EnrollmentNotActiveAlarm"]
    assert (not_active["metric"], not_active["stat"]) == ("EnrollmentStatus", "MIN")
    assert not_active["filters"]["Status"] == "Active"
    alarm = alarms()["EnrollmentNotActiveAlarm"]["Properties"]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    heartbeat = queries["MonitorSilentAlarm"]
    assert (heartbeat["metric"], heartbeat["stat"]) == ("CheckCompleted", "SUM")


def test_no_alarm_reads_the_monitors_namespace_with_fixed_dimensions(
    emitted: dict[str, Any],
) -> None:
    namespace = emitted["environment"]["POWERTOOLS_METRICS_NAMESPACE"]
    resolver = Resolver()
    for name, alarm in alarms().items():
        properties = alarm["Properties"]
        if "MetricName" in properties:
            assert resolver.value(properties["Namespace"]) != namespace, (
                f"{name}: a fixed Region dimension cannot follow the Regions parameter"
            )


def test_the_dashboard_graphs_what_the_handler_emits(emitted: dict[str, Any]) -> None:
    queries = dashboard_queries(OTHER_STACK_NAME)
    assert {query["metric"] for query in queries} == set(emitted["datapoints"]) - {
        "MemberAccountsEnrolled"
    }
    for query in queries:
        assert_query_matches_emitted(query, emitted)
