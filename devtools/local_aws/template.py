"""template.yaml as data, so local stand-ins use the infrastructure's own names and keys."""

from __future__ import annotations

import re
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# The chat channels' stack, which template.yaml nests only when a channel is configured.
CHAT_TEMPLATE = TEMPLATE.parent / "nested" / "chatbot.yaml"
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
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506
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


def parameter_defaults(path: Path = TEMPLATE) -> dict[str, str]:
    """Every parameter's default, as the string CloudFormation passes around."""
    return {
        name: str(parameter.get("Default", ""))
        for name, parameter in load_template(path)["Parameters"].items()
    }


# Region prefix -> (partition, URL suffix); every other Region is in the aws partition.
_PARTITIONS = {"cn-": ("aws-cn", "amazonaws.com.cn"), "us-gov-": ("aws-us-gov", "amazonaws.com")}


def stack_arn(
    region: str, stack_name: str, stack_uuid: str | None = None, account: str = ACCOUNT_ID
) -> str:
    """A stack's id as CloudFormation gives it: its ARN, ending in a UUID of its own (by
    default one made from the Region and the name)."""
    partition = _partition(region)[0]
    unique = stack_uuid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{region}/{stack_name}"))
    return f"arn:{partition}:cloudformation:{region}:{account}:stack/{stack_name}/{unique}"


def _partition(region: str) -> tuple[str, str]:
    """(partition, URL suffix) of a Region."""
    return next(
        (found for prefix, found in _PARTITIONS.items() if region.startswith(prefix)),
        ("aws", "amazonaws.com"),
    )


class _NoValue:
    """What ``Ref AWS::NoValue`` resolves to: the property or list item is left out."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Resolver:
    """Resolves the intrinsic functions of template values for one set of parameter values,
    in one Region (its partition follows) and for one stack name. The stack's id, unless
    given, is made from the Region and the name: another name is another stack.

    Resources resolve to the values given in ``resources`` (``Ref`` under the logical id,
    ``GetAtt`` under ``"Id.Attribute"``) or to a readable placeholder, ``<Id>`` or
    ``<Id.Attribute>``. ``Ref AWS::NoValue`` drops the property or list item it stands for.
    ``path`` names the template whose parameters, conditions and mappings apply; ``account``
    the account it is deployed in (on moto, its default account).
    """

    def __init__(
        self,
        parameters: dict[str, str] | None = None,
        resources: dict[str, str] | None = None,
        region: str = REGION,
        stack_name: str = STACK_NAME,
        path: Path = TEMPLATE,
        stack_id: str | None = None,
        account: str = ACCOUNT_ID,
    ) -> None:
        self.parameters = {**parameter_defaults(path), **(parameters or {})}
        self.resources = resources or {}
        partition, url_suffix = _partition(region)
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": partition,
            "AWS::StackName": stack_name,
            "AWS::StackId": stack_id or stack_arn(region, stack_name, account=account),
            "AWS::URLSuffix": url_suffix,
        }
        self.conditions = load_template(path).get("Conditions", {})
        self.mappings = load_template(path).get("Mappings", {})

    def condition(self, name: str) -> bool:
        return bool(self.value(self.conditions[name]))

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.value(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            values = {key: self.value(item) for key, item in node.items()}
            return {key: item for key, item in values.items() if item is not NO_VALUE}
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
        if key == "Fn::Split":
            separator, text = argument
            return str(self.value(text)).split(separator)
        if key == "Fn::Select":
            index, items = argument
            return self.value(items)[int(self.value(index))]
        if key == "Fn::FindInMap":
            name, top, second = (str(self.value(item)) for item in argument)
            return self.mappings[name][top][second]
        if key == "Fn::Sub":
            return self.sub(argument)
        return {key: self.value(argument)}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
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

    def created(self, template: dict[str, Any], section: str = "Resources") -> dict[str, Any]:
        """The template's resources (or outputs) whose condition holds, resolved."""
        return {
            name: self.value(entry)
            for name, entry in template.get(section, {}).items()
            if "Condition" not in entry or self.condition(entry["Condition"])
        }


def function_environment(
    parameters: dict[str, str] | None = None,
    resources: dict[str, str] | None = None,
    region: str = REGION,
    stack_name: str = STACK_NAME,
) -> dict[str, str]:
    """The monitor function's environment as the deployed function sees it: literals as
    written, parameters at their defaults (or ``parameters``, e.g. ``{"AlertTopicArn": arn}``
    for a topic of your own), the stack's resources as given in ``resources`` (e.g.
    ``{"StateTable": name, "AlertTopic": arn}``), in ``region`` for ``stack_name``."""
    (function,) = resources_of_type("AWS::Serverless::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
    resolver = Resolver(parameters, resources, region, stack_name)
    return {name: str(resolver.value(value)) for name, value in variables.items()}
