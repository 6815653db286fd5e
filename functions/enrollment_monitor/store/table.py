"""DynamoDB primitives of the state table: keys, conditional writes, queries, batches, leases.

A lease is the one way an invocation holds an item for a while, the way Powertools'
idempotency layer holds its record: a conditional write sets ``leaseUntil`` (epoch seconds)
and ``leaseHolder`` (a token unique to the invocation, ``Holder``) when the item is free or
its lease has expired, and only that holder may give it back or delete the item. The lease
outlives the invocation that took it by ``LEASE_MARGIN_SECONDS``, so an item is never taken
over while its holder may still act.
"""

from __future__ import annotations

import enum
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from enrollment_monitor.errors import MonitorError, calling
from enrollment_monitor.parse import required

logger = Logger()

_CONDITION_FAILED = "ConditionalCheckFailedException"
_CANCELLED = "TransactionCanceledException"
# The cancellation reasons of a transaction that lost a race: a condition failed on one item,
# "None" on the others. Any other (throttling, validation, a conflict) is a failure.
_LOST_RACE_REASONS = {"ConditionalCheckFailed", "None"}
_SET_ASIDE = "SETASIDE#"
# Free: no lease, an ended one, or one no invocation could hold (hand-edited, mistyped).
_FREE = (
    "(attribute_not_exists(leaseUntil) OR NOT attribute_type(leaseUntil, :number)"
    " OR leaseUntil < :now OR leaseUntil > :longest)"
)
# A lease outlives the invocation that holds it by this much, so an item is never taken over
# while its holder may still be acting on it.
LEASE_MARGIN_SECONDS = 10
# The longest lease an invocation takes: Lambda's longest timeout, plus the margin.
LONGEST_LEASE_SECONDS = 900 + LEASE_MARGIN_SECONDS
# What reading a hand-edited or older item raises: such an item is set aside, never crashed on.
UNREADABLE = (KeyError, TypeError, ValueError, AttributeError)
BATCH_SIZE = 25  # the most requests one BatchWriteItem takes

Item = dict[str, Any]


@dataclass(frozen=True)
class Key:
    partition: str
    sort: str

    def attributes(self) -> Item:
        return {"pk": {"S": self.partition}, "sk": {"S": self.sort}}


def partition(kind: str, account_id: str, region: str) -> str:
    return f"{kind}#{account_id}#{region}"


@dataclass(frozen=True)
class Holder:
    """An invocation as it holds leases: a token no other invocation has, the time it reads
    the table at, and when its leases end (epoch seconds)."""

    token: str
    now: float
    until: float

    @classmethod
    def of_invocation(cls, now: float, remaining_seconds: float) -> Holder:
        return cls(uuid.uuid4().hex, now, now + remaining_seconds + LEASE_MARGIN_SECONDS)


@dataclass(frozen=True)
class Lease:
    """``holder`` may act on the item at ``key`` until its leases end."""

    key: Key
    holder: Holder


@dataclass(frozen=True)
class Unreadable:
    """An item a load could not read (a hand edit, an older version): what the load returns in
    its place, for the check to set aside (``Table.set_aside``)."""

    key: Key
    why: str
    _item: Item = field(repr=False, compare=False)

    def __str__(self) -> str:
        return f"{self.key.partition} {self.key.sort} ({self.why})"


class Refusal(enum.Enum):
    """Why a lease was not taken."""

    HELD = "held"  # another invocation holds it, or the item no longer holds what was expected
    GONE = "gone"  # no such item (any more)


@dataclass(frozen=True)
class Write:
    """One conditional write (``Put``, ``Update`` or ``Delete``), alone or in a transaction.
    ``collision``: what it means when this write's condition fails while every other write's
    held: not a race another invocation won, but an item in the way (raised, never lost)."""

    action: str
    request: Item
    collision: str = ""

    @property
    def permission(self) -> str:
        return f"dynamodb:{self.action}Item"


def update(
    key: Key, expression: str, condition: str, values: Item, names: Iterable[str] = ()
) -> Write:
    """An UpdateItem; ``names`` are the attributes written ``#name`` in the expressions."""
    request: Item = {
        "Key": key.attributes(),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": values,
    }
    named = {f"#{name}": name for name in names}
    if named:
        request["ExpressionAttributeNames"] = named
    return Write("Update", request)


def put(
    key: Key,
    attributes: Item,
    condition: str = "",
    values: Item | None = None,
    collision: str = "",
) -> Write:
    request: Item = {"Item": {**key.attributes(), **attributes}}
    if condition:
        request["ConditionExpression"] = condition
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    if values:
        request["ExpressionAttributeValues"] = values
    return Write("Put", request, collision)


