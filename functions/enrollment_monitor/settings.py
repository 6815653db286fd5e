"""The function's configuration, read and validated once per cold start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

import botocore
from botocore.loaders import create_loader

from enrollment_monitor.subjects import (
    ALSO_AUTOMATION,
    ALSO_HUB,
    ALSO_WATCH_VALUES,
    ALSO_WATCHED,
)

_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d+$")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$")
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}
# What only the aws partition offers, as the template's Rule refuses it elsewhere: Cost
# Optimization Hub (its one endpoint, us-east-1, in botocore's endpoint data), and Automation
# (that data lists no Region of its own; the endpoint rules build a name in any Region, which
# proves nothing: the monitor does not guess it is offered in another partition).
_ONLY_IN_AWS = (ALSO_HUB, ALSO_AUTOMATION)


class ConfigurationError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    state_table_name: str
    alert_topic_arn: str
    service_name: str
    metric_namespace: str
    regions: tuple[str, ...]
    reminder_interval_hours: float
    track_member_accounts: bool
    # Where the organization's members are listed (and its figures read): member enrollment is
    # a fact of the organization, so once per check, in one Region unless the user names more.
    member_regions: tuple[str, ...] = ()
    # The services AlsoWatch names (ALSO_WATCH_VALUES), each read once per check.
    also_watch: tuple[str, ...] = ()
    # The function's own Region: where a service watched once per account is read.
    home_region: str = ""
    # Each alert also one event on the default EventBridge bus of the function's Region.
    publish_events: bool = True

    @property
    def reminder_interval(self) -> timedelta | None:
        """None: reminders are off."""
        return timedelta(hours=self.reminder_interval_hours) or None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        function_region = env.get("AWS_REGION", "")
        regions = _regions(env, "MONITORED_REGIONS", default=function_region)
        return cls(
            state_table_name=_required(env, "STATE_TABLE_NAME"),
            alert_topic_arn=_topic_arn(env, "ALERT_TOPIC_ARN", function_region),
            service_name=_required(env, "POWERTOOLS_SERVICE_NAME"),
            metric_namespace=_required(env, "POWERTOOLS_METRICS_NAMESPACE"),
            regions=regions,
            reminder_interval_hours=_hours(env, "REMINDER_INTERVAL_HOURS", default="24"),
            track_member_accounts=_flag(env, "TRACK_MEMBER_ACCOUNTS", default="false"),
            member_regions=_member_regions(env, "MEMBER_LISTING_REGIONS", regions, function_region),
            also_watch=_also_watch(env, "ALSO_WATCH", function_region or regions[0]),
            home_region=function_region or regions[0],
            publish_events=_flag(env, "PUBLISH_EVENTS", default="true"),
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _topic_arn(env: Mapping[str, str], name: str, function_region: str) -> str:
    value = _required(env, name)
    if not _TOPIC_ARN.match(value):
        raise ConfigurationError(f"environment variable {name} is not an SNS topic ARN: {value!r}")
    _, topic_partition, _, topic_region, *_ = value.split(":")
    wanted = partition_of(function_region)
    if function_region and topic_partition != wanted:
        raise ConfigurationError(
            f"environment variable {name} names a topic in the {topic_partition} partition, but "
            f"the function runs in {function_region} ({wanted}): use a topic of {wanted}"
        )
    if partition_of(topic_region) != topic_partition:
        raise ConfigurationError(
            f"environment variable {name} names a topic in {topic_region}, a Region of the "
            f"{partition_of(topic_region)} partition, not of {topic_partition}: {value!r}"
        )
    return value


def partition_of(region: str) -> str:
    """The AWS partition of a Region (``aws``, ``aws-cn``, ``aws-us-gov``...) as botocore's
    clients resolve it: the partition that lists it, else the one whose pattern its name
    matches, else ``aws``. From botocore's own partitions.json, so a partition or Region that
    botocore learns needs no change here."""
    partitions = _partitions()
    for partition in partitions:
        if region in partition["regions"]:
            return str(partition["id"])
    for partition in partitions:
        if re.match(partition["regionRegex"], region):
            return str(partition["id"])
    return "aws"


@cache
def _partitions() -> list[dict[str, Any]]:
    """botocore's partitions.json (7 KB, under a millisecond to load once per cold start; not
    endpoints.json, 1.2 MB and some 50 ms)."""
    partitions: list[dict[str, Any]] = create_loader().load_data("partitions")["partitions"]
    return partitions


@cache
def _services() -> frozenset[str]:
    """The services botocore has a model of (a directory listing, read only when AlsoWatch
    names something)."""
    return frozenset(create_loader().list_available_services("service-2"))


def _regions(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    raw = env.get(name, "").strip() or default
    regions = tuple(dict.fromkeys(r.strip() for r in raw.split(",") if r.strip()))
    if not regions:
        raise ConfigurationError(f"environment variable {name} (or AWS_REGION) is not set")
    bad = [r for r in regions if not _REGION.match(r)]
    if bad:
        raise ConfigurationError(f"environment variable {name} has invalid Regions: {bad}")
    function_region = env.get("AWS_REGION", "")
    wanted = partition_of(function_region)
    elsewhere = [f"{r} ({partition_of(r)})" for r in regions if partition_of(r) != wanted]
    if function_region and elsewhere:
        raise ConfigurationError(
            f"environment variable {name} has Regions outside the function's partition, "
            f"{wanted} ({function_region}): {', '.join(elsewhere)}. One stack watches the "
            "Regions of its own partition: deploy one in each partition."
        )
    return regions


def _member_regions(
    env: Mapping[str, str], name: str, watched: tuple[str, ...], function_region: str
) -> tuple[str, ...]:
    """The Regions named in ``name``, each one watched (its member alert is owed beside its
    observation); by default the function's own Region if watched, else the first watched."""
    if not env.get(name, "").strip():
        return (function_region if function_region in watched else watched[0],)
    regions = _regions(env, name, default="")
    unwatched = [region for region in regions if region not in watched]
    if unwatched:
        raise ConfigurationError(
            f"environment variable {name} names Regions that MONITORED_REGIONS does not watch: "
            f"{unwatched}; list the members in one of {list(watched)}"
        )
    return regions


