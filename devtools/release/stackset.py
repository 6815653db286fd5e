"""``make stackset-template``: template.yaml as a plain CloudFormation template that a
service-managed StackSet deploys to every account of an organizational unit.

Service-managed StackSets refuse a template with a ``Transform`` and cannot create nested
stacks with their default execution role. So the SAM transform is applied here, offline, by
the SAM translator (as ``devtools.local_aws.stack`` does for the tests), and the result is
specialised for member-account mode:

- each account watches its own enrollment: member tracking is off, and ``AlsoWatch`` takes
  only what a member account can read (not ``OrganizationAccess``, which Organizations answers
  in the management account or a delegated administrator only);
- no chat channels (the nested stack): chat belongs on the central topic, configured once;
- alerts go to a topic the stack makes in each account, or to a central topic given as
  ``AlertTopicArn`` (then no email subscription per account: subscribe on the central topic);
- the function's code comes from ``CodeBucket`` and ``CodeKey`` (``make stackset-code``).

Fixing a parameter removes it, every condition it decides, and every resource, output, rule
and mapping that was there only for the values it can no longer take.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devtools.local_aws.stack import transformed_template
from devtools.local_aws.template import REGION

OUTPUT = Path(".aws-sam") / "stackset" / "template.json"
# CreateStackSet's TemplateBody (and so --template-body): at most this many bytes.
TEMPLATE_BODY_LIMIT = 51_200
# What member-account mode fixes: no member tracking, no chat channel.
FIXED_PARAMETERS = {
    "TrackMemberAccounts": "false",
    "MemberListingRegions": "",
    "SlackWorkspaceId": "",
    "SlackChannelId": "",
    "TeamsTeamId": "",
    "TeamsChannelId": "",
    "TeamsTenantId": "",
    "ChatbotLoggingLevel": "ERROR",
}
# Organizations' List* calls answer the management account or a delegated administrator only.
FIXED_CONDITIONS = {"WatchesOrganization": False}
MEMBER_ALSO_WATCH = ("CostOptimizationHub", "ComputeOptimizerAutomation")
_NO_VALUE = {"Ref": "AWS::NoValue"}
# What a decided Fn::If leaves where it chose AWS::NoValue: the list item or property goes.
_DROPPED = object()
_SUB_NAME = re.compile(r"\$\{([^!}][^}.]*)[}.]")

CODE_PARAMETERS = {
    "CodeBucket": {
        "Type": "String",
        # S3's bucket naming rules: 3 to 63 lowercase letters, digits, dots and hyphens.
        "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        "ConstraintDescription": "an S3 bucket name",
        "Description": (
            "S3 bucket holding the function's code zip (make stackset-code), in the Region of "
            "this stack (Lambda reads code from its own Region only); its policy must let the "
            "organization's accounts read it (docs/ORGANIZATIONS.md)."
        ),
    },
    "CodeKey": {
        "Type": "String",
        "MinLength": 1,
        "Description": "Key of the code zip in CodeBucket, e.g. enrollment-monitor/1.0.0.zip.",
    },
}


def stackset_template(region: str = REGION) -> dict[str, Any]:
    """The member-account template: template.yaml transformed by SAM in ``region``'s partition
    (the transform names no partition of its own: every ARN it makes uses AWS::Partition)."""
    template = specialise(transformed_template(region), FIXED_PARAMETERS, FIXED_CONDITIONS)
    template["Description"] = (
        "enrollment-monitor, member-account mode for service-managed StackSets (generated from "
        "template.yaml by make stackset-template): each account watches its own Compute "
        "Optimizer enrollment and alerts to a topic of its own or to a central one."
    )
    template["Metadata"].pop("AWS::ServerlessRepo::Application", None)
    template["Parameters"].update(copy.deepcopy(CODE_PARAMETERS))
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    interface["ParameterGroups"].append(
        {"Label": {"default": "The function's code"}, "Parameters": list(CODE_PARAMETERS)}
    )
    function = template["Resources"]["EnrollmentMonitorFunction"]
    function["Metadata"].pop("BuildMethod", None)
    function["Properties"]["Code"] = {
        "S3Bucket": {"Ref": "CodeBucket"},
        "S3Key": {"Ref": "CodeKey"},
    }
    _member_also_watch(template)
    _email_only_with_this_accounts_topic(template)
    return template


def _member_also_watch(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["AlsoWatch"]
    values = "|".join(MEMBER_ALSO_WATCH)
    pattern = re.sub(
        r"\(CostOptimizationHub\|[A-Za-z|]+\)", f"({values})", parameter["AllowedPattern"]
    )
    assert pattern != parameter["AllowedPattern"] and "OrganizationAccess" not in pattern
    parameter["AllowedPattern"] = pattern
    parameter["ConstraintDescription"] = (
        "CostOptimizationHub and ComputeOptimizerAutomation, each at most once, comma-separated "
        "without spaces, or empty"
    )
    parameter["Description"] = (
        "Comma-separated, empty for none: CostOptimizationHub (this account's Hub enrollment, "
        "read in us-east-1), ComputeOptimizerAutomation (this account's Automation enrollment, "
        "read in this Region); both in the commercial aws partition only. OrganizationAccess is "
        "for the management account's stack: Organizations does not answer member accounts."
    )
    (rule,) = template["Rules"]["AlsoWatchOnlyWhatThePartitionOffers"]["Assertions"]
    rule["Assert"] = {"Fn::Equals": [{"Ref": "AlsoWatch"}, ""]}
    rule["AssertDescription"] = (
        "Cost Optimization Hub and Compute Optimizer Automation exist only in the commercial AWS "
        "partition, not in this stack's (AWS GovCloud (US), China or another). Leave AlsoWatch "
        "empty."
    )


def _email_only_with_this_accounts_topic(template: dict[str, Any]) -> None:
    """Every account's stack would subscribe the same address to a central topic: one
    confirmation mail per account, and deleting any one stack unsubscribes it for all."""
    template["Rules"]["EmailOnlyWithThisAccountsTopic"] = {
        "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlertTopicArn"}, ""]}]},
        "Assertions": [
            {
                "Assert": {"Fn::Equals": [{"Ref": "NotificationEmail"}, ""]},
                "AssertDescription": (
                    "With a central AlertTopicArn, leave NotificationEmail empty and subscribe "
                    "the address to the central topic once: every account's stack would "
                    "subscribe it again."
                ),
            }
        ],
    }


# ------------------------------------------------------------------------------ specialising


def specialise(
    template: dict[str, Any], parameters: Mapping[str, str], conditions: Mapping[str, bool]
) -> dict[str, Any]:
    """``template`` with ``parameters`` fixed to their values and ``conditions`` to theirs: the
    parameters and every condition they decide are removed, ``Fn::If`` on a decided condition
    becomes its branch, ``Fn::FindInMap`` on fixed keys its value, and what exists only under
    a false condition (resources, outputs, rules, list items, properties) is left out."""
    template = copy.deepcopy(template)
    decided = _decide_conditions(template.get("Conditions", {}), parameters, conditions)
    rewrite = _Rewriter(parameters, decided, template.get("Mappings", {}))
    for section in ("Resources", "Outputs"):
        kept = {}
        for name, entry in template.get(section, {}).items():
            condition = entry.get("Condition")
            if condition in decided and not decided[condition]:
                continue
            if condition in decided:
                del entry["Condition"]
            kept[name] = rewrite(entry)
        template[section] = kept
    template["Rules"] = _kept_rules(template.get("Rules", {}), parameters, decided)
    template["Conditions"] = {
        name: rewrite(expression)
        for name, expression in template.get("Conditions", {}).items()
        if name not in decided
    }
    for name in parameters:
        template["Parameters"].pop(name, None)
    _drop_unused_mappings(template)
    _filter_interface(template)
    _refuse_dangling(template, set(parameters), set(decided))
    return template


def _literal(node: Any, parameters: Mapping[str, str]) -> str | None:
    """The value of a literal or of a fixed parameter's Ref; None for anything else."""
    if isinstance(node, str | int | float) and not isinstance(node, bool):
        return str(node)
    if isinstance(node, dict) and list(node) == ["Ref"] and node["Ref"] in parameters:
        return parameters[node["Ref"]]
    return None


