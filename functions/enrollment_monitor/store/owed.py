"""The outbox's record: one item per alert and *sink* (SNS, EventBridge) owed and not yet
accepted there, beside the observation that owes it (``PENDING#<version>`` for SNS,
``PENDING#<version>#events`` for EventBridge, in the observation's partition, so one Query reads
them all, oldest alert first). Each sink's item is leased, sent and deleted on its own: a sink
that fails never makes the other send again.

This module owns every write on that item, the way Powertools' idempotency persistence layer
owns its record: creating it (only where no item is), taking its lease, giving the lease back,
deleting it once sent, and setting it aside when SNS refuses it. Callers see ``Owed`` values,
never an item.
"""

from __future__ import annotations

import re
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
SNS, EVENTS = "sns", "events"  # the sinks: SNS's key has no suffix, as before events existed
_SINK_SUFFIX = {SNS: "", EVENTS: "#events"}
_OWED_KEY = re.compile(r"^PENDING#(\d+)(\.\d+)?(#events)?$")


@dataclass(frozen=True)
class Owed:
    """An alert in the outbox, owed since the observation of ``version``."""

    key: Key
    version: int
    alert: Alert
    sink: str = SNS  # where it is owed: SNS or EVENTS


def owing(
    partition_key: str,
    version: int,
    alert: Alert,
    index: int = 0,
    sinks: tuple[str, ...] = (SNS,),
) -> list[tuple[Owed, Write]]:
    """The alert owed to each sink, as ``PENDING#<version>`` (a second one of the same version
    is ``PENDING#<version>.1``, which sorts after it and before the next version) with the
    sink's suffix, and the writes that create them, for the transaction that records what owes
    it. A write never replaces an owed alert: an item in the way (a restored backup, a hand
    edit) fails it loudly."""
    owed = []
    for sink in sinks:
        sort_key = f"{PENDING}{version:012d}{f'.{index}' if index else ''}{_SINK_SUFFIX[sink]}"
        key = Key(partition_key, sort_key)
        collision = (
            f"{key.partition} {key.sort}: an owed alert is already there (the observation's "
            "version is behind its outbox: a restored backup or a hand edit?); it was kept, and "
            "nothing was recorded. Set it aside by hand, or raise the version of LATEST past it."
        )
        write = put(key, _item(alert), "attribute_not_exists(pk)", collision=collision)
        owed.append((Owed(key, version, alert, sink), write))
    return owed


def is_owed(sort_key: str) -> bool:
    return sort_key.startswith(PENDING)


def owed_version(sort_key: str) -> int:
    """The version an owed alert's sort key names; ValueError if it names none."""
    return int(_parsed(sort_key)[1])


def read_owed(item: Item) -> Owed:
    """An owed alert as stored; KeyError, ValueError... if it is not one (``UNREADABLE``)."""
    key = Key(item["pk"]["S"], item["sk"]["S"])
    sink = EVENTS if _parsed(key.sort)[3] else SNS
    return Owed(key, owed_version(key.sort), Alert.from_json(item["alert"]["S"]), sink)


def _parsed(sort_key: str) -> re.Match[str]:
    parsed = _OWED_KEY.match(sort_key)
    if parsed is None:
        raise ValueError(f"not an owed alert's key: {sort_key!r}")
    return parsed


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
        """Deletes the alert its sink accepted; False when its lease had been taken over."""
        return self._table.apply(delete(lease))

    def give_back(self, lease: Lease) -> None:
        """Ends the lease without sending: the next check sends the alert."""
        self._table.apply(give_back(lease))

    def set_aside(self, owed: Owed, lease: Lease, why: str, at: str) -> str:
        """Moves an alert its sink refused where the monitor never reads it; what was set
        aside."""
        return self._table.set_aside_leased(lease, _item(owed.alert), why, at)


def _item(alert: Alert) -> Item:
    return {"alert": string(alert.to_json())}
