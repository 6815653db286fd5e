"""Organization members (TRACK_MEMBER_ACCOUNTS=true), end to end: Compute Optimizer on the
wire, moto for DynamoDB and SNS."""

import json
import math
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from organization import Organization, account, transitions
from storage import roster

from devtools.local_aws.resources import LocalAws, local_aws
from enrollment_monitor.alerts.message import SNS_MESSAGE_LIMIT
from enrollment_monitor.enrollment import Outcome
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.member_diff import GONE
from enrollment_monitor.results import MembersSummary

from conftest import Monitor, by_status, check_at, heartbeats

REGION = "us-east-1"
WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:TransactWriteItems",
}


def writes(aws: LocalAws) -> dict[str, int]:
    return {call: n for call, n in aws.wire.calls.items() if call in WRITES}


@pytest.fixture
def org(aws: LocalAws) -> Organization:
    return Organization(aws, a1="Active", a2="Active", a3="Pending")


def test_first_check_records_every_member_silently(org: Organization, capsys: Any) -> None:
    capsys.readouterr()

    result = org.check()

    summary = {"outcome": Outcome.BASELINE, "members": 3, "changed": 0}
    assert result["checked"][0]["members"] == summary
    assert org.alerts() == []
    assert roster(org.aws).round == 1
    assert org.remembered() == {
        account("a1"): "Active",
        account("a2"): "Active",
        account("a3"): "Pending",
    }
    counts = by_status(capsys.readouterr().out, "MemberAccounts")
    assert counts == {"Active": 2, "Pending": 1}  # no series for a status no member holds


def test_steady_check_reads_the_members_and_writes_nothing(org: Organization) -> None:
    org.check()
    org.aws.wire.calls.clear()

    result = org.check()

    assert result["checked"][0]["members"]["outcome"] == Outcome.NOTHING
    assert dict(org.aws.wire.calls) == {
        "compute-optimizer:GetEnrollmentStatus": 1,
        "compute-optimizer:GetEnrollmentStatusesForOrganization": 1,
        "dynamodb:Query": 3,  # the account's observation, the members, the subjects watched
    }
    assert org.alerts() == []


def test_changed_members_are_sent_in_one_alert_grouped_by_new_status(org: Organization) -> None:
    org.check()
    org.member("a1", "Inactive", reason="Opted out by a user")
    org.member("a2", "Failed", reason="Service-linked role missing")
    org.member("a3", "Active")

    result = org.check()

    summary = {"outcome": Outcome.CHANGED, "members": 3, "changed": 3}
    assert result["checked"][0]["members"] == summary
    (envelope,) = org.aws.deliveries()
    alert = envelope["Message"]
    assert transitions(alert) == [  # most severe new status first
        (account("a2"), "Active", "Failed"),
        (account("a1"), "Active", "Inactive"),
        (account("a3"), "Pending", "Active"),
    ]
    assert alert["changes"][0]["statusReason"] == "Service-linked role missing"
    assert alert["changeCount"] == 3
    assert alert["truncated"] is False
    assert alert["changesByStatus"] == {"Failed": 1, "Inactive": 1, "Active": 1}
    assert alert["memberCounts"] == {"Active": 1, "Inactive": 1, "Pending": 0, "Failed": 1}
    attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes == {
        "eventType": "MemberEnrollmentChanged",
        "status": "Failed",  # the most severe new status, for subscription filters
        "accountId": "123456789012",
        "region": "us-east-1",
        "service": "compute-optimizer",
    }
    subject = envelope["Subject"]
    assert subject == (
        "Compute Optimizer: 3 member enrollments changed, 1 now Failed (123456789012, us-east-1)"
    )
    assert subject.isascii() and len(subject) < 100