def _decide(node: Any, parameters: Mapping[str, str], decided: Mapping[str, bool]) -> bool | None:
    """A condition expression's value, when the fixed values decide it; else None."""
    if not isinstance(node, dict) or len(node) != 1:
        return None
    ((key, argument),) = node.items()
    if key == "Condition":
        return decided.get(argument)
    if key == "Fn::Equals":
        left, right = (_literal(item, parameters) for item in argument)
        return None if left is None or right is None else left == right
    if key not in ("Fn::Not", "Fn::And", "Fn::Or"):
        return None
    parts = [_decide(item, parameters, decided) for item in argument]
    if key == "Fn::Not":
        return None if parts[0] is None else not parts[0]
    if key == "Fn::And":
        return False if False in parts else (True if None not in parts else None)
    return True if True in parts else (False if None not in parts else None)


def _decide_conditions(
    expressions: Mapping[str, Any], parameters: Mapping[str, str], fixed: Mapping[str, bool]
) -> dict[str, bool]:
    decided = dict(fixed)
    while True:
        found = {
            name: value
            for name, expression in expressions.items()
            if name not in decided
            and (value := _decide(expression, parameters, decided)) is not None
        }
        if not found:
            return decided
        decided.update(found)


class _Rewriter:
    def __init__(
        self, parameters: Mapping[str, str], decided: Mapping[str, bool], mappings: Any
    ) -> None:
        self.parameters = parameters
        self.decided = decided
        self.mappings = mappings

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in map(self, node) if item is not _DROPPED]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref" and argument in self.parameters:
                return self.parameters[argument]
            if key == "Fn::If" and argument[0] in self.decided:
                chosen = argument[1] if self.decided[argument[0]] else argument[2]
                return _DROPPED if chosen == _NO_VALUE else self(chosen)
            if key == "Fn::FindInMap":
                keys = [_literal(self(item), self.parameters) for item in argument]
                if None not in keys:
                    name, top, second = keys
                    return self.mappings[name][top][second]
        rewritten = {key: self(value) for key, value in node.items()}
        return {key: value for key, value in rewritten.items() if value is not _DROPPED}


