"""The floor of a check: the least any implementation must do to check one Region. Create the
clients (with the monitor's own retry and timeout configuration), read the enrollment
(compute-optimizer:GetEnrollmentStatus) and the last observation (one strongly consistent
dynamodb:Query), nothing else.

Only the standard library at module level: a cold-start child imports it before its clock starts.
"""

from __future__ import annotations

from devtools.bench.process import REGION


def clients(session) -> tuple:
    """Compute Optimizer and DynamoDB clients of ``session``: a ``boto3.Session``, or the
    ``boto3`` module itself for its default session."""
    from enrollment_monitor.clients import CLIENT_CONFIG

    return (
        session.client("compute-optimizer", region_name=REGION, config=CLIENT_CONFIG),
        session.client("dynamodb", region_name=REGION, config=CLIENT_CONFIG),
    )


def check(compute_optimizer, dynamodb, table: str) -> str:
    """The enrollment, and the state partition."""
    status = compute_optimizer.get_enrollment_status()["status"]
    items = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ENROLLMENT#123456789012#{REGION}"}},
        ConsistentRead=True,
    )["Items"]
    return f"{status} {len(items)}"