def test_email_and_chat_group_the_members_by_new_status(org: Organization) -> None:
    org.check()
    org.leave("a3")
    org.check()  # a3 missed once: the next listing confirms its departure
    org.member("a1", "Inactive", reason="Opted out by a user")
    org.member("a2", "Inactive")

    org.check()

    (published,) = org.aws.wire.published
    message = json.loads(published["Message"])
    assert set(message) == {"default", "email", "https"}
    email = message["email"]
    assert email.startswith("Compute Optimizer enrollment changed for 3 member accounts\n")
    assert (
        "Now Inactive: 2\n"
        f"- {account('a1')}  was Active: Opted out by a user\n"
        f"- {account('a2')}  was Active\n"
        "\n"
        "Left the organization: 1\n"
        f"- {account('a3')}  was Pending\n"
    ) in email
    assert all(len(line) <= 78 for line in email.splitlines() if not line.startswith("https:"))
    chat = json.loads(message["https"])
    assert chat["content"]["title"] == "Compute Optimizer enrollment changed for 3 member accounts"
    description = chat["content"]["description"]
    assert "\nNow Inactive (2)\n" in description
    assert f"\n{account('a1')} was Active: Opted out by a user\n" in description
    assert "\nLeft the organization (1)\n" in description
    assert chat["content"]["keywords"] == ["Inactive", "us-east-1"]
    assert chat["metadata"]["eventType"] == "MemberEnrollmentChanged"
    assert chat["metadata"]["threadId"].startswith("compute-optimizer-members-")


def test_a_new_member_is_reported_without_a_previous_status(org: Organization) -> None:
    org.check()
    org.member("a4", "Pending")

    org.check()

    (alert,) = org.member_alerts()
    assert transitions(alert) == [(account("a4"), None, "Pending")]
    org.check()
    assert org.alerts() == []


def test_a_member_that_leaves_is_reported_once_and_as_new_if_it_returns(
    org: Organization,
) -> None:
    org.check()
    org.leave("a2")

    result = org.check()
    assert result["checked"][0]["members"]["outcome"] == Outcome.UNCONFIRMED
    assert org.alerts() == []  # one listing that misses a member is no departure yet
    org.check()
    org.check()
    org.member("a2", "Active")
    org.check()

    removed, returned = org.member_alerts()
    assert transitions(removed) == [(account("a2"), "Active", None)]
    assert removed["changesByStatus"] == {"Removed": 1}
    assert transitions(returned) == [(account("a2"), None, "Active")]


def test_a_member_that_left_is_forgotten_by_the_next_check_that_writes(org: Organization) -> None:
    org.check()
    org.leave("a2")
    org.check()
    org.check()
    assert org.remembered()[account("a2")] == GONE  # kept: it left

    org.member("a1", "Inactive")
    org.check()

    assert account("a2") not in org.remembered()
    assert len(org.member_alerts()) == 2


def test_a_member_skipped_by_a_listing_as_another_leaves_is_not_reported(
    aws: LocalAws,
) -> None:
    org = Organization(aws, **{f"{i:012d}": "Active" for i in range(250)})
    org.check()
    org.leave_between_pages(f"{10:012d}")  # listed on the first page, gone before the second

    # The second page starts one member later than it should: 000000000100 is listed on
    # neither. The next listing names it again, and confirms that 000000000010 left.
    for _ in range(3):
        org.check()

    (alert,) = org.member_alerts()
    assert transitions(alert) == [(f"{10:012d}", "Active", None)]
    org.check()
    assert org.alerts() == []


def test_a_member_the_first_listing_skipped_is_never_reported_as_new(aws: LocalAws) -> None:
    org = Organization(aws, **{f"{i:012d}": "Active" for i in range(250)})
    org.leave_between_pages(f"{10:012d}")

    org.check()  # the baseline: its second listing names the member its first one skipped
    assert len(org.remembered()) == 250
    for _ in range(3):
        org.check()

    (alert,) = org.member_alerts()
    assert transitions(alert) == [(f"{10:012d}", "Active", None)]


def test_a_member_listed_twice_is_one_member_compared_and_counted_once(
    org: Organization, capsys: Any
) -> None:
    org.check()
    org.listed.append({"accountId": account("a1"), "status": "Inactive"})  # listed again
    capsys.readouterr()

    result = org.check()

    summary = {"outcome": Outcome.NOTHING, "members": 3, "changed": 0}
    assert result["checked"][0]["members"] == summary
    assert org.alerts() == []
    counts = by_status(capsys.readouterr().out, "MemberAccounts")
    assert counts == {"Active": 2, "Pending": 1}  # no series for a status no member holds


