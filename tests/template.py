"""template.yaml for tests: as written (from ``devtools.template``, which the local stand-ins
share) and transformed by SAM, as CloudFormation runs it."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import boto3
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
    "table_definition",
    "transformed_template",
]

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
