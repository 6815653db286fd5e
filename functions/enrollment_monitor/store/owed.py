"""The outbox's record: one item per alert owed and not yet accepted by SNS, beside the
observation that owes it (``PENDING#<version>`` in the observation's partition, so one Query
reads both, oldest alert first).

This module owns every write on that item, the way Powertools' idempotency persistence layer
owns its record: creating it (only where no item is), taking its lease, giving the lease back,
deleting it once sent, and setting it aside when SNS refuses it. Callers see ``Owed`` values,
never an item.
"""

from __future__ import annotations

from dataclasses import dataclass

from enrollment_monitor.alerts import Alert
from enrollment_monitor.store.table import (
    Holder,
    Item,
    Key,
    Lease,
    Refusal,
    Table,
    Write,
    delete,
    give_back,
    put,
    string,
)

PENDING = "PENDING#"


@dataclass(frozen=True)
class Owed:
    """An alert in the outbox, owed since the observation of ``version``."""

    key: Key
    version: int
    alert: Alert


def owing(partition_key: str, version: int, alert: Alert, index: int = 0) -> tuple[Owed, Write]:
    """The alert owed as ``PENDING#<version>`` (a second one of the same version is
    ``PENDING#<version>.1``, which sorts after it and before the next version), and the write
    that creates it, for the transaction that records what owes it. The write never replaces
    an owed alert: an item in the way (a restored backup, a hand edit) fails it loudly."""
    key = Key(partition_key, f"{PENDING}{version:012d}{f'.{index}' if index else ''}")
    collision = (
        f"{key.partition} {key.sort}: an owed alert is already there (the observation's version "
        "is behind its outbox: a restored backup or a hand edit?); it was kept, and nothing "
        "was recorded. Set it aside by hand, or raise the version of LATEST past it."
    )
    write = put(key, _item(alert), "attribute_not_exists(pk)", collision=collision)
    return Owed(key, version, alert), write


def is_owed(sort_key: str) -> bool:
    return sort_key.startswith(PENDING)


def owed_version(sort_key: str) -> int:
    """The version an owed alert's sort key names; ValueError if it names none."""
    return int(sort_key.removeprefix(PENDING).split(".")[0])


def read_owed(item: Item) -> Owed:
    """An owed alert as stored; KeyError, ValueError... if it is not one (``UNREADABLE``)."""
    key = Key(item["pk"]["S"], item["sk"]["S"])
    return Owed(key, owed_version(key.sort), Alert.from_json(item["alert"]["S"]))


class OwedAlerts:
    """The owed alerts' lifecycle after they are created: each sent under its lease."""

    def __init__(self, table: Table, holder: Holder) -> None:
        self._table = table
        self._holder = holder

    def take(self, owed: Owed) -> Lease | Refusal:
        """The right to send ``owed`` now; ``Refusal.HELD``: another invocation is sending it;
        ``Refusal.GONE``: another invocation has sent it."""
        return self._table.take(owed.key, self._holder)

    def sent(self, lease: Lease) -> bool:
        """Deletes the alert SNS accepted; False when its lease had been taken over."""
        return self._table.apply(delete(lease))

    def give_back(self, lease: Lease) -> None:
        """Ends the lease without sending: the next check sends the alert."""
        self._table.apply(give_back(lease))

    def set_aside(self, owed: Owed, lease: Lease, why: str, at: str) -> str:
        """Moves an alert SNS refused where the monitor never reads it; what was set aside."""
        return self._table.set_aside_leased(lease, _item(owed.alert), why, at)


def _item(alert: Alert) -> Item:
    return {"alert": string(alert.to_json())}