def _kept_rules(
    rules: Mapping[str, Any], parameters: Mapping[str, str], decided: Mapping[str, bool]
) -> dict[str, Any]:
    """The rules still able to refuse something: a rule whose condition is decided false, or
    whose every assertion the fixed values make true, is left out."""
    kept = {}
    for name, rule in rules.items():
        if "RuleCondition" in rule and _decide(rule["RuleCondition"], parameters, decided) is False:
            continue
        assertions = [
            assertion
            for assertion in rule["Assertions"]
            if _decide(assertion["Assert"], parameters, decided) is not True
        ]
        if assertions:
            kept[name] = {**rule, "Assertions": assertions}
    return kept


def _drop_unused_mappings(template: dict[str, Any]) -> None:
    text = json.dumps(template.get("Resources", {})) + json.dumps(template.get("Outputs", {}))
    for name in list(template.get("Mappings", {})):
        if f'"Fn::FindInMap": ["{name}"' not in text:
            del template["Mappings"][name]


def _filter_interface(template: dict[str, Any]) -> None:
    interface = template.get("Metadata", {}).get("AWS::CloudFormation::Interface")
    if not interface:
        return
    names = set(template["Parameters"])
    groups = []
    for group in interface["ParameterGroups"]:
        kept = [name for name in group["Parameters"] if name in names]
        if kept:
            groups.append({**group, "Parameters": kept})
    interface["ParameterGroups"] = groups
    labels = interface["ParameterLabels"]
    interface["ParameterLabels"] = {k: v for k, v in labels.items() if k in names}


def _refuse_dangling(template: dict[str, Any], parameters: set[str], conditions: set[str]) -> None:
    """Fails if anything still names a removed parameter or condition (an expression the
    rewrite does not evaluate, e.g. a ${Name} in a Sub string)."""
    dangling: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" and value in parameters:
                    dangling.add(value)
                # A resource's or a Condition function's name, or Fn::If's first argument
                # (an IAM statement's Condition is a mapping: not a name).
                named = value if isinstance(value, str) else None
                if key == "Fn::If" and isinstance(value, list):
                    named = value[0]
                if key in ("Condition", "Fn::If") and named in conditions:
                    dangling.add(named)
                visit(value)
        elif isinstance(node, str):
            dangling.update(set(_SUB_NAME.findall(node)) & parameters)

    for section in ("Resources", "Outputs", "Rules", "Conditions"):
        visit(template.get(section, {}))
    if dangling:
        raise ValueError(f"the template still refers to what was fixed: {sorted(dangling)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default {OUTPUT}")
    parser.add_argument("--region", default=REGION, help="whose partition the transform uses")
    arguments = parser.parse_args(argv)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    # Compact: indented, it would not fit TemplateBody.
    compact = json.dumps(stackset_template(arguments.region), separators=(",", ":"))
    arguments.output.write_text(compact + "\n")
    print(f"wrote {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
