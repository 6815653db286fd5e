import pytest

from enrollment_monitor.settings import ConfigurationError, Settings

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
