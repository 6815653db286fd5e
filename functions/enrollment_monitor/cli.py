"""The ``enrollment-monitor`` command, with your own AWS credentials:

- ``status``: the live enrollment, read-only; nothing is written and nothing is sent.
- ``verify``: a checklist proving a deployed stack works (``enrollment_monitor.verify``).

Every command takes ``--profile``, ``--region`` and ``--json``, and exits as ``EXIT_CODES``
says: one cause, one exit code, whichever command meets it. With ``--json`` stdout is one JSON
document, errors included (``{"error": ..., "exitCode": 2}``); without it, an error is one line
on stderr that says what to do. A reader that stops reading (``| head``) changes no exit code:
the verdict is decided before anything is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ProfileNotFound, UnknownRegionError

from enrollment_monitor import __version__
from enrollment_monitor.clients import AwsClients
from enrollment_monitor.compute_optimizer import read_members
from enrollment_monitor.enrollment import (
    COMPUTE_OPTIMIZER,
    Enrollment,
    MemberEnrollment,
    WatchedSubject,
    iso,
)
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.subjects import (
    ALSO_WATCH_VALUES,
    compute_optimizer,
    service_of,
    subjects_of,
)
from enrollment_monitor.subjects.service import Service
from enrollment_monitor.verify import checklist, report

EXIT_CODES = """exit codes (the same in every command, for scripts):
  0  status: every Region is Active             verify: every check passed
  1  status: a Region is not Active (named)     verify: a check failed (with --require-active,
                                                also: the enrollment is not Active)
  2  cannot tell: an error from AWS or from what answered instead, no credentials, no Region or
     an unknown one, no such profile or stack, a wrong option"""
CANNOT_TELL = 2


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    text: str
    document: dict[str, Any]


class CannotTell(MonitorError):
    """The command cannot answer: exit code 2, one line saying what to do."""


class _UsageError(Exception):
    def __init__(self, usage: str, message: str) -> None:
        super().__init__(message)
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(self.format_usage(), f"{self.prog}: error: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="enrollment-monitor",
        description="Read AWS Compute Optimizer enrollment, or verify a deployed monitor.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = _Parser(add_help=False)
    common.add_argument(
        "--profile", help="the AWS profile to use (default: AWS_PROFILE, else the default one)"
    )
    common.add_argument("--json", action="store_true", help="print JSON on stdout, errors included")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            parents=[common],
            help=summary,
            description=description,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    status = command(
        "status",
        "print the live Compute Optimizer enrollment",
        "The live Compute Optimizer enrollment, read-only; with --also-watch, also the "
        "services the stack's AlsoWatch watches. Compute Optimizer Automation and the "
        "delegated administrator are shown but, watched for changes only, never exit 1.",
    )
    status.add_argument(
        "--region",
        action="append",
        dest="regions",
        metavar="REGION",
        help="a Region to read (repeatable; default: your configured Region)",
    )
    status.add_argument(
        "--also-watch",
        action="append",
        type=_also_watched,
        default=[],
        metavar="SERVICE",
        help=f"also read what AlsoWatch watches: {', '.join(ALSO_WATCH_VALUES)} (repeatable, "
        "or separated by commas); each read once, the Hub in us-east-1, the others in the "
        "first Region",
    )
    status.add_argument(
        "--members",
        action="store_true",
        help="also list the organization's member accounts (management account only)",
    )
    verify = command(
        "verify",
        "check that a deployed stack's alerts, metrics and alarms work",
        "Read-only checks of a deployed enrollment-monitor stack.",
    )
    verify.add_argument("--stack", required=True, help="the stack's name")
    verify.add_argument("--region", help="the stack's Region (default: your configured one)")
    verify.add_argument(
        "--send-test",
        action="store_true",
        help="also invoke the function's test notification (the one thing that is sent)",
    )
    verify.add_argument(
        "--require-active",
        action="store_true",
        help="also fail when Compute Optimizer enrollment is not Active in a Region the stack "
        "watches (reads compute-optimizer:GetEnrollmentStatus in each)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    try:
        arguments = _parser().parse_args(argv)
        session, clients = _aws(arguments.profile)
        outcome = COMMANDS[arguments.command](arguments, session, clients)
    except _UsageError as error:
        if as_json:
            return _cannot_tell(str(error), as_json)
        _say(f"{error.usage}{error}", sys.stderr)  # as argparse prints it
        return CANNOT_TELL
    except (MonitorError, BotoCoreError) as error:
        return _cannot_tell(_explained(error), as_json)
    except Exception as error:  # noqa: BLE001 - a bug must not exit 1, which means "not Active"
        traceback.print_exc()
        return _cannot_tell(
            f"unexpected {type(error).__name__}: {error}: please report it", as_json
        )
    if as_json:
        _say(json.dumps({**outcome.document, "exitCode": outcome.exit_code}, indent=2))
    else:
        _say(outcome.text)
    return outcome.exit_code


def _say(text: str, stream: TextIO | None = None) -> None:
    """Prints ``text`` on ``stream`` (stdout). A reader that left (``| head``, EPIPE) gets no
    more, and is no verdict: the exit code stays the one already decided."""
    stream = stream or sys.stdout
    try:
        print(text, file=stream, flush=True)
    except BrokenPipeError:
        # What is still buffered goes nowhere, as the Python docs advise for SIGPIPE, so the
        # interpreter's own flush at exit does not fail again (exit 120).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _cannot_tell(message: str, as_json: bool) -> int:
    line = " ".join(message.split())  # one line, whatever AWS said
    if as_json:
        _say(json.dumps({"error": line, "exitCode": CANNOT_TELL}))
    else:
        _say(f"error: {line}", sys.stderr)
    return CANNOT_TELL


def _explained(error: Exception) -> str:
    if isinstance(error, ProfileNotFound):
        profile = error.kwargs.get("profile")
        return (
            f"no AWS profile named {profile!r} (--profile or AWS_PROFILE): "
            "`aws configure list-profiles` lists the ones in your AWS config files"
        )
    return str(error)


def _aws(profile: str | None) -> tuple[boto3.Session, AwsClients]:
    """The session (the profile's, or the default chain's) and the clients made from it."""
    session = boto3.Session(profile_name=profile)
    # Without --profile, the clients boto3.client makes: the default session's.
    return session, AwsClients(session if profile else None)


def configured_region(session: boto3.Session) -> str:
    """The Region as the AWS CLI would pick it, and as Lambda sets it: botocore reads
    AWS_DEFAULT_REGION and the profile, not AWS_REGION."""
    region = os.environ.get("AWS_REGION") or session.region_name
    if not region:
        raise CannotTell("no Region configured: pass --region or set AWS_REGION")
    return str(region)


def known_region(session: boto3.Session, region: str) -> str:
    """``region``, if a partition of AWS can have it (botocore's partition data)."""
    try:
        session.get_partition_for_region(region)
    except UnknownRegionError:
        raise CannotTell(
            f"unknown Region {region!r}: pass a Region's code, such as us-east-1 or eu-west-1 "
            "(`aws account list-regions` lists them)"
        ) from None
    return region


def _also_watched(value: str) -> list[str]:
    """One --also-watch: AlsoWatch's values, separated by commas as the parameter takes them."""
    values = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in values if v not in ALSO_WATCH_VALUES]
    if unknown or not values:
        raise argparse.ArgumentTypeError(
            f"{', '.join(unknown) or repr(value)} is not one of {', '.join(ALSO_WATCH_VALUES)}"
        )
    return values


