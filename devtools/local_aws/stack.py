"""The monitor's stack as CloudFormation runs it, on moto: template.yaml transformed by SAM,
created as a stack, completed with what moto's CloudFormation skips, run by the local
stand-ins, and broken the ways ``verify`` must catch.

Shared by the deployment tests (moto in-process) and ``make verify-demo`` (a moto server, or
an emulator of your own): every client here is a plain boto3 client, so it goes wherever
botocore sends it. moto evaluates no alarm: the state CloudWatch would reach is set by hand
(devtools.local_aws.alarm_evaluation models when monitor-silent fires).
"""

from __future__ import annotations

import ast
import copy
import io
import json
import logging
import time
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from devtools.local_aws.alarm_history import FakeAlarmHistory
from devtools.local_aws.aws_requests import WireTap
from devtools.local_aws.compute_optimizer import FakeComputeOptimizer
from devtools.local_aws.lambda_invoke import LocalLambda
from devtools.local_aws.template import REGION, Resolver, load_template
from enrollment_monitor.verify.model import ALARMS

# `sam deploy` replaces the local CodeUri with the uploaded artifact's: so does this.
CODE_URI = "s3://enrollment-monitor-artifacts/enrollment-monitor.zip"
# What CloudWatch's history says when a topic policy turns an alarm's notification away.
REFUSED = "CloudWatch Alarms is not authorized to perform: SNS:Publish on the topic"
# CloudWatch's reason, for the alarms that go to ALARM here (each "greater than 0").
_REASONS = {"ALARM": "Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0)."}


def _no_managed_policies() -> dict[str, str]:
    """The transform asks IAM for the ARNs of managed policies named by name only; the template
    names none, so nothing is looked up and no AWS account is needed."""
    return {}


@cache
def _transformed(region: str) -> dict[str, Any]:
    template = copy.deepcopy(load_template())
    for function in template["Resources"].values():
        if function["Type"] == "AWS::Serverless::Function":
            function["Properties"]["CodeUri"] = CODE_URI
    # What samtranslator.translator.transform.transform does (and `sam validate`, and
    # CloudFormation), with the Region given here instead of read from the environment: the
    # transform writes the Region's partition into the ARNs it makes.
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    transformed: dict[str, Any] = translator.translate(
        template, parameter_values={}, get_managed_policy_map=_no_managed_policies
    )
    return transformed


def transformed_template(region: str = REGION) -> dict[str, Any]:
    """template.yaml after the AWS::Serverless transform in ``region``, as CloudFormation
    deploys it there."""
    return copy.deepcopy(_transformed(region))


@contextmanager
def _quiet_moto() -> Iterator[None]:
    """moto says, as a warning and in its log, each resource type its CloudFormation skips."""
    log = logging.getLogger("moto")
    level = log.level
    log.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Tried to parse .* not supported by moto", UserWarning)
        try:
            yield
        finally:
            log.setLevel(level)


class StackNotCreated(Exception):
    """CloudFormation did not create the stack: it failed, rolled back, or took too long."""


# How long an emulator may take to create the stack (moto: no time; CloudFormation: minutes).
CREATE_TIMEOUT_SECONDS = 300.0
_POLL_SECONDS = 1.0


def create_stack(
    parameters: dict[str, str],
    stack_name: str,
    template: dict[str, Any] | None = None,
    timeout: float = CREATE_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Creates the transformed template (or ``template``, whose function's code is at
    CODE_URI) as a stack (moto: in-process or a server; an emulator), waits until it is
    created; its status, outputs and physical resource ids. StackNotCreated if it fails or
    is still being created after ``timeout`` seconds."""
    bucket, key = CODE_URI.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("enrollment_monitor/__init__.py", "")
    s3.put_object(Bucket=bucket, Key=key, Body=code.getvalue())
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    with _quiet_moto():
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(template or transformed_template()),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        described = _created(cloudformation, stack_name, timeout)
        summaries = cloudformation.list_stack_resources(StackName=stack_name)
    physical = {
        summary["LogicalResourceId"]: summary.get("PhysicalResourceId", "")
        for summary in summaries["StackResourceSummaries"]
    }
    return {
        "status": described["StackStatus"],
        "stack_id": described["StackId"],
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        "resources": physical,
    }


def _created(cloudformation: Any, stack_name: str, timeout: float) -> dict[str, Any]:
    """The stack as DescribeStacks shows it once created: CreateStack only starts the creation
    (moto happens to finish it before answering; CloudFormation and LocalStack do not)."""
    deadline = time.monotonic() + timeout
    while True:
        (described,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        status = described["StackStatus"]
        if status == "CREATE_COMPLETE":
            return dict(described)
        if status != "CREATE_IN_PROGRESS":
            events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
            raise StackNotCreated(creation_failure(stack_name, described, events))
        if time.monotonic() >= deadline:
            raise StackNotCreated(f"stack {stack_name} is still {status} after {timeout:g} seconds")
        time.sleep(_POLL_SECONDS)


def creation_failure(
    stack_name: str, described: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> str:
    """Why the stack was not created: its status and reason, then each resource that failed
    and CloudFormation's reason, oldest first (DescribeStackEvents lists newest first)."""
    status = described["StackStatus"]
    reason = described.get("StackStatusReason")
    lines = [f"stack {stack_name} was not created: {status}" + (f" ({reason})" if reason else "")]
    for event in reversed(events):
        if (
            event.get("ResourceStatus", "").endswith("_FAILED")
            and event.get("LogicalResourceId") != stack_name
        ):
            why = event.get("ResourceStatusReason", "no reason given")
            lines.append(
                f"  {event['LogicalResourceId']} ({event.get('ResourceType', '?')}): "
                f"{event['ResourceStatus']}: {why}"
            )
    return "\n".join(lines)


def deployed_environment(function_name: str) -> dict[str, str]:
    function = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=function_name
    )
    # moto keeps a Number parameter's type where Lambda would see its string.
    return {name: str(value) for name, value in function["Environment"]["Variables"].items()}


