"""Stand-ins for the optimization services that answer on the wire, for tests, the demo and
benchmarks: Compute Optimizer, Cost Optimization Hub and Compute Optimizer Automation.

moto implements none of them. This fake hooks botocore's ``before-send`` event and answers the
protocol each client really speaks (JSON 1.0 with ``X-Amz-Target``: Automation's model offers
Smithy RPC v2 CBOR too, and botocore chooses JSON), so botocore's retries, error mapping and
response parsing run exactly as they do against AWS.

Every stand-in here knows a request as AWS does, by what it is signed for, never by the host it
is sent to: with an endpoint URL (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, a moto
server or an emulator of your own) the host names no service and no Region.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

import botocore.handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

_EVENT = "before-send"
# The SigV4 credential scope: <key>/<date>/<Region>/<signing name>/aws4_request.
_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")


@dataclass(frozen=True)
class Addressed:
    """The call a request makes, whatever URL it is sent to."""

    service: str  # the signing name: compute-optimizer, lambda, monitoring (CloudWatch), sns ...
    region: str
    operation: str


def addressed(request: AWSPreparedRequest, event_name: str) -> Addressed | None:
    """The Region and service from the request's signature, the operation from botocore's
    operation model (``before-send.<service>.<Operation>``); None for an unsigned request."""
    scope = _SCOPE.search(header(request, "Authorization"))
    if scope is None:
        return None
    return Addressed(scope["service"], scope["region"], event_name.rsplit(".", 1)[-1])


class _RawBody(io.BytesIO):
    """The body botocore reads: whole (``stream``), or as a streaming payload (``read``)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


class AnswersOnTheWire:
    """A stand-in for an AWS service moto cannot serve here: while installed (a context
    manager), ``_answer`` sees every request first and answers the ones it serves. Install it
    before the clients are made: botocore sessions copy their handlers when created."""

    def __enter__(self) -> Self:
        # Ahead of moto's own handler.
        botocore.handlers.BUILTIN_HANDLERS.insert(0, (_EVENT, self._serve))
        return self

    def __exit__(self, *_: object) -> None:
        botocore.handlers.BUILTIN_HANDLERS.remove((_EVENT, self._serve))

    def _serve(
        self, request: AWSPreparedRequest, event_name: str = "", **_: Any
    ) -> AWSResponse | None:
        call = addressed(request, event_name)
        if call is None or _answered_already(request):
            return None
        answer = self._answer(request, call)
        if answer is not None:
            # botocore asks every before-send handler: moto, later in line, must not act too
            # (it would raise "not implemented", or run a Lambda function in Docker).
            request.url = "https://answered-on-the-wire.invalid/"
        return answer

    def _answer(self, request: AWSPreparedRequest, call: Addressed) -> AWSResponse | None:
        raise NotImplementedError


# The signing names of the services this fake answers besides Compute Optimizer.
HUB, AUTOMATION = "cost-optimization-hub", "aco-automation"


@dataclass
class FakeComputeOptimizer(AnswersOnTheWire):
    """Per-Region enrollment and organization members; the Hub's enrollments (by account) and
    Automation's (by Region) beside them (faults: ``devtools.local_aws.aws_requests``).

    Use it as a context manager around code that creates its clients inside the block (the
    hook is picked up by every client created while it is installed).
    """

    enrollments: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    # Called with the Region and the page's end offset after each page of members is served:
    # the organization can change between two pages of one listing, as it can on AWS.
    after_page: Callable[[str, int], None] | None = None
    # ListEnrollmentStatuses' items (an account never enrolled: none), and
    # GetEnrollmentConfiguration's answer by Region (Inactive unless set).
    hub: list[dict[str, Any]] = field(default_factory=list)
    automation: dict[str, dict[str, Any]] = field(default_factory=dict)

    def set_hub(self, account_id: str, status: str) -> None:
        """What ListEnrollmentStatuses lists for ``account_id`` from now on."""
        self.hub = [i for i in self.hub if i["accountId"] != account_id]
        self.hub.append({"accountId": account_id, "status": status, **_updated_now()})

    def set_automation(self, region: str, status: str, **extra: Any) -> None:
        """What GetEnrollmentConfiguration answers in ``region`` from now on."""
        self.automation[region] = {"status": status, **_updated_now(), **extra}

    def set_enrollment(
        self, region: str, status: str, reason: str | None = None, **extra: Any
    ) -> None:
        """What GetEnrollmentStatus answers in ``region`` from now on."""
        document: dict[str, Any] = {"status": status, "lastUpdatedTimestamp": int(time.time())}
        if reason:
            document["statusReason"] = reason
        document.update(extra)
        self.enrollments[region] = document

    def calls_of(self, operation: str) -> int:
        return sum(1 for _, op in self.calls if op == operation)

    def _answer(self, request: AWSPreparedRequest, call: Addressed) -> AWSResponse | None:
        if call.service == HUB:
            self.calls.append((call.region, call.operation))
            if call.operation == "ListEnrollmentStatuses":
                return response(request.url, 200, {"items": self.hub})
        if call.service == AUTOMATION:
            self.calls.append((call.region, call.operation))
            if call.operation == "GetEnrollmentConfiguration":
                answer = self.automation.get(call.region, {"status": "Inactive"})
                return response(request.url, 200, answer)
        if call.service != "compute-optimizer":
            return None  # another service (a fault injected in front answers before this)
        region, operation = call.region, call.operation
        self.calls.append((region, operation))
        if operation == "GetEnrollmentStatus":
            return response(request.url, 200, self.enrollments.get(region, {"status": "Inactive"}))
        if operation == "GetEnrollmentStatusesForOrganization":
            return response(request.url, 200, self._members_page(region, request))
        body = {"__type": "UnknownOperationException", "message": operation}
        return response(request.url, 400, body)

    def _members_page(self, region: str, request: AWSPreparedRequest) -> dict[str, Any]:
        params = json.loads(request.body or b"{}")
        start = int(params.get("nextToken") or 0)
        size = int(params.get("maxResults") or 100)
        members = self.members.get(region, [])
        page: dict[str, Any] = {"accountEnrollmentStatuses": members[start : start + size]}
        if start + size < len(members):
            page["nextToken"] = str(start + size)  # an offset: what a change shifts
        if self.after_page:
            self.after_page(region, start + size)
        return page


def _updated_now() -> dict[str, int]:
    return {"lastUpdatedTimestamp": int(time.time())}


def _answered_already(request: AWSPreparedRequest) -> bool:
    """Whether a handler ahead in line (a fault, another stand-in) answered: each points the
    request at an ``.invalid`` host, for the handlers botocore still asks after it."""
    return request.url.split("/")[2].endswith(".invalid")


def header(request: AWSPreparedRequest, name: str) -> str:
    value = request.headers.get(name, b"")
    return value.decode() if isinstance(value, bytes) else str(value)


def response(
    url: str,
    status: int,
    body: dict[str, Any] | str,
    content_type: str = "application/x-amz-json-1.0",
    from_aws: bool = True,
) -> AWSResponse:
    """An HTTP answer to ``request`` as botocore reads it off the wire; ``from_aws``: with the
    request id every answer of AWS carries (a proxy's page has none)."""
    text = body if isinstance(body, str) else json.dumps(body)
    headers = {"Content-Type": content_type}
    if from_aws:
        headers["x-amzn-RequestId"] = "fake"
    return AWSResponse(url, status, headers, _RawBody(text.encode()))
