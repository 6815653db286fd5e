"""The function's configuration, read and validated once per cold start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d+$")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$")
_PARTITIONS = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-isof-", "aws-iso-f"),
    ("eusc-", "aws-eusc"),
)
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


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
    topic_partition, wanted = value.split(":")[1], partition_of(function_region)
    if function_region and topic_partition != wanted:
        raise ConfigurationError(
            f"environment variable {name} names a topic in the {topic_partition} partition, but "
            f"the function runs in {function_region} ({wanted}): use a topic of {wanted}"
        )
    return value


def partition_of(region: str) -> str:
    """The AWS partition of a Region: ``aws``, ``aws-cn``, ``aws-us-gov``..."""
    for prefix, partition in _PARTITIONS:
        if region.startswith(prefix):
            return partition
    return "aws"


def _regions(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    raw = env.get(name, "").strip() or default
    regions = tuple(dict.fromkeys(r.strip() for r in raw.split(",") if r.strip()))
    if not regions:
        raise ConfigurationError(f"environment variable {name} (or AWS_REGION) is not set")
    bad = [r for r in regions if not _REGION.match(r)]
    if bad:
        raise ConfigurationError(f"environment variable {name} has invalid Regions: {bad}")
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
