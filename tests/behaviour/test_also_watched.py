"""AlsoWatch: Cost Optimization Hub, Compute Optimizer Automation and the organization's access
are subjects like Compute Optimizer's Regions: each change alerted once, naming the damage, a
steady check silent and write-free, a read refused loud (issue 21)."""

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from storage import corrupt_observation

from devtools.local_aws.aws_requests import EMPTY_BODY
from devtools.local_aws.resources import LocalAws
from devtools.local_aws.template import ACCOUNT_ID, REGION
from enrollment_monitor.errors import MonitorError

from conftest import Monitor, heartbeats

EVERYTHING = "CostOptimizationHub,ComputeOptimizerAutomation,OrganizationAccess"
STATE_WRITES = ("dynamodb:TransactWriteItems", "dynamodb:PutItem", "dynamodb:UpdateItem")


@pytest.fixture
def watching_everything(monkeypatch: pytest.MonkeyPatch, aws: LocalAws) -> Iterator[Monitor]:
    """Every AlsoWatch service, each as a healthy organization has it: the Hub and trusted
    access on, a delegated administrator, Automation off (kept off on purpose)."""
    monkeypatch.setenv("ALSO_WATCH", EVERYTHING)
    aws.compute_optimizer.set_enrollment(REGION, "Active")
    aws.compute_optimizer.set_hub(ACCOUNT_ID, "Active")
    aws.compute_optimizer.set_automation(REGION, "Inactive")
    aws.trusted_access(enabled=True)
    aws.delegated_administrator(registered=True)
    monitor = Monitor(aws)
    monitor.check()
    yield monitor


def hub(aws: LocalAws, status: str) -> None:
    aws.compute_optimizer.set_hub(ACCOUNT_ID, status)


def access(aws: LocalAws, status: str) -> None:
    aws.trusted_access(enabled=status == "Active")


def automation(aws: LocalAws, status: str) -> None:
    aws.compute_optimizer.set_automation(REGION, status)


def administrator(aws: LocalAws, status: str) -> None:
    aws.delegated_administrator(registered=status == "Registered")


# (service, how to set it, the way away from its baseline and back, what the damage names)
SUBJECTS = [
    ("cost-optimization-hub", hub, ("Inactive", "Active"), "savings estimation mode"),
    ("organization-access", access, ("Inactive", "Active"), "no longer opted in"),
    ("compute-optimizer-automation", automation, ("Active", "Inactive"), "delete EBS volumes"),
    ("delegated-administrator", administrator, ("NotRegistered", "Registered"), "can no longer"),
]


@pytest.mark.parametrize(
    ("service", "set_status", "away_and_back", "damage"), SUBJECTS, ids=[s[0] for s in SUBJECTS]
)
def test_each_subject_alerts_once_each_way_naming_the_damage(
    watching_everything: Monitor,
    service: str,
    set_status: Callable[[LocalAws, str], None],
    away_and_back: tuple[str, str],
    damage: str,
) -> None:
    monitor = watching_everything
    assert monitor.alerts() == []  # the first check is a silent baseline for every subject
    baseline = {"Inactive": "Active", "Active": "Inactive"}.get(away_and_back[0], "Registered")

    seen = []
    for status in away_and_back:
        set_status(monitor.aws, status)
        monitor.check()
        monitor.check()  # the same status again: nothing more
        seen += monitor.aws.deliveries()

    assert [
        (e["Message"]["previous"]["status"], e["Message"]["current"]["status"]) for e in seen
    ] == [
        (baseline, away_and_back[0]),
        (away_and_back[0], away_and_back[1]),
    ]
    away = seen[0]
    assert away["Message"]["service"] == service
    assert away["Message"]["scope"] in {"account", "organization"}
    assert damage in away["Message"]["damage"]
    assert away["MessageAttributes"]["service"]["Value"] == service
    email, chat = renderings(monitor.aws, service)
    assert damage in email
    assert damage in chat["content"]["description"]


def renderings(aws: LocalAws, service: str) -> tuple[str, dict[str, Any]]:
    """The email and the chat notification of the first alert published for ``service``."""
    published = [
        p for p in aws.wire.published if p["MessageAttributes"]["service"]["StringValue"] == service
    ]
    message = json.loads(published[0]["Message"])
    return message["email"], json.loads(message["https"])


