"""The Lambda entry point: observability and wiring only; the work is in check.run."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext

from enrollment_monitor.check import run
from enrollment_monitor.clients import AwsClients
from enrollment_monitor.settings import Settings

logger = Logger()
# The parsers log with the standard library (the command line has no Powertools): here their
# lines take Powertools' level and JSON format.
copy_config_to_registered_loggers(source_logger=logger, include={"enrollment_monitor"})


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def clients() -> AwsClients:
    return AwsClients()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run(event, settings(), clients(), context).to_dict()