def _also_watch(env: Mapping[str, str], name: str, home_region: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    values = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
    unknown = [value for value in values if value not in ALSO_WATCH_VALUES]
    if unknown:
        raise ConfigurationError(
            f"environment variable {name} names what the monitor cannot watch: {unknown}; it "
            f"takes any of {', '.join(ALSO_WATCH_VALUES)}, separated by commas"
        )
    # A runtime whose boto3 predates a service is named at the cold start, not met as an
    # unknown service at every check.
    clients = sorted({service.client for value in values for service in ALSO_WATCHED[value]})
    missing = [client for client in clients if client not in _services()]
    if missing:
        raise ConfigurationError(
            f"environment variable {name} names what this runtime's boto3 cannot call: "
            f"{', '.join(missing)} is unknown to botocore {botocore.__version__}; bundle a "
            "newer boto3 with the function (functions/requirements.txt) or remove it"
        )
    partition = partition_of(home_region)
    elsewhere = [value for value in values if value in _ONLY_IN_AWS]
    if elsewhere and partition != "aws":
        raise ConfigurationError(
            f"environment variable {name} names {', '.join(elsewhere)}, which the {partition} "
            f"partition ({home_region}) does not offer: only aws does"
        )
    return values


def _hours(env: Mapping[str, str], name: str, default: str) -> float:
    raw = env.get(name, "").strip() or default
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0 <= hours <= 8760:
        raise ConfigurationError(
            f"environment variable {name} must be a number of hours from 0 (off) to 8760: {raw!r}"
        )
    return hours


def _flag(env: Mapping[str, str], name: str, default: str) -> bool:
    raw = (env.get(name) or default).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"environment variable {name} must be true or false: {raw!r}")