def test_automation_turned_on_is_alerted_though_it_counts_for_no_alarm(
    watching_everything: Monitor, capsys: Any
) -> None:
    monitor = watching_everything
    automation(monitor.aws, "Active")
    capsys.readouterr()

    monitor.check()

    (alert,) = monitor.alerts()
    assert alert["current"]["status"] == "Active"
    assert "delete EBS volumes" in alert["damage"]
    assert heartbeats(capsys.readouterr().out) == [0.0]


@pytest.mark.parametrize("set_status", [hub, access], ids=["hub", "trusted access"])
def test_a_subject_expected_active_counts_in_the_one_not_active_series(
    watching_everything: Monitor, capsys: Any, set_status: Callable[[LocalAws, str], None]
) -> None:
    set_status(watching_everything.aws, "Inactive")
    capsys.readouterr()

    watching_everything.check()

    assert heartbeats(capsys.readouterr().out) == [1.0]


def test_a_steady_check_of_every_subject_reads_once_each_and_writes_nothing(
    watching_everything: Monitor,
) -> None:
    wire = watching_everything.aws.wire
    wire.calls.clear()

    watching_everything.check()
    calls = dict(wire.calls)

    assert watching_everything.alerts() == []
    assert not any(calls.get(write) for write in STATE_WRITES)
    assert calls == {
        "compute-optimizer:GetEnrollmentStatus": 1,
        "cost-optimization-hub:ListEnrollmentStatuses": 1,
        "aco-automation:GetEnrollmentConfiguration": 1,
        "organizations:ListAWSServiceAccessForOrganization": 1,
        "organizations:ListDelegatedAdministrators": 1,
        "dynamodb:Query": 6,  # one state read per subject, and the subjects watched before
    }


def test_at_the_defaults_no_other_service_is_read(monitor: Monitor) -> None:
    monitor.status("Active")
    monitor.aws.compute_optimizer.hub = []  # a Hub never enrolled
    monitor.aws.wire.calls.clear()

    monitor.check()

    assert set(monitor.aws.wire.calls) == {
        "compute-optimizer:GetEnrollmentStatus",
        "dynamodb:Query",
        "dynamodb:PutItem",  # the baseline
    }
    assert monitor.alerts() == []


def test_a_hub_never_enrolled_alerts_once_watched(
    monkeypatch: pytest.MonkeyPatch, monitor: Monitor
) -> None:
    monkeypatch.setenv("ALSO_WATCH", "CostOptimizationHub")
    monitor.status("Active")

    monitor.check()

    (alert,) = monitor.alerts()
    assert (alert["service"], alert["previous"], alert["current"]["status"]) == (
        "cost-optimization-hub",
        None,
        "Inactive",
    )
    assert alert["region"] == "us-east-1"


@pytest.mark.parametrize(
    ("value", "service", "operation", "call"),
    [
        (
            "CostOptimizationHub",
            "cost-optimization-hub",
            "ListEnrollmentStatuses",
            "cost-optimization-hub:ListEnrollmentStatuses",
        ),
        (
            "ComputeOptimizerAutomation",
            "aco-automation",
            "GetEnrollmentConfiguration",
            "aco-automation:GetEnrollmentConfiguration",
        ),
        (
            "OrganizationAccess",
            "organizations",
            "ListDelegatedAdministrators",
            "organizations:ListDelegatedAdministrators",
        ),
    ],
)
def test_a_read_refused_fails_naming_the_permission_without_a_heartbeat(
    monkeypatch: pytest.MonkeyPatch,
    monitor: Monitor,
    capsys: Any,
    value: str,
    service: str,
    operation: str,
    call: str,
) -> None:
    monkeypatch.setenv("ALSO_WATCH", value)
    monitor.aws.trusted_access(enabled=True)
    monitor.status("Active")
    monitor.aws.wire.fail(service, operation, "AccessDeniedException", 400, times=10)
    capsys.readouterr()

    with pytest.raises(MonitorError, match=f"IAM policy must allow {call}"):
        monitor.check()

    assert heartbeats(capsys.readouterr().out) == []


