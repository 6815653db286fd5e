"""template.yaml for tests: as written (from ``devtools.local_aws.template``, which the local
stand-ins share) and transformed by SAM, as CloudFormation runs it (from
``devtools.local_aws.stack``, which ``make verify-demo`` shares)."""

from __future__ import annotations

from typing import Any

from devtools.local_aws.stack import (
    CODE_URI,
    create_stack,
    deployed_environment,
    transformed_template,
)
from devtools.local_aws.template import (
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
    "alarm_properties",
    "own_metric_alarm",
]

# The alarms on the monitor's own metrics (the others watch AWS/Lambda and AWS/SQS).
OWN_METRIC_ALARMS = {"EnrollmentNotActiveAlarm", "MonitorSilentAlarm"}


def alarm_properties(
    name: str, parameters: dict[str, str] | None = None, stack_name: str = STACK_NAME
) -> dict[str, Any]:
    """An alarm's properties, resolved as CloudFormation would for the stack."""
    properties = transformed_template()["Resources"][name]["Properties"]
    resolved: dict[str, Any] = Resolver(parameters, {}, REGION, stack_name).value(properties)
    return resolved


def own_metric_alarm(name: str, stack_name: str = STACK_NAME) -> dict[str, Any]:
    """An alarm on the monitor's own metrics, resolved as CloudFormation would for the stack:
    the one metric it reads, and ``fill``, what ``FILL(metric, value)`` puts where the metric
    has no datapoint (None: the alarm reads the bare metric)."""
    properties = alarm_properties(name, stack_name=stack_name)
    fill = None
    if "Metrics" in properties:
        (query,) = (q for q in properties["Metrics"] if "MetricStat" in q)
        (watched,) = (q for q in properties["Metrics"] if q.get("ReturnData", True))
        if watched is not query:
            assert watched["Expression"] == f"FILL({query['Id']}, 0)", watched
            fill = 0
        metric, statistic = query["MetricStat"]["Metric"], query["MetricStat"]["Stat"]
    else:
        metric, statistic = properties, properties["Statistic"]
    return {
        "namespace": metric["Namespace"],
        "metric": metric["MetricName"],
        "dimensions": {d["Name"]: d["Value"] for d in metric["Dimensions"]},
        "statistic": statistic,
        "comparison": properties["ComparisonOperator"],
        "threshold": properties["Threshold"],
        "missing": properties["TreatMissingData"],
        "fill": fill,
    }
