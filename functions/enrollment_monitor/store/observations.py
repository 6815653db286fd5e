"""The last observation of each (account, Region), with the alerts it still owes.

``LATEST`` holds the observation and a ``version``; each alert owed is an item beside it
(``store.owed``), so one Query reads both, the oldest alert first. Recording a transition
writes the observation (conditional on the version it was decided from) and its alerts in one
transaction: of two invocations that saw the same state only one records it, the other learns
it lost and sends nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from enrollment_monitor.alerts import Alert
from enrollment_monitor.enrollment import Enrollment, Observation, WatchedSubject, aware, iso
from enrollment_monitor.store.owed import SNS, Owed, is_owed, owed_version, owing, read_owed
from enrollment_monitor.store.table import (
    UNREADABLE,
    Item,
    Key,
    Table,
    Unreadable,
    Write,
    number,
    partition,
    put,
    string,
    update,
)

_ENROLLMENT = "ENROLLMENT"
_LATEST = "LATEST"


@dataclass(frozen=True)
class Stored:
    """An observation as stored, with the version its next write is conditional on
    (``observation`` None, version 0: none readable, as if never seen), and ``newest``, the
    highest version the partition holds: the next write goes past it, so a new owed alert
    never lands on one still owed."""

    observation: Observation | None
    version: int
    owed: tuple[Owed, ...] = ()
    newest: int = 0

    @property
    def next_version(self) -> int:
        return max(self.version, self.newest) + 1


@dataclass(frozen=True)
class Loaded:
    """What a load read (None: nothing stored), and the items it could not read."""

    stored: Stored | None
    unreadable: tuple[Unreadable, ...] = ()


class Observations:
    """``sinks``: where each alert recorded from now on is owed (SNS, and EventBridge when
    events are on); a load reads what is owed to any sink."""

    def __init__(self, table: Table, sinks: tuple[str, ...] = (SNS,)) -> None:
        self._table = table
        self._sinks = sinks

    def load(self, where: WatchedSubject) -> Loaded:
        """The last observation and the alerts owed, oldest first, and the items the monitor
        cannot read: the check goes on as if they had never been seen, and sets them aside."""
        latest: tuple[Observation, int] | None = None
        owed: list[Owed] = []
        unreadable: list[Unreadable] = []
        versions = [0]  # the highest goes on, even past items that cannot be read
        for item in self._table.query(_partition(where)):
            sort_key = item["sk"]["S"]
            if sort_key != _LATEST and not is_owed(sort_key):
                continue
            with contextlib.suppress(*UNREADABLE):
                versions.append(_version_of(item))
            try:
                if sort_key == _LATEST:
                    latest = _latest(item)
                else:
                    owed.append(read_owed(item))
            except UNREADABLE as error:
                unreadable.append(self._table.unreadable(item, error))
        if latest is None and max(versions) == 0:
            return Loaded(None, tuple(unreadable))
        observation, version = latest or (None, 0)
        return Loaded(Stored(observation, version, tuple(owed), max(versions)), tuple(unreadable))

    def set_aside(self, unreadable: Unreadable, at: str) -> str:
        return self._table.set_aside(unreadable, at)

    def record(
        self,
        where: WatchedSubject,
        stored: Stored | None,
        observation: Observation,
        alerts: Sequence[Alert] = (),
    ) -> Stored | None:
        """Writes the new observation, and the alerts it owes, unless another invocation wrote
        first: then it returns None and this invocation must send nothing."""
        version = stored.next_version if stored else 1
        attributes = {**_observation_attributes(observation), "version": number(version)}
        if stored is None or stored.observation is None:
            latest = put(_key(where, _LATEST), attributes, "attribute_not_exists(pk)")
        else:
            condition = "version = :version"
            latest = put(_key(where, _LATEST), attributes, condition, _at(stored))
        owed = stored.owed if stored else ()
        writes = [latest]
        for index, alert in enumerate(alerts):
            for new, write in owing(_partition(where), version, alert, index, self._sinks):
                writes.append(write)
                owed = (*owed, new)
        return Stored(observation, version, owed) if self._table.apply(*writes) else None

    def owe(
        self, where: WatchedSubject, stored: Stored, alert: Alert, also: Write
    ) -> Stored | None:
        """Owes an alert that comes with no new observation (organization members), in one
        transaction with ``also``; the version goes up as with ``record``. None: another
        invocation wrote first."""
        version = stored.next_version
        bump = update(
            _key(where, _LATEST),
            "SET version = :next",
            "version = :version",
            {":next": number(version), **_at(stored)},
        )
        owing_it = owing(_partition(where), version, alert, sinks=self._sinks)
        if not self._table.apply(bump, *(write for _, write in owing_it), also):
            return None
        return replace(stored, version=version, owed=(*stored.owed, *(new for new, _ in owing_it)))


def _partition(where: WatchedSubject) -> str:
    return partition(_ENROLLMENT, where.account_id, where.scope)


def _key(where: WatchedSubject, sort_key: str) -> Key:
    return Key(_partition(where), sort_key)


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


def _version_of(item: Item) -> int:
    """The version a LATEST item holds, or that an owed alert's key names."""
    if item["sk"]["S"] == _LATEST:
        return int(item["version"]["N"])
    return owed_version(item["sk"]["S"])


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
