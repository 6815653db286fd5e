"""`enrollment-monitor verify` against a stack created on moto from the transformed template.

moto's CloudFormation skips the alarms and the topic policy, and moto evaluates no alarm: the
fixture creates them from the template's own definitions and sets the state CloudWatch would reach
(``devtools.local_aws.stack``, which ``make verify-demo`` shares). Invocations run the real handler
(``devtools.local_aws.lambda_invoke``), whose metrics land in moto's CloudWatch as they would in
CloudWatch.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from devtools.local_aws.aws_requests import EMPTY_BODY, PROXY_PAGE
from devtools.local_aws.stack import (
    Deployed,
    answers_changed,
    deploy,
    email_unconfirmed,
    function_fails,
    policy_document,
    topic_policy_refuses_alarms,
)
from enrollment_monitor.cli import main
from enrollment_monitor.clients import AwsClients
from enrollment_monitor.subjects import ALSO_WATCHED, SERVICES
from enrollment_monitor.verify import checklist, model

from conftest import stand_ins_on_moto
from template import ACCOUNT_ID, REGION, Resolver, deployed_environment, resources_of_type

STACK = "team-enrollment"
REGIONS = ("us-east-1", "eu-west-1")
CHECKS = {
    "stack",
    "invocations",
    "metric RegionsNotActive",
    *(f"alarm {suffix}" for suffix in (model.ENROLLMENT_ALARM, *model.HEALTH_ALARMS)),
    "alarm notifications",
    "subscriptions",
    "chat",
    "topic policy",
    "key policy",
    "function role",
}

pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* not supported by moto:UserWarning"
)


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployed]:
    with stand_ins_on_moto(monkeypatch) as aws:
        for region in REGIONS:
            aws.compute_optimizer.set_enrollment(region, "Active")
        yield deploy(
            aws,
            STACK,
            {
                "Regions": ",".join(REGIONS),
                "NotificationEmail": "ops@example.com",
                "CreateDashboard": "false",
            },
        )


def verify_json(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, dict[str, Any]]:
    """Runs verify with --json; returns its exit code and {check: line}."""
    code = main(["verify", "--stack", STACK, "--json", *arguments])
    printed = json.loads(capsys.readouterr().out)
    return code, {line["check"]: line for line in printed["checks"]}


def failing(lines: dict[str, Any]) -> set[str]:
    return {check for check, line in lines.items() if not line["passed"]}


# ------------------------------------------------------------------------------ all pass


def test_a_working_stack_passes_every_check(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.healthy()  # each alarm's OK notification too, as CloudWatch records it

    assert main(["verify", "--stack", STACK]) == 0

    text = capsys.readouterr().out
    with capsys.disabled():
        print(f"\n{text}")  # the checklist, for the closing note (pytest -s)
    assert text.splitlines()[0] == f"enrollment-monitor verify: stack {STACK} in {REGION}"
    assert text.rstrip().endswith("all checks passed")
    code, lines = verify_json(capsys)
    assert code == 0 and set(lines) == CHECKS and not failing(lines)
    assert "checks completed in us-east-1, eu-west-1" in lines["metric RegionsNotActive"]["found"]
    assert "email ops@example.com" in lines["subscriptions"]["found"]
    assert "last notification of 4 of 4 alarms" in lines["alarm notifications"]["found"]


def test_enrollment_not_active_is_the_monitor_working_not_a_failure(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.compute_optimizer.set_enrollment("eu-west-1", "Inactive")
    deployed.run_check()
    deployed.set_alarms("OK", enrollment_not_active="ALARM")

    code, lines = verify_json(capsys)

    assert code == 0, failing(lines)
    assert lines["alarm enrollment-not-active"]["found"].endswith("is ALARM")


def test_the_region_comes_from_aws_region(
    deployed: Deployed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed.healthy()
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")

    code, _ = verify_json(capsys)

    assert code == 0


# ------------------------------------------------------------------------------ each failing line


def _fresh_stack(deployed: Deployed) -> None:
    """Deployed, never invoked: CloudWatch leaves every alarm without data."""
    deployed.set_alarms("INSUFFICIENT_DATA")


def _subscription_pending(deployed: Deployed) -> None:
    deployed.healthy()
    email_unconfirmed(deployed)


def _topic_policy_without_cloudwatch(deployed: Deployed) -> None:
    deployed.healthy()
    topic_policy_refuses_alarms(deployed)


def _key_policy_without_cloudwatch(deployed: Deployed) -> None:
    deployed.healthy()
    policy = policy_document(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    boto3.client("kms", region_name=REGION).put_key_policy(
        KeyId=deployed.physical["AlertKey"], PolicyName="default", Policy=policy
    )


def _key_disabled(deployed: Deployed) -> None:
    deployed.healthy()
    boto3.client("kms", region_name=REGION).disable_key(KeyId=deployed.physical["AlertKey"])


def _alarm_deleted(deployed: Deployed) -> None:
    deployed.healthy()
    boto3.client("cloudwatch", region_name=REGION).delete_alarms(
        AlarmNames=[f"{STACK}-monitor-silent"]
    )


def _alarm_reads_another_service(deployed: Deployed) -> None:
    deployed.healthy()
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[f"{STACK}-monitor-silent"])["MetricAlarms"]
    metrics = copy.deepcopy(alarm["Metrics"])
    (query,) = (q for q in metrics if "MetricStat" in q)
    query["MetricStat"]["Metric"]["Dimensions"] = [
        {"Name": "service", "Value": "enrollment-monitor"}
    ]
    cloudwatch.put_metric_alarm(
        **{
            key: alarm[key]
            for key in (
                "AlarmName",
                "ComparisonOperator",
                "Threshold",
                "EvaluationPeriods",
                "DatapointsToAlarm",
                "TreatMissingData",
                "AlarmActions",
                "OKActions",
            )
        },
        Metrics=metrics,
    )
    deployed.set_alarms("OK")


def _one_region_never_checked(deployed: Deployed) -> None:
    deployed.wire.fail(
        "compute-optimizer",
        "GetEnrollmentStatus",
        "ThrottlingException",
        400,
        times=4,
        region="eu-west-1",
    )
    deployed.healthy()


def _notification_failed(deployed: Deployed) -> None:
    deployed.healthy()
    deployed.history.delivered(f"{STACK}-function-errors", deployed.topic)
    deployed.history.failed(
        f"{STACK}-monitor-silent",
        deployed.topic,
        "CloudWatch Alarms does not have authorization to access the SNS topic encryption key.",
    )


def _email_unsubscribed(deployed: Deployed) -> None:
    """The alert mail's unsubscribe link was followed; another team's queue subscribes."""
    deployed.healthy()
    sns = boto3.client("sns", region_name=REGION)
    for subscription in sns.list_subscriptions_by_topic(TopicArn=deployed.topic)["Subscriptions"]:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="other-team")
    arn = f"arn:aws:sqs:{REGION}:123456789012:other-team"
    assert queue["QueueUrl"].endswith("other-team")
    sns.subscribe(TopicArn=deployed.topic, Protocol="sqs", Endpoint=arn)


def _policy_of_unknown_shape(deployed: Deployed) -> None:
    deployed.healthy()
    deployed.set_topic_policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": deployed.topic,
            "Condition": {"StringEquals": "x"},
        }
    )


def _proxy_in_front_of_sns(deployed: Deployed) -> None:
    deployed.healthy()
    deployed.wire.fail("sns", "GetTopicAttributes", PROXY_PAGE, 403)


def _function_configuration_denied(deployed: Deployed) -> None:
    deployed.healthy()
    deployed.wire.fail("lambda", "GetFunctionConfiguration", "AccessDeniedException", 403)


def _key_policy_unreadable(deployed: Deployed) -> None:
    deployed.healthy()
    deployed.wire.fail("kms", "GetKeyPolicy", "AccessDeniedException", 400)


def _alarm_actions_disabled(deployed: Deployed) -> None:
    deployed.healthy()
    boto3.client("cloudwatch", region_name=REGION).disable_alarm_actions(
        AlarmNames=[f"{STACK}-function-errors"]
    )


def _metric_data_partial(deployed: Deployed) -> None:
    deployed.healthy()
    # moto always answers Complete; CloudWatch may not.
    answers_changed("after-call.cloudwatch.GetMetricData", _partial)


def _partial(parsed: dict[str, Any], **_: Any) -> None:
    for result in parsed.get("MetricDataResults", []):
        result["StatusCode"] = "PartialData"


def _no_region_checked(deployed: Deployed) -> None:
    deployed.healthy()
    function = deployed.outputs["FunctionName"]
    variables = {**deployed_environment(function), "MONITORED_REGIONS": ""}
    boto3.client("lambda", region_name=REGION).update_function_configuration(
        FunctionName=function, Environment={"Variables": variables}
    )


def _role(deployed: Deployed) -> str:
    """The function's role's name."""
    function = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=deployed.function
    )
    return str(function["Role"]).rsplit("/", 1)[1]


def _also_watching(deployed: Deployed, value: str, granted: bool = True) -> None:
    """The function set to watch ``value`` (ALSO_WATCH), its role granted the reads or not."""
    function = deployed.outputs["FunctionName"]
    variables = {**deployed_environment(function), "ALSO_WATCH": value}
    boto3.client("lambda", region_name=REGION).update_function_configuration(
        FunctionName=function, Environment={"Variables": variables}
    )
    if granted:
        reads = [call for service in ALSO_WATCHED[value] for call in service.calls]
        boto3.client("iam").put_role_policy(
            RoleName=_role(deployed),
            PolicyName="also-watch",
            PolicyDocument=policy_document({"Effect": "Allow", "Action": reads, "Resource": "*"}),
        )


def _role_without_its_read(deployed: Deployed) -> None:
    deployed.healthy()
    iam = boto3.client("iam")
    document = iam.get_role_policy(RoleName=_role(deployed), PolicyName="enrollment-monitor")
    statements = document["PolicyDocument"]["Statement"]
    kept = [s for s in statements if s.get("Sid") != "ReadComputeOptimizerEnrollment"]
    iam.put_role_policy(
        RoleName=_role(deployed),
        PolicyName="enrollment-monitor",
        PolicyDocument=policy_document(*kept),
    )


def _watched_service_not_granted(deployed: Deployed) -> None:
    deployed.healthy()
    _also_watching(deployed, "OrganizationAccess", granted=False)


def _role_unreadable(deployed: Deployed) -> None:
    deployed.healthy()
    deployed.wire.fail("iam", "ListRolePolicies", "AccessDenied", 403)


def _managed_policy(deployed: Deployed, name: str, *statements: dict[str, Any]) -> str:
    iam = boto3.client("iam")
    created = iam.create_policy(PolicyName=name, PolicyDocument=policy_document(*statements))
    return str(created["Policy"]["Arn"])


def _attached_deny_verify_cannot_evaluate(deployed: Deployed) -> None:
    deployed.healthy()
    guard = {
        "Effect": "Deny",
        "Action": "compute-optimizer:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
    }
    boto3.client("iam").attach_role_policy(
        RoleName=_role(deployed), PolicyArn=_managed_policy(deployed, "region-guard", guard)
    )


def _boundary_without_the_reads(deployed: Deployed) -> None:
    deployed.healthy()
    publish_only = {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}
    boto3.client("iam").put_role_permissions_boundary(
        RoleName=_role(deployed),
        PermissionsBoundary=_managed_policy(deployed, "boundary", publish_only),
    )


BREAKAGES: dict[str, tuple[Callable[[Deployed], None], set[str], str]] = {
    "fresh stack": (
        _fresh_stack,
        {
            "invocations",
            "metric RegionsNotActive",
            *(f"alarm {s}" for s in (model.ENROLLMENT_ALARM, *model.HEALTH_ALARMS)),
            "alarm notifications",  # no alarm has left INSUFFICIENT_DATA, so none notified
        },
        "schedule is enabled",
    ),
    "function fails": (
        function_fails,
        {
            "invocations",
            "metric RegionsNotActive",
            "alarm function-errors",
        },
        "aws logs tail /aws/lambda/",
    ),
    "subscription pending": (_subscription_pending, {"subscriptions"}, "confirmation message"),
    "topic policy": (_topic_policy_without_cloudwatch, {"topic policy"}, "sns:Publish"),
    "key policy": (_key_policy_without_cloudwatch, {"key policy"}, "kms:GenerateDataKey*"),
    "key disabled": (_key_disabled, {"key policy"}, "enable the key"),
    "alarm deleted": (
        _alarm_deleted,
        {"alarm monitor-silent", "metric RegionsNotActive"},
        "outside CloudFormation",
    ),
    "alarm reads another service": (
        _alarm_reads_another_service,
        {"metric RegionsNotActive"},
        "one template",
    ),
    "region never checked": (
        _one_region_never_checked,
        {"invocations", "metric RegionsNotActive"},
        "no check completed in every watched Region",
    ),
    "key policy unreadable": (_key_policy_unreadable, {"key policy"}, "kms:GetKeyPolicy"),
    "email unsubscribed": (_email_unsubscribed, {"subscriptions"}, "aws sns subscribe"),
    "policy of unknown shape": (
        _policy_of_unknown_shape,
        {"topic policy"},
        "could not read AWS's answer",
    ),
    "a proxy in front of SNS": (
        _proxy_in_front_of_sns,
        {"topic policy", "key policy"},
        "HTTPS_PROXY",
    ),
    "function configuration denied": (
        _function_configuration_denied,
        {"metric RegionsNotActive", "function role"},
        "lambda:GetFunctionConfiguration",
    ),
    "role without its read": (
        _role_without_its_read,
        {"function role"},
        'allow compute-optimizer:GetEnrollmentStatus on "*"',
    ),
    "a watched service not granted": (
        _watched_service_not_granted,
        {"function role"},
        "is not allowed organizations:ListAWSServiceAccessForOrganization, "
        "organizations:ListDelegatedAdministrators",
    ),
    "role unreadable": (_role_unreadable, {"function role"}, "iam:ListRolePolicies"),
    "a deny verify cannot evaluate": (
        _attached_deny_verify_cannot_evaluate,
        {"function role"},
        "cannot tell whether",
    ),
    "a boundary without the reads": (
        _boundary_without_the_reads,
        {"function role"},
        "permissions boundary",
    ),
    "alarm notification failed": (
        _notification_failed,
        {"alarm notifications"},
        "does not have authorization to access the SNS topic encryption key",
    ),
    "alarm actions disabled": (
        _alarm_actions_disabled,
        {"alarm function-errors"},
        "enable-alarm-actions",
    ),
    "metric data partial": (
        _metric_data_partial,
        {"invocations", "metric RegionsNotActive"},
        "PartialData",
    ),
    "no region checked": (
        _no_region_checked,
        {"metric RegionsNotActive"},
        "MONITORED_REGIONS is empty",
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_each_failing_line_says_what_is_wrong_and_the_fix(
    deployed: Deployed, capsys: pytest.CaptureFixture[str], breakage: str
) -> None:
    breaking, expected, fix = BREAKAGES[breakage]
    breaking(deployed)

    code, lines = verify_json(capsys)

    assert code == 1
    assert failing(lines) == expected
    assert all(lines[check]["fix"] for check in expected)
    assert any(fix in (lines[check]["fix"] + lines[check]["found"]) for check in expected)
    assert "<html" not in json.dumps(lines).lower()  # what a proxy answers is never pasted


def test_the_text_checklist_puts_the_fix_under_each_failed_line(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--stack", STACK]) == 1

    text = capsys.readouterr().out
    lines = text.splitlines()
    failed_at = [i for i, line in enumerate(lines) if "[FAIL]" in line]
    assert failed_at and all(lines[i + 1].lstrip().startswith("fix: ") for i in failed_at)
    assert lines[-1] == f"{len(failed_at)} of {len(CHECKS)} checks failed"


# ------------------------------------------------------------------------------ cannot check


def test_a_missing_stack_is_one_clear_line(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--stack", "no-such-stack"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "error: no stack named no-such-stack in us-east-1: check --stack and --region "
        "(`aws cloudformation list-stacks` lists them)\n"
    )


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1
    return err


def test_access_denied_to_the_stack_is_one_line_naming_the_permission(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.wire.fail("cloudformation", "DescribeStacks", "AccessDenied", 403)

    assert main(["verify", "--stack", STACK]) == 2

    assert "must allow cloudformation:DescribeStacks" in one_line_error(capsys)


def test_no_credentials_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_") and name not in ("AWS_DEFAULT_REGION",):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)

    assert main(["verify", "--stack", STACK, "--region", "us-east-1"]) == 2

    assert "configure AWS credentials" in one_line_error(capsys)


def test_no_region_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)

    assert main(["verify", "--stack", STACK]) == 2

    assert capsys.readouterr().err == (
        "error: no Region configured: pass --region or set AWS_REGION\n"
    )


def test_a_stack_that_is_not_a_monitor_is_one_line(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="something-else",
        TemplateBody=json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}),
    )

    assert main(["verify", "--stack", "something-else"]) == 2

    assert "is it an enrollment-monitor stack" in one_line_error(capsys)


def test_a_profile_that_does_not_exist_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)

    assert main(["verify", "--stack", STACK, "--region", "us-east-1"]) == 2

    assert "no-such-profile" in one_line_error(capsys)


def test_the_window_is_the_last_two_alarm_periods(deployed: Deployed) -> None:
    """A stack checked every 5 minutes: data from 8 minutes ago counts, from 11 does not."""
    fast = "team-fast"
    deploy(
        deployed.aws, fast, {"CheckPeriodSeconds": "300", "CreateDashboard": "false"}
    ).run_check()
    now = datetime.now(UTC)

    def invocations(minutes_later: int) -> dict[str, Any]:
        later = now + timedelta(minutes=minutes_later)
        _, lines = checklist.run(AwsClients(), fast, REGION, now=later)
        (line,) = (line for line in lines if line.check == "invocations")
        return asdict(line)

    assert invocations(8)["passed"]
    late = invocations(11)
    assert not late["passed"] and "in the last 10 min" in late["found"]


# ------------------------------------------------------------------------------ --require-active


def test_require_active_also_fails_on_an_enrollment_not_active_naming_the_region(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.compute_optimizer.set_enrollment("eu-west-1", "Inactive", "Opted out by alice")
    deployed.run_check()
    deployed.set_alarms("OK", enrollment_not_active="ALARM")
    assert verify_json(capsys)[0] == 0  # the monitor works: it saw it

    code, lines = verify_json(capsys, "--require-active")

    assert code == 1 and failing(lines) == {"enrollment"}
    assert lines["enrollment"]["found"] == "not Active: eu-west-1 is Inactive (Opted out by alice)"
    assert (
        "update-enrollment-status --status Active --region eu-west-1" in lines["enrollment"]["fix"]
    )


@pytest.mark.parametrize("answer", [PROXY_PAGE, EMPTY_BODY])
def test_require_active_never_takes_a_page_answered_with_200_for_an_enrollment(
    deployed: Deployed, capsys: pytest.CaptureFixture[str], answer: str
) -> None:
    deployed.healthy()
    deployed.wire.fail("compute-optimizer", "GetEnrollmentStatus", answer, 200, region="eu-west-1")

    code, lines = verify_json(capsys, "--require-active")

    assert code == 1 and failing(lines) == {"enrollment"}
    found = lines["enrollment"]["found"]
    assert "compute-optimizer:GetEnrollmentStatus in eu-west-1 failed: NotAnAwsAnswer" in found
    assert "not Active" not in found and "HTTPS_PROXY" in lines["enrollment"]["fix"]


def test_require_active_also_fails_on_a_watched_service_not_active(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.healthy()
    _also_watching(deployed, "CostOptimizationHub")
    deployed.compute_optimizer.set_hub(ACCOUNT_ID, "Inactive")

    code, lines = verify_json(capsys, "--require-active")

    assert code == 1 and failing(lines) == {"enrollment"}
    assert lines["enrollment"]["found"].startswith("not Active: Cost Optimization Hub is Inactive")
    assert "aws cost-optimization-hub update-enrollment-status" in lines["enrollment"]["fix"]

    deployed.compute_optimizer.set_hub(ACCOUNT_ID, "Active")
    code, lines = verify_json(capsys, "--require-active")
    assert code == 0, failing(lines)
    assert lines["enrollment"]["found"] == (
        "Active in us-east-1, eu-west-1; so is Cost Optimization Hub"
    )
    assert "cost-optimization-hub:ListEnrollmentStatuses" in lines["function role"]["found"]


def test_require_active_passes_when_every_watched_region_is_active(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.healthy()

    code, lines = verify_json(capsys, "--require-active")

    assert code == 0, failing(lines)
    assert lines["enrollment"]["found"] == "Active in us-east-1, eu-west-1"


def test_verify_reads_with_the_profile_given(
    deployed: Deployed,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    deployed.healthy()
    config = tmp_path / "config"
    config.write_text(
        f"[profile audit]\nregion = {REGION}\n"
        "aws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)

    code, _ = verify_json(capsys, "--profile", "audit")

    assert code == 0


# ------------------------------------------------------------------------------ --send-test


def test_send_test_delivers_a_test_notification_to_the_topic(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.healthy()
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=deployed.topic, Protocol="sqs", Endpoint=queue_arn
    )

    code, lines = verify_json(capsys, "--send-test")

    assert code == 0, failing(lines)
    assert lines["test notification"]["passed"]
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert json.loads(json.loads(message["Body"])["Message"])["eventType"] == "TestNotification"


def test_send_test_reports_the_functions_error(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.healthy()
    deployed.wire.fail("sns", "Publish", "AuthorizationError", 403, times=8)

    code, lines = verify_json(capsys, "--send-test")

    assert code == 1
    assert failing(lines) == {"test notification"}
    assert "sns:Publish" in lines["test notification"]["found"]


def test_without_send_test_nothing_is_invoked_or_sent(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.healthy()
    before = len(deployed.runtime.invocations)

    verify_json(capsys)

    assert len(deployed.runtime.invocations) == before
    assert deployed.wire.calls["sns:Publish"] == 0


# ------------------------------------------------------------------------------ the contract


def test_verify_looks_for_the_alarms_the_template_names() -> None:
    resolver = Resolver(stack_name=STACK)
    named = {
        resolver.value(alarm["Properties"]["AlarmName"])
        for alarm in resources_of_type("AWS::CloudWatch::Alarm").values()
    }
    assert named == {
        f"{STACK}-{suffix}" for suffix in (model.ENROLLMENT_ALARM, *model.HEALTH_ALARMS)
    }


def test_the_console_script_offers_status_and_verify() -> None:
    script = Path(sys.executable).parent / "enrollment-monitor"

    shown = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)

    assert "{status,verify}" in shown.stdout


def test_the_readme_lists_every_permission_verify_needs() -> None:
    source = "".join(path.read_text() for path in Path(checklist.__file__).parent.glob("*.py"))
    called = set(
        re.findall(
            r'(?:calling|_client|client_for)\((?:\s*clients,)?\s*"([a-z-]+:[A-Za-z]+)"', source
        )
    )
    # --require-active reads each subject expected Active with the subject's own reader.
    called |= {call for s in SERVICES.values() if s.expects_active for call in s.calls}
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("### Prove it works") : readme.index("### Bring your own topic")]

    assert called and called == set(re.findall(r"`([a-z-]+:[A-Za-z]+)`", section))


# ------------------------------------------------------------------------------ faults


def test_a_fault_at_any_call_of_verify_never_passes_and_never_tracebacks(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every call verify makes, in turn, errs on every attempt: verify still prints its
    checklist (or one error line) and exits non-zero; a reply lost once is retried and the
    checklist passes."""
    deployed.healthy()
    start = len(deployed.wire.sequence)
    assert main(["verify", "--stack", STACK]) == 0
    calls = deployed.wire.sequence[start:]
    capsys.readouterr()

    for number, call in enumerate(calls, start=1):
        deployed.wire.at_call(number, "error")
        code = main(["verify", "--stack", STACK])
        out, err = capsys.readouterr()
        assert code in (1, 2), f"an error at call {number} ({call}) passed"
        assert "[FAIL]" in out if code == 1 else err.startswith("error: "), call
        deployed.wire.heal()

        deployed.wire.at_call(number, "reply lost")
        assert main(["verify", "--stack", STACK]) == 0, f"a lost reply at {call} failed verify"
        capsys.readouterr()
    assert len(calls) >= 10, calls