def create_what_moto_skips(
    parameters: dict[str, str], physical: dict[str, str], name: str, stack_id: str
) -> None:
    """The alarms, the subscription, the topic policy and the key policy, from their definitions
    in the transformed template (the schedule and the invoke config, also skipped, verify does
    not read); the roles' inline policies as IAM keeps them. In the account STS names, as
    CloudFormation would: an emulator's is not moto's."""
    queue_url = physical["FailedInvocationQueue"]
    account = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
    resolver = Resolver(
        parameters,
        resources={**physical, "FailedInvocationQueue.QueueName": queue_url.rsplit("/", 1)[1]},
        stack_name=name,
        stack_id=stack_id,
        account=account,
    )
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    kms = boto3.client("kms", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    for logical_id, resource in transformed_template()["Resources"].items():
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        properties = resolver.value(resource["Properties"])
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            cloudwatch.put_metric_alarm(**as_api(properties, cloudwatch, "PutMetricAlarm"))
            # CloudWatch creates an alarm without data; moto, OK (its first OK notifies none).
            cloudwatch.set_alarm_state(
                AlarmName=properties["AlarmName"],
                StateValue="INSUFFICIENT_DATA",
                StateReason="Unchecked: Initial alarm creation",
            )
        elif resource["Type"] == "AWS::KMS::Key":
            # moto's CloudFormation keeps the key policy as an object, not the JSON text.
            kms.put_key_policy(
                KeyId=physical[logical_id],
                PolicyName="default",
                Policy=json.dumps(properties["KeyPolicy"]),
            )
        elif resource["Type"] == "AWS::SNS::Subscription":
            sns.subscribe(**properties)
        elif resource["Type"] == "AWS::IAM::Role":
            _inline_policies_as_json(iam, physical[logical_id])
        elif resource["Type"] == "AWS::SNS::TopicPolicy":
            for topic in properties["Topics"]:
                policy = json.dumps(properties["PolicyDocument"])
                sns.set_topic_attributes(
                    TopicArn=topic, AttributeName="Policy", AttributeValue=policy
                )


def _inline_policies_as_json(iam: Any, role: str) -> None:
    """moto's CloudFormation keeps a role's inline policy as the text of a Python dict (its
    intrinsic functions resolved): put back as the JSON IAM keeps, as CloudFormation makes it."""
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):
            document = ast.literal_eval(document)
        # CloudFormation drops an AWS::NoValue from a list; moto keeps it as None.
        document["Statement"] = [s for s in document["Statement"] if s is not None]
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))


def as_api(value: Any, client: Any, operation: str) -> Any:
    """Template properties as the API takes them: CloudFormation passes numbers as strings."""
    return _typed(value, client.meta.service_model.operation_model(operation).input_shape)


def _typed(value: Any, shape: Any) -> Any:
    if shape.type_name == "structure":
        return {k: _typed(v, shape.members[k]) for k, v in value.items()}
    if shape.type_name == "list":
        return [_typed(item, shape.member) for item in value]
    if shape.type_name in ("integer", "long"):
        return int(value)
    if shape.type_name in ("double", "float"):
        return float(value)
    return value


# ------------------------------------------------------------------------------ the stand-ins


@dataclass
class StandIns:
    """What moto cannot serve, answered on the wire in this process, and the wire tap."""

    compute_optimizer: FakeComputeOptimizer
    runtime: LocalLambda
    history: FakeAlarmHistory
    wire: WireTap


