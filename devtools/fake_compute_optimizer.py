"""A Compute Optimizer stand-in that answers on the wire, for tests, the demo and benchmarks.

moto does not implement Compute Optimizer. This fake hooks botocore's ``before-send`` event
and answers the JSON 1.0 protocol the client really speaks (``POST /`` with
``X-Amz-Target: ComputeOptimizerService.<Operation>``), so botocore's retries, error mapping and
response parsing run exactly as they do against AWS.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

_EVENT = "before-send.compute-optimizer"
_TARGET_PREFIX = "ComputeOptimizerService."


@dataclass
class _Fault:
    code: str
    message: str
    http_status: int


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class FakeComputeOptimizer:
    """Per-Region enrollment, organization members and scripted faults.

    Use it as a context manager around code that creates its clients inside the block (the
    hook is picked up by every client created while it is installed).
    """

    enrollments: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    _faults: defaultdict[tuple[str, str], deque[_Fault]] = field(
        default_factory=lambda: defaultdict(deque)
    )

    def set_enrollment(
        self, region: str, status: str, reason: str | None = None, **extra: Any
    ) -> None:
        """What GetEnrollmentStatus answers in ``region`` from now on."""
        document: dict[str, Any] = {"status": status, "lastUpdatedTimestamp": 1_790_000_000}
        if reason:
            document["statusReason"] = reason
        document.update(extra)
        self.enrollments[region] = document

    def fail(
        self,
        region: str,
        code: str,
        message: str = "",
        http_status: int = 400,
        times: int = 1,
        operation: str = "GetEnrollmentStatus",
    ) -> None:
        """The next ``times`` calls of ``operation`` in ``region`` fail with this error."""
        fault = _Fault(code, message or f"{code} (scripted)", http_status)
        self._faults[(region, operation)].extend([fault] * times)

    def calls_of(self, operation: str) -> int:
        return sum(1 for _, op in self.calls if op == operation)

    def __enter__(self) -> FakeComputeOptimizer:
        botocore.handlers.BUILTIN_HANDLERS.append((_EVENT, self._answer))
        return self

    def __exit__(self, *_: object) -> None:
        botocore.handlers.BUILTIN_HANDLERS.remove((_EVENT, self._answer))

    def _answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        operation = _header(request, "X-Amz-Target").removeprefix(_TARGET_PREFIX)
        region = request.url.split(".")[1]
        self.calls.append((region, operation))
        faults = self._faults[(region, operation)]
        if faults:
            fault = faults.popleft()
            body = {"__type": fault.code, "message": fault.message}
            return _response(request, fault.http_status, body)
        if operation == "GetEnrollmentStatus":
            return _response(request, 200, self.enrollments.get(region, {"status": "Inactive"}))
        if operation == "GetEnrollmentStatusesForOrganization":
            return _response(request, 200, self._members_page(region, request))
        body = {"__type": "UnknownOperationException", "message": operation}
        return _response(request, 400, body)

    def _members_page(self, region: str, request: AWSPreparedRequest) -> dict[str, Any]:
        params = json.loads(request.body or b"{}")
        start = int(params.get("nextToken") or 0)
        size = int(params.get("maxResults") or 100)
        members = self.members.get(region, [])
        page: dict[str, Any] = {"accountEnrollmentStatuses": members[start : start + size]}
        if start + size < len(members):
            page["nextToken"] = str(start + size)
        return page


def _header(request: AWSPreparedRequest, name: str) -> str:
    value = request.headers.get(name, b"")
    return value.decode() if isinstance(value, bytes) else str(value)


def _response(request: AWSPreparedRequest, status: int, body: dict[str, Any]) -> AWSResponse:
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fake"}
    return AWSResponse(request.url, status, headers, _RawBody(json.dumps(body).encode()))
