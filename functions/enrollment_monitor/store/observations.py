"""The last observation of each (account, Region), and its outbox: the alerts it still owes.

``LATEST`` holds the observation and a ``version``; each alert owed is an item
``PENDING#<version>`` beside it, so one Query reads both, the oldest alert first. Recording a
transition writes the observation (conditional on the version it was decided from) and its
alert in one transaction: of two invocations that saw the same state only one records it, the
other learns it lost and sends nothing. An owed alert is deleted only once SNS accepted it,
under its lease (``outbox.deliver``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from enrollment_monitor.alerts import Alert
from enrollment_monitor.enrollment import AccountRegion, Enrollment, Observation, aware, iso
from enrollment_monitor.store.table import (
    UNREADABLE,
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

T = TypeVar("T")

_ENROLLMENT = "ENROLLMENT"
_LATEST = "LATEST"
_PENDING = "PENDING#"


@dataclass(frozen=True)
class Owed:
    """An alert in the outbox, and its item as stored."""

    key: Key
    version: int
    alert: Alert
    item: Item


@dataclass(frozen=True)
class Stored:
    """An observation as stored, with the version its next write is conditional on.
    ``observation`` None: none readable (it was set aside), as if never seen."""

    observation: Observation | None
    version: int
    owed: tuple[Owed, ...] = ()


class Observations:
    def __init__(self, table: Table, now: datetime) -> None:
        self._table = table
        self._at = iso(now)

    def load(self, where: AccountRegion) -> Stored | None:
        """The last observation and the alerts owed, oldest first. An item the monitor cannot
        read is set aside (``Table.set_aside``) and the check goes on without it."""
        latest: tuple[Observation, int] | None = None
        owed: list[Owed] = []
        versions = [0]  # the highest goes on, even past items set aside
        for item in self._table.query(partition(_ENROLLMENT, where.account_id, where.region)):
            if item["sk"]["S"] == _LATEST:
                latest = self._readable(item, _latest)
                with contextlib.suppress(*UNREADABLE):
                    versions.append(int(item["version"]["N"]))
            elif item["sk"]["S"].startswith(_PENDING):
                pending = self._readable(item, _owed)
                if pending:
                    owed.append(pending)
                    versions.append(pending.version)
        if latest:
            return Stored(*latest, tuple(owed))
        if max(versions):  # an observation set aside: as if never seen, versions go on
            return Stored(None, max(versions), tuple(owed))
        return None

    def _readable(self, item: Item, read: Callable[[Item], T]) -> T | None:
        try:
            return read(item)
        except UNREADABLE as error:
            key = Key(item["pk"]["S"], item["sk"]["S"])
            self._table.set_aside_unreadable(key, item, error, self._at)
            return None

    def record(
        self,
        where: AccountRegion,
        stored: Stored | None,
        observation: Observation,
        alerts: Sequence[Alert] = (),
    ) -> Stored | None:
        """Writes the new observation, and the alerts it owes, unless another invocation wrote
        first: then it returns None and this invocation must send nothing."""
        version = stored.version + 1 if stored else 1
        attributes = {**_observation_attributes(observation), "version": number(version)}
        if stored is None or stored.observation is None:
            latest = put(_key(where, _LATEST), attributes, "attribute_not_exists(pk)")
        else:
            condition = "version = :version"
            latest = put(_key(where, _LATEST), attributes, condition, _at(stored))
        owed = stored.owed if stored else ()
        writes = [latest]
        for index, alert in enumerate(alerts):
            new, owing = _owing(where, version, alert, index)
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


def _owing(where: AccountRegion, version: int, alert: Alert, index: int = 0) -> tuple[Owed, Write]:
    """The alert owed as ``PENDING#<version>``; a second one of the same version is
    ``PENDING#<version>.1``, which sorts after it and before the next version."""
    key = _key(where, f"{_PENDING}{version:012d}{f'.{index}' if index else ''}")
    item = {"alert": string(alert.to_json())}
    return Owed(key, version, alert, item), put(key, item)


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
    if observation.episode:
        attributes["episode"] = string(observation.episode)
    attributes["figuresCurrent"] = string("yes")
    return attributes


def _latest(item: Item) -> tuple[Observation, int]:
    return _observation(item), int(item["version"]["N"])


def _version_of(key: Key) -> int:
    return int(key.sort.removeprefix(_PENDING).split(".")[0])


def _observation(item: Item) -> Observation:
    observed_at = aware(item["observedAt"]["S"])
    if observed_at is None:
        raise ValueError("observedAt is null")
    return Observation(
        enrollment=Enrollment.from_dict(json.loads(item["enrollment"]["S"])),
        observed_at=observed_at,
        alerted_at=aware(item["alertedAt"]["S"]) if "alertedAt" in item else None,
        episode=item["episode"]["S"] if "episode" in item else None,
        figures_current="figuresCurrent" in item,
    )


def _owed(item: Item) -> Owed:
    key = Key(item["pk"]["S"], item["sk"]["S"])
    return Owed(key, _version_of(key), Alert.from_json(item["alert"]["S"]), item)
