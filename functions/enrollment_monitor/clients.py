"""boto3 clients, made on first use and reused while the sandbox is warm (never at import).
The Regions' checks run in threads: a client is thread-safe once made, making one is not."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.utils import parse_timestamp

# Standard mode retries throttling, 5xx and timeouts with backoff; other errors surface at once.
# A call that hangs is cut after 3 x (3 + 10) s plus backoff, about 45 s: well inside the
# function's timeout (60 s), so a Region that hangs fails on its own while the others complete.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=3,
    read_timeout=10,
    # Every subject's thread shares the DynamoDB client (each Region of the partition, and the
    # AlsoWatch subjects): botocore's 10 connections would be opened and thrown away again.
    max_pool_connections=64,
)


class AwsClients:
    def __init__(self, session: boto3.Session | None = None) -> None:
        self._session = session
        self._regional: dict[tuple[str, str | None], Any] = {}
        self._making = threading.Lock()

    def compute_optimizer(self, region: str) -> Any:
        return self.regional("compute-optimizer", region)

    def sns(self, region: str) -> Any:
        """SNS in the topic's Region, which may not be the function's."""
        return self.regional("sns", region)

    @property
    def events(self) -> Any:
        """EventBridge in the function's own Region, whose default bus takes the events."""
        return self.regional("events", None)

    @property
    def dynamodb(self) -> Any:
        """DynamoDB in the function's own Region, where the state table is."""
        return self.regional("dynamodb", None)

    def regional(self, service: str, region: str | None) -> Any:
        with self._making:
            if (service, region) not in self._regional:
                self._regional[service, region] = self._client(service, region)
            return self._regional[service, region]

    def single_attempt(self, service: str, region: str, read_timeout: int) -> Any:
        """A client that never retries a call: for a call that must not be applied twice."""
        config = CLIENT_CONFIG.merge(
            Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=read_timeout)
        )
        return self._client(service, region, config)

    def _client(
        self, service: str, region: str | None = None, config: Config = CLIENT_CONFIG
    ) -> Any:
        session = self._session
        if session is None:  # the default session's, as boto3.client makes them
            if boto3.DEFAULT_SESSION is None:
                boto3.setup_default_session()
            session = boto3.DEFAULT_SESSION
        # Every parser a client of this session makes reads times with ``timestamp``.
        parsers = session._session.get_component("response_parser_factory")
        parsers.set_parser_defaults(timestamp_parser=timestamp)
        return session.client(service, region_name=region, config=config)


def timestamp(value: Any) -> Any:
    """A time in an answer, as botocore reads it; one botocore cannot read (a bad string, NaN,
    the year 10000: ValueError, RuntimeError or OverflowError inside botocore's parser, where
    ``errors.calling`` cannot name the call, and the whole answer lost) is left as sent, for
    ``parse.moment`` to log and take as not said, like any field that does not fit. A bool is
    no time (botocore would read ``true`` as one second past 1970)."""
    if isinstance(value, bool):
        return value
    try:
        return parse_timestamp(value)
    except (ValueError, TypeError, RuntimeError, OverflowError, OSError):
        return value
