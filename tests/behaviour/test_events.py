"""events/*.json: what the schedule, a manual invoke and the CloudTrail rule send, each run
through the handler with the template's own environment (the same files `sam local invoke -e`
uses)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.events.models import EventPattern

from devtools.local_aws.compute_optimizer import FakeComputeOptimizer
from devtools.local_aws.resources import LambdaContext

from conftest import EVENTS, emitted_metrics, event, new_sandbox
from template import REGION, Resolver, function_environment, table_definition, transformed_template

_PLACEHOLDER = re.compile(r"^<aws\.scheduler\.[a-z-]+>$")
# Each CloudTrail rule of the template: its sample event (events/), the calls it is for, and a
# read (the monitor's own calls must not set off a check).
CLOUDTRAIL_RULES = {
    "CloudTrailEnrollmentRule": (
        "cloudtrail-update-enrollment",
        {"UpdateEnrollmentStatus"},
        "GetEnrollmentStatus",
    ),
    "CloudTrailHubRule": (
        "cloudtrail-cost-optimization-hub-update-enrollment",
        {"UpdateEnrollmentStatus"},
        "ListEnrollmentStatuses",
    ),
    "CloudTrailAutomationRule": (
        "cloudtrail-automation-update-enrollment",
        {"UpdateEnrollmentConfiguration"},
        "GetEnrollmentConfiguration",
    ),
    "CloudTrailOrganizationRule": (
        "cloudtrail-organizations-disable-service-access",
        {
            "EnableAWSServiceAccess",
            "DisableAWSServiceAccess",
            "RegisterDelegatedAdministrator",
            "DeregisterDelegatedAdministrator",
        },
        "ListDelegatedAdministrators",
    ),
}


def schedule_input() -> dict[str, Any]:
    (schedule,) = (
        resource
        for resource in transformed_template()["Resources"].values()
        if resource["Type"] == "AWS::Scheduler::Schedule"
    )
    loaded: dict[str, Any] = json.loads(schedule["Properties"]["Target"]["Input"])
    return loaded


def cloudtrail_rule_pattern(name: str = "CloudTrailEnrollmentRule") -> dict[str, Any]:
    rule = transformed_template()["Resources"][name]
    pattern: dict[str, Any] = Resolver().value(rule["Properties"]["EventPattern"])
    return pattern


def rules_matching(sample: dict[str, Any]) -> set[str]:
    """The template's CloudTrail rules whose pattern matches ``sample``, as moto's EventBridge
    matches them."""
    return {
        name
        for name in CLOUDTRAIL_RULES
        if EventPattern.load(json.dumps(cloudtrail_rule_pattern(name))).matches_event(sample)
    }


def with_detail(sample: dict[str, Any], **detail: Any) -> dict[str, Any]:
    changed: dict[str, Any] = json.loads(json.dumps(sample))
    changed["detail"].update(detail)
    return changed


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The table and topic on moto, Compute Optimizer faked, the function's environment from
    the template, and a queue subscribed to the topic to read what was published."""
    with mock_aws(), FakeComputeOptimizer() as compute_optimizer:
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        compute_optimizer.set_enrollment(REGION, "Active")
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="state", **table_definition()
        )
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        environment = function_environment(resources={"StateTable": "state", "AlertTopic": topic})
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_REGION", REGION)
        yield {"handler": new_sandbox().lambda_handler, "sqs": sqs, "queue": queue}


def published(deployed: dict[str, Any]) -> list[dict[str, Any]]:
    messages = deployed["sqs"].receive_message(QueueUrl=deployed["queue"], MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def test_the_sample_events_are_those_the_monitor_receives() -> None:
    assert sorted(path.stem for path in EVENTS.glob("*.json")) == [
        "cloudtrail-automation-update-enrollment",
        "cloudtrail-cost-optimization-hub-update-enrollment",
        "cloudtrail-organizations-disable-service-access",
        "cloudtrail-update-enrollment",
        "scheduled",
        "test-notification",
    ]


def test_the_scheduled_event_is_what_the_schedule_sends() -> None:
    sent = schedule_input()
    sample = event("scheduled")
    assert sample.keys() == sent.keys()
    for key, value in sent.items():
        if isinstance(value, str) and _PLACEHOLDER.match(value):
            continue  # Scheduler fills in the execution id, time, schedule ARN, attempt
        if isinstance(value, list):
            assert len(sample[key]) == len(value)
            continue
        assert sample[key] == value, key
    assert sent["action"] != "test-notification"


@pytest.mark.parametrize("rule", CLOUDTRAIL_RULES)
def test_each_call_a_cloudtrail_rule_is_for_sets_off_that_rule_only(rule: str) -> None:
    name, calls, read = CLOUDTRAIL_RULES[rule]
    sample = event(name)

    assert set(cloudtrail_rule_pattern(rule)["detail"]["eventName"]) == calls
    for call in calls:
        assert rules_matching(with_detail(sample, eventName=call)) == {rule}, call
    assert rules_matching(with_detail(sample, eventName=read)) == set()


def test_the_organizations_rule_ignores_other_services_access() -> None:
    sample = event("cloudtrail-organizations-disable-service-access")
    other = with_detail(sample, requestParameters={"servicePrincipal": "guardduty.amazonaws.com"})

    assert rules_matching(sample) == {"CloudTrailOrganizationRule"}
    assert rules_matching(other) == set()


def test_the_scheduled_event_runs_a_check(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = deployed["handler"](event("scheduled"), LambdaContext())

    assert [check["outcome"] for check in result["checked"]] == ["baseline"]
    assert ("RegionsNotActive", {"service": "enrollment-monitor"}, 0.0) in (
        emitted_metrics(capsys.readouterr().out)
    )


@pytest.mark.parametrize("sample", [name for name, _, _ in CLOUDTRAIL_RULES.values()])
def test_each_cloudtrail_event_runs_a_check(deployed: dict[str, Any], sample: str) -> None:
    result = deployed["handler"](event(sample), LambdaContext())

    assert [check["outcome"] for check in result["checked"]] == ["baseline"]


def test_the_test_notification_event_publishes_a_test_alert(deployed: dict[str, Any]) -> None:
    result = deployed["handler"](event("test-notification"), LambdaContext())

    assert result["sent"] == "TestNotification"
    (envelope,) = published(deployed)
    assert json.loads(envelope["Message"])["eventType"] == "TestNotification"
