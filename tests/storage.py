"""The one test helper that knows how the monitor keeps its state: it reads the table through
the store's own readers, so no test spells out keys or DynamoDB attribute values."""

from __future__ import annotations

import boto3

from devtools.local_aws import LocalAws
from devtools.template import ACCOUNT_ID, REGION
from enrollment_monitor.enrollment import AccountRegion
from enrollment_monitor.store.observations import Observations, Owed, Stored
from enrollment_monitor.store.roster import Roster, Rosters
from enrollment_monitor.store.table import Table


def _table(aws: LocalAws) -> Table:
    return Table(boto3.client("dynamodb", region_name=REGION), aws.table_name)


def stored(aws: LocalAws, region: str = REGION) -> Stored | None:
    """The last observation of the account in ``region``, with its owed alerts."""
    return Observations(_table(aws)).load(AccountRegion(ACCOUNT_ID, region))


def owed(aws: LocalAws, region: str = REGION) -> tuple[Owed, ...]:
    """The alerts owed and not yet accepted by SNS, oldest first."""
    observation = stored(aws, region)
    return observation.owed if observation else ()


def roster(aws: LocalAws, region: str = REGION) -> Roster:
    """The organization's members as the monitor remembers them."""
    return Rosters(_table(aws)).load(AccountRegion(ACCOUNT_ID, region))


def nothing_stored(aws: LocalAws) -> bool:
    """The monitor has written nothing at all."""
    client = boto3.client("dynamodb", region_name=REGION)
    return client.scan(TableName=aws.table_name, Limit=1)["Count"] == 0
