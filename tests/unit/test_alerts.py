"""What people and machines receive: subject limits, email text, Chatbot JSON, the document."""

import json
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enrollment_monitor.alerts import Alert
from enrollment_monitor.alerts.render import API_TEXT_LIMIT, AlertText, api_text, compose
from enrollment_monitor.alerts.selftest import selftest_alert
from enrollment_monitor.alerts.status import status_alert
from enrollment_monitor.enrollment import (
    Decision,
    Enrollment,
    Observation,
    WatchedSubject,
    recorded_after,
)
from enrollment_monitor.subjects import SERVICES

WHERE = WatchedSubject("123456789012", "ap-southeast-2")
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
ACTIVE = Observation(Enrollment("Active"), datetime(2026, 1, 2, tzinfo=UTC))
INACTIVE = Enrollment("Inactive", "Opted out by user", datetime(2026, 11, 26, 9, 12, tzinfo=UTC))


def change(
    previous: Observation | None, current: Enrollment, decision: Decision = Decision.CHANGED
) -> Alert:
    """The alert a check sends after ``decision``, with what it records."""
    recorded = recorded_after(decision, previous, current, NOW)
    assert recorded
    return status_alert(WHERE, decision, previous, recorded, NOW)


def rendered(alert: Alert) -> dict[str, str]:
    message: dict[str, str] = json.loads(alert.message)
    return message


def test_message_has_a_rendering_for_machines_email_and_chatbot() -> None:
    message = rendered(change(ACTIVE, INACTIVE))

    assert set(message) == {"default", "email", "https"}


def test_machine_document_carries_previous_and_current_with_iso_times() -> None:
    document = json.loads(rendered(change(ACTIVE, INACTIVE))["default"])

    assert document == {
        "version": 1,
        "eventType": "EnrollmentStatusChanged",
        "accountId": "123456789012",
        "region": "ap-southeast-2",
        "service": "compute-optimizer",
        "scope": "Region",
        "previous": {
            "status": "Active",
            "statusReason": None,
            "lastUpdatedTimestamp": None,
            "observedAt": "2026-01-02T00:00:00Z",
        },
        "current": {
            "status": "Inactive",
            "statusReason": "Opted out by user",
            "lastUpdatedTimestamp": "2026-11-26T09:12:00Z",
        },
        "damage": SERVICES["compute-optimizer"].damage["Inactive"],
        "observedAt": "2026-11-26T09:30:00Z",
    }


def test_an_opt_out_names_the_damage_in_every_rendering() -> None:
    message = rendered(change(ACTIVE, INACTIVE))
    chat = json.loads(message["https"])["content"]["description"]

    for rendering in (message["email"], chat, json.loads(message["default"])["damage"]):
        text = " ".join(rendering.split())  # the email wraps its lines
        assert "deletes this account's Compute Optimizer recommendations and metrics" in text
        assert "Cost Optimization Hub" in text
        assert "COr6dfpM03 to COr6dfpM06" in text
        assert "Automation rules have nothing to act on" in text


def test_a_return_to_active_names_no_damage() -> None:
    message = rendered(change(Observation(INACTIVE, NOW), Enrollment("Active")))

    assert json.loads(message["default"])["damage"] is None
    assert "What stops" not in message["email"]


def test_email_tells_a_person_what_changed_why_when_and_what_to_do() -> None:
    email = rendered(change(ACTIVE, INACTIVE))["email"]

    assert email.startswith("Compute Optimizer enrollment changed from Active to Inactive\n")
    assert "Status:      Inactive (was Active)" in email
    assert "Reason:      Opted out by user" in email
    assert "Changed at:  2026-11-26T09:12:00Z" in email
    assert "What to do" in email
    assert "update-enrollment-status --status Active" in email
    assert (
        "https://console.aws.amazon.com/compute-optimizer/home?region=ap-southeast-2#/settings"
    ) in email
    assert all(len(line) <= 78 for line in email.splitlines() if not line.startswith("https:"))


@pytest.mark.parametrize(
    ("region", "console"),
    [
        ("us-gov-west-1", "https://console.amazonaws-us-gov.com/"),
        ("cn-northwest-1", "https://console.amazonaws.cn/"),
        ("eu-west-1", "https://console.aws.amazon.com/"),
    ],
)
def test_the_console_link_is_the_partitions_in_email_and_chat(region: str, console: str) -> None:
    where = WatchedSubject("123456789012", region)
    recorded = recorded_after(Decision.CHANGED, ACTIVE, INACTIVE, NOW)
    assert recorded
    message = rendered(status_alert(where, Decision.CHANGED, ACTIVE, recorded, NOW))

    link = f"{console}compute-optimizer/home?region={region}#/settings"
    assert link in message["email"]
    assert link in " ".join(json.loads(message["https"])["content"]["nextSteps"])


