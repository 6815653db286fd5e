"""Faults at every AWS call of a check: each call of a check that sees changes, in turn, meets a
crash (the process dies once the call was applied), an error on every attempt, or a reply lost
after the call was applied; then fault-free checks recover. Every transition must then have been
delivered exactly once and in order, as an SNS message and as an EventBridge event, a duplicate
allowed only right after that sink's publish.

    python -m devtools.demos.fault_sweep      # prints the outcome of every point

The tests (tests/behaviour/test_fault_sweep.py) run the same sweep and assert each point.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.local_aws.aws_requests import FAULTS, Crash
from devtools.local_aws.resources import LambdaContext, LocalAws, local_aws

REGION = "us-east-1"
# Every service AlsoWatch can add, each a subject checked in a thread of its own.
ALSO_WATCH = "CostOptimizationHub,ComputeOptimizerAutomation,OrganizationAccess"
# Their threads: every call of the Hub's check, and the reads of the others (their state and
# alert calls are the Hub's, made by the same code).
HUB_THREAD = f"check {REGION} cost-optimization-hub"
READ_ONLY_THREADS = tuple(
    f"check {REGION} {service}"
    for service in (
        "compute-optimizer-automation",
        "organization-access",
        "delegated-administrator",
    )
)
MEMBERS = ("111111111111", "222222222222", "333333333333")
ACCOUNT = LambdaContext().invoked_function_arn.split(":")[4]
START = datetime(2026, 11, 26, 9, tzinfo=UTC)
RECOVERY_CHECKS = 3
PUBLISHES = {"sns": "sns:Publish", "events": "events:PutEvents"}  # each sink's publish


@dataclass(frozen=True)
class Scenario:
    """A baseline, then one check that sees changes: the one the faults hit. With several
    Regions each is checked in its own thread, and the faults hit the calls of one of them."""

    name: str
    members: bool
    regions: tuple[str, ...] = (REGION,)
    also: bool = False  # every AlsoWatch service watched beside Compute Optimizer

    @property
    def threads(self) -> tuple[str, ...]:
        """The threads whose calls the faults hit ("": the invocation's own). With several
        Regions, the second's: its faults meet the members Region's check (whose every call
        the one-Region sweep already hits) and a third running at the same time. With AlsoWatch,
        the Hub's check and the other services' reads, while every other subject runs too."""
        if self.also:
            return (HUB_THREAD, *READ_ONLY_THREADS)
        return (f"check {self.regions[1]}",) if len(self.regions) > 1 else ("",)

    def before(self, aws: LocalAws) -> None:
        for region in self.regions:
            aws.compute_optimizer.set_enrollment(region, "Active")
        if self.also:
            os.environ["ALSO_WATCH"] = ALSO_WATCH  # local_aws restores the environment
            aws.compute_optimizer.set_hub(ACCOUNT, "Active")
            aws.compute_optimizer.set_automation(REGION, "Inactive")
            aws.trusted_access(enabled=True)
            aws.delegated_administrator(registered=True)
        if self.members:
            os.environ["TRACK_MEMBER_ACCOUNTS"] = "true"  # local_aws restores the environment
            aws.compute_optimizer.members[REGION] = [
                {"accountId": m, "status": "Active"} for m in MEMBERS
            ]

    def change(self, aws: LocalAws) -> None:
        for region in self.regions:
            aws.compute_optimizer.set_enrollment(region, "Inactive")
        if self.also:
            aws.compute_optimizer.set_hub(ACCOUNT, "Inactive")
            aws.compute_optimizer.set_automation(REGION, "Active")
            aws.trusted_access(enabled=False)
            aws.move_delegated_administrator()  # the same status, held by another account
        if self.members:
            aws.compute_optimizer.members[REGION] = [
                {"accountId": MEMBERS[0], "status": "Inactive"},
                {"accountId": MEMBERS[1], "status": "Active"},
                # MEMBERS[2] left the organization
            ]

    def expected(self) -> dict[str, list[tuple[str | None, str | None]]]:
        """Each transition, as the SNS messages and (``event `` before the key) the events
        deliver it."""
        transitions = self._transitions()
        return transitions | {f"event {key}": seen for key, seen in transitions.items()}

    def _transitions(self) -> dict[str, list[tuple[str | None, str | None]]]:
        transitions: dict[str, list[tuple[str | None, str | None]]] = {
            f"compute-optimizer {region}": [("Active", "Inactive")] for region in self.regions
        }
        if self.also:
            transitions |= {
                f"cost-optimization-hub {REGION}": [("Active", "Inactive")],
                f"compute-optimizer-automation {REGION}": [("Inactive", "Active")],
                f"organization-access {REGION}": [("Active", "Inactive")],
                f"delegated-administrator {REGION}": [("Registered", "Registered")],
            }
        if self.members:
            transitions |= {MEMBERS[0]: [("Active", "Inactive")], MEMBERS[2]: [("Active", None)]}
        return transitions


SCENARIOS = (
    Scenario("account", members=False),
    Scenario("account and members", members=True),
    Scenario("3 Regions, members", members=True, regions=(REGION, "eu-west-1", "ap-south-1")),
    Scenario("also watched", members=False, also=True),
)


@dataclass(frozen=True)
class Point:
    scenario: Scenario
    number: int  # the N-th AWS call of the faulty check (of ``thread``)
    call: str
    fault: str
    after: str  # the call before it
    thread: str = ""  # whose calls are counted: "" the invocation's, or "check <subject>"

    @property
    def may_duplicate(self) -> bool:
        return bool(self.duplicate_sink)

    @property
    def duplicate_sink(self) -> str:
        """The sink ("sns" or "events") that may deliver an alert twice at this point, or "":
        it accepted an alert and the monitor could not record it (the process died at the
        publish, its reply was lost and botocore sent it again, or the delete after it
        failed)."""
        for sink, publish in PUBLISHES.items():
            if self.call == publish and self.fault != "error":
                return sink
            if self.after == publish and self.fault == "error":
                return sink
        return ""


@dataclass(frozen=True)
class Outcome:
    point: Point
    check: str  # what the faulty check did: completed, failed, crashed
    heartbeat: bool  # it emitted RegionsNotActive: the check completed
    left_owed: int  # alerts still owed right after it
    delivered: dict[str, list[tuple[str | None, str | None]]]
    duplicates: Counter[str]  # by sink

    @property
    def silent_only_when_healthy(self) -> bool:
        """A heartbeat only for a check that left nothing owed."""
        return not self.heartbeat or self.left_owed == 0

    @property
    def exactly_once(self) -> bool:
        """Every transition once and in order on each sink, or one duplicate right after that
        sink's publish."""
        collapsed = {key: collapse(seen) for key, seen in self.delivered.items()}
        expected = self.point.scenario.expected()
        if collapsed != expected:
            return False
        allowed = Counter({self.point.duplicate_sink: 1} if self.point.may_duplicate else {})
        return +self.duplicates <= allowed


def points(scenario: Scenario) -> list[Point]:
    """Every AWS call of the faulty check, thread by thread, from a fault-free run, with each
    fault."""
    with local_aws(scenario.regions) as aws:
        scenario.before(aws)
        check_at(aws, 0)
        scenario.change(aws)
        aws.wire.sequence.clear()
        aws.wire.by_thread.clear()
        check_at(aws, 1)
        calls = {t: aws.wire.by_thread[t] if t else aws.wire.sequence for t in scenario.threads}
        calls |= {t: calls[t][:1] for t in READ_ONLY_THREADS if t in calls}
    return [
        Point(scenario, number, call, fault, made[number - 2] if number > 1 else "", thread)
        for thread, made in calls.items()
        for number, call in enumerate(made, start=1)
        for fault in FAULTS
    ]


def run(point: Point) -> Outcome:
    with local_aws(point.scenario.regions) as aws:
        point.scenario.before(aws)
        check_at(aws, 0)
        point.scenario.change(aws)
        aws.deliveries()
        aws.wire.at_call(point.number, point.fault, point.thread)
        check, output = "completed", io.StringIO()
        try:
            with contextlib.redirect_stdout(output):
                check_at(aws, 1)
        except Crash:
            check = "crashed"
        except Exception:  # noqa: BLE001 - the invocation failed, as Lambda would record it
            check = "failed"
        aws.wire.heal()
        heartbeat, left_owed = (
            '"RegionsNotActive"' in output.getvalue(),
            _owed(aws),
        )
        for later in range(RECOVERY_CHECKS):
            check_at(aws, 2 + later)  # minutes apart: a crashed check's lease has ended
        transitions, duplicates = delivered(aws)
    return Outcome(point, check, heartbeat, left_owed, transitions, duplicates)


def _owed(aws: LocalAws) -> int:
    import boto3

    from enrollment_monitor.settings import Settings
    from enrollment_monitor.store.observations import Observations
    from enrollment_monitor.store.table import Table
    from enrollment_monitor.subjects import watched

    table = Table(boto3.client("dynamodb", region_name=REGION), aws.table_name)
    subjects = watched(Settings.from_env(), ACCOUNT)
    loaded = [Observations(table).load(subject).stored for subject in subjects]
    return sum(len(stored.owed) for stored in loaded if stored)


def check_at(aws: LocalAws, minute: int) -> dict[str, Any]:
    from enrollment_monitor.check import run as check
    from enrollment_monitor.clients import AwsClients
    from enrollment_monitor.settings import Settings

    moment = START + timedelta(minutes=2 * minute)
    event = {"action": "check"}
    return check(event, Settings.from_env(), AwsClients(), LambdaContext(), moment).to_dict()


def delivered(
    aws: LocalAws,
) -> tuple[dict[str, list[tuple[str | None, str | None]]], Counter[str]]:
    """The transitions each sink delivered (an event's key begins ``event ``), and how many
    alerts each sink delivered more than once."""
    delivered: dict[str, list[tuple[str | None, str | None]]] = {}
    duplicates: Counter[str] = Counter()
    received = {
        "sns": [envelope["Message"] for envelope in aws.deliveries()],
        "events": [event["detail"] for event in aws.events()],
    }
    for sink, alerts in received.items():
        prefix = "event " if sink == "events" else ""
        seen_alerts: Counter[str] = Counter()
        for alert in alerts:
            seen_alerts[repr(alert)] += 1
            if alert["eventType"] == "MemberEnrollmentChanged":
                for change in alert["changes"]:
                    seen = delivered.setdefault(prefix + change["accountId"], [])
                    seen.append((change["previous"], change["current"]))
            else:
                key = f"{prefix}{alert['service']} {alert['region']}"
                previous = (alert["previous"] or {}).get("status")
                delivered.setdefault(key, []).append((previous, alert["current"]["status"]))
        duplicates[sink] = sum(n - 1 for n in seen_alerts.values())
    return delivered, duplicates


def collapse(seen: list[tuple[str | None, str | None]]) -> list[tuple[str | None, str | None]]:
    """Transitions with a repeated alert counted once (the duplicate is counted apart)."""
    return [t for i, t in enumerate(seen) if i == 0 or seen[i - 1] != t]


def headline(every: list[Point]) -> str:
    """How many points, and of how many calls (each thread numbers its own)."""
    calls = {(p.scenario.name, p.thread, p.number) for p in every}
    return f"{len(every)} points ({len(calls)} calls x {len(FAULTS)} faults)"


def main() -> None:
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "enrollment-monitor")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ComputeOptimizerEnrollment")
    table: Counter[tuple[str, str, str, str]] = Counter()
    with contextlib.redirect_stdout(open(os.devnull, "w")):  # noqa: SIM115 - logs, EMF lines
        every = [p for scenario in SCENARIOS for p in points(scenario)]
        outcomes = [run(point) for point in every]
    for outcome in outcomes:
        verdict = "exactly once" if outcome.exactly_once else "WRONG"
        if not outcome.silent_only_when_healthy:
            verdict = "WRONG: heartbeat with alerts still owed"
        if outcome.exactly_once and +outcome.duplicates:
            verdict = f"once + 1 duplicate ({outcome.point.call})"
        check = outcome.check + (" (heartbeat)" if outcome.heartbeat else "")
        table[outcome.point.scenario.name, outcome.point.fault, check, verdict] += 1
    print(headline(every))
    for (scenario, fault, check, verdict), count in sorted(table.items()):
        print(f"  {scenario:20} {fault:11} check {check:21} -> {verdict}: {count}")
    wrong = [o for o in outcomes if not (o.exactly_once and o.silent_only_when_healthy)]
    for outcome in wrong:
        print("WRONG:", outcome)
    raise SystemExit(1 if wrong else 0)


if __name__ == "__main__":
    main()
