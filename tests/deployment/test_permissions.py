"""The function's role allows every AWS call the code really makes, and nothing else."""

import contextlib
import json
import os
from pathlib import Path

import pytest

from devtools.local_aws.resources import local_aws
from devtools.release.stackset import MEMBER_ALSO_WATCH, stackset_template
from enrollment_monitor.errors import MonitorError

from conftest import Monitor
from template import TEMPLATE, Resolver, load_template, transformed_template

# IAM authorises each action inside a transaction as that action on its own: the monitor's
# transactions put owed alerts and observations, and update the version.
AUTHORISED_AS = {"dynamodb:TransactWriteItems": {"dynamodb:PutItem", "dynamodb:UpdateItem"}}
# Granted for AWS services acting for the function, not called by its code: Lambda sends
# failed invocations to the queue and writes the function's logs; SNS encrypts with the key
# when the function publishes.
USED_BY_SERVICES = {
    "sqs:SendMessage",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "kms:GenerateDataKey",
    "kms:Decrypt",
}


def granted_actions(parameters: dict[str, str] | None = None, path: Path = TEMPLATE) -> set[str]:
    """What the role allows for ``parameters`` (e.g. ``{"AlsoWatch": ...}``, the
    TrackMemberAccounts default otherwise) when the stack makes its topic and key (every grant
    of the topic and key is present); in the transformed template.yaml, or in the template
    at ``path`` (already plain CloudFormation)."""
    topic = "arn:aws:sns:us-east-1:123456789012:alerts"
    template = transformed_template() if path == TEMPLATE else load_template(path)
    role = Resolver(parameters, resources={"AlertTopic": topic}, path=path).value(
        template["Resources"]["EnrollmentMonitorFunctionRole"]
    )
    actions: set[str] = set()
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            actions.update([action] if isinstance(action, str) else action)
    return actions


def actions_of_every_path(tracking: str, also_watch: str = "", events: str = "true") -> set[str]:
    """Every IAM action the code needs, from the calls it made through each path: baseline,
    change, SNS outage and recovery, test notification, with member tracking ``tracking``;
    with ``also_watch``, the services it names read too; ``events``: PUBLISH_EVENTS."""
    with local_aws() as aws:
        os.environ["TRACK_MEMBER_ACCOUNTS"] = tracking  # local_aws restores the environment
        os.environ["ALSO_WATCH"] = also_watch
        os.environ["PUBLISH_EVENTS"] = events
        aws.trusted_access(enabled=True)
        aws.compute_optimizer.members["us-east-1"] = [
            {"accountId": f"11111111111{n}", "status": "Active"} for n in range(3)
        ]
        aws.wire.calls.clear()
        monitor = Monitor(aws)
        monitor.status("Active")
        monitor.check()
        monitor.status("Inactive")
        aws.compute_optimizer.members["us-east-1"][0]["status"] = "Inactive"
        aws.wire.fail("sns", "Publish", "InternalError", times=4)
        with contextlib.suppress(MonitorError):
            monitor.check()
        aws.wire.heal()
        monitor.check()
        monitor.invoke({"action": "test-notification"})
        calls = set(aws.wire.calls)
    return set().union(*(AUTHORISED_AS.get(call, {call}) for call in calls))


@pytest.mark.parametrize("tracking", ["true", "false"])
@pytest.mark.parametrize(
    "also_watch",
    [
        "",
        "CostOptimizationHub",
        "ComputeOptimizerAutomation",
        "OrganizationAccess",
        "CostOptimizationHub,ComputeOptimizerAutomation,OrganizationAccess",
    ],
)
def test_the_role_allows_exactly_the_actions_the_code_uses(tracking: str, also_watch: str) -> None:
    used = actions_of_every_path(tracking, also_watch)
    granted = granted_actions({"TrackMemberAccounts": tracking, "AlsoWatch": also_watch})

    assert used - granted == set(), "the code calls actions the role does not allow"
    assert granted - used - USED_BY_SERVICES == set(), "the role allows actions nobody uses"


@pytest.mark.parametrize("tracking", ["true", "false"])
def test_with_events_off_the_role_allows_exactly_the_actions_the_code_uses(tracking: str) -> None:
    used = actions_of_every_path(tracking, events="false")
    granted = granted_actions({"TrackMemberAccounts": tracking, "PublishEvents": "false"})

    assert "events:PutEvents" not in used | granted
    assert used - granted == set(), "the code calls actions the role does not allow"
    assert granted - used - USED_BY_SERVICES == set(), "the role allows actions nobody uses"


def test_events_are_put_on_the_default_bus_of_the_stack_s_region_only() -> None:
    template = transformed_template()
    role = Resolver({}, resources={"AlertTopic": "arn:aws:sns:us-east-1:123456789012:a"}).value(
        template["Resources"]["EnrollmentMonitorFunctionRole"]
    )
    statements = [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Action"] == "events:PutEvents"
    ]

    (statement,) = statements
    assert statement["Resource"] == "arn:aws:events:us-east-1:123456789012:event-bus/default"


@pytest.mark.parametrize("also_watch", ["", *MEMBER_ALSO_WATCH, ",".join(MEMBER_ALSO_WATCH)])
def test_the_stackset_template_s_role_allows_exactly_what_member_mode_uses(
    also_watch: str, tmp_path: Path
) -> None:
    """`make stackset-template`'s member-account mode: no member tracking, and AlsoWatch
    without OrganizationAccess."""
    written = tmp_path / "template.json"
    written.write_text(json.dumps(stackset_template()))
    used = actions_of_every_path("false", also_watch)
    granted = granted_actions({"AlsoWatch": also_watch}, written)

    assert used - granted == set(), "the code calls actions the role does not allow"
    assert granted - used - USED_BY_SERVICES == set(), "the role allows actions nobody uses"
