"""``make demo``: the real handler, end to end, on moto in-process, with Compute Optimizer and
Cost Optimization Hub (``AlsoWatch``) scripted. No AWS account. Prints what each check saw,
emitted and sent."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import textwrap
from typing import Any

from devtools.local_aws import emf
from devtools.local_aws.resources import LambdaContext, LocalAws, local_aws
from devtools.local_aws.template import ACCOUNT_ID

# (what Compute Optimizer answers, members opted in, whether SNS is down, the event) for each
# invocation.
TIMELINE: list[tuple[str | None, int, bool, str]] = [
    ("Active", 12, False, "check"),
    ("Active", 12, False, "check"),
    ("Pending", 12, False, "check"),
    ("Inactive", 12, True, "check"),
    ("Inactive", 12, False, "check"),
    ("Active", 10, False, "check"),
    (None, 10, False, "test-notification"),
    ("Inactive", 10, False, "check"),
]
# What Cost Optimization Hub answers from a step on: it leaves at the last step, beside Compute
# Optimizer, and its alert names what that costs.
HUB = {1: "Active", 8: "Inactive"}
REASONS = {
    "Pending": "Member accounts of the organization are being enrolled",
    "Inactive": "Opted out by arn:aws:iam::123456789012:user/alice",
}


def main() -> None:
    print(
        "enrollment-monitor demo: the real handler on moto, Compute Optimizer and Cost"
        " Optimization Hub scripted\n"
    )
    with local_aws() as aws:
        os.environ["POWERTOOLS_LOG_LEVEL"] = "CRITICAL"  # the demo prints its own account
        os.environ["ALSO_WATCH"] = "CostOptimizationHub"
        from enrollment_monitor import app  # imported inside the stand-in, as Lambda would

        failed: list[int] = []
        for number, (status, opted_in, sns_down, action) in enumerate(TIMELINE, start=1):
            if status:
                aws.compute_optimizer.set_enrollment(
                    "us-east-1",
                    status,
                    REASONS.get(status),
                    numberOfMemberAccountsOptedIn=opted_in,
                )
            if number in HUB:
                aws.compute_optimizer.set_hub(ACCOUNT_ID, HUB[number])
            if sns_down:
                aws.wire.fail("sns", "Publish", "InternalError", times=4)
            aws.wire.calls.clear()
            print(_heading(number, status, opted_in, sns_down, action, HUB.get(number)))
            payload = {"action": "test-notification"} if action != "check" else {}
            stdout = io.StringIO()
            try:
                with contextlib.redirect_stdout(stdout):
                    result = app.lambda_handler(payload, LambdaContext())
                print(f"   outcome   {_outcome(result)}")
            except Exception as error:  # noqa: BLE001 - the demo shows what Lambda would log
                failed.append(number)
                print(f"   FAILED    {error}")
                print("             the alert stays owed in DynamoDB; the next check sends it")
            aws.wire.heal()
            _print_metrics(stdout.getvalue())
            print(f"   requests  {_requests(aws)}")
            _print_deliveries(aws)
            print()
    scripted = [number for number, (_, _, sns_down, _) in enumerate(TIMELINE, start=1) if sns_down]
    if failed != scripted:
        sys.exit(
            f"Not as scripted: checks {failed or 'none'} failed, where only the SNS outage's "
            f"({scripted}) should have; the lines above say why."
        )
    print(
        "Done: every change alerted once, the outage lost nothing, one chat thread per episode"
        " (the return to Active included), no AWS account used."
    )


def _heading(
    number: int, status: str | None, opted_in: int, sns_down: bool, action: str, hub: str | None
) -> str:
    if action != "check":
        return f'#{number} invoke {{"action": "{action}"}}'
    outage = "   (SNS is down for this check)" if sns_down else ""
    answer = f"{status}, {opted_in} members opted in"
    also = f"; Cost Optimization Hub answers {hub}" if hub else ""
    return f"#{number} scheduled check: Compute Optimizer answers {answer}{also}{outage}"


_WORDS = {
    "baseline": "first observation is Active: silent baseline recorded",
    "nothing": "no change: nothing written, nothing sent",
    "changed": "status changed: alert recorded as owed, then sent",
    "reminder": "still not Active: reminder sent",
}


def _outcome(result: dict[str, Any]) -> str:
    if "sent" in result:
        return f"sent a {result['sent']}; state unchanged"
    account, *others = result["checked"]  # Compute Optimizer's first, then the Hub's
    different = [s for s in others if s["outcome"] != "nothing" and _said(s) != _said(account)]
    return "; ".join([_said(account), *(f"{s['service']}: {_said(s)}" for s in different)])


def _said(subject: dict[str, Any]) -> str:
    if subject["outcome"] == "nothing" and subject.get("alertsSent"):
        return "no change; sent the alert owed since the SNS outage, then forgot it"
    return _WORDS.get(subject["outcome"], subject["outcome"])


def _print_metrics(output: str) -> None:
    values: dict[str, float] = {}
    for metric in emf.metrics(output):
        # The dimensions that tell series apart: a Region and a status (the stack's name and
        # the watched service are the demo's own).
        named = " ".join(v for k, v in metric.dimensions.items() if k in ("Region", "Status"))
        values[f"{metric.name}{{{named}}}" if named else metric.name] = metric.value
    if values:
        shown = "  ".join(f"{label}={value:g}" for label, value in values.items())
        print(textwrap.fill(shown, 96, initial_indent="   metrics   ", subsequent_indent=" " * 13))


def _requests(aws: LocalAws) -> str:
    monitored = {k: v for k, v in aws.wire.calls.items() if not k.startswith("sqs:")}
    return ", ".join(f"{call} x{count}" for call, count in sorted(monitored.items())) or "none"


def _shown(part: dict[str, Any] | None) -> Any:
    """What changed, from a part of the machine document: the status, or the figures."""
    if not part:
        return None
    return part.get("status", part.get("numberOfMemberAccountsOptedIn"))


def _print_deliveries(aws: LocalAws) -> None:
    """Each alert the subscriber got, beside what was published (its every rendering), in the
    order of their subjects: two subjects' alerts of one check are published concurrently."""
    published_as = {published["Subject"]: published for published in aws.wire.published}
    for delivery in sorted(aws.deliveries(), key=lambda d: d["Subject"]):
        published = published_as[delivery["Subject"]]
        print(f"   ALERT     Subject: {delivery['Subject']}")
        attributes = {k: v["Value"] for k, v in delivery["MessageAttributes"].items()}
        print(f"             attributes: {attributes}")
        document = delivery["Message"]
        print(
            f"             SQS subscriber got the machine JSON: eventType={document['eventType']}"
            f" previous={_shown(document['previous'])} current={_shown(document['current'])}"
        )
        renderings = json.loads(published["Message"])
        chat = json.loads(renderings["https"])
        print(f"             chat thread: {chat['metadata']['threadId']}")
        print("             chat message (Slack, Teams):")
        _print_chat(chat["content"])
        print("             email text:")
        email = renderings["email"]
        print(textwrap.indent(email, "             | ", predicate=lambda _: True))
    aws.wire.published.clear()
    for event in sorted(aws.events(), key=lambda e: (e["detail-type"], json.dumps(e["detail"]))):
        detail = event["detail"]
        print(
            f"   EVENT     {event['source']} / {event['detail-type']} on the default bus:"
            f" {detail['region']} {detail.get('service', '')}".rstrip()
        )


def _print_chat(content: dict[str, Any]) -> None:
    """The chat message's title and description, each line wrapped as a chat client would
    (docs/images draws it whole, next steps and keywords too)."""
    for line in [content["title"], *content["description"].split("\n")]:
        print(textwrap.fill(line, 96, initial_indent="             > ", subsequent_indent=" " * 15))


if __name__ == "__main__":
    main()
