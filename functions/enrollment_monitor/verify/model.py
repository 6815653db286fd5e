"""What ``enrollment-monitor verify`` talks about: the stack, the series the alarms watch, the
window, the lines of its checklist and the errors that stop it. Plain values: no AWS here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from enrollment_monitor.errors import MonitorError

# The template names its alarms after the stack. The first watches enrollment (its ALARM is
# the monitor working); an ALARM on the others means the monitor is broken.
ENROLLMENT_ALARM = "enrollment-not-active"
FAILED_INVOCATIONS_ALARM = "failed-invocations"
HEALTH_ALARMS = ("monitor-silent", "function-errors", FAILED_INVOCATIONS_ALARM)
ALARMS = (ENROLLMENT_ALARM, *HEALTH_ALARMS)
# The function's heartbeat, emitted once per check completed in every watched Region, and the
# two alarms that watch it (its maximum, its absence).
HEARTBEAT = "RegionsNotActive"
HEARTBEAT_ALARMS = (ENROLLMENT_ALARM, "monitor-silent")
COMPLETE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
# How far back the alarms' own notifications are read: CloudWatch keeps 30 days of history.
NOTIFICATION_DAYS = 14
DEFAULT_PERIOD_SECONDS = 3600
CLOUDWATCH = "cloudwatch.amazonaws.com"
CHAT_PARAMETERS = {
    "Slack": ("SlackWorkspaceId", "SlackChannelId"),
    "Microsoft Teams": ("TeamsTeamId", "TeamsChannelId", "TeamsTenantId"),
}
# What an answer of a shape verify does not know (a hand-written policy, say) raises while it is
# read: it fails the lines that need it, never the checklist.
UNREADABLE = (KeyError, ValueError, TypeError, AttributeError, IndexError)


class NotAMonitorStack(MonitorError):
    def __init__(self, stack: str, region: str, missing: list[str]) -> None:
        super().__init__(
            f"stack {stack} in {region} has no {' or '.join(missing)} output: is it an "
            "enrollment-monitor stack, deployed completely?"
        )


class StackNotFound(MonitorError):
    def __init__(self, stack: str, region: str) -> None:
        super().__init__(
            f"no stack named {stack} in {region}: check --stack and --region "
            "(`aws cloudformation list-stacks` lists them)"
        )


class IncompleteMetricData(MonitorError):
    """GetMetricData answered, but not with all the data: no data is not "no data points"."""


@dataclass(frozen=True)
class Line:
    check: str
    passed: bool
    found: str
    fix: str | None = None


def passed(check: str, found: str) -> Line:
    return Line(check, True, found)


def failed(check: str, found: str, fix: str) -> Line:
    return Line(check, False, found, fix)


@dataclass(frozen=True)
class Stack:
    name: str
    region: str
    status: str
    reason: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    stack_id: str = "arn:aws:cloudformation:::stack/"  # its ARN: partition and account

    @property
    def complete(self) -> bool:
        return self.status in COMPLETE

    @property
    def partition(self) -> str:
        return self.stack_id.split(":")[1]

    @property
    def account(self) -> str:
        return self.stack_id.split(":")[4]

    @property
    def period(self) -> int:
        """The alarms' period (CheckPeriodSeconds): a check completes in every one."""
        value = self.parameters.get("CheckPeriodSeconds", "")
        return int(value) if value.isdigit() else DEFAULT_PERIOD_SECONDS

    @property
    def function(self) -> str:
        return self.outputs["FunctionName"]

    @property
    def topic(self) -> str:
        return self.outputs["AlertTopicArn"]

    @property
    def topic_region(self) -> str:
        return self.topic.split(":")[3]

    @property
    def brings_its_own_topic(self) -> bool:
        return bool(self.parameters.get("AlertTopicArn"))

    def alarm_name(self, suffix: str) -> str:
        return f"{self.name}-{suffix}"

    @property
    def alarm_names(self) -> list[str]:
        return [self.alarm_name(suffix) for suffix in ALARMS]

    @property
    def alarm_arns(self) -> list[str]:
        """The ARNs the alarms publish as (aws:SourceArn), whether they exist or not."""
        return [
            f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:{name}"
            for name in self.alarm_names
        ]

    @property
    def missing_outputs(self) -> list[str]:
        """The outputs verify needs that the stack lacks (all of them after a failed create)."""
        return [key for key in ("FunctionName", "AlertTopicArn") if key not in self.outputs]

    def chat_channels(self) -> list[str]:
        """The chat apps the stack's parameters configure a channel for."""
        return [
            app
            for app, names in CHAT_PARAMETERS.items()
            if all(self.parameters.get(name) for name in names)
        ]


@dataclass(frozen=True)
class Series:
    """One metric series: what a metric alarm watches, or what the function emits."""

    namespace: str
    metric: str
    dimensions: Mapping[str, str]

    def __str__(self) -> str:
        dimensions = ", ".join(f"{name}={value}" for name, value in sorted(self.dimensions.items()))
        return f"{self.namespace} {self.metric} {{{dimensions}}}"


@dataclass(frozen=True)
class Window:
    """The last two alarm periods, ending at the next whole minute (CloudWatch's resolution)
    so that a data point of this very minute counts."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, now: datetime, period: int) -> Window:
        end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return cls(end - timedelta(seconds=2 * period), end)

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def __str__(self) -> str:
        return f"in the last {self.seconds // 60} min"
