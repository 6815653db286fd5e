"""template.yaml for tests: as written (from ``devtools.template``, which the local stand-ins
share) and transformed by SAM, as CloudFormation runs it (from ``devtools.stack``, which
``make verify-demo`` shares)."""

from __future__ import annotations

from typing import Any

from devtools.stack import CODE_URI, create_stack, deployed_environment, transformed_template
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
