"""`python -m enrollment_monitor status`: read-only, readable, and clear when it cannot read;
and what every command shares: exit codes, --profile, --region, --json."""

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from storage import nothing_stored

from devtools.local_aws.aws_requests import EMPTY_BODY, PROXY_PAGE
from devtools.local_aws.resources import LocalAws
from devtools.local_aws.template import ACCOUNT_ID
from enrollment_monitor.cli import main

from conftest import Monitor


def test_status_prints_the_live_enrollment(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor.aws.compute_optimizer.set_enrollment(
        "us-east-1", "Pending", "Members are being enrolled", numberOfMemberAccountsOptedIn=12
    )

    assert main(["status"]) == 1

    out = capsys.readouterr().out
    assert "Compute Optimizer enrollment in us-east-1: Pending" in out
    assert "reason:           Members are being enrolled" in out
    assert "members opted in: 12" in out
    assert out.rstrip().endswith("not Active: us-east-1 (Pending)")
    assert nothing_stored(monitor.aws) and monitor.alerts() == []


@pytest.mark.parametrize(
    ("eu_west_1", "exit_code", "not_active"),
    [("Inactive", 1, ["eu-west-1"]), ("Active", 0, [])],
)
def test_status_json_covers_each_region_and_names_those_not_active(
    monitor: Monitor,
    capsys: pytest.CaptureFixture[str],
    eu_west_1: str,
    exit_code: int,
    not_active: list[str],
) -> None:
    monitor.status("Active", region="us-east-1")
    monitor.status(eu_west_1, region="eu-west-1")

    code = main(["status", "--json", "--region", "us-east-1", "--region", "eu-west-1"])

    printed = json.loads(capsys.readouterr().out)
    assert {region: e["status"] for region, e in printed["regions"].items()} == {
        "us-east-1": "Active",
        "eu-west-1": eu_west_1,
    }
    assert code == printed["exitCode"] == exit_code and printed["notActive"] == not_active


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

    assert main(["status", "--members"]) == 2

    assert "GetEnrollmentStatusesForOrganization in us-east-1 failed" in capsys.readouterr().err


def test_permission_denied_is_a_message_not_a_traceback(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor.aws.wire.fail(
        "compute-optimizer", "GetEnrollmentStatus", "AccessDeniedException", http_status=400
    )

    assert main(["status"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: compute-optimizer:GetEnrollmentStatus in us-east-1 failed")
    assert "must allow compute-optimizer:GetEnrollmentStatus" in err


def without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
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
    monkeypatch.setattr("boto3.DEFAULT_SESSION", None)


def test_missing_credentials_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    without_credentials(monkeypatch)

    assert main(["status", "--region", "us-east-1"]) == 2

    assert "configure AWS credentials" in capsys.readouterr().err


def test_status_reads_the_region_from_aws_region_as_lambda_and_the_aws_cli_do(
    monitor: Monitor, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor.status("Active", region="us-east-1")
    monitor.status("Inactive", region="eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    assert main(["status"]) == 1

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


# ------------------------------------------------------------------------------ --also-watch

EVERYTHING = [
    "--also-watch",
    "CostOptimizationHub,ComputeOptimizerAutomation",
    "--also-watch",
    "OrganizationAccess",
]


def healthy_organization(monitor: Monitor) -> None:
    """As the monitor's AlsoWatch tests have it: the Hub and trusted access on, a delegated
    administrator, Automation kept off on purpose."""
    monitor.status("Active")
    monitor.aws.compute_optimizer.set_hub(ACCOUNT_ID, "Active")
    monitor.aws.compute_optimizer.set_automation("us-east-1", "Inactive")
    monitor.aws.trusted_access(enabled=True)
    monitor.aws.delegated_administrator(registered=True)


def test_status_also_shows_each_service_also_watch_names(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    healthy_organization(monitor)

    assert main(["status", *EVERYTHING]) == 0

    out = capsys.readouterr().out
    assert "Compute Optimizer enrollment in us-east-1: Active" in out
    assert "Cost Optimization Hub enrollment (account, read in us-east-1): Active" in out
    assert (
        "Compute Optimizer Automation enrollment (account, read in us-east-1): Inactive "
        "(watched for changes only)" in out
    )
    assert "Organizations trusted access for Compute Optimizer (organization, read in" in out
    assert "Compute Optimizer delegated administrator (organization, read in us-east-1): " in out
    assert "reason:           delegated administrator: account " in out
    assert "not Active" not in out and nothing_stored(monitor.aws)


@pytest.mark.parametrize(
    ("breaking", "named"),
    [
        (
            lambda aws: aws.compute_optimizer.set_hub(ACCOUNT_ID, "Inactive"),
            "cost-optimization-hub (Inactive)",
        ),
        (lambda aws: aws.trusted_access(enabled=False), "organization-access (Inactive)"),
    ],
    ids=["hub", "trusted access"],
)
def test_status_exits_1_naming_a_service_not_active(
    monitor: Monitor,
    capsys: pytest.CaptureFixture[str],
    breaking: Callable[[LocalAws], None],
    named: str,
) -> None:
    healthy_organization(monitor)
    breaking(monitor.aws)

    assert main(["status", *EVERYTHING]) == 1

    assert capsys.readouterr().out.rstrip().endswith(f"not Active: {named}")


def test_automation_and_the_administrator_never_make_status_exit_1(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    """Watched for changes only: Automation on or off, an administrator or none, is no fault."""
    healthy_organization(monitor)
    monitor.aws.delegated_administrator(registered=False)
    for automation in ("Inactive", "Active"):
        monitor.aws.compute_optimizer.set_automation("us-east-1", automation)

        assert main(["status", *EVERYTHING]) == 0

        out = capsys.readouterr().out
        assert f"Automation enrollment (account, read in us-east-1): {automation} " in out
        assert "administrator (organization, read in us-east-1): NotRegistered" in out


def test_status_json_lists_every_subject_and_names_those_not_active(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    healthy_organization(monitor)
    monitor.status("Inactive", "Opted out by alice", region="eu-west-1")
    monitor.aws.compute_optimizer.set_hub(ACCOUNT_ID, "Inactive")

    code = main(["status", "--json", "--region", "us-east-1", "--region", "eu-west-1", *EVERYTHING])

    printed = json.loads(capsys.readouterr().out)
    assert code == printed["exitCode"] == 1
    assert printed["notActive"] == ["eu-west-1", "cost-optimization-hub"]
    assert {r: e["status"] for r, e in printed["regions"].items()} == {
        "us-east-1": "Active",
        "eu-west-1": "Inactive",
    }
    shown = [
        (s["service"], s["scope"], s["region"], s["expectsActive"], s["status"])
        for s in printed["subjects"]
    ]
    assert shown == [
        ("compute-optimizer", "Region", "us-east-1", True, "Active"),
        ("compute-optimizer", "Region", "eu-west-1", True, "Inactive"),
        ("cost-optimization-hub", "account", "us-east-1", True, "Inactive"),
        ("compute-optimizer-automation", "account", "us-east-1", False, "Inactive"),
        ("organization-access", "organization", "us-east-1", True, "Active"),
        ("delegated-administrator", "organization", "us-east-1", False, "Registered"),
    ]
    assert printed["subjects"][1]["statusReason"] == "Opted out by alice"


@pytest.mark.parametrize(
    ("value", "service", "operation"),
    [
        ("CostOptimizationHub", "cost-optimization-hub", "ListEnrollmentStatuses"),
        ("ComputeOptimizerAutomation", "aco-automation", "GetEnrollmentConfiguration"),
        ("OrganizationAccess", "organizations", "ListAWSServiceAccessForOrganization"),
    ],
)
def test_a_service_read_refused_exits_2_naming_the_permission(
    monitor: Monitor,
    capsys: pytest.CaptureFixture[str],
    value: str,
    service: str,
    operation: str,
) -> None:
    healthy_organization(monitor)
    monitor.aws.wire.fail(service, operation, "AccessDeniedException", 400, times=3)

    assert main(["status", "--also-watch", value]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert f"IAM policy must allow {service}:{operation}" in err


def test_a_hub_answer_listing_other_accounts_is_no_status(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without includeOrganizationInfo the Hub lists the caller alone: status, which does not
    know its account, takes that one entry and no other."""
    healthy_organization(monitor)
    monitor.aws.compute_optimizer.set_hub("111111111111", "Inactive")

    assert main(["status", "--also-watch", "CostOptimizationHub"]) == 2

    assert "listing 2 accounts" in capsys.readouterr().err


def test_also_watch_takes_only_what_also_watch_takes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--also-watch", "CostOptimizationHub,Hub"]) == 2

    err = capsys.readouterr().err
    assert "Hub is not one of CostOptimizationHub, ComputeOptimizerAutomation" in err


# ------------------------------------------------------------------------------ every command

COMMANDS = {"status": ["status"], "verify": ["verify", "--stack", "team-enrollment"]}


def _in_the_way(answer: str, http_status: int) -> Callable[[Monitor, pytest.MonkeyPatch], None]:
    """Not AWS but a proxy answers every call a command makes first, with ``answer``."""

    def given(monitor: Monitor, monkeypatch: pytest.MonkeyPatch) -> None:
        for service, operation in (
            ("compute-optimizer", "GetEnrollmentStatus"),
            ("cloudformation", "DescribeStacks"),
        ):
            monitor.aws.wire.fail(service, operation, answer, http_status, times=3)

    return given


# What a command says when not AWS but something in the way answers.
NOT_AWS = "a proxy, a firewall or an endpoint URL may be in the way: check HTTPS_PROXY"


CAUSES = {
    "no credentials": (
        lambda monitor, monkeypatch: without_credentials(monkeypatch),
        "configure AWS credentials",
    ),
    "no such profile": (
        lambda monitor, monkeypatch: monkeypatch.setenv("AWS_PROFILE", "no-such-profile"),
        "no AWS profile named 'no-such-profile' (--profile or AWS_PROFILE): `aws configure "
        "list-profiles` lists",
    ),
    "an unknown Region": (
        lambda monitor, monkeypatch: monkeypatch.setenv("AWS_REGION", "us-east1"),
        "unknown Region 'us-east1': pass a Region's code, such as us-east-1",
    ),
    "a proxy's page": (
        _in_the_way(PROXY_PAGE, 403),
        f'an HTML page titled "Access denied by policy"; {NOT_AWS}',
    ),
    # botocore parses a 200 whose body is not AWS's into an empty answer: never a verdict.
    "a proxy's page with HTTP 200": (_in_the_way(PROXY_PAGE, 200), NOT_AWS),
    "an empty body with HTTP 200": (_in_the_way(EMPTY_BODY, 200), NOT_AWS),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("cause", CAUSES)
def test_the_same_cause_exits_2_with_one_line_in_every_command(
    monitor: Monitor,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    cause: str,
) -> None:
    given, said = CAUSES[cause]
    given(monitor, monkeypatch)
    monkeypatch.setattr("boto3.DEFAULT_SESSION", None)

    assert main(COMMANDS[command]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1
    assert said in err and "<html" not in err.lower() and "<!doctype" not in err.lower()

    given(monitor, monkeypatch)  # a fault is used up
    assert main([*COMMANDS[command], "--json"]) == 2
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert printed == {"error": err_line(printed), "exitCode": 2} and said in printed["error"]


def err_line(printed: dict[str, object]) -> str:
    error = printed["error"]
    assert isinstance(error, str) and "\n" not in error
    return error


def test_an_empty_error_body_is_one_line_too(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    monitor.aws.wire.fail("compute-optimizer", "GetEnrollmentStatus", EMPTY_BODY, 403)

    assert main(["status"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HTTP 403 with an empty body; a proxy" in err


def test_an_unknown_region_is_refused_before_any_call(
    monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--region", "eu-west-1", "--region", "eu-west1"]) == 2

    assert "unknown Region 'eu-west1'" in capsys.readouterr().err
    assert monitor.aws.compute_optimizer.calls == []


def test_status_reads_with_the_profile_given(
    monitor: Monitor,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile audit]\nregion = eu-west-1\n"
        "aws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    monitor.status("Active", region="eu-west-1")

    assert main(["status", "--profile", "audit"]) == 0

    assert "Compute Optimizer enrollment in eu-west-1: Active" in capsys.readouterr().out


@pytest.mark.parametrize("arguments", [["verify", "--json"], ["status", "--json", "--bogus"]])
def test_json_is_printed_for_a_wrong_option_too(
    capsys: pytest.CaptureFixture[str], arguments: list[str]
) -> None:
    assert main(arguments) == 2

    out, err = capsys.readouterr()
    assert json.loads(out)["exitCode"] == 2 and err == ""


@pytest.mark.parametrize("command", [[], ["status"], ["verify"]])
def test_help_documents_the_exit_codes_and_the_common_options(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])

    shown = capsys.readouterr().out
    assert exited.value.code == 0
    assert "0  status: every Region is Active" in shown
    assert "1  status: a Region is not Active (named)" in shown
    assert "2  cannot tell" in shown
    if command:
        assert all(option in shown for option in ("--profile", "--region", "--json"))


def test_an_unexpected_error_exits_2_never_1_which_means_not_active(
    monitor: Monitor, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("enrollment_monitor.subjects.compute_optimizer.read_enrollment", broken)

    assert main(["status", "--json"]) == 2

    assert json.loads(capsys.readouterr().out)["error"].startswith("unexpected RuntimeError: a bug")


# ------------------------------------------------------------------------------ a reader leaves

ROOT = Path(__file__).resolve().parents[2]

# The command line as the installed script runs it (`sys.exit(main())`, then the interpreter's
# own flush of stdout), in its own process, on the local stand-ins.
_COMMAND_ON_LOCAL_AWS = """
import sys
from devtools.local_aws.resources import local_aws
from enrollment_monitor.cli import main

status, members = sys.argv[1], int(sys.argv[2])
with local_aws() as aws:
    aws.compute_optimizer.set_enrollment("us-east-1", status)
    aws.compute_optimizer.members["us-east-1"] = [
        {"accountId": f"{n:012d}", "status": "Active"} for n in range(1, members + 1)
    ]
    code = main(sys.argv[3:])
sys.exit(code)
"""


def command_line(status: str, members: int, *arguments: str) -> list[str]:
    return [sys.executable, "-c", _COMMAND_ON_LOCAL_AWS, status, str(members), *arguments]


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT)])}


@pytest.mark.parametrize(
    ("status", "members", "arguments", "verdict"),
    [
        ("Active", 3, ["status", "--members"], 0),  # all of it waits in the buffer until exit
        ("Active", 3000, ["status", "--members"], 0),  # more than a pipe holds: print fails
        ("Active", 3000, ["status", "--members", "--json"], 0),
        ("Inactive", 3000, ["status", "--members"], 1),
        ("Active", 0, ["status", "--json", "--region", "eu-west1"], 2),
    ],
    ids=["short", "long", "json", "not-active", "cannot-tell"],
)
def test_a_reader_that_stopped_reading_leaves_the_verdict_as_it_was(
    status: str, members: int, arguments: list[str], verdict: int
) -> None:
    reading, writing = os.pipe()
    os.close(reading)  # the reader left before the first byte: every write meets EPIPE
    try:
        ran = subprocess.run(
            command_line(status, members, *arguments),
            cwd=ROOT,
            env=_environment(),
            stdout=writing,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(writing)

    assert ran.returncode == verdict, ran.stderr
    assert "BrokenPipeError" not in ran.stderr and "Traceback" not in ran.stderr


def test_status_members_piped_to_head_exits_0_under_pipefail_for_an_active_account() -> None:
    command = shlex.join(command_line("Active", 3000, "status", "--members"))
    ran = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -c 1"],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert (ran.returncode, ran.stdout) == (0, "C"), ran.stderr  # "Compute Optimizer ..."
