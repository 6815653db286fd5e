"""A Lambda stand-in for a stack deployed on moto: ``lambda:Invoke`` answered on the wire by
the real handler, run in-process with the deployed function's environment.

moto would run the function in Docker, which no machine here has. This hook answers the
``Invoke`` request the client really sends, and does what the Lambda platform does around a
handler: its embedded metric format lines become CloudWatch metrics, and each invocation counts
in ``AWS/Lambda`` ``Invocations`` and ``Errors``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from devtools.local_aws import emf, resources
from devtools.local_aws.compute_optimizer import Addressed, AnswersOnTheWire, response

# Invoke's path, after whatever path an endpoint URL has: /2015-03-31/functions/<name>/invocations
_INVOKED = re.compile(r"/functions/(?P<function>[^/]+)/invocations$")


def fresh_handler_module() -> ModuleType:
    """A fresh copy of the handler module: what a cold start sees (no cached settings or
    clients)."""
    spec = importlib.util.find_spec("enrollment_monitor.app")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LocalLambda(AnswersOnTheWire):
    """Answers ``Invoke`` instead of moto, which would start a container."""

    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []

    def _answer(self, request: AWSPreparedRequest, call: Addressed) -> AWSResponse | None:
        invoked = _INVOKED.search(urlsplit(request.url).path)
        if (call.service, call.operation) != ("lambda", "Invoke") or invoked is None:
            return None
        payload = json.loads(request.body or b"{}")
        result = self.invoke(unquote(invoked["function"]), call.region, payload)
        answer = response(request.url, 200, result["payload"], "application/json")
        if result["error"]:
            answer.headers["X-Amz-Function-Error"] = "Unhandled"
        return answer

    def invoke(self, function: str, region: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Runs the handler once as the deployed ``function`` would, cold."""
        configuration = boto3.client("lambda", region_name=region).get_function_configuration(
            FunctionName=function
        )
        environment = {
            **configuration.get("Environment", {}).get("Variables", {}),
            "AWS_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": configuration["FunctionName"],
        }
        output = io.StringIO()
        error = None
        with resources.environment(environment), contextlib.redirect_stdout(output):
            try:
                handler = fresh_handler_module().lambda_handler
                with _logs_to(output, environment.get("POWERTOOLS_SERVICE_NAME", "")):
                    result: Any = handler(payload, _Context(configuration))
            except Exception as raised:  # what Lambda reports as an unhandled function error
                error = raised
                result = {"errorType": type(raised).__name__, "errorMessage": str(raised)}
        invocation = {"payload": result, "error": error, "output": output.getvalue()}
        self.invocations.append(invocation)
        _publish_metrics(region, configuration["FunctionName"], output.getvalue(), error)
        return invocation


class _Context:
    def __init__(self, configuration: dict[str, Any]) -> None:
        self.function_name = configuration["FunctionName"]
        self.memory_limit_in_mb = configuration.get("MemorySize", 256)
        self.invoked_function_arn = configuration["FunctionArn"]
        self.aws_request_id = "local-lambda"
        self._timeout_millis = int(configuration.get("Timeout", 60)) * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_millis


@contextlib.contextmanager
def _logs_to(output: io.StringIO, service: str) -> Iterator[None]:
    """The function's log lines go where its metrics go, as in Lambda: Powertools' handler
    keeps the stream it was made with, which may be another test's."""
    handlers = [
        h for h in logging.getLogger(service).handlers if isinstance(h, logging.StreamHandler)
    ]
    streams = [h.setStream(output) for h in handlers]  # None: it was writing there already
    try:
        yield
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            if stream is not None:
                handler.setStream(stream)


def _publish_metrics(region: str, function: str, output: str, error: Exception | None) -> None:
    """What CloudWatch Logs makes of the embedded metric format lines, and what Lambda counts."""
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    now = datetime.now(UTC)
    for metric in emf.metrics(output):
        named = [{"Name": name, "Value": value} for name, value in metric.dimensions.items()]
        cloudwatch.put_metric_data(
            Namespace=metric.namespace,
            MetricData=[
                {
                    "MetricName": metric.name,
                    "Dimensions": named,
                    "Values": [float(value) for value in metric.values],
                    "Timestamp": now,
                }
            ],
        )
    dimensions = [{"Name": "FunctionName", "Value": function}]
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": "Invocations", "Dimensions": dimensions, "Value": 1.0, "Timestamp": now},
            {
                "MetricName": "Errors",
                "Dimensions": dimensions,
                "Value": float(error is not None),
                "Timestamp": now,
            },
        ],
    )
