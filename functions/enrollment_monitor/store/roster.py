"""Organization members as last reported, beside the observations in the state table.

One partition per (account, Region), ``MEMBERS#<account>#<region>``: an item per member, its
account id as sort key, and a control item ``#ROUND`` (it sorts before any account id).

The control item counts the rounds closed so far (``round``; 0 while the silent baseline is
not complete) and holds the members' lease: the one invocation allowed to write members right
now. A member item holds the status last reported (none: the member left). What a check writes
beyond that is tagged with the round that check closes (``round``): an unreported change, with
the status it had before (``previousStatus``), and a member the listing missed for the first
time (``unlistedAt``). The round is closed by the write that ends the check's lease (in the
transaction that owes the alert, when there is one): a change is reported once, by that alert
or by a later check if this one died first; a miss counts once its round is closed.

State that contradicts itself (a hand edit, a restore of one item) is repaired, not obeyed:
logged once, read as the monitor would have written it, and written back by the same check. A
check tags what it writes with the next round only, so a member tagged beyond it holds what
was reported in a round since closed; and only a check after a complete listing tags members,
so a round below 0, or 0 beside tagged members, goes on from the latest round they name.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from enrollment_monitor.enrollment import WatchedSubject
from enrollment_monitor.member_diff import (
    GONE,
    Forget,
    MemberWrite,
    Remembered,
    StoredMembers,
    Unlisted,
    Unreported,
)
from enrollment_monitor.parse import is_account_id, shown
from enrollment_monitor.store.table import (
    UNREADABLE,
    BatchWriter,
    Holder,
    Key,
    Lease,
    Table,
    Unreadable,
    Write,
    give_back,
    number,
    partition,
    string,
)

logger = Logger()

_MEMBERS = "MEMBERS"
_CONTROL = "#ROUND"


@dataclass
class Roster:
    """The members as remembered, and the control item."""

    round: int | None  # None: member tracking never ran here
    lease_until: float
    members: StoredMembers
    controlled: bool = True  # False: no control item (never ran, or it could not be read)
    unreadable: tuple[Unreadable, ...] = ()  # items the load could not read: as if never seen
    # Repairs: the control item's round as stored, where ``round`` repairs it; the members
    # whose item is to be written again.
    stored_round: int | None = None
    rewrite: frozenset[str] = frozenset()

    @property
    def repairs(self) -> bool:
        """Whether the load repaired state that contradicts itself: a check writes it back."""
        return self.stored_round is not None or bool(self.rewrite)

    @property
    def next_round(self) -> int:
        """The round in which the changes written now are to be reported."""
        return (self.round or 0) + 1

    @property
    def baseline(self) -> bool:
        """True until a first complete listing of the organization is recorded."""
        return not self.round


class Rosters:
    def __init__(self, table: Table) -> None:
        self._table = table

    def load(self, where: WatchedSubject) -> Roster:
        """Every member, with a strongly consistent Query, page by page (1 MB each). An item
        the monitor cannot read is returned in ``unreadable``, as if never seen."""
        round_, lease = None, 0.0
        account_ids: list[str] = []
        remembered: list[Remembered] = []
        unreadable: list[Unreadable] = []
        tagged: list[tuple[int, int, str, str | None, bool]] = []
        attributes = ("sk", "status", "round", "previousStatus", "unlistedAt", "leaseUntil")
        for item in self._table.query(_partition(where), attributes):
            try:
                if item["sk"]["S"] == _CONTROL:
                    round_ = int(item["round"]["N"])
                    lease = float(item["leaseUntil"]["N"]) if "leaseUntil" in item else 0.0
                    continue
                if not is_account_id(item["sk"]["S"]):  # a hand edit: no member of ours
                    raise ValueError("its sort key is not a 12-digit account id")
                status = sys.intern(item["status"]["S"]) if "status" in item else GONE
                if "round" in item or "unlistedAt" in item:
                    previous = item["previousStatus"]["S"] if "previousStatus" in item else None
                    tag = int(item["round"]["N"]) if "round" in item else 0
                    unlisted = "unlistedAt" in item
                    tagged.append((len(account_ids), tag, status, previous, unlisted))
            except UNREADABLE as error:
                unreadable.append(self._table.unreadable({"pk": _pk(where), **item}, error))
                continue
            account_ids.append(item["sk"]["S"])
            remembered.append(status)
        controlled, stored_round = round_ is not None, None
        latest = max((tag for _, tag, *_ in tagged), default=0)
        if not controlled and account_ids:
            # The control item cannot be read: a silent baseline would drop every change since
            # the last check. Go on from the latest round seen (its changes count as reported).
            round_ = max(latest, 1)
        elif round_ is not None and (round_ < 0 or (round_ == 0 and latest)):
            stored_round, round_ = round_, max(latest, 1) if account_ids else 0
            logger.warning(
                "state repaired: the members' round contradicts the members",
                extra={
                    "item": f"{_partition(where)} {_CONTROL}",
                    "round": stored_round,
                    "repairedTo": round_,
                },
            )
        closed = round_ or 0
        rewrite: set[str] = set()
        for at, tag, status, previous, unlisted in tagged:
            if tag > closed + 1:  # a check tags with the next round: this one is past, reported
                rewrite.add(account_ids[at])
                logger.warning(
                    "state repaired: a member tagged with a round not yet reached",
                    extra={
                        "item": f"{_partition(where)} {account_ids[at]}",
                        "round": tag,
                        "closedRound": closed,
                    },
                )
            if unlisted:  # a miss counts once the check that saw it closed its round
                if status and tag <= closed:
                    remembered[at] = Unlisted(status)
                else:  # as if never written: a check writes it again, whatever it finds
                    rewrite.add(account_ids[at])
            elif closed < tag <= closed + 1:
                remembered[at] = Unreported(status or None, previous)
        members = StoredMembers(account_ids, remembered)
        return Roster(
            round_, lease, members, controlled, tuple(unreadable), stored_round, frozenset(rewrite)
        )

    def set_aside(self, unreadable: Unreadable, at: str) -> str:
        return self._table.set_aside(unreadable, at)

    def take(self, where: WatchedSubject, roster: Roster, holder: Holder) -> Lease | None:
        """The right to write members, unless another invocation holds it or has closed a
        round since ``roster`` was loaded."""
        key, round_ = _key(where, _CONTROL), roster.round or 0
        if roster.stored_round is not None:
            taken = self._table.take(key, holder, holding={"round": roster.stored_round})
        elif roster.controlled:
            taken = self._table.take(key, holder, holding={"round": round_})
        else:
            taken = self._table.take(key, holder, creating={"round": round_})
        return taken if isinstance(taken, Lease) else None

    def closing(self, lease: Lease, round_: int | None = None) -> Write:
        """Gives the lease back and, with ``round_``, closes that round: a write to apply
        alone or in the transaction that owes the alert."""
        return give_back(lease, None if round_ is None else {"round": round_})

    def writer(self, where: WatchedSubject, round_: int, observed_at: str) -> MemberWriter:
        return MemberWriter(self._table.batch(), where, round_, observed_at)


class MemberWriter:
    """Writes member items in batches; ``round_`` tags the unreported changes."""

    def __init__(
        self, batch: BatchWriter, where: WatchedSubject, round_: int, observed_at: str
    ) -> None:
        self._batch, self._where, self._round, self._observed_at = batch, where, round_, observed_at

    def write(self, write: MemberWrite) -> None:
        if not is_account_id(write.account_id):  # checked where it entered: never a control item
            raise ValueError(f"not a member's account id: {shown(write.account_id)}")
        key = _key(self._where, write.account_id)
        if isinstance(write, Forget):
            self._batch.delete(key)
            return
        remembered = write.remembered
        item = {"observedAt": string(self._observed_at)}
        status = remembered if isinstance(remembered, str) else remembered.status
        if status:
            item["status"] = string(status)
        if not isinstance(remembered, str):
            item["round"] = number(self._round)
        if isinstance(remembered, Unreported) and remembered.previous:
            item["previousStatus"] = string(remembered.previous)
        if isinstance(remembered, Unlisted):
            item["unlistedAt"] = string(self._observed_at)
        self._batch.put(key, item)

    def flush(self) -> None:
        self._batch.flush()


def _partition(where: WatchedSubject) -> str:
    return partition(_MEMBERS, where.account_id, where.region)


def _pk(where: WatchedSubject) -> dict[str, str]:
    """The partition key attribute, which the load does not project."""
    return {"S": _partition(where)}


def _key(where: WatchedSubject, sort_key: str) -> Key:
    return Key(_partition(where), sort_key)