def test_an_alert_of_a_partition_with_no_known_console_carries_no_link() -> None:
    where = WatchedSubject("123456789012", "eusc-de-east-1")
    recorded = recorded_after(Decision.CHANGED, ACTIVE, INACTIVE, NOW)
    assert recorded
    message = rendered(status_alert(where, Decision.CHANGED, ACTIVE, recorded, NOW))

    assert "https://" not in message["email"]
    assert not any(
        "https://" in step for step in json.loads(message["https"])["content"]["nextSteps"]
    )


def test_chatbot_rendering_is_a_custom_notification() -> None:
    chatbot = json.loads(rendered(change(ACTIVE, INACTIVE))["https"])

    assert chatbot["version"] == "1.0"
    assert chatbot["source"] == "custom"
    assert chatbot["content"]["textType"] == "client-markdown"
    assert "from Active to Inactive" in chatbot["content"]["title"]
    assert "Opted out by user" in chatbot["content"]["description"]
    assert all(isinstance(step, str) for step in chatbot["content"]["nextSteps"])
    assert chatbot["content"]["keywords"] == ["Inactive", "ap-southeast-2"]
    assert chatbot["metadata"]["threadId"] == (
        "compute-optimizer-enrollment-123456789012-ap-southeast-2-20261126T093000000000Z"
    )
    assert chatbot["metadata"]["eventType"] == "EnrollmentStatusChanged"


def test_attributes_let_subscribers_filter() -> None:
    alert = change(ACTIVE, INACTIVE)

    arguments = alert.publish_arguments("arn:aws:sns:ap-southeast-2:123456789012:t")
    assert arguments["MessageStructure"] == "json"
    assert arguments["MessageAttributes"]["status"] == {
        "DataType": "String",
        "StringValue": "Inactive",
    }
    assert alert.attributes == {
        "eventType": "EnrollmentStatusChanged",
        "status": "Inactive",
        "previousStatus": "Active",
        "accountId": "123456789012",
        "region": "ap-southeast-2",
        "service": "compute-optimizer",
    }


def test_first_observation_has_no_previous_status_attribute() -> None:
    alert = change(None, INACTIVE)

    assert "previousStatus" not in alert.attributes
    assert (
        alert.subject == "Compute Optimizer enrollment is Inactive (123456789012, ap-southeast-2)"
    )


def test_reminder_says_since_when() -> None:
    previous = Observation(INACTIVE, datetime(2026, 11, 20, tzinfo=UTC), alerted_at=NOW)
    alert = change(previous, INACTIVE, Decision.REMINDER)

    assert alert.subject.startswith("Reminder: Compute Optimizer enrollment still Inactive")
    assert "still Inactive (since 2026-11-20T00:00:00Z)" in rendered(alert)["email"]
    assert alert.attributes["eventType"] == "EnrollmentReminder"


def test_test_notification_is_labelled_as_a_test() -> None:
    alert = selftest_alert(WHERE, NOW)
    message = rendered(alert)

    assert (
        alert.subject == "Test: Compute Optimizer enrollment monitor (123456789012, ap-southeast-2)"
    )
    assert json.loads(message["default"])["eventType"] == "TestNotification"
    assert "This is a test" in message["email"]
    chat = json.loads(message["https"])
    assert chat["content"]["title"].startswith("Test notification")
    assert chat["metadata"]["threadId"].startswith("compute-optimizer-test-")


def test_pending_alert_survives_a_round_trip_through_storage() -> None:
    alert = change(ACTIVE, INACTIVE)

    assert Alert.from_json(alert.to_json()) == alert


@given(old=st.text(min_size=1, max_size=300), new=st.text(min_size=1, max_size=300))
def test_subject_is_one_ascii_line_under_100_characters_whatever_the_status(
    old: str, new: str
) -> None:
    previous = Observation(Enrollment(old), NOW)

    subject = change(previous, Enrollment(new)).subject

    assert len(subject) < 100
    assert subject.isascii() and subject.isprintable()
    assert "\n" not in subject
    assert subject.startswith("Compute Optimizer enrollment ")


def test_a_subject_too_long_is_cut_in_the_middle_keeping_account_and_region() -> None:
    text = AlertText("headline", "meaning", [("Account", WHERE.account_id)], ["step"], "icon")
    document = {"eventType": "EnrollmentStatusChanged"}

    subject = compose(
        WHERE, "Compute Optimizer " + "very " * 40 + "long", text, document, "s", None
    )

    assert len(subject.subject) < 100 and "..." in subject.subject
    assert subject.subject.startswith("Compute Optimizer very ")
    assert subject.subject.endswith("very long (123456789012, ap-southeast-2)")


