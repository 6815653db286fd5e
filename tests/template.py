"""template.yaml for tests: as written, with parameter defaults resolved, and transformed by SAM.

``load_template`` and ``table_definition`` come from ``devtools.template`` (the one YAML loader
for CloudFormation's short forms); this module adds what only tests need: the function's
environment as the deployed function sees it, and the SAM transform that CloudFormation runs.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from devtools.template import TEMPLATE, load_template, resources_of_type, table_definition

__all__ = [
    "ACCOUNT_ID",
    "CODE_URI",
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

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "enrollment-monitor"
# `sam deploy` replaces the local CodeUri with the uploaded artifact's: tests do the same.
CODE_URI = "s3://enrollment-monitor-artifacts/enrollment-monitor.zip"


def parameter_defaults() -> dict[str, str]:
    """Every parameter's default, as the string CloudFormation passes around."""
    return {
        name: str(parameter.get("Default", ""))
        for name, parameter in load_template()["Parameters"].items()
    }


class Resolver:
    """Resolves the intrinsic functions of template values for one set of parameter values.

    Resources resolve to the values given in ``resources`` (``Ref`` under the logical id,
    ``GetAtt`` under ``"Id.Attribute"``) or to a readable placeholder.
    """

    def __init__(
        self,
        parameters: dict[str, str] | None = None,
        resources: dict[str, str] | None = None,
        region: str = REGION,
    ) -> None:
        self.parameters = {**parameter_defaults(), **(parameters or {})}
        self.resources = resources or {}
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": STACK_NAME,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.conditions = load_template().get("Conditions", {})

    def condition(self, name: str) -> bool:
        return bool(self.value(self.conditions[name]))

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            return {key: self.value(item) for key, item in node.items()}
        ((key, argument),) = node.items()
        if key == "Ref":
            return self.ref(argument)
        if key in ("Condition", "Fn::Condition"):
            return self.condition(argument)
        if key == "Fn::GetAtt":
            logical_id, attribute = argument
            return self.resources.get(f"{logical_id}.{attribute}", f"<{logical_id}.{attribute}>")
        if key == "Fn::If":
            name, if_true, if_false = argument
            return self.value(if_true if self.condition(name) else if_false)
        if key == "Fn::Equals":
            left, right = self.value(argument)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.value(argument[0])
        if key == "Fn::And":
            return all(self.value(item) for item in argument)
        if key == "Fn::Or":
            return any(self.value(item) for item in argument)
        if key == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.value(items))
        if key == "Fn::Sub":
            return self.sub(argument)
        return {key: self.value(argument)}

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.resources.get(name, f"<{name}>")

    def sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {name: self.value(item) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return str(self.value({"Fn::GetAtt": [logical_id, attribute]}))
            return str(self.ref(name))

        return re.sub(r"\$\{([^!}][^}]*)\}", replace, text)


def function_environment(
    parameters: dict[str, str] | None = None,
    resources: dict[str, str] | None = None,
    region: str = REGION,
) -> dict[str, str]:
    """The monitor function's environment as the deployed function sees it: literals as
    written, parameters at their defaults (or ``parameters``), the stack's resources as given
    in ``resources`` (e.g. ``{"StateTable": name, "AlertTopic": arn}``)."""
    (function,) = resources_of_type("AWS::Serverless::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
    resolver = Resolver(parameters, resources, region)
    return {name: str(resolver.value(value)) for name, value in variables.items()}


def _no_managed_policies() -> dict[str, str]:
    """The transform asks IAM for the ARNs of managed policies named by name only; the template
    names none, so nothing is looked up and no AWS account is needed."""
    return {}


@cache
def _transformed() -> dict[str, Any]:
    template = copy.deepcopy(load_template())
    for function in template["Resources"].values():
        if function["Type"] == "AWS::Serverless::Function":
            function["Properties"]["CodeUri"] = CODE_URI
    # What samtranslator.translator.transform.transform does (and `sam validate`, and
    # CloudFormation), with the Region given here instead of read from the environment.
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=REGION))
    transformed: dict[str, Any] = translator.translate(
        template, parameter_values={}, get_managed_policy_map=_no_managed_policies
    )
    return transformed


def transformed_template() -> dict[str, Any]:
    """template.yaml after the AWS::Serverless transform, as CloudFormation deploys it."""
    return copy.deepcopy(_transformed())
