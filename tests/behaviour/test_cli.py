"""`python -m enrollment_monitor status`: read-only, readable, and clear when it cannot read."""

import json

import pytest
from storage import nothing_stored

from enrollment_monitor.cli import main

from conftest import Monitor


def test_status_prints_the_live_enrollment(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor.aws.compute_optimizer.set_enrollment(
        "us-east-1", "Pending", "Members are being enrolled", numberOfMemberAccountsOptedIn=12
    )

    assert main(["status"]) == 0

    out = capsys.readouterr().out
    assert "Compute Optimizer enrollment in us-east-1: Pending" in out
    assert "reason:           Members are being enrolled" in out
    assert "members opted in: 12" in out
    assert nothing_stored(monitor.aws) and monitor.alerts() == []


def test_status_json_covers_each_region(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor.status("Active", region="us-east-1")
    monitor.status("Inactive", region="eu-west-1")

    assert main(["status", "--json", "--region", "us-east-1", "--region", "eu-west-1"]) == 0

    printed = json.loads(capsys.readouterr().out)
    assert {region: e["status"] for region, e in printed.items()} == {
        "us-east-1": "Active",
        "eu-west-1": "Inactive",
    }


def test_status_lists_members_when_asked(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor.status("Active")
    monitor.aws.compute_optimizer.members["us-east-1"] = [
        {"accountId": "222222222222", "status": "Inactive", "statusReason": "opted out"},
        {"accountId": "111111111111", "status": "Active"},
    ]

    assert main(["status", "--members"]) == 0

    out = capsys.readouterr().out
    assert "member accounts (2):" in out
    assert out.index("111111111111  Active") < out.index("222222222222  Inactive  (opted out)")


def test_members_of_a_non_management_account_is_a_message(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor.aws.wire.fail(
        "compute-optimizer",
        "GetEnrollmentStatusesForOrganization",
        "AccessDeniedException",
        http_status=400,
    )

    assert main(["status", "--members"]) == 1

    assert "GetEnrollmentStatusesForOrganization in us-east-1 failed" in capsys.readouterr().err


def test_permission_denied_is_a_message_not_a_traceback(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor.aws.wire.fail(
        "compute-optimizer", "GetEnrollmentStatus", "AccessDeniedException", http_status=400
    )

    assert main(["status"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: compute-optimizer:GetEnrollmentStatus in us-east-1 failed")
    assert "must allow compute-optimizer:GetEnrollmentStatus" in err


def test_missing_credentials_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    assert main(["status", "--region", "us-east-1"]) == 1

    assert "configure AWS credentials" in capsys.readouterr().err


def test_status_reads_the_region_from_aws_region_as_lambda_and_the_aws_cli_do(
    monitor: Monitor, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor.status("Active", region="us-east-1")
    monitor.status("Inactive", region="eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    assert main(["status"]) == 0

    assert "Compute Optimizer enrollment in eu-west-1: Inactive" in capsys.readouterr().out


def test_a_profile_that_does_not_exist_is_one_line_for_status_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setattr("boto3.DEFAULT_SESSION", None)

    assert main(["status", "--region", "us-east-1"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "no-such-profile" in err


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COMPUTE_OPTIMIZER"])
def test_the_stand_ins_answer_whatever_endpoint_url_the_request_goes_to(
    monitor: Monitor,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    """An endpoint URL (a local emulator's) names no service and no Region in its host: the
    Compute Optimizer stand-in knows the call by its signature, as AWS does."""
    monitor.status("Inactive", region="eu-west-1")
    monkeypatch.setenv(variable, "http://127.0.0.1:9")  # nothing listens: only the stand-in
    monkeypatch.setattr("boto3.DEFAULT_SESSION", None)

    main(["status", "--region", "eu-west-1"])

    assert "Compute Optimizer enrollment in eu-west-1: Inactive" in capsys.readouterr().out
    assert monitor.aws.compute_optimizer.calls == [("eu-west-1", "GetEnrollmentStatus")]
