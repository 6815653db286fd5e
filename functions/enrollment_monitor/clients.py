"""boto3 clients, made on first use and reused while the sandbox is warm (never at import)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

# Standard mode retries throttling and 5xx with backoff; other errors surface at once.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4},
    connect_timeout=5,
    read_timeout=15,
)


class AwsClients:
    def __init__(self, session: boto3.Session | None = None) -> None:
        self._session = session
        self._regional: dict[tuple[str, str], Any] = {}

    def compute_optimizer(self, region: str) -> Any:
        return self.regional("compute-optimizer", region)

    def sns(self, region: str) -> Any:
        """SNS in the topic's Region, which may not be the function's."""
        return self.regional("sns", region)

    @cached_property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    def regional(self, service: str, region: str) -> Any:
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
        if self._session is None:
            return boto3.client(service, region_name=region, config=config)
        return self._session.client(service, region_name=region, config=config)