def test_member_alert_survives_an_sns_outage_and_is_sent_once(org: Organization) -> None:
    org.check()
    org.member("a1", "Inactive")
    org.aws.wire.fail("sns", "Publish", "InternalError", times=10)

    with pytest.raises(MonitorError, match="sns:Publish in us-east-1 failed"):
        org.check()
    assert org.alerts() == []

    org.aws.wire.heal()
    result = org.check()

    (alert,) = org.member_alerts()
    assert transitions(alert) == [(account("a1"), "Active", "Inactive")]
    assert result["checked"][0]["alertsSent"] == 1
    org.check()
    assert org.alerts() == []


def test_member_changes_seen_during_an_sns_outage_are_all_sent_in_order(
    org: Organization,
) -> None:
    org.check()
    org.aws.wire.fail("sns", "Publish", "InternalError", times=100)
    for status in ("Pending", "Failed"):
        org.member("a1", status)
        with pytest.raises(MonitorError):
            org.check()
    org.aws.wire.heal()

    org.check()

    assert [transitions(a) for a in org.member_alerts()] == [
        [(account("a1"), "Active", "Pending")],
        [(account("a1"), "Pending", "Failed")],
    ]


def test_account_and_member_changes_in_one_check_are_sent_account_first(
    org: Organization,
) -> None:
    org.check()
    org.status("Inactive")
    org.member("a1", "Inactive")

    org.check()

    account_alert, members_alert = org.alerts()
    assert account_alert["eventType"] == "EnrollmentStatusChanged"
    assert members_alert["eventType"] == "MemberEnrollmentChanged"


@pytest.mark.parametrize(
    ("between", "first_does", "second_does"),
    [
        # The first has read the account's observation only: the second does it all.
        ("dynamodb:Query", (Outcome.NOTHING, 0), (Outcome.CHANGED, 1)),
        # The first is reading the members: the second closes the round, the first then finds
        # the round closed since it loaded the members.
        (
            "compute-optimizer:GetEnrollmentStatusesForOrganization",
            (Outcome.LOST_RACE, 0),
            (Outcome.CHANGED, 1),
        ),
        # The first holds the members' lease / has written the changed members.
        ("dynamodb:UpdateItem", (Outcome.CHANGED, 1), (Outcome.LOST_RACE, 0)),
        ("dynamodb:BatchWriteItem", (Outcome.CHANGED, 1), (Outcome.LOST_RACE, 0)),
        # The first owes the alert: the second delivers it, the first finds it taken.
        ("dynamodb:TransactWriteItems", (Outcome.CHANGED, 0), (Outcome.NOTHING, 1)),
        # The first has sent the alert and not yet forgotten it; its lease stands.
        ("sns:Publish", (Outcome.CHANGED, 1), (Outcome.NOTHING, 0)),
    ],
)
def test_two_invocations_racing_send_one_member_alert(
    aws: LocalAws, between: str, first_does: tuple[Outcome, int], second_does: tuple[Outcome, int]
) -> None:
    first = Organization(aws, a1="Active", a2="Active")
    second = Monitor(aws)
    first.check()
    first.member("a1", "Inactive")
    first.member("a2", "Failed")
    seconds: list[dict[str, Any]] = []

    aws.wire.once_after(between, lambda: seconds.append(second.check(cold=True)))
    result = first.check(cold=True)

    assert did(result) == first_does
    assert did(seconds[0]) == second_does
    (alert,) = first.member_alerts()
    assert sorted(transitions(alert)) == [
        (account("a1"), "Active", "Inactive"),
        (account("a2"), "Active", "Failed"),
    ]
    first.check()
    second.check()
    assert first.alerts() == []


def did(result: dict[str, Any]) -> tuple[Outcome, int]:
    """What a check did with the members, and how many alerts it sent."""
    (region,) = result["checked"]
    return region["members"]["outcome"], region.get("alertsSent", 0)


class Crash(BaseException):
    """The sandbox dies (timeout, out of memory): no handler of the monitor runs."""


def crash() -> None:
    raise Crash