def _status(arguments: argparse.Namespace, session: boto3.Session, clients: AwsClients) -> Outcome:
    regions = arguments.regions or [configured_region(session)]
    regions = list(dict.fromkeys(known_region(session, region) for region in regions))
    also_watch = list(dict.fromkeys(v for values in arguments.also_watch for v in values))
    # The account is "": each reader then takes the caller's own answer.
    watched = subjects_of("", regions, also_watch, regions[0])
    enrollments = {
        s: service_of(s).read(clients.regional(service_of(s).client, s.region), s.region, "")
        for s in watched
    }
    members = {
        r: list(read_members(clients.compute_optimizer(r), r))
        for r in (regions if arguments.members else [])
    }
    not_active = [s for s, e in enrollments.items() if service_of(s).counts_not_active(e)]
    compute = [s for s in watched if s.service == COMPUTE_OPTIMIZER]
    document: dict[str, Any] = {"regions": {s.region: enrollments[s].to_dict() for s in compute}}
    for region, listed in members.items():
        document["regions"][region]["members"] = [_member_dict(m) for m in listed]
    document["subjects"] = [_subject_dict(s, e) for s, e in enrollments.items()]
    document["notActive"] = [_named(subject) for subject in not_active]
    text = "\n\n".join(
        describe(s.region, e, members.get(s.region) if s in compute else None, service_of(s))
        for s, e in enrollments.items()
    )
    if not_active:
        named = ", ".join(f"{_named(s)} ({enrollments[s].status})" for s in not_active)
        text += f"\n\nnot Active: {named}"
    return Outcome(1 if not_active else 0, text, document)


