"""The monitor's AWS resources on moto, in-process, with Compute Optimizer faked on the wire.

Shared by the tests, ``make demo`` and the benchmark: a state table built from the template's
key schema, the alert topic with an SQS subscriber (what a machine consumer receives), a rule on
the default event bus matching the monitor's events with an SQS target (what an EventBridge
consumer receives), and the function's environment pointing at them.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber
from moto.organizations.models import FakeDelegatedAdministrator

from devtools.local_aws.aws_requests import WireTap
from devtools.local_aws.compute_optimizer import FakeComputeOptimizer
from devtools.local_aws.template import ACCOUNT_ID, REGION, function_environment, table_definition

PRINCIPAL = "compute-optimizer.amazonaws.com"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:enrollment-monitor"


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as ``context``, as far as the monitor uses it."""

    function_name: str = "enrollment-monitor"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = FUNCTION_ARN
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"
    remaining_millis: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@dataclass
class LocalAws:
    compute_optimizer: FakeComputeOptimizer
    table_name: str
    topic_arn: str
    queue_url: str
    wire: WireTap
    events_queue_url: str = ""
    environment: dict[str, str] = field(default_factory=dict)

    def organization(self) -> Any:
        """Organizations (moto's), with the account as the management account of an
        organization it makes on first use."""
        organizations = boto3.client("organizations", region_name=REGION)
        with contextlib.suppress(organizations.exceptions.AlreadyInOrganizationException):
            organizations.create_organization(FeatureSet="ALL")
        return organizations

    def trusted_access(self, enabled: bool) -> None:
        """Trusted access for Compute Optimizer in the organization, enabled or disabled."""
        change = "enable" if enabled else "disable"
        getattr(self.organization(), f"{change}_aws_service_access")(ServicePrincipal=PRINCIPAL)

    def delegated_administrator(self, registered: bool, member: int = 0) -> str:
        """The ``member``-th member account (made if the organization has fewer) registered
        (or deregistered) as Compute Optimizer's delegated administrator; its id."""
        organizations = self.organization()
        listed = organizations.list_accounts()["Accounts"]
        members = [a["Id"] for a in listed if a["Id"] != ACCOUNT_ID]
        while len(members) <= member:
            name = f"admin{len(members)}"
            created = organizations.create_account(AccountName=name, Email=f"{name}@example.com")
            members.append(created["CreateAccountStatus"]["AccountId"])
        change = "register" if registered else "deregister"
        getattr(organizations, f"{change}_delegated_administrator")(
            AccountId=members[member], ServicePrincipal=PRINCIPAL
        )
        return members[member]

    def move_delegated_administrator(self) -> tuple[str, str]:
        """Compute Optimizer's delegated administrator moved from the first member account to
        the second, as the management account does it (one at a time): (from, to)."""
        return (
            self.delegated_administrator(registered=False),
            self.delegated_administrator(registered=True, member=1),
        )

    def deliveries(self) -> list[dict[str, Any]]:
        """Takes what the SQS subscriber of the topic received since the last call: for each
        message the SNS envelope, with its ``Message`` (the machine document) parsed."""
        received = []
        for envelope in drain(self.queue_url):
            envelope["Message"] = json.loads(envelope["Message"])
            received.append(envelope)
        return received

    def events(self) -> list[dict[str, Any]]:
        """Takes the events the rule on the default bus (source ``enrollment-monitor``) sent its
        SQS target since the last call, as EventBridge delivers them."""
        return drain(self.events_queue_url)


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Every message of the queue, parsed from JSON, deleted once read."""
    sqs = boto3.client("sqs", region_name=REGION)
    received = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        messages = batch.get("Messages", [])
        if not messages:
            return received
        for message in messages:
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


# moto answers in the calling thread and is not safe across threads: its TransactWriteItems
# works on a copy of the whole table and puts the copy back, so a delete made meanwhile by
# another thread comes back. DynamoDB applies each request atomically; so does moto, one at a
# time, now that the monitor checks its Regions in threads.
_MOTO_ONE_AT_A_TIME = threading.Lock()
_moto_answer = BotocoreStubber.__call__


def _answer_one_at_a_time(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
    with _MOTO_ONE_AT_A_TIME:
        return _moto_answer(self, *args, **kwargs)


BotocoreStubber.__call__ = _answer_one_at_a_time  # type: ignore[method-assign]

# Organizations lists Compute Optimizer among the services that support a delegated
# administrator ("AWS services that you can use with AWS Organizations"); moto's list lacks it.
if PRINCIPAL not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
    FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(PRINCIPAL)


@contextmanager
def local_aws(regions: tuple[str, ...] = (REGION,)) -> Iterator[LocalAws]:
    """moto plus the Compute Optimizer stand-in, with the monitor's resources created and its
    environment set in ``os.environ`` for the duration."""
    with environment(_CREDENTIALS), mock_aws(), FakeComputeOptimizer() as compute_optimizer:
        # Before any client exists: botocore sessions copy their handlers when created.
        wire = WireTap()
        wire.install()
        try:
            aws = _create_resources(compute_optimizer, wire, regions)
            os.environ.update(aws.environment)
            yield aws
        finally:
            wire.uninstall()


@contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``variables`` set, and as it was again afterwards (whatever the
    block set meanwhile)."""
    saved = dict(os.environ)
    os.environ.update({name: str(value) for name, value in variables.items()})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def _create_resources(
    compute_optimizer: FakeComputeOptimizer, wire: WireTap, regions: tuple[str, ...]
) -> LocalAws:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table_name = "enrollment-monitor-state"
    dynamodb.create_table(TableName=table_name, **table_definition())
    sns = boto3.client("sns", region_name=REGION)
    topic_arn = sns.create_topic(Name="enrollment-monitor-alerts")["TopicArn"]
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="alert-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    events_queue_url = _event_subscriber(sqs)
    environment = function_environment(
        parameters={"Regions": ",".join(regions)},
        resources={"StateTable": table_name, "AlertTopic": topic_arn},
    )
    return LocalAws(
        compute_optimizer, table_name, topic_arn, queue_url, wire, events_queue_url, environment
    )


def _event_subscriber(sqs: Any) -> str:
    """An SQS queue that a rule on the default bus sends every event of the monitor to."""
    queue_url = sqs.create_queue(QueueName="event-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    pattern = json.dumps({"source": ["enrollment-monitor"]})
    events.put_rule(Name="enrollment-monitor-events", EventPattern=pattern)
    events.put_targets(
        Rule="enrollment-monitor-events", Targets=[{"Id": "subscriber", "Arn": queue_arn}]
    )
    return str(queue_url)