def test_the_stack_may_be_named_by_its_arn(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.healthy()
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    (stack,) = cloudformation.describe_stacks(StackName=STACK)["Stacks"]

    assert main(["verify", "--stack", stack["StackId"]]) == 0

    assert capsys.readouterr().out.startswith(f"enrollment-monitor verify: stack {STACK} in")


def test_send_test_is_never_retried(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    """A retry after a reply that did not come could send the test notification twice."""
    deployed.healthy()
    before = len(deployed.runtime.invocations)
    deployed.wire.fail("lambda", "Invoke", "ServiceException", 500)

    code, lines = verify_json(capsys, "--send-test")

    assert code == 1 and failing(lines) == {"test notification"}
    assert len(deployed.runtime.invocations) == before


@pytest.mark.parametrize(
    ("history", "passes"),
    [
        ("a failure, then a delivery", True),
        ("a delivery, then a failure", False),
        ("a failure to another topic", True),
        ("a failure before the alarm was configured", True),
    ],
)
def test_only_the_alarms_last_notification_to_this_topic_counts(
    deployed: Deployed, capsys: pytest.CaptureFixture[str], history: str, passes: bool
) -> None:
    deployed.healthy()
    alarm, error = f"{STACK}-monitor-silent", "CloudWatch Alarms does not have authorization"
    if history == "a failure, then a delivery":
        deployed.history.failed(alarm, deployed.topic, error, seconds_ago=60)
        deployed.history.delivered(alarm, deployed.topic)
    elif history == "a delivery, then a failure":
        deployed.history.delivered(alarm, deployed.topic, seconds_ago=60)
        deployed.history.failed(alarm, deployed.topic, error)
    elif history == "a failure to another topic":
        deployed.history.failed(alarm, f"{deployed.topic}-old", error)
    else:  # CloudWatch keeps the history of an alarm deleted and created again
        deployed.history.failed(alarm, deployed.topic, error, seconds_ago=3600)

    _, lines = verify_json(capsys)

    assert lines["alarm notifications"]["passed"] is passes
