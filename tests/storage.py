"""The one test helper that knows how the monitor keeps its state: it reads the table through
the store's own readers, so no test spells out keys or DynamoDB attribute values."""

from __future__ import annotations

import boto3

from devtools.local_aws.resources import LocalAws
from devtools.local_aws.template import ACCOUNT_ID, REGION
from enrollment_monitor.enrollment import WatchedSubject
from enrollment_monitor.store.observations import Observations, Stored
from enrollment_monitor.store.owed import Owed
from enrollment_monitor.store.roster import Roster, Rosters
from enrollment_monitor.store.table import Table


def _table(aws: LocalAws) -> Table:
    return Table(boto3.client("dynamodb", region_name=REGION), aws.table_name)


def stored(aws: LocalAws, region: str = REGION) -> Stored | None:
    """The last observation of the account in ``region``, with its owed alerts."""
    return Observations(_table(aws)).load(WatchedSubject(ACCOUNT_ID, region)).stored


def owed(aws: LocalAws, region: str = REGION) -> tuple[Owed, ...]:
    """The alerts owed and not yet accepted by SNS, oldest first."""
    observation = stored(aws, region)
    return observation.owed if observation else ()


def roster(aws: LocalAws, region: str = REGION) -> Roster:
    """The organization's members as the monitor remembers them."""
    return Rosters(_table(aws)).load(WatchedSubject(ACCOUNT_ID, region))


def nothing_stored(aws: LocalAws) -> bool:
    """The monitor has written nothing at all."""
    client = boto3.client("dynamodb", region_name=REGION)
    return client.scan(TableName=aws.table_name, Limit=1)["Count"] == 0


# Hand edits, as a person (or an older version) might leave them: ``value`` is a DynamoDB
# attribute value such as {"S": "x"}; None removes the attribute.


def corrupt_observation(
    aws: LocalAws, name: str, value: dict[str, str] | None, region: str = REGION
) -> None:
    _edit(aws, f"ENROLLMENT#{ACCOUNT_ID}#{region}", "LATEST", name, value)


def corrupt_owed_alert(
    aws: LocalAws, value: dict[str, str], region: str = REGION, name: str = "alert"
) -> None:
    """The oldest owed alert's stored text (or another of its attributes)."""
    first = owed(aws, region)[0]
    _edit(aws, first.key.partition, first.key.sort, name, value)


def delete_owed_alert(aws: LocalAws, region: str = REGION) -> None:
    """The oldest owed alert, gone: as another invocation leaves it once SNS accepted it."""
    first = owed(aws, region)[0]
    key = {"pk": {"S": first.key.partition}, "sk": {"S": first.key.sort}}
    boto3.client("dynamodb", region_name=REGION).delete_item(TableName=aws.table_name, Key=key)


def corrupt_member(
    aws: LocalAws, account_id: str, name: str, value: dict[str, str] | None, region: str = REGION
) -> None:
    _edit(aws, f"MEMBERS#{ACCOUNT_ID}#{region}", account_id, name, value)


def set_aside(aws: LocalAws) -> list[dict[str, object]]:
    """The items the monitor set aside for a person to inspect."""
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=aws.table_name)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("SETASIDE#")]


def _edit(aws: LocalAws, pk: str, sk: str, name: str, value: dict[str, str] | None) -> None:
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    client = boto3.client("dynamodb", region_name=REGION)
    if value is None:
        client.update_item(
            TableName=aws.table_name,
            Key=key,
            UpdateExpression="REMOVE #name",
            ExpressionAttributeNames={"#name": name},
        )
    else:
        client.update_item(
            TableName=aws.table_name,
            Key=key,
            UpdateExpression="SET #name = :value",
            ExpressionAttributeNames={"#name": name},
            ExpressionAttributeValues={":value": value},
        )


def copy_owed_alert(aws: LocalAws, version: int, region: str = REGION) -> None:
    """A hand edit: the oldest owed alert copied to where the alert of ``version`` goes."""
    first = owed(aws, region)[0]
    client = boto3.client("dynamodb", region_name=REGION)
    item = client.get_item(
        TableName=aws.table_name,
        Key={"pk": {"S": first.key.partition}, "sk": {"S": first.key.sort}},
    )["Item"]
    client.put_item(TableName=aws.table_name, Item={**item, "sk": {"S": f"PENDING#{version:012d}"}})
