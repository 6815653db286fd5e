"""The verdicts of `enrollment-monitor verify`, each a pure function of what AWS answered."""

import json
from typing import Any

import pytest

from enrollment_monitor.verify import (
    Query,
    Stack,
    allows,
    judge_chat,
    judge_key,
    judge_stack,
    judge_subscriptions,
)

CLOUDWATCH = "cloudwatch.amazonaws.com"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, action: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}


@pytest.mark.parametrize("status", ["CREATE_COMPLETE", "UPDATE_COMPLETE"])
def test_a_complete_stack_passes(status: str) -> None:
    assert judge_stack(Stack("s", "us-east-1", status)).passed


@pytest.mark.parametrize(
    ("status", "fix"),
    [
        ("UPDATE_IN_PROGRESS", "wait for the operation"),
        ("UPDATE_ROLLBACK_COMPLETE", "rolled back"),
        ("ROLLBACK_COMPLETE", "describe-stack-events"),
    ],
)
def test_a_stack_that_is_not_complete_fails_with_what_to_do(status: str, fix: str) -> None:
    line = judge_stack(Stack("s", "us-east-1", status, reason="Resource creation cancelled"))
    assert not line.passed
    assert status in line.found and "Resource creation cancelled" in line.found
    assert line.fix and fix in line.fix


@pytest.mark.parametrize(
    "document",
    [
        policy(allow({"Service": CLOUDWATCH}, "sns:Publish")),
        policy(allow({"Service": [CLOUDWATCH, "events.amazonaws.com"]}, ["sns:*"])),
        policy(allow("*", "SNS:Publish", Condition={"StringEquals": {"aws:SourceAccount": "1"}})),
        # A conditional deny (only over plain HTTP, say) does not stop CloudWatch.
        policy(
            allow({"Service": CLOUDWATCH}, "sns:Publish"),
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ),
    ],
)
def test_a_policy_that_lets_cloudwatch_publish(document: str) -> None:
    assert allows(document, CLOUDWATCH, ["sns:Publish"])


@pytest.mark.parametrize(
    "document",
    [
        None,
        policy(allow({"AWS": "arn:aws:iam::123456789012:root"}, "sns:Publish")),
        policy(allow({"Service": "events.amazonaws.com"}, "sns:Publish")),
        policy(allow({"Service": CLOUDWATCH}, "sns:Subscribe")),
        policy(
            allow({"Service": CLOUDWATCH}, "sns:Publish"),
            {"Effect": "Deny", "Principal": "*", "Action": "sns:*", "Resource": "*"},
        ),
    ],
)
def test_a_policy_that_does_not(document: str | None) -> None:
    assert not allows(document, CLOUDWATCH, ["sns:Publish"])


def test_a_key_policy_granting_generate_data_key_star_covers_generate_data_key() -> None:
    granted = policy(allow({"Service": CLOUDWATCH}, ["kms:Decrypt", "kms:GenerateDataKey*"]))
    assert allows(granted, CLOUDWATCH, ["kms:Decrypt", "kms:GenerateDataKey"])
    only_decrypt = policy(allow({"Service": CLOUDWATCH}, "kms:Decrypt"))
    assert not allows(only_decrypt, CLOUDWATCH, ["kms:Decrypt", "kms:GenerateDataKey"])


def test_the_aws_managed_sns_key_fails_because_cloudwatch_cannot_use_it() -> None:
    line = judge_key("alias/aws/sns", None, None)
    assert not line.passed and line.fix and "customer managed key" in line.fix
    assert judge_key(None, None, None).passed


def test_chat_configured_but_not_subscribed_fails() -> None:
    stack = Stack(
        "s",
        "us-east-1",
        "CREATE_COMPLETE",
        parameters={
            "SlackWorkspaceId": "T0123",
            "SlackChannelId": "C0123",
        },
    )
    email = {"SubscriptionArn": "arn:1", "Protocol": "email", "Endpoint": "ops@example.com"}
    chatbot = {
        "SubscriptionArn": "arn:2",
        "Protocol": "https",
        "Endpoint": "https://global.sns-api.chatbot.amazonaws.com",
    }

    assert not judge_chat(stack, [email]).passed
    assert judge_chat(stack, [email, chatbot]).passed
    assert judge_chat(Stack("s", "us-east-1", "CREATE_COMPLETE"), [email]).passed
    assert "AWS Chatbot" in judge_subscriptions([email, chatbot]).found


def test_a_topic_nobody_subscribes_to_fails() -> None:
    line = judge_subscriptions([])
    assert not line.passed and "reach no one" in line.found


def test_the_alarm_query_gives_the_dimension_set_of_each_region() -> None:
    query = Query.parse(
        """SELECT MIN(EnrollmentStatus) FROM SCHEMA("Ns", Region, Status, service)
        WHERE Status = 'Active' AND service = 'team'"""
    )
    assert query is not None and query.namespace == "Ns"
    assert query.dimensions_in("eu-west-1") == {
        "Region": "eu-west-1",
        "Status": "Active",
        "service": "team",
    }
    unfiltered = Query.parse('SELECT SUM(CheckCompleted) FROM SCHEMA("Ns", Region, Status)')
    assert unfiltered is not None and unfiltered.dimensions_in("eu-west-1") is None
    assert Query.parse("SELECT SUM(x) FROM y WHERE service LIKE 'a%'") is None
