"""Alerts that reach people (issue 10): one chat thread per episode, markup that Slack and Teams
both render, and an alert when fewer member accounts are opted in."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from organization import Organization
from storage import corrupt_observation

from devtools.local_aws.resources import LocalAws
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.results import Checked, TestSent

from conftest import event, invoke_at

START = datetime(2026, 11, 26, 9, tzinfo=UTC)
EMOJI_CODE = re.compile(r":[a-z0-9_+-]{3,}:|:[a-z_+-][a-z0-9_+-]*:")


def check_at(hours: float, payload: dict[str, Any] | None = None) -> Checked | TestSent:
    """An invocation ``hours`` after START, in a fresh sandbox's clients."""
    return invoke_at(START + timedelta(hours=hours), payload)


def sent(aws: LocalAws) -> list[tuple[str, str, dict[str, Any]]]:
    """(eventType, subject, chat document) of each alert SNS accepted since the last call."""
    published, aws.wire.published[:] = list(aws.wire.published), []
    aws.deliveries()
    alerts = []
    for arguments in published:
        message = json.loads(arguments["Message"])
        chat = json.loads(message["https"])
        alerts.append((chat["metadata"]["eventType"], arguments["Subject"], chat))
    return alerts


def threads(alerts: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return [chat["metadata"]["threadId"] for _, _, chat in alerts]


# ------------------------------------------------------------------------------ episodes


def test_an_episode_is_one_thread_and_the_next_episode_another(aws: LocalAws) -> None:
    set_status = aws.compute_optimizer.set_enrollment
    set_status("us-east-1", "Active")
    check_at(0)
    set_status("us-east-1", "Inactive")
    check_at(1)  # the change away from Active starts episode A
    check_at(26)  # a reminder
    set_status("us-east-1", "Pending")
    aws.wire.fail("sns", "Publish", "InternalError", times=4)
    with pytest.raises(MonitorError):
        check_at(27)  # SNS down: the change is owed
    aws.wire.heal()
    set_status("us-east-1", "Active")
    check_at(28)  # the owed change, then the return to Active: still episode A
    check_at(28.5, event("test-notification"))
    set_status("us-east-1", "Inactive")
    check_at(29)  # episode B

    alerts = sent(aws)
    kinds = [kind for kind, _, _ in alerts]
    assert kinds == [
        "EnrollmentStatusChanged",
        "EnrollmentReminder",
        "EnrollmentStatusChanged",
        "EnrollmentStatusChanged",
        "TestNotification",
        "EnrollmentStatusChanged",
    ]
    a, reminder, pending, back, test, b = threads(alerts)
    assert a == reminder == pending == back
    assert len({a, test, b}) == 3


def test_an_observation_from_before_episodes_starts_one(aws: LocalAws) -> None:
    aws.compute_optimizer.set_enrollment("us-east-1", "Inactive")
    check_at(0)
    corrupt_observation(aws, "episode", None)  # as main wrote it before this change
    sent(aws)

    aws.compute_optimizer.set_enrollment("us-east-1", "Failed")
    check_at(1)
    aws.compute_optimizer.set_enrollment("us-east-1", "Active")
    check_at(2)

    failed, back = threads(sent(aws))
    assert failed == back


def test_member_alerts_never_share_an_episodes_thread(aws: LocalAws) -> None:
    org = Organization(aws, a1="Active")
    org.check()
    org.status("Inactive")
    org.member("a1", "Inactive")

    org.check()

    (account_thread, member_thread) = threads(sent(aws))
    assert account_thread != member_thread
    assert member_thread.startswith("compute-optimizer-members-")


# -------------------------------------------------------------------- fewer opted in


def opt_ins(aws: LocalAws, count: int | None, enrolled: bool | None = True) -> None:
    figures = {"numberOfMemberAccountsOptedIn": count, "memberAccountsEnrolled": enrolled}
    aws.compute_optimizer.set_enrollment(
        "us-east-1", "Active", **{k: v for k, v in figures.items() if v is not None}
    )


def test_fewer_members_opted_in_is_one_alert_naming_both_counts(aws: LocalAws) -> None:
    opt_ins(aws, 12)
    check_at(0)  # the first observation: silent
    opt_ins(aws, 14)
    check_at(1)  # more: silent, recorded
    opt_ins(aws, 10)

    result = check_at(2)
    check_at(3)  # the same figure again: nothing

    ((kind, subject, chat),) = sent(aws)
    assert kind == "MemberOptInsDecreased"
    assert subject == (
        "Compute Optimizer: member accounts opted in 14 -> 10 (123456789012, us-east-1)"
    )
    assert "Members opted in: 10 (was 14)" in chat["content"]["description"]
    assert isinstance(result, Checked)
    assert result.subjects[0].opt_ins_decreased


def test_a_figure_left_out_once_is_no_change(aws: LocalAws) -> None:
    opt_ins(aws, 5)
    check_at(0)
    opt_ins(aws, None)  # the API leaves the figure out this time
    aws.wire.calls.clear()
    check_at(1)
    assert not any(call.startswith("dynamodb:Put") for call in aws.wire.calls)
    opt_ins(aws, 3)

    check_at(2)

    ((kind, subject, _),) = sent(aws)
    assert kind == "MemberOptInsDecreased" and "5 -> 3" in subject


def test_figures_stored_before_they_were_kept_at_every_change_are_not_compared(
    aws: LocalAws,
) -> None:
    opt_ins(aws, 14)
    check_at(0)
    corrupt_observation(aws, "figuresCurrent", None)  # as the version before wrote it
    opt_ins(aws, 10)  # months later: no check saw the way down

    check_at(1)
    assert sent(aws) == []
    opt_ins(aws, 9)
    check_at(2)

    ((kind, subject, _),) = sent(aws)
    assert kind == "MemberOptInsDecreased" and "10 -> 9" in subject


def test_members_no_longer_enrolled_alerts(aws: LocalAws) -> None:
    opt_ins(aws, None, enrolled=True)
    check_at(0)
    opt_ins(aws, None, enrolled=False)

    check_at(1)

    ((kind, subject, chat),) = sent(aws)
    assert kind == "MemberOptInsDecreased"
    assert subject.startswith("Compute Optimizer: member accounts no longer enrolled")
    assert "Members enrolled: no (was yes)" in chat["content"]["description"]
    assert chat["content"]["keywords"] == ["Active", "us-east-1"]


def test_fewer_opted_in_survives_an_sns_outage_and_is_sent_once(aws: LocalAws) -> None:
    opt_ins(aws, 5)
    check_at(0)
    opt_ins(aws, 3)
    aws.wire.fail("sns", "Publish", "InternalError", times=4)
    with pytest.raises(MonitorError):
        check_at(1)
    aws.wire.heal()

    check_at(2)
    check_at(3)

    assert [kind for kind, _, _ in sent(aws)] == ["MemberOptInsDecreased"]


def test_racing_invocations_send_one_opt_in_alert(aws: LocalAws) -> None:
    opt_ins(aws, 5)
    check_at(0)
    opt_ins(aws, 4)

    aws.wire.once_after("dynamodb:Query", lambda: check_at(1))
    check_at(1)

    assert [kind for kind, _, _ in sent(aws)] == ["MemberOptInsDecreased"]


def test_every_enrollment_alert_shows_the_member_figures(aws: LocalAws) -> None:
    aws.compute_optimizer.set_enrollment(
        "us-east-1", "Inactive", numberOfMemberAccountsOptedIn=7, memberAccountsEnrolled=True
    )

    check_at(0)

    ((_, _, chat),) = sent(aws)
    assert "Members opted in: 7\nMembers enrolled: yes" in chat["content"]["description"]


# ------------------------------------------------------------------------------ markup


def every_alert_kind(aws: LocalAws) -> list[tuple[str, str, dict[str, Any]]]:
    org = Organization(aws, a1="Active")
    hostile = "Opted *out* by <!channel> <https://evil.example|alice> _now_ :fire: :+1: :100:"
    weird_status = "Odd*<!here>*:fire:"
    aws.compute_optimizer.set_enrollment("us-east-1", "Active", numberOfMemberAccountsOptedIn=3)
    check_at(0)
    aws.compute_optimizer.set_enrollment(
        "us-east-1", weird_status, hostile, numberOfMemberAccountsOptedIn=2
    )
    org.member("a1", weird_status, reason=hostile)
    check_at(1)
    org.member("a1", "Failed", reason=hostile)
    check_at(26)
    check_at(27, event("test-notification"))
    alerts = sent(aws)
    assert {kind for kind, _, _ in alerts} == {
        "EnrollmentStatusChanged",
        "MemberOptInsDecreased",
        "MemberEnrollmentChanged",
        "EnrollmentReminder",
        "TestNotification",
    }
    return alerts


def test_chat_markup_of_every_alert_kind_renders_in_slack_and_teams(aws: LocalAws) -> None:
    for kind, _, chat in every_alert_kind(aws):
        content = chat["content"]
        text = "\n".join(
            [
                content["title"],
                content["description"],
                *content["nextSteps"],
                *content["keywords"],
                chat["metadata"]["summary"],
            ]
        )
        assert not EMOJI_CODE.search(text), kind  # no :emoji: codes
        assert "<" not in text and "|" not in text, kind  # plain URLs, no <url|text>, no <!here>
        assert "*" not in text and " _" not in text, kind  # nothing carried by bold or italics
        assert any("https://" in step for step in content["nextSteps"]), kind
        assert content["keywords"][1] == "us-east-1", kind
