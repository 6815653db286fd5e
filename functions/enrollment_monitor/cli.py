"""The ``enrollment-monitor`` command, with your own AWS credentials:

- ``status``: the live enrollment, read-only; nothing is written and nothing is sent.
- ``verify``: a checklist proving a deployed stack works (``enrollment_monitor.verify``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

import boto3
from botocore.exceptions import BotoCoreError

from enrollment_monitor import __version__
from enrollment_monitor.clients import AwsClients
from enrollment_monitor.compute_optimizer import read_enrollment, read_members
from enrollment_monitor.enrollment import Enrollment, MemberEnrollment, iso
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.verify import checklist, report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="enrollment-monitor",
        description="Read AWS Compute Optimizer enrollment, or verify a deployed monitor.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    status = commands.add_parser("status", help="print the live Compute Optimizer enrollment")
    status.add_argument(
        "--region",
        action="append",
        dest="regions",
        metavar="REGION",
        help="a Region to read (repeatable; default: your configured Region)",
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of text")
    status.add_argument(
        "--members",
        action="store_true",
        help="also list the organization's member accounts (management account only)",
    )
    verify = commands.add_parser(
        "verify",
        help="check that a deployed stack's alerts, metrics and alarms work",
        description="Read-only checks of a deployed enrollment-monitor stack. Exits 0 only "
        "when every check passes, 1 when one fails, 2 when it cannot check.",
    )
    verify.add_argument("--stack", required=True, help="the stack's name")
    verify.add_argument("--region", help="the stack's Region (default: your configured one)")
    verify.add_argument(
        "--send-test",
        action="store_true",
        help="also invoke the function's test notification (the one thing that is sent)",
    )
    verify.add_argument("--json", action="store_true", help="print JSON instead of text")
    arguments = parser.parse_args(argv)
    try:
        return _verify(arguments) if arguments.command == "verify" else _status(arguments)
    except BotoCoreError as error:  # before any call: no such profile, a malformed Region
        print(f"error: {error}", file=sys.stderr)
        return 2


def _status(arguments: argparse.Namespace) -> int:
    regions = arguments.regions or [configured_region()]
    if not regions[0]:
        return _no_region()
    clients = AwsClients()
    try:
        enrollments = {r: read_enrollment(clients.compute_optimizer(r), r) for r in regions}
        members = {
            r: list(read_members(clients.compute_optimizer(r), r))
            for r in (regions if arguments.members else [])
        }
    except MonitorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if arguments.json:
        document = {r: e.to_dict() for r, e in enrollments.items()}
        for region, listed in members.items():
            document[region]["members"] = [_member_dict(m) for m in listed]
        print(json.dumps(document, indent=2))
    else:
        print("\n\n".join(describe(r, e, members.get(r)) for r, e in enrollments.items()))
    return 0


def configured_region() -> str:
    """The Region as the AWS CLI would pick it, and as Lambda sets it: botocore reads
    AWS_DEFAULT_REGION and the profile, not AWS_REGION."""
    return os.environ.get("AWS_REGION") or boto3.session.Session().region_name or ""


def _no_region() -> int:
    print("error: no Region configured: pass --region or set AWS_REGION", file=sys.stderr)
    return 2


def _verify(arguments: argparse.Namespace) -> int:
    region = arguments.region or configured_region()
    if not region:
        return _no_region()
    try:
        stack, lines = checklist.run(AwsClients(), arguments.stack, region, arguments.send_test)
    except MonitorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    render = report.as_json if arguments.json else report.as_text
    print(render(stack, lines))
    return 0 if all(line.passed for line in lines) else 1


def _member_dict(member: MemberEnrollment) -> dict[str, str | None]:
    return {"accountId": member.account_id, "status": member.status, "reason": member.status_reason}


def describe(
    region: str, enrollment: Enrollment, members: list[MemberEnrollment] | None = None
) -> str:
    lines = [f"Compute Optimizer enrollment in {region}: {enrollment.status}"]
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
