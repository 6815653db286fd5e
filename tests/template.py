"""template.yaml for tests: as written (from ``devtools.template``, which the local stand-ins
share) and transformed by SAM, as CloudFormation runs it."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from functools import cache
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from devtools.template import (
    ACCOUNT_ID,
    CHAT_TEMPLATE,
    NO_VALUE,
    REGION,
    STACK_NAME,
    TEMPLATE,
    Resolver,
    function_environment,
    load_template,
    parameter_defaults,
    resources_of_type,
    stack_arn,
    table_definition,
)

__all__ = [
    "ACCOUNT_ID",
    "CHAT_TEMPLATE",
    "CODE_URI",
    "NO_VALUE",
    "REGION",
    "STACK_NAME",
    "TEMPLATE",
    "Resolver",
    "function_environment",
    "load_template",
    "parameter_defaults",
    "resources_of_type",
    "stack_arn",
    "table_definition",
    "transformed_template",
    "create_stack",
    "deployed_environment",
    "OWN_METRIC_ALARMS",
    "own_metric_alarm",
]

# The alarms on the monitor's own metrics (the others watch AWS/Lambda and AWS/SQS).
OWN_METRIC_ALARMS = {"EnrollmentNotActiveAlarm", "MonitorSilentAlarm"}

# `sam deploy` replaces the local CodeUri with the uploaded artifact's: tests do the same.
CODE_URI = "s3://enrollment-monitor-artifacts/enrollment-monitor.zip"


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


def create_stack(parameters: dict[str, str], stack_name: str) -> dict[str, Any]:
    """Creates the transformed template as a stack in the current moto context."""
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
            StackName=stack_name,
            TemplateBody=json.dumps(transformed_template()),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
    (described,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    summaries = cloudformation.list_stack_resources(StackName=stack_name)
    physical = {
        summary["LogicalResourceId"]: summary.get("PhysicalResourceId", "")
        for summary in summaries["StackResourceSummaries"]
    }
    return {
        "status": described["StackStatus"],
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        "resources": physical,
    }


def deployed_environment(function_name: str) -> dict[str, str]:
    function = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=function_name
    )
    # moto keeps a Number parameter's type where Lambda would see its string.
    return {name: str(value) for name, value in function["Environment"]["Variables"].items()}


def own_metric_alarm(name: str, stack_name: str = STACK_NAME) -> dict[str, Any]:
    """An alarm on the monitor's own metrics, resolved as CloudFormation would for the stack."""
    resolve = Resolver(None, {}, REGION, stack_name)
    properties = transformed_template()["Resources"][name]["Properties"]
    return {
        "namespace": resolve.value(properties["Namespace"]),
        "metric": properties["MetricName"],
        "dimensions": {d["Name"]: resolve.value(d["Value"]) for d in properties["Dimensions"]},
        "statistic": properties["Statistic"],
        "comparison": properties["ComparisonOperator"],
        "threshold": properties["Threshold"],
        "missing": properties["TreatMissingData"],
    }