def test_an_organization_call_refused_says_which_account_it_needs(
    monkeypatch: pytest.MonkeyPatch, monitor: Monitor
) -> None:
    monkeypatch.setenv("ALSO_WATCH", "OrganizationAccess")
    monitor.status("Active")
    monitor.aws.wire.fail(
        "organizations", "ListAWSServiceAccessForOrganization", "AccessDeniedException", 400
    )

    with pytest.raises(MonitorError) as failure:
        monitor.check()

    assert "management account" in str(failure.value)
    assert "list-delegated-administrators" in str(failure.value)


def test_a_hub_answer_without_items_is_a_failed_call_never_a_status(
    monkeypatch: pytest.MonkeyPatch, monitor: Monitor, capsys: Any
) -> None:
    monkeypatch.setenv("ALSO_WATCH", "CostOptimizationHub")
    monitor.status("Active")
    monitor.aws.compute_optimizer.set_hub(ACCOUNT_ID, "Active")
    monitor.check()
    monitor.aws.wire.fail("cost-optimization-hub", "ListEnrollmentStatuses", EMPTY_BODY, 200)
    capsys.readouterr()

    with pytest.raises(MonitorError, match="ListEnrollmentStatuses in us-east-1 failed"):
        monitor.check()

    assert monitor.alerts() == []  # no Active -> Inactive -> Active from a page not AWS's
    assert heartbeats(capsys.readouterr().out) == []


# ------------------------------------------- the delegated administrator moved to another account


def test_a_delegated_administrator_moved_between_two_checks_alerts_once_naming_both_accounts(
    watching_everything: Monitor,
) -> None:
    monitor = watching_everything
    monitor.aws.events()  # the baseline put none; start from an empty queue all the same
    former, new = monitor.aws.move_delegated_administrator()  # between two checks

    monitor.check()
    monitor.check()  # the new administrator again: nothing more

    (delivery,) = monitor.aws.deliveries()
    (event,) = monitor.aws.events()
    alert = delivery["Message"]
    assert event["detail"] == alert
    assert (alert["previous"]["holders"], alert["current"]["holders"]) == ([former], [new])
    assert (alert["previous"]["status"], alert["current"]["status"]) == ("Registered",) * 2
    assert "can no longer manage" in alert["damage"] and "can now manage" in alert["damage"]
    assert delivery["Subject"] == (
        f"Compute Optimizer delegated administrator {former} -> {new} ({ACCOUNT_ID}, {REGION})"
    )
    headline = (
        "Compute Optimizer delegated administrator changed from "
        f"Registered (account {former}) to Registered (account {new})"
    )
    email, chat = renderings(monitor.aws, "delegated-administrator")
    assert email.startswith(headline)
    assert f"Held by:     {new} (was {former})" in email
    assert alert["damage"] in " ".join(email.split())  # the email wraps it
    assert chat["content"]["title"] == headline
    assert f"Held by: {new} (was {former})" in chat["content"]["description"]


def test_an_administrator_recorded_before_holders_were_kept_is_not_alerted_on_upgrade(
    watching_everything: Monitor,
) -> None:
    monitor = watching_everything
    # As the version before wrote it: the status and its reason, no holders.
    corrupt_observation(
        monitor.aws,
        "enrollment",
        {"S": json.dumps({"status": "Registered", "statusReason": "delegated administrator"})},
        region=f"{REGION}#delegated-administrator",
    )

    monitor.check()  # the holder recorded, silently
    monitor.aws.wire.calls.clear()
    monitor.check()
    writes = [call for call in monitor.aws.wire.calls if call in STATE_WRITES]
    former, new = monitor.aws.move_delegated_administrator()
    monitor.check()

    (alert,) = monitor.alerts()  # only the move, once the holder was known
    assert (alert["previous"]["holders"], alert["current"]["holders"]) == ([former], [new])
    assert writes == []  # recorded once: the check after it is steady again


def test_a_deregistered_administrator_alert_names_the_former_account(
    watching_everything: Monitor,
) -> None:
    former = watching_everything.aws.delegated_administrator(registered=False)

    watching_everything.check()

    email, _ = renderings(watching_everything.aws, "delegated-administrator")
    assert email.startswith(
        "Compute Optimizer delegated administrator changed from "
        f"Registered (account {former}) to NotRegistered\n"
    )
    assert f"Held by:     none (was {former})" in email
