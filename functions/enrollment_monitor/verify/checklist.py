"""The checklist of ``enrollment-monitor verify``: which facts each line needs, and its verdict.

``facts`` reads each fact from AWS once; ``verdicts`` decides each line from facts alone. A
call AWS refuses fails the lines that need it, naming the permission; the other lines still
run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from enrollment_monitor.clients import AwsClients
from enrollment_monitor.errors import AwsCallError
from enrollment_monitor.verify import verdicts
from enrollment_monitor.verify.facts import Facts, read_stack
from enrollment_monitor.verify.model import (
    ALARMS,
    HEARTBEAT,
    HEARTBEAT_ALARMS,
    UNREADABLE,
    IncompleteMetricData,
    Line,
    Series,
    Stack,
    failed,
)


class Checklist:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.stack = facts.stack

    def lines(self, send_test: bool, require_active: bool = False) -> list[Line]:
        checks: dict[str, Callable[[], Line]] = {
            "invocations": self.invocations,
            f"metric {HEARTBEAT}": self.heartbeat,
            **{f"alarm {suffix}": partial(self.alarm, suffix) for suffix in ALARMS},
            "alarm notifications": self.notifications,
            "subscriptions": lambda: verdicts.judge_subscriptions(
                self.stack, self.facts.subscriptions
            ),
            "chat": lambda: verdicts.judge_chat(self.stack, self.facts.subscriptions),
            "topic policy": lambda: verdicts.judge_topic_policy(
                self.stack, self.facts.topic_policy
            ),
            "key policy": self.key_policy,
            "function role": lambda: verdicts.judge_role(
                self.facts.role, self.facts.function.reads
            ),
        }
        if send_test:
            checks["test notification"] = self.test_notification
        if require_active:
            checks["enrollment"] = lambda: verdicts.judge_enrollment(self.facts.enrollments())
        return [_guarded(name, check) for name, check in checks.items()]

    def invocations(self) -> Line:
        dimensions = {"FunctionName": self.stack.function}
        figures = [
            self.facts.statistic("AWS/Lambda", metric, dimensions, "Sum")
            for metric in ("Invocations", "Errors")
        ]
        return verdicts.judge_invocations(
            self.stack.function, self.facts.log_group, self.facts.window, *figures
        )

    def heartbeat(self) -> Line:
        names = [self.stack.alarm_name(suffix) for suffix in HEARTBEAT_ALARMS]
        watched = {n: a.series if (a := self.facts.alarms.get(n)) else None for n in names}
        function = self.facts.function
        emitted = Series(function.namespace, HEARTBEAT, {"service": function.service})
        has_data = bool(function.regions) and self.facts.has_data(emitted)
        return verdicts.judge_heartbeat(HEARTBEAT, watched, function, has_data)

    def alarm(self, suffix: str) -> Line:
        alarm = self.facts.alarms.get(self.stack.alarm_name(suffix))
        return verdicts.judge_alarm(self.stack, suffix, alarm)

    def notifications(self) -> Line:
        return verdicts.judge_notifications(
            {name: self.facts.latest_notification(name) for name in self.stack.alarm_names}
        )

    def key_policy(self) -> Line:
        key = self.facts.key
        if key is None:
            return verdicts.judge_unencrypted_topic()
        return verdicts.judge_key(self.stack, key) or verdicts.judge_key_policy(
            self.stack, key, self.facts.key_policy(key)
        )

    def test_notification(self) -> Line:
        reply = self.facts.invoke_test_notification()
        return verdicts.judge_test_notification(self.stack.function, self.facts.log_group, reply)


def _guarded(check: str, judge: Callable[[], Line]) -> Line:
    try:
        return judge()
    except AwsCallError as error:
        return failed(check, str(error), verdicts.fix_for(error))
    except IncompleteMetricData as error:
        return failed(check, str(error), "verify again in a minute")
    except UNREADABLE as error:
        return failed(
            check,
            f"verify could not read AWS's answer: {type(error).__name__}: {error}",
            "check that line by hand, and tell the monitor's maintainers what AWS answered",
        )


def run(
    clients: AwsClients,
    stack_name: str,
    region: str,
    send_test: bool = False,
    now: datetime | None = None,
    require_active: bool = False,
) -> tuple[Stack, list[Line]]:
    """The stack, and its checklist. A stack with no outputs (a failed creation, say) gets
    only its own line; a stack that rolled back an update is still checked: its previous
    version is what runs. ``require_active`` adds a line on the enrollment itself."""
    stack = read_stack(clients, stack_name, region)
    lines = [verdicts.judge_stack(stack)]
    if not stack.missing_outputs:
        facts = Facts(clients, stack, now or datetime.now(UTC))
        lines += Checklist(facts).lines(send_test, require_active)
    return stack, lines
