"""`make stackset-template`: a plain CloudFormation template (no transform, no nested stack)
that a service-managed StackSet deploys to every member account, each watching its own
enrollment; it deploys on moto, a check runs through it, and it lints clean in every
partition."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, lint_file

from devtools.local_aws.stack import CODE_URI, StandIns, create_stack
from devtools.local_aws.template import REGION, Resolver
from devtools.release.stackset import MEMBER_ALSO_WATCH, TEMPLATE_BODY_LIMIT, stackset_template

from conftest import stand_ins_on_moto

ROOT = Path(__file__).resolve().parents[2]
MEMBER_STACK = "StackSet-enrollment-monitor-0123"
CODE_BUCKET, CODE_KEY = CODE_URI.removeprefix("s3://").split("/", 1)
CODE = {"CodeBucket": CODE_BUCKET, "CodeKey": CODE_KEY}

pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* not supported by moto:UserWarning"
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make stackset-template` writes, run the way the Makefile runs it."""
    output = tmp_path_factory.mktemp("stackset") / "template.json"
    subprocess.run(
        [sys.executable, "-m", "devtools.release.stackset", "--output", str(output)],
        cwd=ROOT,
        env={"PATH": "", "PYTHONPATH": f"{ROOT / 'functions'}:{ROOT}"},
        check=True,
        capture_output=True,
    )
    return output


@pytest.fixture(scope="module")
def template(written: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(written.read_text())
    return loaded


def resolver(written: Path, parameters: dict[str, str]) -> Resolver:
    return Resolver({**CODE, **parameters}, path=written, stack_name=MEMBER_STACK)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIns]:
    with stand_ins_on_moto(monkeypatch) as installed:
        yield installed


def subscribed_queue(topic: str) -> str:
    """An SQS queue subscribed to ``topic`` (raw delivery): what a machine subscriber sees."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="alerts-seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    return url


def received(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=url, MaxNumberOfMessages=10
    )
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


# ------------------------------------------------------------------------------ the template


def test_the_template_has_no_transform_no_serverless_type_and_no_nested_stack(
    template: dict[str, Any],
) -> None:
    types = {resource["Type"] for resource in template["Resources"].values()}

    assert "Transform" not in template
    assert not [t for t in types if t.startswith("AWS::Serverless::")]
    assert "AWS::CloudFormation::Stack" not in types


def test_the_written_template_fits_create_stack_set_s_template_body(written: Path) -> None:
    assert len(written.read_bytes()) <= TEMPLATE_BODY_LIMIT


def test_the_code_comes_from_the_bucket_and_key_given_as_parameters(
    template: dict[str, Any],
) -> None:
    function = template["Resources"]["EnrollmentMonitorFunction"]["Properties"]

    assert function["Code"] == {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}}
    assert {"CodeBucket", "CodeKey"} <= set(template["Parameters"])
    assert "Default" not in template["Parameters"]["CodeBucket"]


def test_each_account_watches_only_its_own_enrollment(template: dict[str, Any]) -> None:
    function = template["Resources"]["EnrollmentMonitorFunction"]["Properties"]
    text = json.dumps(template)

    assert function["Environment"]["Variables"]["TRACK_MEMBER_ACCOUNTS"] == "false"
    assert function["Timeout"] == 60
    assert "TrackMemberAccounts" not in template["Parameters"]
    assert "GetEnrollmentStatusesForOrganization" not in text
    assert "organizations:" not in text


def test_also_watch_takes_what_a_member_account_can_read_and_refuses_organization_access(
    template: dict[str, Any],
) -> None:
    pattern = re.compile(template["Parameters"]["AlsoWatch"]["AllowedPattern"])

    assert pattern.fullmatch(",".join(MEMBER_ALSO_WATCH))
    assert pattern.fullmatch("")
    assert not pattern.fullmatch("OrganizationAccess")
    assert not pattern.fullmatch("CostOptimizationHub,OrganizationAccess")


def test_no_chat_channel_parameter_is_left(template: dict[str, Any]) -> None:
    chat = {"SlackWorkspaceId", "SlackChannelId", "TeamsTeamId", "TeamsChannelId"}

    assert not chat & set(template["Parameters"])
    assert "ChatOnlyWhereAwsChatbotIs" not in template["Rules"]
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = {name for group in interface["ParameterGroups"] for name in group["Parameters"]}
    assert grouped == set(template["Parameters"])


@pytest.mark.parametrize(
    ("parameters", "accepted"),
    [
        ({"NotificationEmail": "ops@example.com"}, True),
        ({"AlertTopicArn": "arn:aws:sns:us-east-1:999999999999:central"}, True),
        (
            {
                "AlertTopicArn": "arn:aws:sns:us-east-1:999999999999:central",
                "NotificationEmail": "ops@example.com",
            },
            False,
        ),
    ],
)
def test_an_email_is_subscribed_per_account_only_to_that_account_s_own_topic(
    written: Path, template: dict[str, Any], parameters: dict[str, str], accepted: bool
) -> None:
    rule = template["Rules"]["EmailOnlyWithThisAccountsTopic"]
    resolve = resolver(written, parameters)

    applies = resolve.value(rule["RuleCondition"])
    holds = all(resolve.value(assertion["Assert"]) for assertion in rule["Assertions"])

    assert (not applies or holds) is accepted


@pytest.mark.parametrize("regions", [["us-east-1"], ["us-gov-west-1"], ["cn-north-1"]])
def test_cfn_lint_reports_no_error_and_no_warning(written: Path, regions: list[str]) -> None:
    matches = lint_file(written, ManualArgs(regions=regions))

    assert [str(match) for match in matches] == []


def test_the_module_writes_what_the_tests_check() -> None:
    assert json.loads(json.dumps(stackset_template())) == stackset_template()


# ------------------------------------------------------------------------------ deployed


def test_the_template_deploys_on_moto_and_its_check_alerts_the_account_s_own_topic(
    aws: StandIns, template: dict[str, Any]
) -> None:
    aws.compute_optimizer.set_enrollment(REGION, "Inactive")
    stack = create_stack(CODE, MEMBER_STACK, template)
    seen = subscribed_queue(stack["outputs"]["AlertTopicArn"])

    invocation = aws.runtime.invoke(stack["outputs"]["FunctionName"], REGION, {"action": "check"})

    assert stack["status"] == "CREATE_COMPLETE"
    assert {"AlertKey", "AlertTopic", "StateTable"} <= set(stack["resources"])
    assert invocation["error"] is None, invocation["payload"]
    (alert,) = received(seen)
    assert alert["eventType"] == "EnrollmentStatusChanged"
    assert alert["current"]["status"] == "Inactive"


def test_with_a_central_topic_the_stack_makes_no_topic_and_alerts_go_to_the_central_one(
    aws: StandIns, template: dict[str, Any]
) -> None:
    central = boto3.client("sns", region_name=REGION).create_topic(Name="central-alerts")
    seen = subscribed_queue(central["TopicArn"])
    aws.compute_optimizer.set_enrollment(REGION, "Pending")
    stack = create_stack({**CODE, "AlertTopicArn": central["TopicArn"]}, MEMBER_STACK, template)

    invocation = aws.runtime.invoke(stack["outputs"]["FunctionName"], REGION, {"action": "check"})

    assert invocation["error"] is None, invocation["payload"]
    assert not {"AlertKey", "AlertTopic", "AlertTopicPolicy"} & set(stack["resources"])
    assert stack["outputs"]["AlertTopicArn"] == central["TopicArn"]
    (alert,) = received(seen)
    assert alert["current"]["status"] == "Pending"