def _named(subject: WatchedSubject) -> str:
    """A subject in ``notActive``: Compute Optimizer's by its Region, as always; any other
    by its service."""
    return subject.region if subject.service == COMPUTE_OPTIMIZER else subject.service


def _subject_dict(subject: WatchedSubject, enrollment: Enrollment) -> dict[str, Any]:
    service = service_of(subject)
    return {
        "service": service.id,
        "scope": service.scope,
        "region": subject.region,
        "expectsActive": service.expects_active,
        **enrollment.to_dict(),
    }


def _verify(arguments: argparse.Namespace, session: boto3.Session, clients: AwsClients) -> Outcome:
    region = known_region(session, arguments.region or configured_region(session))
    stack, lines = checklist.run(
        clients,
        arguments.stack,
        region,
        arguments.send_test,
        require_active=arguments.require_active,
    )
    exit_code = 0 if all(line.passed for line in lines) else 1
    return Outcome(exit_code, report.as_text(stack, lines), report.as_document(stack, lines))


COMMANDS: dict[str, Callable[[argparse.Namespace, boto3.Session, AwsClients], Outcome]] = {
    "status": _status,
    "verify": _verify,
}


def _member_dict(member: MemberEnrollment) -> dict[str, str | None]:
    return {"accountId": member.account_id, "status": member.status, "reason": member.status_reason}


def describe(
    region: str,
    enrollment: Enrollment,
    members: list[MemberEnrollment] | None = None,
    service: Service = compute_optimizer.SERVICE,
) -> str:
    where = f"in {region}" if service.scope == "Region" else f"({service.scope}, read in {region})"
    changes_only = "" if service.expects_active else " (watched for changes only)"
    lines = [f"{service.watched} {where}: {enrollment.status}{changes_only}"]
    if enrollment.status_reason:
        lines.append(f"  reason:           {enrollment.status_reason}")
    if enrollment.last_updated:
        lines.append(f"  last updated:     {iso(enrollment.last_updated)}")
    if enrollment.member_accounts_enrolled is not None:
        enrolled = "yes" if enrollment.member_accounts_enrolled else "no"
        lines.append(f"  members enrolled: {enrolled}")
    if enrollment.member_accounts_opted_in is not None:
        lines.append(f"  members opted in: {enrollment.member_accounts_opted_in}")
    if members is not None:
        lines.append(f"  member accounts ({len(members)}):")
        for member in sorted(members, key=lambda m: (m.status, m.account_id)):
            reason = f"  ({member.status_reason})" if member.status_reason else ""
            lines.append(f"    {member.account_id}  {member.status}{reason}")
    return "\n".join(lines)
