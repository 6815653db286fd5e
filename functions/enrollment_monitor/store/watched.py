"""What the account's checks watched last: one item (``WATCHED#<account>``, ``SUBJECTS``)
naming every subject's state scope. A subject that leaves the configuration (a Region removed
from ``Regions``, a value from ``AlsoWatch``) is found there, so what it still owes is
delivered: configuration never drops an alert."""

from __future__ import annotations

from collections.abc import Iterable

from enrollment_monitor.enrollment import COMPUTE_OPTIMIZER, WatchedSubject
from enrollment_monitor.store.table import UNREADABLE, Key, Table, put

_WATCHED = "WATCHED"
_SUBJECTS = "SUBJECTS"


class WatchedSubjects:
    def __init__(self, table: Table) -> None:
        self._table = table

    def load(self, account_id: str) -> frozenset[WatchedSubject] | None:
        """The subjects watched at the last check that recorded them; None: never recorded (a
        table older than this record, or unreadable: the next save writes it anew)."""
        for item in self._table.query(_key(account_id).partition):
            try:
                return frozenset(_subject(account_id, scope) for scope in item["scopes"]["SS"])
            except UNREADABLE:
                return None
        return None

    def save(self, account_id: str, subjects: Iterable[WatchedSubject]) -> None:
        scopes = sorted({subject.scope for subject in subjects})
        self._table.apply(put(_key(account_id), {"scopes": {"SS": scopes}}))


def _key(account_id: str) -> Key:
    return Key(f"{_WATCHED}#{account_id}", _SUBJECTS)


def _subject(account_id: str, scope: str) -> WatchedSubject:
    """The subject a scope names (``WatchedSubject.scope`` written back)."""
    region, _, service = scope.partition("#")
    return WatchedSubject(account_id, region, service or COMPUTE_OPTIMIZER)