# Text from the API: nothing hidden (format, control, surrogate, private use), by category.

HIDDEN = {"Cc", "Cf", "Cs", "Co"}


@given(text=st.text(st.characters(exclude_categories=()), max_size=400))
def test_api_text_keeps_no_format_control_surrogate_or_private_use_character(text: str) -> None:
    shown = api_text(text)

    assert not [c for c in shown if unicodedata.category(c) in HIDDEN]
    assert shown == shown.strip() and len(shown) <= API_TEXT_LIMIT
    assert len(shown.splitlines()) <= 1


@pytest.mark.parametrize(
    "hidden",
    [
        "\u061c",
        "\u180e",
        "\u2060",
        "\u2061",
        "\u2062",
        "\u2063",
        "\u2064",
        "\u200d",
        "\ufeff",
        "\U000e0041",
        "\ue000",
        "\U000f0000",
        "\U00100000",
        "\ud800",
    ],
)
def test_invisible_bidi_and_private_use_characters_are_removed(hidden: str) -> None:
    assert api_text(f"Opted{hidden} out") == "Opted out"


def test_control_characters_and_line_breaks_become_one_space() -> None:
    assert api_text("Opted\x00out\r\nby\x85a\u2028user\x1b[31m") == "Opted out by a user [31m"


def test_status_attributes_carry_the_status_as_shown() -> None:
    previous = Observation(Enrollment("Act\u2060ive\x07"), NOW)
    alert = change(previous, Enrollment("\u202eInac\ue000tive\n"))

    assert alert.attributes["status"] == "Inactive"
    assert alert.attributes["previousStatus"] == "Active"
    assert alert.publish_size() > 0  # what SNS counts, computable


@pytest.mark.parametrize("service", sorted(SERVICES))
@pytest.mark.parametrize("decision", [Decision.CHANGED, Decision.REMINDER])
def test_every_subjects_subject_line_keeps_the_contract(service: str, decision: Decision) -> None:
    """Issue 21: a longer service name still gives one ASCII line under 100 characters ending
    with the account and the Region, and its alert names the service everywhere."""
    where = WatchedSubject("123456789012", "ap-southeast-2", service)
    previous = Observation(Enrollment("Active"), NOW)
    recorded = recorded_after(decision, previous, INACTIVE, NOW)
    assert recorded

    alert = status_alert(where, decision, previous, recorded, NOW)

    assert len(alert.subject) < 100 and alert.subject.isascii()
    assert alert.subject.endswith("(123456789012, ap-southeast-2)")
    assert alert.attributes["service"] == service
    assert json.loads(rendered(alert)["default"])["service"] == service


@pytest.mark.parametrize(
    ("before", "after", "damage"),
    [
        ((), ("222222222222",), ("can now manage",)),  # registered
        (("111111111111",), (), ("can no longer manage",)),  # deregistered
        (("111111111111",), ("222222222222",), ("can no longer manage", "can now manage")),
    ],
    ids=["registered", "deregistered", "moved"],
)
def test_a_delegated_administrator_change_names_each_side_it_changes(
    before: tuple[str, ...], after: tuple[str, ...], damage: tuple[str, ...]
) -> None:
    where = WatchedSubject("123456789012", "us-east-1", "delegated-administrator")

    def observed(holders: tuple[str, ...]) -> Observation:
        status = "Registered" if holders else "NotRegistered"
        return Observation(Enrollment(status, holders=holders), NOW)

    alert = status_alert(where, Decision.CHANGED, observed(before), observed(after), NOW)

    said = json.loads(rendered(alert)["default"])["damage"]
    assert [phrase for phrase in ("can no longer manage", "can now manage") if phrase in said] == [
        *damage
    ]
    assert all(account in rendered(alert)["email"] for account in (*before, *after))


def test_a_deregistration_first_seen_after_the_upgrade_still_names_the_former_account() -> None:
    # The observation was stored before holders were kept: only its reason names the account.
    where = WatchedSubject("123456789012", "us-east-1", "delegated-administrator")
    stored = Enrollment("Registered", "delegated administrator: account 111111111111")
    previous = Observation(stored, NOW)
    gone = Enrollment("NotRegistered", "no delegated administrator", holders=())
    recorded = Observation(gone, NOW)

    email = rendered(status_alert(where, Decision.CHANGED, previous, recorded, NOW))["email"]

    (held,) = [line for line in email.splitlines() if line.startswith("Held by")]
    assert held.split(":", 1)[1].strip() == (
        "none (before: delegated administrator: account 111111111111)"
    )