@pytest.mark.parametrize(
    ("dies_after", "changed"),
    [
        ("dynamodb:UpdateItem", 30),  # it took the members' lease
        ("dynamodb:BatchWriteItem", 30),  # it wrote 25 of the 30 changed members
        ("dynamodb:BatchWriteItem", 25),  # it wrote them all: the next check has none to write
    ],
)
def test_changes_written_by_a_crashed_check_are_reported_once_its_lease_ends(
    aws: LocalAws, dies_after: str, changed: int
) -> None:
    org = Organization(aws, **{f"{100000000000 + i}": "Active" for i in range(40)})
    org.check()
    for i in range(changed):
        org.member(f"{100000000000 + i}", "Inactive")
    aws.wire.once_after(dies_after, crash)
    with pytest.raises(Crash):
        org.check(remaining_millis=30_000)

    result = org.check(cold=True)  # the lease (30 s + margin) still stands
    assert result["checked"][0]["members"]["outcome"] == Outcome.LOST_RACE
    assert org.alerts() == []

    check_at(datetime.now(UTC) + timedelta(minutes=1))
    (alert,) = org.member_alerts()
    assert sorted(transitions(alert)) == [
        (f"{100000000000 + i}", "Active", "Inactive") for i in range(changed)
    ]
    check_at(datetime.now(UTC) + timedelta(minutes=2))
    assert org.alerts() == []


def test_a_change_that_reverts_after_a_crash_is_not_reported(aws: LocalAws) -> None:
    org = Organization(aws, a1="Active", a2="Active")
    org.check()
    org.member("a1", "Inactive")
    aws.wire.once_after("dynamodb:BatchWriteItem", crash)
    with pytest.raises(Crash):
        org.check(remaining_millis=30_000)
    org.member("a1", "Active")

    result = check_at(datetime.now(UTC) + timedelta(minutes=1))

    assert result.subjects[0].members == MembersSummary(Outcome.REPAIRED, members=2, changed=0)
    assert org.alerts() == []
    assert org.remembered()[account("a1")] == "Active"  # no longer an unreported change


def test_alert_owed_by_a_check_that_crashed_before_sending_is_sent_once(aws: LocalAws) -> None:
    org = Organization(aws, a1="Active")
    org.check()
    org.member("a1", "Failed")
    aws.wire.once_after("dynamodb:TransactWriteItems", crash)
    with pytest.raises(Crash):
        org.check()

    org.check(cold=True)
    org.check()

    (alert,) = org.member_alerts()
    assert transitions(alert) == [(account("a1"), "Active", "Failed")]


def test_a_failed_member_write_fails_the_check_and_the_next_check_reports(
    org: Organization,
) -> None:
    org.check()
    org.member("a1", "Inactive")
    org.aws.wire.fail("dynamodb", "BatchWriteItem", "InternalServerError", times=4)

    with pytest.raises(MonitorError, match="dynamodb:BatchWriteItem in us-east-1 failed"):
        org.check()
    assert org.alerts() == []

    org.check()  # the lease was given back: no need to wait for it to expire
    (alert,) = org.member_alerts()
    assert transitions(alert) == [(account("a1"), "Active", "Inactive")]


def test_a_non_management_account_gets_a_clear_error_after_its_own_check(
    org: Organization, capsys: Any
) -> None:
    org.status("Inactive")
    denied = ("compute-optimizer", "GetEnrollmentStatusesForOrganization")
    org.aws.wire.fail(*denied, "AccessDeniedException", http_status=400, times=2)
    capsys.readouterr()

    with pytest.raises(MonitorError) as failure:
        org.check()

    message = str(failure.value)
    assert "compute-optimizer:GetEnrollmentStatusesForOrganization in us-east-1 failed" in message
    assert "AccessDeniedException" in message
    # What AWS documents, and how to tell which account this is (issue 21, item 5).
    assert "API reference documents this call for an organization's management account" in message
    assert "list-delegated-administrators --service-principal compute-optimizer" in message
    assert "TrackMemberAccounts" in message
    (alert,) = org.alerts()  # the account's own check completed and alerted
    assert alert["eventType"] == "EnrollmentStatusChanged"
    assert roster(org.aws).round is None and org.remembered() == {}
    # The members step failed, so the check did not complete: no heartbeat (DESIGN, Metrics).
    assert heartbeats(capsys.readouterr().out) == []

    with pytest.raises(MonitorError, match="delegated administrator"):
        org.check()  # the next check fails the same way, without sending anything again
    assert org.alerts() == []


