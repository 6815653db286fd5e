"""What every step of one invocation shares: when it runs, the leases it holds, the clients,
the settings, and the stores and publisher made from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from enrollment_monitor import events, sns
from enrollment_monitor.clients import AwsClients
from enrollment_monitor.enrollment import iso
from enrollment_monitor.outbox import Publishers
from enrollment_monitor.settings import Settings
from enrollment_monitor.store.observations import Observations
from enrollment_monitor.store.owed import EVENTS, SNS, OwedAlerts
from enrollment_monitor.store.table import Holder, Table


@dataclass(frozen=True)
class Invocation:
    settings: Settings
    clients: AwsClients
    account_id: str
    now: datetime
    holder: Holder  # this invocation as the holder of leases
    remaining_seconds: Callable[[], float]  # before Lambda stops the invocation
    time_limit: float  # the invocation's time, in seconds, as it started

    @classmethod
    def start(
        cls, settings: Settings, clients: AwsClients, context: Any, now: datetime | None = None
    ) -> Invocation:
        now = now or datetime.now(UTC)
        remaining = context.get_remaining_time_in_millis() / 1000
        return cls(
            settings,
            clients,
            account_id=context.invoked_function_arn.split(":")[4],
            now=now,
            holder=Holder.of_invocation(now.timestamp(), remaining),
            remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
            time_limit=remaining,
        )

    @property
    def at(self) -> str:
        """The invocation's time as items record it."""
        return iso(self.now)

    @cached_property
    def table(self) -> Table:
        return Table(self.clients.dynamodb, self.settings.state_table_name)

    @cached_property
    def outbox(self) -> OwedAlerts:
        return OwedAlerts(self.table, self.holder)

    @property
    def sinks(self) -> tuple[str, ...]:
        """Where each alert goes: SNS, and the default event bus unless events are off."""
        return (SNS, EVENTS) if self.settings.publish_events else (SNS,)

    @cached_property
    def observations(self) -> Observations:
        return Observations(self.table, self.sinks)

    @cached_property
    def publisher(self) -> Publishers:
        """Every sink's publisher; the event bus is the function's Region's."""
        topic = sns.Publisher(self.clients.sns, self.settings.alert_topic_arn)
        if not self.settings.publish_events:
            return Publishers(topic)
        return Publishers(topic, events.Publisher(self.clients.events))
