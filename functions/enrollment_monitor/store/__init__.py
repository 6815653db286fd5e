"""The state table: the one place that knows its keys and items and builds DynamoDB requests.

Two partitions per (account, Region):

- ``ENROLLMENT#<account>#<region>`` (``observations``): ``LATEST``, the last observation and
  the ``version`` every write to the partition is conditional on; and the outbox, one item
  ``PENDING#<version>`` per alert owed and not yet accepted by SNS, and one
  ``PENDING#<version>#events`` per alert owed and not yet accepted by EventBridge.
- ``MEMBERS#<account>#<region>`` (``roster``): ``#ROUND``, the control item (rounds of member
  changes reported, the members' lease), and one item per member, its account id as sort key.

``table`` holds what both share: conditional writes and transactions (only they may find that
another invocation wrote first), paginated consistent queries, batches, and the one lease.
"""
