import botocore.session
import pytest

from enrollment_monitor import settings as settings_module
from enrollment_monitor.settings import ConfigurationError, Settings, partition_of

TOPIC = "arn:aws:sns:us-east-1:123456789012:enrollment-alerts"
VALID = {
    "STATE_TABLE_NAME": "state",
    "ALERT_TOPIC_ARN": TOPIC,
    "POWERTOOLS_SERVICE_NAME": "enrollment-monitor",
    "POWERTOOLS_METRICS_NAMESPACE": "ComputeOptimizerEnrollment",
    "AWS_REGION": "eu-west-1",
}


def test_defaults_watch_the_functions_own_region_with_daily_reminders() -> None:
    settings = Settings.from_env(VALID)

    assert settings.regions == ("eu-west-1",)
    assert settings.reminder_interval_hours == 24
    assert settings.track_member_accounts is False


def test_regions_are_a_comma_separated_list_without_repeats() -> None:
    settings = Settings.from_env({**VALID, "MONITORED_REGIONS": " us-east-1, eu-west-1,us-east-1 "})

    assert settings.regions == ("us-east-1", "eu-west-1")


@pytest.mark.parametrize(
    "missing",
    [
        "STATE_TABLE_NAME",
        "ALERT_TOPIC_ARN",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
    ],
)
def test_missing_variable_is_named(missing: str) -> None:
    env = {k: v for k, v in VALID.items() if k != missing}

    with pytest.raises(ConfigurationError, match=f"{missing} is not set"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALERT_TOPIC_ARN", "enrollment-alerts"),
        ("ALERT_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:queue"),
        ("MONITORED_REGIONS", "us-east-1,Mars"),
        ("REMINDER_INTERVAL_HOURS", "daily"),
        ("REMINDER_INTERVAL_HOURS", "-1"),
        ("TRACK_MEMBER_ACCOUNTS", "maybe"),
        ("PUBLISH_EVENTS", "sometimes"),
    ],
)
def test_malformed_variable_is_named_with_its_value(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({**VALID, name: value})


def test_no_region_anywhere_is_named() -> None:
    env = {k: v for k, v in VALID.items() if k != "AWS_REGION"}

    with pytest.raises(ConfigurationError, match="MONITORED_REGIONS"):
        Settings.from_env(env)


def test_reminders_can_be_turned_off_and_members_on() -> None:
    settings = Settings.from_env(
        {**VALID, "REMINDER_INTERVAL_HOURS": "0", "TRACK_MEMBER_ACCOUNTS": "TRUE"}
    )

    assert settings.reminder_interval_hours == 0
    assert settings.track_member_accounts is True


def test_events_are_on_by_default_and_can_be_turned_off() -> None:
    assert Settings.from_env(VALID).publish_events is True
    assert Settings.from_env({**VALID, "PUBLISH_EVENTS": "false"}).publish_events is False


def test_members_are_listed_once_in_the_functions_own_region_by_default() -> None:
    env = {**VALID, "MONITORED_REGIONS": "us-east-1,eu-west-1,ap-south-1"}

    assert Settings.from_env(env).member_regions == ("eu-west-1",)


def test_members_are_listed_in_the_first_watched_region_when_its_own_is_not_watched() -> None:
    env = {**VALID, "MONITORED_REGIONS": "us-east-1,ap-south-1"}

    assert Settings.from_env(env).member_regions == ("us-east-1",)


def test_a_member_listing_region_must_be_watched() -> None:
    env = {**VALID, "MONITORED_REGIONS": "us-east-1", "MEMBER_LISTING_REGIONS": "eu-west-1"}

    with pytest.raises(ConfigurationError, match="MEMBER_LISTING_REGIONS names Regions"):
        Settings.from_env(env)


def test_members_may_be_listed_in_several_named_regions() -> None:
    env = {
        **VALID,
        "MONITORED_REGIONS": "us-east-1,eu-west-1",
        "MEMBER_LISTING_REGIONS": "eu-west-1, us-east-1",
    }

    assert Settings.from_env(env).member_regions == ("eu-west-1", "us-east-1")


# Partitions: every Region watched and the topic's Region are in the function's partition.

# One Region of each partition botocore knows.
A_REGION_OF = {
    "aws": "eu-west-1",
    "aws-cn": "cn-north-1",
    "aws-us-gov": "us-gov-west-1",
    "aws-iso": "us-iso-east-1",
    "aws-iso-b": "us-isob-east-1",
    "aws-iso-e": "eu-isoe-west-1",
    "aws-iso-f": "us-isof-south-1",
    "aws-eusc": "eusc-de-east-1",
}
ELSEWHERE = [(home, other) for home in A_REGION_OF for other in A_REGION_OF if other != home]


def in_partition(partition: str, **variables: str) -> dict[str, str]:
    region = A_REGION_OF[partition]
    topic = f"arn:{partition}:sns:{region}:123456789012:enrollment-alerts"
    return {**VALID, "AWS_REGION": region, "ALERT_TOPIC_ARN": topic, **variables}


def test_the_examples_cover_every_partition_botocore_knows() -> None:
    known = botocore.session.get_session().get_available_partitions()

    assert sorted(A_REGION_OF) == sorted(known)
    assert {partition_of(region) for region in A_REGION_OF.values()} == set(known)


@pytest.mark.parametrize("partition", A_REGION_OF)
def test_regions_and_a_topic_of_the_functions_own_partition_are_accepted(partition: str) -> None:
    region = A_REGION_OF[partition]

    settings = Settings.from_env(in_partition(partition, MONITORED_REGIONS=region))

    assert settings.regions == (region,)


@pytest.mark.parametrize(("home", "other"), ELSEWHERE)
def test_a_region_outside_the_functions_partition_is_refused_naming_the_variable(
    home: str, other: str
) -> None:
    regions = f"{A_REGION_OF[home]},{A_REGION_OF[other]}"

    with pytest.raises(ConfigurationError, match="MONITORED_REGIONS") as refused:
        Settings.from_env(in_partition(home, MONITORED_REGIONS=regions))

    assert A_REGION_OF[other] in str(refused.value) and other in str(refused.value)


@pytest.mark.parametrize(("home", "other"), ELSEWHERE)
def test_a_topic_whose_region_is_not_in_its_own_partition_is_refused(home: str, other: str) -> None:
    topic = f"arn:{home}:sns:{A_REGION_OF[other]}:123456789012:enrollment-alerts"

    with pytest.raises(ConfigurationError, match="ALERT_TOPIC_ARN") as refused:
        Settings.from_env(in_partition(home, ALERT_TOPIC_ARN=topic))

    assert A_REGION_OF[other] in str(refused.value)


def test_a_region_botocore_does_not_list_is_in_the_partition_its_name_matches() -> None:
    assert partition_of("ap-east-9") == "aws"
    assert partition_of("us-gov-north-7") == "aws-us-gov"
    assert partition_of("cn-south-3") == "aws-cn"


# AlsoWatch: what else is watched beside Compute Optimizer (issue 21).


def test_also_watch_is_empty_by_default_and_takes_any_subset() -> None:
    assert Settings.from_env(VALID).also_watch == ()
    env = {**VALID, "ALSO_WATCH": " OrganizationAccess,CostOptimizationHub,OrganizationAccess "}

    assert Settings.from_env(env).also_watch == ("OrganizationAccess", "CostOptimizationHub")


def test_an_unknown_also_watch_value_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match=r"ALSO_WATCH .*'TrustedAdvisor'"):
        Settings.from_env({**VALID, "ALSO_WATCH": "CostOptimizationHub,TrustedAdvisor"})


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
@pytest.mark.parametrize("value", ["CostOptimizationHub", "ComputeOptimizerAutomation"])
def test_what_only_aws_offers_is_refused_at_cold_start_elsewhere(
    partition: str, value: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"ALSO_WATCH names {value}.*{partition}"):
        Settings.from_env(in_partition(partition, ALSO_WATCH=f"OrganizationAccess,{value}"))


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_organization_access_is_watched_in_every_partition(partition: str) -> None:
    settings = Settings.from_env(in_partition(partition, ALSO_WATCH="OrganizationAccess"))

    assert settings.also_watch == ("OrganizationAccess",)


def test_a_service_this_runtimes_boto3_cannot_call_is_named_at_cold_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from enrollment_monitor import settings

    monkeypatch.setattr(settings, "_services", lambda: frozenset({"cost-optimization-hub"}))

    with pytest.raises(ConfigurationError, match="ALSO_WATCH .*compute-optimizer-automation"):
        Settings.from_env({**VALID, "ALSO_WATCH": "ComputeOptimizerAutomation"})


def test_the_clients_hold_a_connection_for_every_subjects_thread() -> None:
    """Every subject is checked in a thread of its own, and all share the DynamoDB client."""
    from enrollment_monitor.clients import CLIENT_CONFIG
    from enrollment_monitor.subjects import SERVICES

    most_regions = max(len(p["regions"]) for p in settings_module._partitions())
    assert CLIENT_CONFIG.max_pool_connections >= most_regions + len(SERVICES) - 1