@pytest.mark.thorough
def test_a_ten_thousand_member_organization_writes_only_what_changed(aws: LocalAws) -> None:
    size, changed = 10_000, 100
    org = Organization(aws)
    org.listed[:] = [{"accountId": f"{i:012d}", "status": "Active"} for i in range(size)]

    org.check()  # the baseline writes every member once
    assert writes(aws) == {
        "dynamodb:PutItem": 2,  # the account's observation, the subjects watched
        "dynamodb:UpdateItem": 2,  # the members' lease, taken and given back
        "dynamodb:BatchWriteItem": math.ceil(size / 25),
    }

    aws.wire.calls.clear()
    org.check()
    assert writes(aws) == {}
    # 10,000 members fit in one 1 MB page; the others: the observation, the subjects watched.
    assert aws.wire.calls["dynamodb:Query"] == 3

    for i in range(0, size, size // changed):
        org.listed[i] = {"accountId": f"{i:012d}", "status": "Inactive"}
    aws.wire.calls.clear()
    org.check()
    assert writes(aws) == {
        "dynamodb:UpdateItem": 3,  # the members' lease; the alert's and its event's leases
        "dynamodb:BatchWriteItem": math.ceil(changed / 25),
        "dynamodb:TransactWriteItems": 1,  # the alert owed (to SNS, as an event), the version,
        # the round closed
        "dynamodb:DeleteItem": 2,  # the alert and its event delivered
    }
    (alert,) = org.member_alerts()
    assert alert["changeCount"] == changed


def test_a_long_change_list_is_cut_to_fit_one_sns_message(aws: LocalAws) -> None:
    org = Organization(aws)
    org.check()  # an empty organization: the baseline
    reason = "Pending review by the security team, see ticket SEC-1234 (é)" * 3
    org.listed[:] = [
        {"accountId": f"{i:012d}", "status": "Inactive", "statusReason": reason}
        for i in range(3_000)
    ]

    org.check()

    (published,) = aws.wire.published
    size = (
        len(published["Message"].encode())
        + len(published["Subject"].encode())
        + sum(
            len(name.encode()) + len(value["DataType"]) + len(value["StringValue"].encode())
            for name, value in published["MessageAttributes"].items()
        )
    )
    assert size <= SNS_MESSAGE_LIMIT
    message = json.loads(published["Message"])
    document = json.loads(message["default"])
    listed = len(document["changes"])
    assert document["truncated"] is True
    assert document["changeCount"] == 3_000
    assert 100 < listed < 3_000
    assert document["changes"][0]["statusReason"] == reason
    assert f"This alert lists {listed:,} of the 3,000 changes" in message["email"].replace(
        "\n", " "
    )
    assert "Now Inactive: 3,000" in message["email"]
    (delivered,) = org.alerts()  # and a subscriber receives it
    assert delivered["changeCount"] == 3_000


REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")


def test_the_organization_is_listed_once_per_check_whatever_the_number_of_regions() -> None:
    with local_aws(regions=REGIONS) as aws:
        org = Organization(aws, a1="Active", a2="Inactive")
        for region in REGIONS:
            org.status("Active", region=region)
            aws.compute_optimizer.members[region] = org.listed

        org.check()  # the baseline lists the organization twice
        aws.wire.calls.clear()
        org.member("a2", "Active")
        org.check()

        listing = "compute-optimizer:GetEnrollmentStatusesForOrganization"
        assert aws.wire.calls[listing] == 1  # one page, once per check
        (alert,) = org.member_alerts()
        assert alert["region"] == "us-east-1"  # the function's own Region


def test_a_user_who_names_several_listing_regions_gets_a_listing_in_each() -> None:
    with local_aws(regions=REGIONS) as aws:
        os.environ["MEMBER_LISTING_REGIONS"] = "eu-west-1,ap-south-1"
        org = Organization(aws, a1="Active")
        for region in REGIONS:
            org.status("Active", region=region)
            aws.compute_optimizer.members[region] = org.listed
        org.check()
        aws.wire.calls.clear()

        result = org.check()

        assert aws.wire.calls["compute-optimizer:GetEnrollmentStatusesForOrganization"] == 2
        assert ["members" in region for region in result["checked"]] == [False, True, True]