@contextmanager
def stand_ins() -> Iterator[StandIns]:
    """Installed before any client is made: botocore sessions copy their handlers when made."""
    with (
        FakeComputeOptimizer() as compute_optimizer,
        LocalLambda() as runtime,
        FakeAlarmHistory() as history,
    ):
        wire = WireTap()
        wire.install()
        try:
            yield StandIns(compute_optimizer, runtime, history, wire)
        finally:
            wire.uninstall()


@dataclass
class Deployed:
    name: str
    outputs: dict[str, str]
    physical: dict[str, str]
    aws: StandIns

    @property
    def compute_optimizer(self) -> FakeComputeOptimizer:
        return self.aws.compute_optimizer

    @property
    def wire(self) -> WireTap:
        return self.aws.wire

    @property
    def runtime(self) -> LocalLambda:
        return self.aws.runtime

    @property
    def history(self) -> FakeAlarmHistory:
        return self.aws.history

    @property
    def topic(self) -> str:
        return self.outputs["AlertTopicArn"]

    @property
    def function(self) -> str:
        return self.outputs["FunctionName"]

    def run_check(self) -> None:
        """One scheduled check, as Lambda runs it."""
        self.runtime.invoke(self.function, REGION, {"action": "check"})

    def healthy(self) -> None:
        """A scheduled check ran and CloudWatch evaluated every alarm OK."""
        self.run_check()
        self.set_alarms("OK")

    def set_alarms(self, state: str, **overrides: str) -> None:
        """What CloudWatch would evaluate the stack's alarms to. An alarm that goes to OK or
        ALARM from another state notifies the topic (its OKActions, its AlarmActions): its
        history records the delivery (``notified`` records a failure instead)."""
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        names = {suffix: f"{self.name}-{suffix}" for suffix in ALARMS}
        described = cloudwatch.describe_alarms(AlarmNames=list(names.values()))["MetricAlarms"]
        before = {alarm["AlarmName"]: alarm["StateValue"] for alarm in described}
        for suffix, name in names.items():
            value = overrides.get(suffix.replace("-", "_"), state)
            cloudwatch.set_alarm_state(
                AlarmName=name,
                StateValue=value,
                StateReason=_REASONS.get(value, "evaluated by the stand-in"),
            )
            if value in ("OK", "ALARM") and before.get(name) != value:
                self.history.delivered(name, self.topic)

    def set_topic_policy(self, *statements: dict[str, Any]) -> None:
        boto3.client("sns", region_name=REGION).set_topic_attributes(
            TopicArn=self.topic, AttributeName="Policy", AttributeValue=policy_document(*statements)
        )

    def notified(self, error: str | None = None) -> None:
        """Each alarm's notification of its state, as CloudWatch's history records it: delivered
        to the topic, or failed with ``error`` (the topic or key policy turned it away)."""
        for suffix in ALARMS:
            if error is None:
                self.history.delivered(f"{self.name}-{suffix}", self.topic)
            else:
                self.history.failed(f"{self.name}-{suffix}", self.topic, error)


def deploy(aws: StandIns, name: str, parameters: dict[str, str]) -> Deployed:
    created = create_stack(parameters, name)
    create_what_moto_skips(parameters, created["resources"], name, created["stack_id"])
    return Deployed(name, created["outputs"], created["resources"], aws)


# ------------------------------------------------------------------------------ breakages


def function_fails(deployed: Deployed) -> None:
    """Compute Optimizer refuses the function (an SCP, say): its scheduled check fails, and
    CloudWatch evaluates the errors alarm to ALARM."""
    deployed.wire.fail(
        "compute-optimizer", "GetEnrollmentStatus", "AccessDeniedException", 400, times=8
    )
    deployed.run_check()
    deployed.wire.heal()
    deployed.set_alarms("OK", function_errors="ALARM")


def email_unconfirmed(deployed: Deployed) -> None:
    """Nobody followed the link in the mail SNS sent. moto confirms every subscription at once:
    its answer is changed as SNS would send it, for this stack's topic."""

    def unconfirmed(parsed: dict[str, Any], **_: Any) -> None:
        for subscription in parsed.get("Subscriptions", []):
            if subscription["Protocol"] == "email" and subscription["TopicArn"] == deployed.topic:
                subscription["SubscriptionArn"] = "PendingConfirmation"

    answers_changed("after-call.sns.ListSubscriptionsByTopic", unconfirmed)


def answers_changed(event: str, change: Any) -> None:
    """``change`` edits the parsed reply of every call of the default session's clients."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(event, change)  # type: ignore[union-attr]


def topic_policy_refuses_alarms(deployed: Deployed) -> None:
    """The topic policy replaced by one that lets another service publish, not CloudWatch."""
    deployed.set_topic_policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": deployed.topic,
        }
    )


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
