"""Parse at the edge: whatever Compute Optimizer answers and whatever payload the function is
invoked with, what does not fit is "not said" or refused where it enters, never stored to be
refused later, never in a rendering, a key or a write."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
import regex
from organization import Organization, account, transitions
from storage import corrupt_member, nothing_stored, roster, set_aside, stored

from devtools.local_aws.aws_requests import EMPTY_BODY, PROXY_PAGE
from devtools.local_aws.resources import LocalAws
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.settings import ConfigurationError

from conftest import Monitor, heartbeats

REGION = "us-east-1"
# Invisible and bidi characters (Cf), private-use ones (Co) and control characters (Cc).
INVISIBLE = "\u061c\u180e\u2060\u2061\u2062\u2063\u2064\u200b\u202e\u2066\ufeff\U000e0041"
PRIVATE = "\ue000\U000f0000"
CONTROL = "\x00\x07\x1b\x7f\x85"
HIDDEN = {"Cc", "Cf", "Cs", "Co"}
# Invisible, though no category above says so: Hangul fillers, the braille blank, the combining
# grapheme joiner, variation selectors, Khmer inherent vowels, noncharacters.
UNSEEN = "\u115f\u1160\u3164\uffa0\u2800\u034f\ufe0f\U000e0100\u17b4\ufdd0\uffff\U0010fffe"
# What Unicode calls invisible, as the regex module knows it (not the monitor's own table).
_IGNORABLE = regex.compile(r"[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}\u2800]")


def account_transitions(monitor: Monitor) -> list[tuple[str | None, str]]:
    return [
        ((alert["previous"] or {}).get("status"), alert["current"]["status"])
        for alert in monitor.alerts()
        if alert["eventType"] == "EnrollmentStatusChanged"
    ]


def hidden_in(text: str, allowed: str = "") -> list[str]:
    return [
        f"U+{ord(c):04X}"
        for c in text
        if (unicodedata.category(c) in HIDDEN or _IGNORABLE.match(c)) and c not in allowed
    ]


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def assert_nothing_hidden(published: dict[str, Any]) -> None:
    """No such character in the subject, any rendering, or any attribute value; email and
    chat keep only their own newlines."""
    message = json.loads(published["Message"])
    assert hidden_in(published["Subject"]) == []
    assert hidden_in(message["email"], allowed="\n") == []
    for text in strings(json.loads(message["https"])):
        assert hidden_in(text, allowed="\n") == [], text
    for text in strings(json.loads(message["default"])):
        assert hidden_in(text) == [], text
    for name, attribute in published["MessageAttributes"].items():
        assert hidden_in(attribute["StringValue"]) == [], name


# 1. A member figure of the wrong type is not said: never stored to be refused at the next check.


@pytest.mark.parametrize(
    ("figures", "kept"),
    [
        # JSON has one number type: 7.0 is the count 7 (see enrollment_monitor.parse.count).
        ({"numberOfMemberAccountsOptedIn": 7.0}, (7, None)),
        ({"numberOfMemberAccountsOptedIn": True}, (None, None)),
        ({"numberOfMemberAccountsOptedIn": "7"}, (None, None)),
        ({"numberOfMemberAccountsOptedIn": 7.5}, (None, None)),
        ({"numberOfMemberAccountsOptedIn": -1}, (None, None)),
        ({"memberAccountsEnrolled": 1}, (None, None)),
        ({"memberAccountsEnrolled": "true"}, (None, None)),
        ({"numberOfMemberAccountsOptedIn": 7, "memberAccountsEnrolled": True}, (7, True)),
    ],
)
def test_a_member_figure_of_another_type_is_not_said_and_the_status_alerted_once(
    monitor: Monitor, figures: dict[str, Any], kept: tuple[int | None, bool | None]
) -> None:
    monitor.aws.compute_optimizer.set_enrollment(REGION, "Inactive", **figures)

    monitor.check()
    monitor.check()
    monitor.check()

    assert account_transitions(monitor) == [(None, "Inactive")]  # once, not at every check
    assert set_aside(monitor.aws) == []
    observation = stored(monitor.aws)
    assert observation and observation.observation
    assert observation.observation.enrollment.figures == kept


def test_fewer_opt_ins_are_alerted_once_when_a_count_comes_as_a_whole_float(
    monitor: Monitor,
) -> None:
    monitor.aws.compute_optimizer.set_enrollment(REGION, "Active", numberOfMemberAccountsOptedIn=9)
    monitor.check()
    monitor.aws.compute_optimizer.set_enrollment(
        REGION, "Active", numberOfMemberAccountsOptedIn=7.0
    )

    monitor.check()
    monitor.check()

    (alert,) = monitor.alerts()
    assert alert["eventType"] == "MemberOptInsDecreased"
    assert (alert["previous"], alert["current"]) == (
        {"numberOfMemberAccountsOptedIn": 9, "memberAccountsEnrolled": None},
        {"numberOfMemberAccountsOptedIn": 7, "memberAccountsEnrolled": None},
    )


# 2. A lone surrogate from the API is replaced where it enters: the change is alerted.


@pytest.mark.parametrize(
    ("status", "reason", "shown"),
    [
        ("Inactive\ud800", None, "Inactive\ufffd"),
        ("Inactive", "Opted out \udfff by a user", "Inactive"),
    ],
)
def test_a_lone_surrogate_from_the_api_is_replaced_and_the_change_alerted_once(
    monitor: Monitor, status: str, reason: str | None, shown: str
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status(status, reason)

    monitor.check()
    monitor.check()

    (published,) = monitor.aws.wire.published
    message = json.loads(published["Message"])
    for rendering in (message["email"], *strings(json.loads(message["https"]))):
        rendering.encode()  # valid Unicode: what a mail client or chat can show
    assert account_transitions(monitor) == [("Active", shown)]
    monitor.status("Active")
    monitor.check()
    assert account_transitions(monitor) == [(shown, "Active")]


# 3. A listed member is a 12-digit account id; anything else is skipped, named, and never
# addresses the members' control item.


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"accountId": "#ROUND", "status": "Active"}, "'#ROUND'"),
        ({"accountId": "", "status": "Active"}, "''"),
        ({"accountId": "1" * 1024, "status": "Active"}, "'1111111111"),
        ({"accountId": "12345678901", "status": "Active"}, "'12345678901'"),
        ({"accountId": "\u0661" * 12, "status": "Active"}, "'\u0661"),  # Arabic-Indic digits
        ({"accountId": 111111111111, "status": "Active"}, "111111111111"),
        ({"accountId": None, "status": "Active"}, "None"),
        ({"status": "Failed"}, "None"),
    ],
)
def test_a_listed_entry_that_is_not_an_account_id_is_skipped_and_named_after_the_others(
    aws: LocalAws, entry: dict[str, Any], named: str
) -> None:
    org = Organization(aws, a1="Active", a2="Active")
    org.check()
    org.member("a1", "Inactive")
    org.listed.append(entry)

    with pytest.raises(MonitorError, match="not a 12-digit account id") as failure:
        org.check()

    assert named in str(failure.value) and len(str(failure.value)) < 1_000
    (alert,) = org.member_alerts()  # every other member's change, reported
    assert transitions(alert) == [(account("a1"), "Active", "Inactive")]
    assert roster(aws).round == 2 and roster(aws).controlled
    assert org.remembered() == {account("a1"): "Inactive", account("a2"): "Active"}
    org.listed.remove(entry)
    org.member("a2", "Failed")
    org.check()  # the round the entry would have overwritten still counts
    (alert,) = org.member_alerts()
    assert transitions(alert) == [(account("a2"), "Active", "Failed")]


def test_a_first_listing_with_an_entry_that_is_not_an_account_id_records_the_others(
    aws: LocalAws,
) -> None:
    org = Organization(aws, a1="Active")
    org.listed.append({"accountId": "#ROUND", "status": "Inactive"})

    with pytest.raises(MonitorError, match="'#ROUND'"):
        org.check()

    assert org.alerts() == []  # the baseline, silent
    assert roster(aws).round == 1
    assert org.remembered() == {account("a1"): "Active"}


def test_many_entries_that_are_not_account_ids_fail_the_invocation_once_naming_a_few(
    aws: LocalAws,
) -> None:
    org = Organization(aws, a1="Active")
    org.check()
    org.listed.extend({"accountId": f"bad-{i}", "status": "Active"} for i in range(500))

    with pytest.raises(MonitorError) as failure:
        org.check()

    message = str(failure.value)
    assert "500 listed entries" in message and "'bad-0'" in message and "more" in message
    assert len(message) < 1_000
    assert org.alerts() == []


def test_a_stored_member_whose_key_is_not_an_account_id_is_set_aside(aws: LocalAws) -> None:
    org = Organization(aws, a1="Active")
    org.check()
    corrupt_member(aws, "not-an-account", "status", {"S": "Inactive"})  # a hand edit
    org.member("a1", "Failed")

    with pytest.raises(MonitorError, match="state item set aside: MEMBERS#.* not-an-account"):
        org.check()

    (alert,) = org.member_alerts()
    assert transitions(alert) == [(account("a1"), "Active", "Failed")]  # nobody else reported
    org.check()
    assert org.alerts() == []


# 6. A payload that is not a JSON object fails at once: nothing checked or sent.


@pytest.mark.parametrize("payload", ["test-notification", ["check"], 7, 1.5, True, None])
def test_a_payload_that_is_not_a_json_object_fails_and_checks_nothing(
    monitor: Monitor, payload: Any
) -> None:
    monitor.status("Inactive")

    with pytest.raises(MonitorError, match="not a JSON object") as failure:
        monitor.invoke(payload)

    assert json.dumps(payload) in str(failure.value)
    assert monitor.aws.wire.calls["compute-optimizer:GetEnrollmentStatus"] == 0
    assert monitor.aws.wire.calls["sns:Publish"] == 0
    assert nothing_stored(monitor.aws) and monitor.alerts() == []


# 7. A Region or topic outside the function's partition fails the cold start, naming it.


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MONITORED_REGIONS", "us-east-1,cn-north-1"),
        ("ALERT_TOPIC_ARN", "arn:aws:sns:cn-north-1:123456789012:alerts"),
    ],
)
def test_a_region_of_another_partition_fails_the_cold_start_naming_the_variable(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    monitor.aws.wire.calls.clear()

    with pytest.raises(ConfigurationError, match=name):
        monitor.check(cold=True)

    assert sum(monitor.aws.wire.calls.values()) == 0


# 9. Format, control, surrogate and private-use characters from the API reach nobody.


def test_invisible_and_control_characters_from_the_api_reach_no_rendering_or_attribute(
    monitor: Monitor,
) -> None:
    monitor.status(
        f"Inac{INVISIBLE}{UNSEEN}tive{CONTROL}", reason=f"Opted{UNSEEN} out{PRIVATE}\x00"
    )
    monitor.check()
    monitor.status(f"Pen{INVISIBLE}ding\x1b{UNSEEN}", reason=f"\u2067Enrolling{CONTROL}{UNSEEN}")
    monitor.check()

    first, second = monitor.aws.wire.published
    for published in (first, second):
        assert_nothing_hidden(published)
    assert second["MessageAttributes"]["status"]["StringValue"] == "Pending"
    assert second["MessageAttributes"]["previousStatus"]["StringValue"] == "Inactive"
    email = json.loads(second["Message"])["email"]
    assert "Compute Optimizer enrollment changed from Inactive to Pending" in email
    assert "Reason:      Enrolling" in email
    chat = json.loads(json.loads(second["Message"])["https"])
    assert chat["content"]["keywords"] == ["Pending", REGION]


def test_invisible_characters_in_member_statuses_and_reasons_reach_nobody(aws: LocalAws) -> None:
    org = Organization(aws, a1="Active", a2="Active")
    org.check()
    org.member("a1", f"Fai{INVISIBLE}led{CONTROL}", reason=f"Role{UNSEEN}{PRIVATE} missing")
    org.member("a2", "\u202eInactive\u202c")

    org.check()

    (published,) = aws.wire.published
    assert_nothing_hidden(published)
    email = json.loads(published["Message"])["email"]
    assert "Role missing" in email


@pytest.mark.parametrize("unseen", UNSEEN, ids=lambda c: f"U+{ord(c):04X}")
def test_active_with_an_invisible_character_is_active(
    monitor: Monitor, capsys: pytest.CaptureFixture[str], unseen: str
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status(f"Active{unseen}")

    monitor.check()

    assert monitor.alerts() == []  # never "Active -> Active"
    assert heartbeats(capsys.readouterr().out) == [0.0, 0.0]  # counted Active


def test_a_member_active_with_an_invisible_character_is_active(aws: LocalAws) -> None:
    org = Organization(aws, a1="Active", a2="Active")
    org.check()
    org.member("a1", f"\u2800Active{UNSEEN}")
    org.member("a2", f"Inactive{UNSEEN}")

    org.check()

    (alert,) = org.member_alerts()
    assert transitions(alert) == [(account("a2"), "Active", "Inactive")]


# 10. Only AWS's answers are believed: an HTTP 200 whose body is not AWS's (botocore parses it
# into an empty answer) is a failed call, named like any other, never a value.

NOT_AWS_ANSWERS = (PROXY_PAGE, EMPTY_BODY)


@pytest.mark.parametrize("answer", NOT_AWS_ANSWERS)
def test_a_page_answered_with_200_for_the_status_fails_the_check_and_alerts_nothing(
    monitor: Monitor, capsys: pytest.CaptureFixture[str], answer: str
) -> None:
    monitor.status("Active")
    monitor.check()
    capsys.readouterr()
    monitor.aws.wire.fail("compute-optimizer", "GetEnrollmentStatus", answer, http_status=200)

    with pytest.raises(MonitorError) as failure:
        monitor.check()

    assert "compute-optimizer:GetEnrollmentStatus in us-east-1 failed: NotAnAwsAnswer" in str(
        failure.value
    )
    assert "HTTPS_PROXY" in str(failure.value)
    assert heartbeats(capsys.readouterr().out) == []
    monitor.check()
    assert monitor.alerts() == []  # never Active -> Unknown -> Active


@pytest.mark.parametrize("answer", NOT_AWS_ANSWERS)
def test_a_page_in_the_member_listing_reports_no_member_as_gone_or_new(
    aws: LocalAws, answer: str
) -> None:
    org = Organization(aws, **{f"{n:012d}": "Active" for n in range(1, 251)})  # three pages
    org.check()
    listing = "compute-optimizer:GetEnrollmentStatusesForOrganization"
    second_page = ("compute-optimizer", "GetEnrollmentStatusesForOrganization", answer, 200)
    aws.wire.once_after(listing, lambda: aws.wire.fail(*second_page))

    with pytest.raises(MonitorError, match=f"{listing} in us-east-1 failed: NotAnAwsAnswer"):
        org.check()

    assert org.alerts() == []
    org.check()
    assert org.alerts() == []  # nobody reported as new either
    org.member(f"{250:012d}", "Inactive")
    org.check()
    (alert,) = org.member_alerts()
    assert transitions(alert) == [(f"{250:012d}", "Active", "Inactive")]


@pytest.mark.parametrize("answer", NOT_AWS_ANSWERS)
@pytest.mark.parametrize(
    ("operation", "named"),
    [("TransactWriteItems", "dynamodb:PutItem"), ("Query", "dynamodb:Query")],
)
def test_a_page_answered_by_dynamodb_fails_the_check_and_the_change_is_alerted_once(
    monitor: Monitor,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    operation: str,
    named: str,
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.status("Inactive")
    capsys.readouterr()
    monitor.aws.wire.fail("dynamodb", operation, answer, http_status=200)

    with pytest.raises(MonitorError, match=f"{named} in us-east-1 failed: NotAnAwsAnswer"):
        monitor.check()

    assert heartbeats(capsys.readouterr().out) == []  # no heartbeat while an alert is owed
    monitor.check()
    assert account_transitions(monitor) == [("Active", "Inactive")]


# 11. A time botocore cannot parse is not said, like any other field that does not fit.

UNPARSABLE_TIMES = [
    "not a time",
    float("nan"),
    253_402_300_800,  # 10000-01-01, past datetime's last year
    "10000-01-01T00:00:00Z",
    "9999-12-31T23:00:00-05:00",  # a time, but past 9999 in UTC
    -1e20,
    True,  # botocore would read one second past 1970
]


@pytest.mark.parametrize("moment", UNPARSABLE_TIMES)
def test_a_time_that_does_not_parse_is_not_said_and_the_change_alerted(
    monitor: Monitor, moment: Any
) -> None:
    monitor.status("Active")
    monitor.check()
    monitor.aws.compute_optimizer.set_enrollment(REGION, "Inactive", lastUpdatedTimestamp=moment)

    monitor.check()
    monitor.check()

    (alert,) = monitor.alerts()
    assert (alert["previous"]["status"], alert["current"]["status"]) == ("Active", "Inactive")
    assert alert["current"]["lastUpdatedTimestamp"] is None


@pytest.mark.parametrize("moment", UNPARSABLE_TIMES)
def test_a_member_time_that_does_not_parse_holds_back_no_member(aws: LocalAws, moment: Any) -> None:
    org = Organization(aws, a1="Active", a2="Active")
    org.check()
    org.member("a1", "Inactive")
    org.listed[-1]["lastUpdatedTimestamp"] = moment
    org.member("a2", "Failed")

    org.check()

    (alert,) = org.member_alerts()
    assert sorted(transitions(alert)) == [
        (account("a1"), "Active", "Inactive"),
        (account("a2"), "Active", "Failed"),
    ]
