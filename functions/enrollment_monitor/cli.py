"""``python -m enrollment_monitor status``: the live enrollment, read-only, with your own
AWS credentials. Nothing is written and nothing is sent."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import boto3

from enrollment_monitor.clients import AwsClients
from enrollment_monitor.compute_optimizer import read_enrollment
from enrollment_monitor.enrollment import Enrollment, iso
from enrollment_monitor.errors import MonitorError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m enrollment_monitor")
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
    arguments = parser.parse_args(argv)

    regions = arguments.regions or [boto3.session.Session().region_name or ""]
    if not regions[0]:
        print("error: no Region configured: pass --region or set AWS_REGION", file=sys.stderr)
        return 2
    clients = AwsClients()
    try:
        enrollments = {r: read_enrollment(clients.compute_optimizer(r), r) for r in regions}
    except MonitorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if arguments.json:
        print(json.dumps({r: e.to_dict() for r, e in enrollments.items()}, indent=2))
    else:
        print("\n\n".join(describe(r, e) for r, e in enrollments.items()))
    return 0


def describe(region: str, enrollment: Enrollment) -> str:
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
    return "\n".join(lines)