def give_back(lease: Lease, setting: Mapping[str, float] | None = None) -> Write:
    """Ends the lease, setting ``setting`` too, if the lease is still this invocation's."""
    assignments, values = _assignments(setting or {})
    expression = "REMOVE leaseUntil, leaseHolder"
    if assignments:
        expression = f"SET {', '.join(assignments)} {expression}"
    condition, held = _held(lease)
    return update(lease.key, expression, condition, {**held, **values}, setting or {})


def delete(lease: Lease) -> Write:
    """Deletes the leased item, if the lease is still this invocation's."""
    condition, held = _held(lease)
    request = {
        "Key": lease.key.attributes(),
        "ConditionExpression": condition,
        "ExpressionAttributeValues": held,
    }
    return Write("Delete", request)


def _assignments(attributes: Mapping[str, float]) -> tuple[list[str], Item]:
    """``#name = :name`` for each attribute, and the values they name."""
    return (
        [f"#{name} = :{name}" for name in attributes],
        {f":{name}": number(value) for name, value in attributes.items()},
    )


class Table:
    """The table's calls. The module's functions build a ``Write``; ``apply`` runs it."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name
        self.region: str = client.meta.region_name

    def query(self, partition_key: str, attributes: Iterable[str] = ()) -> Iterator[Item]:
        """Every item of a partition (only ``attributes``, if given) in sort key order, strongly
        consistent, page by page."""
        arguments: Item = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition_key}},
            "ConsistentRead": True,
        }
        if attributes:
            arguments["ProjectionExpression"] = ", ".join(f"#{name}" for name in attributes)
            arguments["ExpressionAttributeNames"] = {f"#{name}": name for name in attributes}
        with calling("dynamodb:Query", self.region):
            while True:
                page = self._client.query(**arguments)
                yield from required(page, "Items")
                if "LastEvaluatedKey" not in page:
                    return
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def apply(self, *writes: Write) -> bool:
        """One write on its own, several in one transaction; False when a condition failed:
        another invocation wrote first. Any other failure raises, naming the IAM action."""
        refused = self._lost_race(*writes)
        if refused is None:
            return True
        # A conditional put whose reply was lost: botocore sent it again, and the condition
        # then failed on this invocation's own item.
        (first, *more) = writes
        return (
            not more
            and first.action == "Put"
            and refused.response.get("Item") == first.request["Item"]
        )

    def _lost_race(self, *writes: Write) -> ClientError | None:
        """Runs the writes: None once applied, the error of a failed condition, else raises."""
        if len(writes) == 1:
            (write,) = writes
            operation = getattr(self._client, f"{write.action.lower()}_item")
            arguments: Item = {"TableName": self.name, **write.request}
        else:
            operation = self._client.transact_write_items
            arguments = {
                "TransactItems": [{w.action: {"TableName": self.name, **w.request}} for w in writes]
            }
        with calling(writes[0].permission, self.region):
            try:
                written(operation(**arguments))
            except ClientError as error:
                if not _is_lost_race(error):
                    raise
                collided = _collided(writes, error)
                if collided:
                    raise MonitorError(collided) from error
                return error
        return None

    def take(
        self,
        key: Key,
        holder: Holder,
        holding: Mapping[str, float] | None = None,
        creating: Mapping[str, float] | None = None,
    ) -> Lease | Refusal:
        """Takes the item at ``key`` for ``holder``, unless another invocation holds it. The
        item must exist, and hold ``holding`` if given; with ``creating``, it must not exist
        yet and is created with these attributes."""
        fence = holding or creating or {}
        assignments, values = _assignments(fence)
        if creating:
            condition = "attribute_not_exists(pk)"
        else:
            condition = " AND ".join(
                ["attribute_exists(pk)", *(f"#{name} = :{name}" for name in fence)]
            )
            assignments = []
        write = update(
            key,
            "SET " + ", ".join(["leaseUntil = :until", "leaseHolder = :holder", *assignments]),
            f"{condition} AND {_FREE}",
            {
                ":until": number(holder.until),
                ":holder": string(holder.token),
                ":now": number(holder.now),
                ":longest": number(holder.now + LONGEST_LEASE_SECONDS),
                ":number": string("N"),
                **values,
            },
            fence,
        )
        write.request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        refused = self._lost_race(write)
        held = refused.response.get("Item") if refused else None
        if refused is None or (held and held.get("leaseHolder") == string(holder.token)):
            return Lease(key, holder)  # taken; or taken by the attempt whose reply was lost
        return Refusal.HELD if held else Refusal.GONE

    def set_aside(self, unreadable: Unreadable, at: str) -> str:
        """Moves an item a load could not read aside, while it is as read (else another
        invocation rewrote it and this one must not go on); what was set aside, described."""
        kept = _attributes(unreadable._item)
        return self._move_aside(
            unreadable.key, kept, unreadable.why, at, _delete_as_read(unreadable.key, kept)
        )

    def set_aside_leased(self, lease: Lease, attributes: Item, why: str, at: str) -> str:
        """Moves a leased item aside (an alert SNS refused), while the lease is still held."""
        return self._move_aside(lease.key, attributes, why, at, delete(lease))

    def _move_aside(self, key: Key, attributes: Item, why: str, at: str, removal: Write) -> str:
        """Copies the item to a partition the monitor never reads, for a person to inspect,
        removing it in the same transaction; logs it at ERROR."""
        aside = Key(_SET_ASIDE + key.partition, f"{key.sort}#{at}#{uuid.uuid4().hex[:8]}")
        copy = put(aside, {**attributes, "setAsideBecause": string(why), "setAsideAt": string(at)})
        if not self.apply(copy, removal):
            raise MonitorError(
                f"{key.partition} {key.sort} changed while it was being set aside ({why}): "
                "another invocation wrote it; the next check reads it again"
            )
        described = f"{key.partition} {key.sort} ({why}), kept as {aside.partition} {aside.sort}"
        logger.error("state item set aside", extra={"item": described})
        return described

    def unreadable(self, item: Item, error: Exception) -> Unreadable:
        """What a load returns for an item it could not read."""
        why = f"unreadable: {type(error).__name__}: {error}"
        return Unreadable(Key(item["pk"]["S"], item["sk"]["S"]), why, item)

    def batch(self) -> BatchWriter:
        return BatchWriter(self._client, self.name, self.region)


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
        self._requests: list[Item] = []

    def put(self, key: Key, attributes: Item) -> None:
        self._add({"PutRequest": {"Item": {**key.attributes(), **attributes}}})

    def delete(self, key: Key) -> None:
        self._add({"DeleteRequest": {"Key": key.attributes()}})

    def _add(self, request: Item) -> None:
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
                response = written(
                    self._client.batch_write_item(RequestItems={self._table: requests})
                )
                requests = required(response, "UnprocessedItems").get(self._table, [])
        if requests:
            raise MonitorError(
                f"dynamodb:BatchWriteItem in {self._region} failed: {len(requests)} items still "
                f"unprocessed after {self._attempts} attempts (the table is throttled)"
            )


def written(answer: Item) -> Item:
    """A write's answer, if it is DynamoDB's: a write answers no field, but every answer of
    DynamoDB carries its request id (``x-amzn-RequestId``), which a proxy's page or an empty
    body does not; without it nothing says the write was applied (``parse.Missing``)."""
    required(answer, "ResponseMetadata", "RequestId")
    return answer


def lease_running(lease_until: float, now: float) -> bool:
    """Whether a lease seen in an item still holds: what ``_FREE`` says on the DynamoDB side."""
    return now <= lease_until <= now + LONGEST_LEASE_SECONDS


def _delete_as_read(key: Key, attributes: Item) -> Write:
    """Deletes the item if it still holds ``attributes`` as read."""
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    values = {f":a{i}": value for i, value in enumerate(attributes.values())}
    condition = " AND ".join(
        ["attribute_exists(pk)", *(f"#a{i} = :a{i}" for i in range(len(names)))]
    )
    request: Item = {"Key": key.attributes(), "ConditionExpression": condition}
    if names:
        request["ExpressionAttributeNames"] = names
        request["ExpressionAttributeValues"] = values
    return Write("Delete", request)


def _collided(writes: tuple[Write, ...], error: ClientError) -> str:
    """In a transaction, the ``collision`` of the one write whose condition failed while every
    other write's held; "" for a race (or a write that has no ``collision``)."""
    reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
    failed = [write for write, code in zip(writes, reasons, strict=False) if code != "None"]
    return failed[0].collision if len(failed) == 1 else ""


def _attributes(item: Item) -> Item:
    return {name: value for name, value in item.items() if name not in ("pk", "sk")}


def _is_lost_race(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    if code == _CANCELLED:
        reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons", [])}
        return "ConditionalCheckFailed" in reasons and reasons <= _LOST_RACE_REASONS
    return bool(code == _CONDITION_FAILED)


def _held(lease: Lease) -> tuple[str, Item]:
    return "leaseHolder = :holder", {":holder": string(lease.holder.token)}


def number(value: float) -> dict[str, str]:
    return {"N": str(value)}


def string(value: str) -> dict[str, str]:
    return {"S": value}
