"""Organization members as last reported, kept in the state table beside the observations.

One partition per (account, Region), ``MEMBERS#<account>#<region>``: an item per member, its
account id as sort key, and a control item ``#ROUND`` (it sorts before any account id).

The control item counts the rounds of member changes reported so far (``round``; 0 while the
silent baseline is not complete) and holds the lease (``leaseUntil``) of the one invocation
allowed to write members right now. A member item holds the status last reported; a member
whose change is written but not yet reported (the alert that reports it is owed in the same
transaction that closes the round) also holds the round that will report it and the status
it had before (``round``, ``previousStatus``). A check that finds such items, after the check
that wrote them died, reports them: nothing is lost, and nothing is reported twice because the
round is closed in the transaction that owes the alert. A member that left the organization
is an item without a status until a later round that writes anyway deletes it.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from enrollment_monitor.enrollment import AccountRegion
from enrollment_monitor.errors import MonitorError, calling
from enrollment_monitor.state import conditional_write, item_key, number, partition

_MEMBERS = "MEMBERS"
_CONTROL = "#ROUND"
_NAMES = {"#status": "status", "#round": "round"}
BATCH_SIZE = 25  # the most requests one BatchWriteItem takes


@dataclass(frozen=True)
class Unreported:
    """A member whose change is written and not yet reported."""

    status: str | None  # None: it left the organization
    previous: str | None  # the status last reported; None: not a member then


# What the table remembers of a member: the status last reported, GONE for a member that left
# (reported), or an unreported change.
GONE = ""
Remembered: TypeAlias = str | Unreported


@dataclass
class Roster:
    """The members as remembered, and the control item."""

    round: int | None  # None: member tracking never ran here
    lease_until: float
    members: dict[str, Remembered]

    @property
    def baseline(self) -> bool:
        """True until a first complete listing of the organization is recorded."""
        return not self.round


class MemberTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load(self, where: AccountRegion) -> Roster:
        """All members, with a strongly consistent Query, page by page (1 MB each)."""
        control: dict[str, Any] | None = None
        members: dict[str, Remembered] = {}
        tagged: list[tuple[str, int, str, str | None]] = []
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": partition(_MEMBERS, where)}},
            ExpressionAttributeNames=_NAMES,
            ProjectionExpression="sk, #status, #round, previousStatus, leaseUntil",
            ConsistentRead=True,
        )
        with calling("dynamodb:Query", where.region):
            for page in pages:
                for item in page["Items"]:
                    account_id = item["sk"]["S"]
                    if account_id == _CONTROL:
                        control = item
                        continue
                    status = sys.intern(item["status"]["S"]) if "status" in item else GONE
                    members[account_id] = status
                    if "round" in item:
                        previous = item.get("previousStatus", {}).get("S")
                        tagged.append((account_id, int(item["round"]["N"]), status, previous))
        reported = int(control["round"]["N"]) if control else None
        for account_id, round_, status, previous in tagged:
            if round_ > (reported or 0):
                members[account_id] = Unreported(status or None, previous)
        lease = float(control["leaseUntil"]["N"]) if control and "leaseUntil" in control else 0
        return Roster(reported, lease, members)

    def lease(self, where: AccountRegion, roster: Roster, until: float, now: float) -> bool:
        """Takes the right to write members, unless another invocation holds it or has closed
        a round since ``roster`` was loaded."""
        if roster.round is None:
            condition = "attribute_not_exists(pk)"
            update = "SET leaseUntil = :until, #round = :round"
            values = {":until": number(until), ":round": number(0)}
        else:
            condition = (
                "#round = :round AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)"
            )
            update = "SET leaseUntil = :until"
            values = {":until": number(until), ":round": number(roster.round), ":now": number(now)}
        return conditional_write(
            "dynamodb:UpdateItem",
            where.region,
            self._client.update_item,
            TableName=self._table,
            Key=_key(where, _CONTROL),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#round": "round"},
            ExpressionAttributeValues=values,
        )

    def closing(self, where: AccountRegion, lease: float, round_: int | None) -> dict[str, Any]:
        """The update that gives the lease back and, with ``round_``, closes that round: as a
        transaction item (see ``StateTable.owe``)."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(where, _CONTROL),
            "UpdateExpression": "REMOVE leaseUntil",
            "ConditionExpression": "leaseUntil = :lease",
            "ExpressionAttributeValues": {":lease": number(lease)},
        }
        if round_ is not None:
            update["UpdateExpression"] = "SET #round = :round REMOVE leaseUntil"
            update["ExpressionAttributeNames"] = {"#round": "round"}
            update["ExpressionAttributeValues"][":round"] = number(round_)
        return {"Update": update}

    def close(self, where: AccountRegion, lease: float, round_: int | None = None) -> bool:
        """Gives the lease back (closing ``round_`` if given); False if it had been taken over."""
        update = self.closing(where, lease, round_)["Update"]
        return conditional_write(
            "dynamodb:UpdateItem", where.region, self._client.update_item, **update
        )

    def writer(self, where: AccountRegion, round_: int, observed_at: str) -> MemberWriter:
        return MemberWriter(
            BatchWriter(self._client, self._table, where.region), where, round_, observed_at
        )


class MemberWriter:
    """Writes member items in batches; ``round_`` tags the unreported changes."""

    def __init__(
        self, batch: BatchWriter, where: AccountRegion, round_: int, observed_at: str
    ) -> None:
        self._batch, self._where, self._round, self._observed_at = batch, where, round_, observed_at

    def put(self, account_id: str, remembered: Remembered) -> None:
        item = {**_key(self._where, account_id), "observedAt": {"S": self._observed_at}}
        status = remembered.status if isinstance(remembered, Unreported) else remembered
        if status:
            item["status"] = {"S": status}
        if isinstance(remembered, Unreported):
            item["round"] = number(self._round)
            if remembered.previous:
                item["previousStatus"] = {"S": remembered.previous}
        self._batch.add({"PutRequest": {"Item": item}})

    def delete(self, account_id: str) -> None:
        self._batch.add({"DeleteRequest": {"Key": _key(self._where, account_id)}})

    def flush(self) -> None:
        self._batch.flush()


class BatchWriter:
    """BatchWriteItem, 25 requests at a time, resending the unprocessed ones with exponential
    backoff and jitter, as DynamoDB asks."""

    def __init__(
        self,
        client: Any,
        table: str,
        region: str,
        attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client, self._table, self._region = client, table, region
        self._attempts, self._sleep = attempts, sleep
        self._requests: list[dict[str, Any]] = []

    def add(self, request: dict[str, Any]) -> None:
        self._requests.append(request)
        if len(self._requests) == BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        requests, self._requests = self._requests, []
        for attempt in range(self._attempts):
            if not requests:
                return
            if attempt:
                self._sleep(random.uniform(0.5, 1.0) * min(2.0, 0.05 * 2**attempt))
            with calling("dynamodb:BatchWriteItem", self._region):
                response = self._client.batch_write_item(RequestItems={self._table: requests})
            requests = response.get("UnprocessedItems", {}).get(self._table, [])
        if requests:
            raise MonitorError(
                f"dynamodb:BatchWriteItem in {self._region} failed: {len(requests)} items still "
                f"unprocessed after {self._attempts} attempts (the table is throttled)"
            )


def _key(where: AccountRegion, sort_key: str) -> dict[str, Any]:
    return item_key(_MEMBERS, where, sort_key)
