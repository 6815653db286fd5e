"""The last observation of each (account, Region) in DynamoDB, and the alerts it still owes.

One partition per (account, Region): the item ``LATEST`` holds the observation and a
``version``; each alert not yet delivered is an item ``PENDING#<version>`` beside it. A Query
reads both in one request. Recording a transition writes the observation (conditional on the
version it was decided from) and its pending alert in one transaction, so of two invocations
that saw the same state only one records it; the other learns it lost and sends nothing.
Alerts are deleted only after SNS accepted them, and a lease (``leaseUntil``) marks the one an
invocation is publishing right now, so no other invocation sends it a second time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from enrollment_monitor.alerts import Alert
from enrollment_monitor.enrollment import AccountRegion, Enrollment, Observation, iso
from enrollment_monitor.errors import calling

_LOST_RACE = {"ConditionalCheckFailedException", "TransactionCanceledException"}
_ENROLLMENT = "ENROLLMENT"
_LATEST = "LATEST"
_PENDING = "PENDING#"


@dataclass(frozen=True)
class PendingAlert:
    sort_key: str
    alert: Alert
    lease_until: float = 0.0


@dataclass(frozen=True)
class Stored:
    """An observation as stored, with the version its next write is conditional on."""

    observation: Observation
    version: int
    pending: tuple[PendingAlert, ...] = ()


class StateTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load(self, where: AccountRegion) -> Stored | None:
        with calling("dynamodb:Query", where.region):
            items = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": _partition(where)}},
                ConsistentRead=True,
            )["Items"]
        latest = next((item for item in items if item["sk"]["S"] == _LATEST), None)
        if latest is None:
            return None
        pending = tuple(_pending(item) for item in items if item["sk"]["S"].startswith(_PENDING))
        return Stored(_observation(latest), int(latest["version"]["N"]), pending)

    def record(
        self,
        where: AccountRegion,
        previous: Stored | None,
        observation: Observation,
        alert: Alert | None = None,
    ) -> Stored | None:
        """Writes the new observation, and the alert it owes, unless another invocation wrote
        first: then it returns None and this invocation must send nothing."""
        version = previous.version + 1 if previous else 1
        put = {
            "TableName": self._table,
            "Item": {
                **_key(where, _LATEST),
                **_observation_attributes(observation),
                "version": number(version),
            },
            **_unchanged_since(previous),
        }
        pending = previous.pending if previous else ()
        if alert is None:
            written = self._write("dynamodb:PutItem", where, self._client.put_item, **put)
        else:
            owed, put_alert = self._owed(where, version, alert)
            written = self._write(
                "dynamodb:PutItem",
                where,
                self._client.transact_write_items,
                TransactItems=[{"Put": put}, put_alert],
            )
            pending = (*pending, owed)
        return Stored(observation, version, pending) if written else None

    def owe(
        self,
        where: AccountRegion,
        stored: Stored,
        alert: Alert,
        also: Sequence[dict[str, Any]] = (),
    ) -> Stored | None:
        """Owes an alert that comes with no new observation (organization members): the
        version goes up as with ``record``, in one transaction with the alert and ``also``
        (more transaction items), unless another invocation wrote first (None)."""
        version = stored.version + 1
        owed, put_alert = self._owed(where, version, alert)
        bump = {
            "TableName": self._table,
            "Key": _key(where, _LATEST),
            "UpdateExpression": "SET version = :next",
            "ConditionExpression": "version = :version",
            "ExpressionAttributeValues": {
                ":next": number(version),
                ":version": number(stored.version),
            },
        }
        written = self._write(
            "dynamodb:UpdateItem",
            where,
            self._client.transact_write_items,
            TransactItems=[{"Update": bump}, put_alert, *also],
        )
        if not written:
            return None
        return replace(stored, version=version, pending=(*stored.pending, owed))

    def _owed(
        self, where: AccountRegion, version: int, alert: Alert
    ) -> tuple[PendingAlert, dict[str, Any]]:
        owed = PendingAlert(f"{_PENDING}{version:012d}", alert)
        item = {**_key(where, owed.sort_key), "alert": {"S": alert.to_json()}}
        return owed, {"Put": {"TableName": self._table, "Item": item}}

    def lease(self, where: AccountRegion, owed: PendingAlert, until: float, now: float) -> bool:
        """Takes the pending alert for delivery, unless another invocation holds it."""
        return self._change_owed(
            where,
            owed,
            self._client.update_item,
            "attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
            {":until": number(until), ":now": number(now)},
            UpdateExpression="SET leaseUntil = :until",
        )

    def delivered(self, where: AccountRegion, owed: PendingAlert, lease: float) -> bool:
        """Forgets the alert once SNS accepted it (False: the lease had been taken over)."""
        return self._change_owed(
            where, owed, self._client.delete_item, "leaseUntil = :lease", {":lease": number(lease)}
        )

    def release(self, where: AccountRegion, owed: PendingAlert, lease: float) -> bool:
        """Gives the lease back after a failed delivery, so the next check retries at once."""
        return self._change_owed(
            where,
            owed,
            self._client.update_item,
            "leaseUntil = :lease",
            {":lease": number(lease)},
            UpdateExpression="REMOVE leaseUntil",
        )

    def _change_owed(
        self,
        where: AccountRegion,
        owed: PendingAlert,
        operation: Any,
        condition: str,
        values: dict[str, Any],
        **update: str,
    ) -> bool:
        call = "dynamodb:UpdateItem" if update else "dynamodb:DeleteItem"
        return self._write(
            call,
            where,
            operation,
            TableName=self._table,
            Key=_key(where, owed.sort_key),
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            **update,
        )

    def _write(self, call: str, where: AccountRegion, operation: Any, **arguments: Any) -> bool:
        return conditional_write(call, where.region, operation, **arguments)


def conditional_write(call: str, region: str, operation: Any, **arguments: Any) -> bool:
    """Runs a conditional write; False when its condition failed: another invocation wrote
    first. ``call`` names the IAM action in the error raised for any other failure."""
    with calling(call, region):
        try:
            operation(**arguments)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _LOST_RACE:
                return False
            raise
    return True


def partition(kind: str, where: AccountRegion) -> str:
    """One partition per kind and (account, Region): ``ENROLLMENT#…`` holds the observation
    and its owed alerts, ``MEMBERS#…`` the organization's members (member_state)."""
    return f"{kind}#{where.account_id}#{where.region}"


