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

from devtools.fake_compute_optimizer import FakeComputeOptimizer
from devtools.local_aws import LambdaContext

from conftest import EVENTS, emitted_metrics, event, new_sandbox
from template import REGION, Resolver, function_environment, table_definition, transformed_template

_PLACEHOLDER = re.compile(r"^<aws\.scheduler\.[a-z-]+>$")


def schedule_input() -> dict[str, Any]:
    (schedule,) = (
        resource
        for resource in transformed_template()["Resources"].values()
        if resource["Type"] == "AWS::Scheduler::Schedule"
    )
    loaded: dict[str, Any] = json.loads(schedule["Properties"]["Target"]["Input"])
    return loaded


def cloudtrail_rule_pattern() -> dict[str, Any]:
    rule = transformed_template()["Resources"]["CloudTrailEnrollmentRule"]
    pattern: dict[str, Any] = Resolver().value(rule["Properties"]["EventPattern"])
    return pattern


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


def test_the_sample_events_are_the_three_the_monitor_receives() -> None:
    assert sorted(path.stem for path in EVENTS.glob("*.json")) == [
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


def test_the_cloudtrail_sample_matches_the_rule_and_a_read_call_does_not() -> None:
    pattern = EventPattern.load(json.dumps(cloudtrail_rule_pattern()))
    sample = event("cloudtrail-update-enrollment")
    assert pattern.matches_event(sample)
    read_call = json.loads(json.dumps(sample))
    read_call["detail"]["eventName"] = "GetEnrollmentStatus"
    assert not pattern.matches_event(read_call)


def test_the_scheduled_event_runs_a_check(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = deployed["handler"](event("scheduled"), LambdaContext())

    assert [check["outcome"] for check in result["checked"]] == ["baseline"]
    assert ("RegionsNotActive", {"service": "enrollment-monitor"}, 0.0) in (
        emitted_metrics(capsys.readouterr().out)
    )


def test_the_cloudtrail_event_runs_a_check(deployed: dict[str, Any]) -> None:
    result = deployed["handler"](event("cloudtrail-update-enrollment"), LambdaContext())

    assert [check["outcome"] for check in result["checked"]] == ["baseline"]


def test_the_test_notification_event_publishes_a_test_alert(deployed: dict[str, Any]) -> None:
    result = deployed["handler"](event("test-notification"), LambdaContext())

    assert result["sent"] == "TestNotification"
    (envelope,) = published(deployed)
    assert json.loads(envelope["Message"])["eventType"] == "TestNotification"
