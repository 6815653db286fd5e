"""A tap below every botocore client: counts API calls and injects faults on the wire."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ReadTimeoutError

from devtools.local_aws.compute_optimizer import addressed, response


class Crash(BaseException):
    """The sandbox dies (timeout, out of memory): no handler of the monitor runs."""


# What ``at_call`` does at the N-th call: the process dies once the call was applied; every
# attempt answers a server error; or the first attempt is applied and its reply lost (botocore
# sees a read timeout and retries).
FAULTS = ("crash", "error", "reply lost")
# What ``fail`` answers for an endpoint that hangs: the read timeout, without the wait.
HANG = "hang"
# What ``fail`` answers for something other than AWS in the way (a proxy, a captive portal): a
# web page, or nothing at all, with the status given.
PROXY_PAGE, EMPTY_BODY = "proxy page", "empty body"
_PAGE = (
    "<!doctype html><html><head><title>Access denied by policy</title></head>"
    "<body><h1>Access denied</h1><p>This site is blocked by your organization.</p></body></html>"
)


class WireTap:
    """Install it before the clients are created (every client created later is tapped).

    ``calls`` counts calls as ``service:Operation`` (one per call, however many retries);
    ``published`` keeps the arguments of each SNS Publish that succeeded; ``fail`` makes the
    next sends of an operation answer with an error, as AWS would."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._faults: defaultdict[str, deque[tuple[str, int, dict[str, Any] | None]]] = defaultdict(
            deque
        )
        self.published: list[dict[str, Any]] = []
        self._after: dict[str, Callable[[], object]] = {}
        self._during: dict[str, Callable[[], object]] = {}
        self.sequence: list[str] = []  # every call, in order
        # Every call of each thread, in order: the monitor checks its Regions in threads named
        # "check <Region>", so a fault can hit the same call of one Region's check every time.
        self.by_thread: defaultdict[str, list[str]] = defaultdict(list)
        self._at: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()
        self._local = threading.local()  # this thread's current call, as keys of ``_at``
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
        extra: dict[str, Any] | None = None,
    ) -> None:
        """The next ``times`` sends (retries count) of ``operation`` answer ``code``; with
        ``region``, only those sent to that Region; ``extra`` adds fields to a JSON error.
        ``code`` HANG: no answer comes, until the client's read timeout cuts the send;
        PROXY_PAGE or EMPTY_BODY: not AWS but a proxy answers, with ``http_status``."""
        faults = [(code, http_status, extra)] * times
        self._faults[f"{service}:{operation}:{region}"].extend(faults)

    def at_call(self, number: int, fault: str, thread: str = "") -> None:
        """The ``number``-th call from now (1 is the next) meets ``fault``, one of FAULTS; with
        ``thread``, the ``number``-th call that thread makes from now."""
        assert fault in FAULTS, fault
        done = len(self.by_thread[thread]) if thread else len(self.sequence)
        self._at[thread, done + number] = fault

    def once_after(self, call: str, action: Callable[[], object]) -> None:
        """Runs ``action`` once, right after the next ``service:Operation`` call completes: a
        deterministic interleaving of two invocations."""
        self._after[call] = action

    def during(self, call: str, action: Callable[[], object]) -> None:
        """Runs ``action`` as each ``service:Operation`` call is sent, in the calling thread."""
        self._during[call] = action

    def disarm(self) -> None:
        """Drops the once_after hooks not yet run, for a test where a point may be skipped."""
        self._after.clear()

    def heal(self) -> None:
        """Drops the faults not yet served: the outage is over."""
        self._faults.clear()
        self._at.clear()

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
        name, thread = _call_name(model), threading.current_thread().name
        with self._lock:
            self.calls[name] += 1
            self.sequence.append(name)
            self.by_thread[thread].append(name)
            self._local.current = (("", len(self.sequence)), (thread, len(self.by_thread[thread])))
            self._local.name = name

    def _sent_fault(self) -> str | None:
        """The fault ``at_call`` set for this thread's current call, as it is sent: a lost
        reply strikes once (the retry goes through), an error every attempt, a crash after."""
        with self._lock:
            for key in getattr(self._local, "current", ()):
                fault = self._at.get(key)
                if fault == "reply lost":
                    del self._at[key]
                if fault in ("reply lost", "error"):
                    return fault
        return None

    def _remember_arguments(self, params: Any, context: dict[str, Any], **_: Any) -> None:
        context["tapped_arguments"] = dict(params)

    def _run_after(self, model: Any, parsed: Any, context: dict[str, Any], **_: Any) -> None:
        if _call_name(model) == "sns:Publish" and "MessageId" in parsed:
            self.published.append(context["tapped_arguments"])
        if self._crash_here():
            raise Crash
        action = self._after.pop(_call_name(model), None)
        if action:
            action()

    def _crash_here(self) -> bool:
        with self._lock:
            for key in getattr(self._local, "current", ()):
                if self._at.get(key) == "crash":
                    del self._at[key]
                    return True
        return False

    def _fault(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        action = self._during.get(getattr(self._local, "name", ""))
        if action:
            action()
        numbered = self._sent_fault()
        if numbered == "reply lost":
            _answer_behind(self, request, **kwargs)  # applied by moto or the fake...
            raise ReadTimeoutError(endpoint_url=request.url)  # ...and the reply never comes
        if numbered == "error":
            return self._error(request, "InternalFailure", 500)
        call = addressed(request, kwargs.get("event_name", ""))
        if call is None:
            return None
        called = f"{call.service}:{call.operation}"
        faults = self._faults.get(f"{called}:{call.region}") or self._faults.get(f"{called}:")
        if not faults:
            return None
        code, status, extra = faults.popleft()
        if code == HANG:
            raise ReadTimeoutError(endpoint_url=request.url)
        if code in (PROXY_PAGE, EMPTY_BODY):
            answer_url, request.url = request.url, "https://fault-injected.invalid/"
            page = _PAGE if code == PROXY_PAGE else ""
            return response(answer_url, status, page, content_type="text/html", from_aws=False)
        return self._error(request, code, status, extra)

    def _error(
        self,
        request: AWSPreparedRequest,
        code: str,
        status: int,
        extra: dict[str, Any] | None = None,
    ) -> AWSResponse:
        answer_url = request.url
        # botocore asks every before-send handler; moto, later in line, must not act on it.
        request.url = "https://fault-injected.invalid/"
        if request.headers.get("X-Amz-Target"):  # a JSON protocol, else the query protocol
            error = {"__type": code, "message": f"{code} (injected)", **(extra or {})}
            return response(answer_url, status, error)
        body = (
            f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code>"
            f"<Message>{code} (injected)</Message></Error><RequestId>x</RequestId></ErrorResponse>"
        )
        return response(answer_url, status, body, content_type="text/xml")


def _answer_behind(tap: WireTap, request: AWSPreparedRequest, **kwargs: Any) -> None:
    """Lets the handlers behind the tap (the Compute Optimizer fake, moto) answer ``request``."""
    for event, handler, *_ in botocore.handlers.BUILTIN_HANDLERS:
        behind = event == "before-send" and getattr(handler, "__self__", None) is not tap
        if behind and handler(request=request, **kwargs) is not None:
            return


def _call_name(model: Any) -> str:
    return f"{model.service_model.endpoint_prefix}:{model.name}"