def item_key(kind: str, where: AccountRegion, sort_key: str) -> dict[str, Any]:
    return {"pk": {"S": partition(kind, where)}, "sk": {"S": sort_key}}


def _partition(where: AccountRegion) -> str:
    return partition(_ENROLLMENT, where)


def _key(where: AccountRegion, sort_key: str) -> dict[str, Any]:
    return item_key(_ENROLLMENT, where, sort_key)


def _unchanged_since(previous: Stored | None) -> dict[str, Any]:
    if previous is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "version = :version",
        "ExpressionAttributeValues": {":version": number(previous.version)},
    }


def _observation_attributes(observation: Observation) -> dict[str, Any]:
    attributes = {
        "status": {"S": observation.enrollment.status},
        "enrollment": {"S": json.dumps(observation.enrollment.to_dict())},
        "observedAt": {"S": iso(observation.observed_at)},
    }
    if observation.alerted_at:
        attributes["alertedAt"] = {"S": iso(observation.alerted_at)}
    return attributes


def _observation(item: dict[str, Any]) -> Observation:
    alerted_at = item.get("alertedAt", {}).get("S")
    return Observation(
        enrollment=Enrollment.from_dict(json.loads(item["enrollment"]["S"])),
        observed_at=datetime.fromisoformat(item["observedAt"]["S"]),
        alerted_at=datetime.fromisoformat(alerted_at) if alerted_at else None,
    )


def _pending(item: dict[str, Any]) -> PendingAlert:
    lease_until = float(item.get("leaseUntil", {}).get("N", 0))
    return PendingAlert(item["sk"]["S"], Alert.from_json(item["alert"]["S"]), lease_until)


def number(value: float) -> dict[str, str]:
    """A DynamoDB number attribute value."""
    return {"N": str(value)}
