"""What every step of one invocation shares: when it runs, until when its leases hold, the
clients and the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from enrollment_monitor.clients import AwsClients
from enrollment_monitor.outbox import Publisher
from enrollment_monitor.settings import Settings
from enrollment_monitor.store.table import Table

# A lease outlives the invocation that holds it by this much, so an item is never taken over
# while its holder may still be acting on it.
_LEASE_MARGIN_SECONDS = 10


@dataclass(frozen=True)
class Invocation:
    settings: Settings
    clients: AwsClients
    account_id: str
    now: datetime
    lease_until: float  # epoch seconds: every lease this invocation takes ends then
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
            lease_until=now.timestamp() + remaining + _LEASE_MARGIN_SECONDS,
            remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
            time_limit=remaining,
        )

    @cached_property
    def table(self) -> Table:
        return Table(self.clients.dynamodb, self.settings.state_table_name)

    @cached_property
    def publisher(self) -> Publisher:
        return Publisher(self.clients.sns, self.settings.alert_topic_arn)
