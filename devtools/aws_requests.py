"""A tap below every botocore client: counts API calls and injects faults on the wire."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from devtools.fake_compute_optimizer import response


class WireTap:
    """Install it before the clients are created (every client created later is tapped).

    ``calls`` counts calls as ``service:Operation`` (one per call, however many retries);
    ``published`` keeps the arguments of each SNS Publish that succeeded; ``fail`` makes the
    next sends of an operation answer with an error, as AWS would."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._faults: defaultdict[str, deque[tuple[str, int]]] = defaultdict(deque)
        self.published: list[dict[str, Any]] = []
        self._after: dict[str, Callable[[], object]] = {}
        self._handlers = [
            ("before-parameter-build", self._remember_arguments),
            ("before-call", self._count),
            ("before-send", self._fault),
            ("after-call", self._run_after),
        ]

    def fail(
        self,
        service: str,
        operation: str,
        code: str,
        http_status: int = 500,
        times: int = 1,
        region: str = "",
    ) -> None:
        """The next ``times`` sends (retries count) of ``operation`` answer ``code``; with
        ``region``, only those sent to that Region."""
        self._faults[f"{service}:{operation}:{region}"].extend([(code, http_status)] * times)

    def once_after(self, call: str, action: Callable[[], object]) -> None:
        """Runs ``action`` once, right after the next ``service:Operation`` call completes: a
        deterministic interleaving of two invocations."""
        self._after[call] = action

    def disarm(self) -> None:
        """Drops the once_after hooks not yet run, for a test where a point may be skipped."""
        self._after.clear()

    def heal(self) -> None:
        """Drops the faults not yet served: the outage is over."""
        self._faults.clear()

    def install(self) -> None:
        # First in line, so a fault answers before moto does.
        for handler in reversed(self._handlers):
            botocore.handlers.BUILTIN_HANDLERS.insert(0, handler)

    def uninstall(self) -> None:
        for handler in self._handlers:
            botocore.handlers.BUILTIN_HANDLERS.remove(handler)
        unfired, self._after = list(self._after), {}
        if unfired:  # an interleaving that never happened tests nothing
            raise AssertionError(f"once_after hooks never ran: no call to {unfired}")

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[_call_name(model)] += 1

    def _remember_arguments(self, params: Any, context: dict[str, Any], **_: Any) -> None:
        context["tapped_arguments"] = dict(params)

    def _run_after(self, model: Any, parsed: Any, context: dict[str, Any], **_: Any) -> None:
        if _call_name(model) == "sns:Publish" and "MessageId" in parsed:
            self.published.append(context["tapped_arguments"])
        action = self._after.pop(_call_name(model), None)
        if action:
            action()

    def _fault(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        service, region = request.url.split("://", 1)[1].split(".")[:2]
        operation = _operation(request)
        faults = self._faults.get(f"{service}:{operation}:{region}") or self._faults.get(
            f"{service}:{operation}:"
        )
        if not faults:
            return None
        code, status = faults.popleft()
        answer_url = request.url
        # botocore asks every before-send handler; moto, later in line, must not act on it.
        request.url = "https://fault-injected.invalid/"
        if request.headers.get("X-Amz-Target"):  # a JSON protocol, else the query protocol
            error = {"__type": code, "message": f"{code} (injected)"}
            return response(answer_url, status, error)
        body = (
            f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code>"
            f"<Message>{code} (injected)</Message></Error><RequestId>x</RequestId></ErrorResponse>"
        )
        return response(answer_url, status, body, content_type="text/xml")


def _call_name(model: Any) -> str:
    return f"{model.service_model.endpoint_prefix}:{model.name}"


def _operation(request: AWSPreparedRequest) -> str:
    target = request.headers.get("X-Amz-Target")
    if target:
        text = target.decode() if isinstance(target, bytes) else str(target)
        return text.rsplit(".", 1)[-1]
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
    for pair in body.split("&"):
        if pair.startswith("Action="):
            return pair.removeprefix("Action=")
    return ""
