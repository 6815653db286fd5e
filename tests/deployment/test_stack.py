"""The stack ``make verify-demo`` deploys (devtools.local_aws.stack) on a CloudFormation that
creates stacks as AWS and LocalStack do, after CreateStack has answered, and in an account that
is not moto's default."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from devtools.local_aws import stack
from devtools.local_aws.compute_optimizer import Addressed, AnswersOnTheWire, response
from devtools.local_aws.stack import StackNotCreated, StandIns, create_stack, deploy

from conftest import stand_ins_on_moto
from template import ACCOUNT_ID, REGION

NAME = "slow-monitor"
PARAMETERS = {"NotificationEmail": "ops@example.com", "CreateDashboard": "false"}
_XMLNS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"

pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* not supported by moto:UserWarning"
)


@dataclass
class AsynchronousCloudFormation(AnswersOnTheWire):
    """CloudFormation as AWS runs it: CreateStack answers at once, DescribeStacks says
    CREATE_IN_PROGRESS (no outputs yet) ``pending`` times, then the stack ends ``ends``:
    CREATE_COMPLETE is moto's own answer, another status is answered here with ``failed``, the
    resources that failed and CloudFormation's reasons, as DescribeStackEvents lists them."""

    pending: int
    ends: str = "CREATE_COMPLETE"
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)  # id: (type, reason)
    described: int = 0

    def _answer(self, request: AWSPreparedRequest, call: Addressed) -> AWSResponse | None:
        if call.service != "cloudformation":
            return None
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        name = parse_qs(body)["StackName"][0]
        if call.operation == "DescribeStacks":
            self.described += 1
            if self.described <= self.pending:
                return _xml(request, "DescribeStacks", _stack(name, "CREATE_IN_PROGRESS"))
            if self.ends != "CREATE_COMPLETE":
                return _xml(request, "DescribeStacks", _stack(name, self.ends))
        if call.operation == "DescribeStackEvents" and self.ends != "CREATE_COMPLETE":
            return _xml(request, "DescribeStackEvents", self._events(name))
        return None

    def _events(self, name: str) -> str:
        """Newest first, as CloudFormation lists them."""
        events = [(name, "AWS::CloudFormation::Stack", self.ends, "")]
        events += [(i, kind, "CREATE_FAILED", why) for i, (kind, why) in self.failed.items()]
        events.append((name, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"))
        members = (
            f"<member><StackName>{name}</StackName><LogicalResourceId>{logical}"
            f"</LogicalResourceId><ResourceType>{kind}</ResourceType><ResourceStatus>{status}"
            f"</ResourceStatus><ResourceStatusReason>{why}</ResourceStatusReason>"
            f"<EventId>{n}</EventId><StackId>{name}</StackId>"
            "<Timestamp>2026-01-01T00:00:00Z</Timestamp></member>"
            for n, (logical, kind, status, why) in enumerate(events)
        )
        return f"<StackEvents>{''.join(members)}</StackEvents>"


def _stack(name: str, status: str) -> str:
    return (
        f"<Stacks><member><StackName>{name}</StackName><StackId>arn:aws:cloudformation:{REGION}"
        f":{ACCOUNT_ID}:stack/{name}/0</StackId><CreationTime>2026-01-01T00:00:00Z"
        f"</CreationTime><StackStatus>{status}</StackStatus></member></Stacks>"
    )


def _xml(request: AWSPreparedRequest, operation: str, result: str) -> AWSResponse:
    body = (
        f'<{operation}Response xmlns="{_XMLNS}"><{operation}Result>{result}</{operation}Result>'
        f"<ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></{operation}Response>"
    )
    return response(request.url, 200, body, content_type="text/xml")


@contextmanager
def on_cloudformation(
    monkeypatch: pytest.MonkeyPatch, cloudformation: AsynchronousCloudFormation
) -> Iterator[StandIns]:
    monkeypatch.setattr(stack, "_POLL_SECONDS", 0)
    with cloudformation, stand_ins_on_moto(monkeypatch) as aws:
        yield aws


def test_the_stack_is_read_once_cloudformation_has_created_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cloudformation = AsynchronousCloudFormation(pending=3)
    with on_cloudformation(monkeypatch, cloudformation) as aws:
        deployed = deploy(aws, NAME, PARAMETERS)

    assert deployed.topic.startswith(f"arn:aws:sns:{REGION}:")  # read from the outputs
    assert "FailedInvocationQueueUrl" in deployed.outputs
    assert cloudformation.described == 4  # three times in progress, then created


def test_a_stack_that_rolled_back_stops_naming_each_failed_resource_and_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reason = "Resource handler returned message: DynamoDB is not available in this emulator"
    cloudformation = AsynchronousCloudFormation(
        pending=1,
        ends="ROLLBACK_COMPLETE",
        failed={"StateTable": ("AWS::DynamoDB::Table", reason)},
    )
    with on_cloudformation(monkeypatch, cloudformation), pytest.raises(StackNotCreated) as raised:
        create_stack(PARAMETERS, NAME)

    assert str(raised.value) == (
        f"stack {NAME} was not created: ROLLBACK_COMPLETE\n"
        f"  StateTable (AWS::DynamoDB::Table): CREATE_FAILED: {reason}"
    )


def test_a_stack_still_being_created_after_the_timeout_stops_saying_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cloudformation = AsynchronousCloudFormation(pending=1000)
    with on_cloudformation(monkeypatch, cloudformation), pytest.raises(StackNotCreated) as raised:
        create_stack(PARAMETERS, NAME, timeout=0)

    assert str(raised.value) == f"stack {NAME} is still CREATE_IN_PROGRESS after 0 seconds"


def test_the_policies_set_beside_the_stack_name_the_account_sts_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An emulator's account is not moto's default (LocalStack's is 000000000000)."""
    account = "111122223333"
    monkeypatch.setenv("MOTO_ACCOUNT_ID", account)
    with stand_ins_on_moto(monkeypatch) as aws:
        deployed = deploy(aws, NAME, PARAMETERS)
        topic = boto3.client("sns", region_name=REGION).get_topic_attributes(
            TopicArn=deployed.topic
        )["Attributes"]
        key = boto3.client("kms", region_name=REGION).get_key_policy(
            KeyId=deployed.physical["AlertKey"], PolicyName="default"
        )["Policy"]

    assert deployed.topic.startswith(f"arn:aws:sns:{REGION}:{account}:")
    for policy in (json.loads(topic["Policy"]), json.loads(key)):
        text = json.dumps(policy)
        assert account in text and ACCOUNT_ID not in text
    statements = {s["Sid"]: s for s in json.loads(topic["Policy"])["Statement"]}
    alarms = statements["ThisStacksAlarmsPublish"]
    assert alarms["Condition"]["StringEquals"]["aws:SourceAccount"] == account
