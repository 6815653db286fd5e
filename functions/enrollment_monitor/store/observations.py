"""The last observation of each (account, Region), and its outbox: the alerts it still owes.

``LATEST`` holds the observation and a ``version``; each alert owed is an item
``PENDING#<version>`` beside it, so one Query reads both, the oldest alert first. Recording a
transition writes the observation (conditional on the version it was decided from) and its
alert in one transaction: of two invocations that saw the same state only one records it, the
other learns it lost and sends nothing. An owed alert is deleted only once SNS accepted it,
under its lease (``outbox.deliver``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

from enrollment_monitor.alerts import Alert
from enrollment_monitor.enrollment import AccountRegion, Enrollment, Observation, iso
from enrollment_monitor.store.table import (
    Item,
    Key,
    Table,
    Write,
    number,
    partition,
    put,
    string,
    update,
)

_ENROLLMENT = "ENROLLMENT"
_LATEST = "LATEST"
_PENDING = "PENDING#"


@dataclass(frozen=True)
class Owed:
    """An alert in the outbox."""

    key: Key
    alert: Alert


@dataclass(frozen=True)
class Stored:
    """An observation as stored, with the version its next write is conditional on."""

    observation: Observation
    version: int
    owed: tuple[Owed, ...] = ()


class Observations:
    def __init__(self, table: Table) -> None:
        self._table = table

    def load(self, where: AccountRegion) -> Stored | None:
        latest, owed = None, []
        for item in self._table.query(partition(_ENROLLMENT, where.account_id, where.region)):
            if item["sk"]["S"] == _LATEST:
                latest = item
            elif item["sk"]["S"].startswith(_PENDING):
                owed.append(_owed(item))
        if latest is None:
            return None
        return Stored(_observation(latest), int(latest["version"]["N"]), tuple(owed))

    def record(
        self,
        where: AccountRegion,
        stored: Stored | None,
        observation: Observation,
        alert: Alert | None = None,
    ) -> Stored | None:
        """Writes the new observation, and the alert it owes, unless another invocation wrote
        first: then it returns None and this invocation must send nothing."""
        version = stored.version + 1 if stored else 1
        attributes = {**_observation_attributes(observation), "version": number(version)}
        if stored is None:
            latest = put(_key(where, _LATEST), attributes, "attribute_not_exists(pk)")
        else:
            condition = "version = :version"
            latest = put(_key(where, _LATEST), attributes, condition, _at(stored))
        owed = stored.owed if stored else ()
        writes = [latest]
        if alert is not None:
            new, owing = _owing(where, version, alert)
            writes.append(owing)
            owed = (*owed, new)
        return Stored(observation, version, owed) if self._table.apply(*writes) else None

    def owe(self, where: AccountRegion, stored: Stored, alert: Alert, also: Write) -> Stored | None:
        """Owes an alert that comes with no new observation (organization members), in one
        transaction with ``also``; the version goes up as with ``record``. None: another
        invocation wrote first."""
        version = stored.version + 1
        bump = update(
            _key(where, _LATEST),
            "SET version = :next",
            "version = :version",
            {":next": number(version), **_at(stored)},
        )
        new, owing = _owing(where, version, alert)
        if not self._table.apply(bump, owing, also):
            return None
        return replace(stored, version=version, owed=(*stored.owed, new))


def _owing(where: AccountRegion, version: int, alert: Alert) -> tuple[Owed, Write]:
    owed = Owed(_key(where, f"{_PENDING}{version:012d}"), alert)
    return owed, put(owed.key, {"alert": string(alert.to_json())})


def _key(where: AccountRegion, sort_key: str) -> Key:
    return Key(partition(_ENROLLMENT, where.account_id, where.region), sort_key)


def _at(stored: Stored) -> Item:
    return {":version": number(stored.version)}


def _observation_attributes(observation: Observation) -> Item:
    attributes = {
        "status": string(observation.enrollment.status),
        "enrollment": string(json.dumps(observation.enrollment.to_dict())),
        "observedAt": string(iso(observation.observed_at)),
    }
    if observation.alerted_at:
        attributes["alertedAt"] = string(iso(observation.alerted_at))
    return attributes


def _observation(item: Item) -> Observation:
    alerted_at = item.get("alertedAt", {}).get("S")
    return Observation(
        enrollment=Enrollment.from_dict(json.loads(item["enrollment"]["S"])),
        observed_at=datetime.fromisoformat(item["observedAt"]["S"]),
        alerted_at=datetime.fromisoformat(alerted_at) if alerted_at else None,
    )


def _owed(item: Item) -> Owed:
    return Owed(Key(item["pk"]["S"], item["sk"]["S"]), Alert.from_json(item["alert"]["S"]))
