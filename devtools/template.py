"""template.yaml as data, so local stand-ins use the infrastructure's own names and keys."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "enrollment-monitor"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short forms (!Ref, !Sub, !GetAtt ...) as their long forms."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


@cache
def load_template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)  # noqa: S506
    return loaded


def resources_of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in load_template()["Resources"].items()
        if resource["Type"] == resource_type
    }


def table_definition() -> dict[str, Any]:
    """``create_table`` arguments for the state table, from its definition in the template."""
    (table,) = resources_of_type("AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    return {
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties["BillingMode"],
    }


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
        stack_name: str = STACK_NAME,
    ) -> None:
        self.parameters = {**parameter_defaults(), **(parameters or {})}
        self.resources = resources or {}
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": stack_name,
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
