"""Batches of member writes: unprocessed items are sent again, then the check fails; a key
is always a member's account id."""

from typing import Any

import pytest

from enrollment_monitor.enrollment import WatchedSubject
from enrollment_monitor.errors import MonitorError
from enrollment_monitor.member_diff import Forget, Remember
from enrollment_monitor.store.roster import MemberWriter
from enrollment_monitor.store.table import BatchWriter, Key

REGION = "us-east-1"
# What botocore adds to every answer of DynamoDB.
_FROM_DYNAMODB = {"ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": 200}}


class _ThrottledDynamoDB:
    """Leaves the last request of every batch unprocessed ``times`` times."""

    def __init__(self, times: int) -> None:
        self.times, self.batches = times, []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        (requests,) = RequestItems.values()
        self.batches.append(len(requests))
        if self.times:
            self.times -= 1
            return {"UnprocessedItems": {"t": requests[-1:]}, **_FROM_DYNAMODB}
        return {"UnprocessedItems": {}, **_FROM_DYNAMODB}


def test_unprocessed_items_are_sent_again_with_growing_waits() -> None:
    dynamodb, waits = _ThrottledDynamoDB(times=3), []
    writer = BatchWriter(dynamodb, "t", REGION, sleep=waits.append)

    for i in range(30):
        writer.put(Key("p", f"{i}"), {})
    writer.flush()

    assert dynamodb.batches == [25, 1, 1, 1, 5]
    assert len(waits) == 3 and waits[0] < waits[2]


def test_items_still_unprocessed_after_the_retries_fail_the_check() -> None:
    writer = BatchWriter(_ThrottledDynamoDB(times=100), "t", REGION, sleep=lambda _: None)
    writer.delete(Key("p", "s"))

    with pytest.raises(MonitorError, match="dynamodb:BatchWriteItem in us-east-1 failed: 1 item"):
        writer.flush()


@pytest.mark.parametrize("account_id", ["#ROUND", "", "1" * 1024, "12345678901"])
def test_a_member_write_never_addresses_anything_but_an_account_id(account_id: str) -> None:
    dynamodb = _ThrottledDynamoDB(times=0)
    writer = MemberWriter(
        BatchWriter(dynamodb, "t", REGION), WatchedSubject("123456789012", REGION), 1, "now"
    )

    for write in (Remember(account_id, "Active"), Forget(account_id)):
        with pytest.raises(ValueError, match="not a member's account id"):
            writer.write(write)
    writer.flush()

    assert dynamodb.batches == []
