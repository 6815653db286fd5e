"""The last observation of each (account, Region) in DynamoDB, and the alert it owes.

Every write is conditional on the item's ``version``, so of two invocations that saw the same
state only one can record a transition; the other learns it lost and sends nothing. An alert
is stored as pending in the same write that records the transition, and cleared only after
SNS accepted it: if publishing fails it is still there for the next check. A lease
(``leaseUntil``) marks a pending alert that an invocation is delivering right now, so another
invocation does not send it a second time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from enrollment_monitor.alerts import Alert
from enrollment_monitor.enrollment import AccountRegion, Enrollment, Observation, iso
from enrollment_monitor.errors import calling

_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Stored:
    """An observation as stored, with the version its next write is conditional on."""

    observation: Observation
    version: int
    pending: Alert | None = None
    lease_until: float = 0.0


class StateTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load(self, where: AccountRegion) -> Stored | None:
        with calling("dynamodb:GetItem", where.region):
            item = self._client.get_item(
                TableName=self._table, Key=_key(where), ConsistentRead=True
            ).get("Item")
        return _stored(item) if item else None

    def record(
        self,
        where: AccountRegion,
        previous: Stored | None,
        observation: Observation,
        alert: Alert | None = None,
        lease_until: float = 0.0,
    ) -> Stored | None:
        """Writes the new observation (with its pending alert) unless another writer got there
        first, in which case it returns None."""
        version = previous.version + 1 if previous else 1
        item = {**_key(where), **_observation_attributes(observation), "version": _n(version)}
        if alert:
            item["pendingAlert"] = {"S": alert.to_json()}
            item["leaseUntil"] = _n(lease_until)
        written = self._write(
            "dynamodb:PutItem",
            where,
            self._client.put_item,
            Item=item,
            **_expected(previous),
        )
        return Stored(observation, version, alert, lease_until) if written else None

    def take_over(self, where: AccountRegion, stored: Stored, lease_until: float) -> Stored | None:
        """Takes the lease on a pending alert whose earlier delivery failed or was abandoned."""
        written = self._update(
            where, stored, "SET leaseUntil = :lease", {":lease": _n(lease_until)}
        )
        return _next(stored, pending=stored.pending, lease_until=lease_until) if written else None

    def delivered(self, where: AccountRegion, stored: Stored) -> Stored | None:
        """Clears the pending alert after SNS accepted it."""
        written = self._update(where, stored, "REMOVE pendingAlert, leaseUntil", {})
        return _next(stored, pending=None, lease_until=0.0) if written else None

    def release(self, where: AccountRegion, stored: Stored) -> bool:
        """Gives the lease back after a failed delivery, so the next check retries at once."""
        return self._update(where, stored, "SET leaseUntil = :lease", {":lease": _n(0)})

    def _update(
        self, where: AccountRegion, stored: Stored, expression: str, values: dict[str, Any]
    ) -> bool:
        condition = _expected(stored)
        return self._write(
            "dynamodb:UpdateItem",
            where,
            self._client.update_item,
            Key=_key(where),
            UpdateExpression=f"{expression} ADD version :one",
            ConditionExpression=condition["ConditionExpression"],
            ExpressionAttributeValues={
                **values,
                ":one": _n(1),
                **condition["ExpressionAttributeValues"],
            },
        )

    def _write(self, call: str, where: AccountRegion, operation: Any, **arguments: Any) -> bool:
        with calling(call, where.region):
            try:
                operation(TableName=self._table, **arguments)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                    return False
                raise
        return True


def _key(where: AccountRegion) -> dict[str, Any]:
    return {"pk": {"S": f"ENROLLMENT#{where.account_id}#{where.region}"}, "sk": {"S": "LATEST"}}


def _expected(previous: Stored | None) -> dict[str, Any]:
    if previous is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    condition: dict[str, Any] = {"ConditionExpression": "version = :version"}
    condition["ExpressionAttributeValues"] = {":version": _n(previous.version)}
    return condition


def _observation_attributes(observation: Observation) -> dict[str, Any]:
    attributes = {
        "status": {"S": observation.enrollment.status},
        "enrollment": {"S": json.dumps(observation.enrollment.to_dict())},
        "observedAt": {"S": iso(observation.observed_at)},
    }
    if observation.alerted_at:
        attributes["alertedAt"] = {"S": iso(observation.alerted_at)}
    return attributes


def _stored(item: dict[str, Any]) -> Stored:
    alerted_at = item.get("alertedAt", {}).get("S")
    observation = Observation(
        enrollment=Enrollment.from_dict(json.loads(item["enrollment"]["S"])),
        observed_at=datetime.fromisoformat(item["observedAt"]["S"]),
        alerted_at=datetime.fromisoformat(alerted_at) if alerted_at else None,
    )
    pending = item.get("pendingAlert", {}).get("S")
    return Stored(
        observation=observation,
        version=int(item["version"]["N"]),
        pending=Alert.from_json(pending) if pending else None,
        lease_until=float(item.get("leaseUntil", {}).get("N", 0)),
    )


def _next(stored: Stored, pending: Alert | None, lease_until: float) -> Stored:
    return Stored(stored.observation, stored.version + 1, pending, lease_until)


def _n(number: float) -> dict[str, str]:
    return {"N": str(number)}
