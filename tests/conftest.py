import os

from hypothesis import HealthCheck, settings

# Examples per property test (README, "Running the tests"): the profile HYPOTHESIS_PROFILE names,
# else `ci`, Hypothesis's own (the same examples every run, no deadline: the machine's speed is
# not the code's). `thorough` draws 20 times as many, new ones each run. A property that runs
# the handler on moto draws a quarter of them.
settings.register_profile("ci", settings.get_profile("ci"), max_examples=100)
settings.register_profile(
    "thorough",
    settings.get_profile("default"),
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Powertools reads these at import: set them before anything imports the monitor.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "enrollment-monitor")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ComputeOptimizerEnrollment")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import functools  # noqa: E402
import json  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import botocore.loaders  # noqa: E402
import botocore.retries.standard  # noqa: E402
import pytest  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.cloudformation.models import Stack  # noqa: E402
from moto.kms import models as kms_models  # noqa: E402
from moto.sns.models import Subscription  # noqa: E402

from devtools.local_aws import emf  # noqa: E402
from devtools.local_aws.lambda_invoke import fresh_handler_module  # noqa: E402
from devtools.local_aws.resources import LambdaContext, LocalAws, local_aws  # noqa: E402
from devtools.local_aws.stack import StandIns, stand_ins  # noqa: E402
from devtools.local_aws.template import REGION  # noqa: E402
from enrollment_monitor.check import run  # noqa: E402
from enrollment_monitor.clients import AwsClients  # noqa: E402
from enrollment_monitor.results import Checked, TestSent  # noqa: E402
from enrollment_monitor.settings import Settings  # noqa: E402

EVENTS = Path(__file__).resolve().parent.parent / "events"

# Every mock_aws() starts a new default boto3 session, whose loader would read and parse each
# service model from disk again (a third of a moto test's time). A session's loader already
# hands all of its clients the same parsed files; here every loader with the same search paths
# (the files on disk, unchanged while the tests run) shares them too. What differs between
# sessions (credentials, Region, handlers, the endpoint resolver) is not kept in the loader.
_LOADED: dict[tuple[str, ...], dict[Any, Any]] = {}
botocore.loaders.Loader._cache = property(  # type: ignore[attr-defined]
    lambda loader: _LOADED.setdefault(tuple(loader.search_paths), {}),
    lambda loader, _: None,  # Loader.__init__ sets an empty cache of its own
)


# moto's SNS makes a 2048-bit RSA key for each subscription, to sign what it delivers (a
# twentieth of a second each, for signatures no test checks): here one key signs for all.
@functools.cache
def _sns_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


Subscription.private_key = lambda _: _sns_signing_key()  # type: ignore[method-assign]

# moto's KMS makes a 2048-bit RSA key pair for every key, a symmetric one too, which never signs
# or verifies: each symmetric key (the topic's, at each stack created) shares one.
_key_pair_for = kms_models.generate_private_key
_symmetric_key_pair = functools.cache(lambda: _key_pair_for("RSA_2048"))
kms_models.generate_private_key = lambda spec: (  # type: ignore[assignment]
    _symmetric_key_pair() if spec == "SYMMETRIC_DEFAULT" else _key_pair_for(spec)
)

# The monitor's clients retry in botocore's standard mode, which waits before each retry (up to
# 1 s, then 2 s, for a throttled call). The tests count the attempts and what follows, never the
# waits (the monitor's deadlines come from the Lambda context, not the clock): retries go at once.
botocore.retries.standard.ExponentialBackoff.delay_amount = lambda _, __: 0.0

# moto's CloudFormation reads every template with PyYAML's pure-Python loader, a JSON one too (a
# third of a second for the monitor's, at each stack a test creates); CloudFormation reads a JSON
# template as JSON. A template that is not JSON is still read as moto reads it.
_read_as_moto_does = Stack.parse_template


def _parse_template(template: str) -> dict[str, Any]:
    try:
        parsed: dict[str, Any] = json.loads(template)
    except ValueError:
        return _read_as_moto_does(template)
    return parsed


Stack.parse_template = staticmethod(_parse_template)  # type: ignore[method-assign]


def event(name: str) -> dict[str, Any]:
    """A sample event from events/, the same files `sam local invoke -e` uses."""
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return loaded


def new_sandbox() -> ModuleType:
    """What a cold start sees (no cached settings or clients). Two sandboxes are two
    concurrent Lambda execution environments."""
    return fresh_handler_module()


class Monitor:
    """Invokes the handler the way Lambda does, warm by default, cold on request."""

    def __init__(self, aws: LocalAws) -> None:
        self.aws = aws
        self.sandbox = new_sandbox()

    def check(self, cold: bool = False, **context: Any) -> dict[str, Any]:
        return self.invoke(event("scheduled"), cold=cold, **context)

    def invoke(self, payload: dict[str, Any], cold: bool = False, **context: Any) -> dict[str, Any]:
        if cold:
            self.sandbox = new_sandbox()
        result: dict[str, Any] = self.sandbox.lambda_handler(payload, LambdaContext(**context))
        return result

    def status(self, status: str, reason: str | None = None, region: str = "us-east-1") -> None:
        self.aws.compute_optimizer.set_enrollment(region, status, reason)

    def alerts(self) -> list[dict[str, Any]]:
        """The machine documents the topic's SQS subscriber received since the last call."""
        return [delivery["Message"] for delivery in self.aws.deliveries()]


@contextmanager
def watching(regions: tuple[str, ...], status: str = "Active") -> Iterator[Monitor]:
    """A monitor of several Regions, each in ``status``."""
    with local_aws(regions=regions) as aws:
        monitor = Monitor(aws)
        for region in regions:
            monitor.status(status, region=region)
        yield monitor


@contextmanager
def stand_ins_on_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIns]:
    """moto with every stand-in on the wire (devtools.local_aws.stack), test credentials in the
    stack's Region, and a new default boto3 session (its clients would keep an earlier test's
    handlers)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws(), stand_ins() as installed:
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        yield installed


@pytest.fixture
def aws() -> Any:
    with local_aws() as stack:
        yield stack


@pytest.fixture
def monitor(aws: LocalAws) -> Monitor:
    return Monitor(aws)


def emitted_metrics(output: str) -> list[tuple[str, dict[str, str], float]]:
    """(metric name, dimensions, value) for every metric in the EMF output."""
    return [(metric.name, metric.dimensions, metric.value) for metric in emf.metrics(output)]


def heartbeats(output: str) -> list[float]:
    """The heartbeats in the EMF output: each a ``RegionsNotActive`` value, emitted only when
    every watched Region's check completed."""
    return [value for name, _, value in emitted_metrics(output) if name == "RegionsNotActive"]


def by_status(output: str, metric: str) -> dict[str, float]:
    """The values of a per-status metric (``EnrollmentStatus``, ``MemberAccounts``) emitted."""
    return {
        dims["Status"]: value for name, dims, value in emitted_metrics(output) if name == metric
    }


def invoke_at(moment: datetime, payload: dict[str, Any] | None = None) -> Checked | TestSent:
    """An invocation at ``moment`` (a scheduled check by default) in the current clients (a
    warm sandbox): its typed result, before the handler serialises it."""
    settings, context = Settings.from_env(), LambdaContext()
    return run(payload or event("scheduled"), settings, AwsClients(), context, moment)


def check_at(moment: datetime) -> Checked:
    checked = invoke_at(moment)
    assert isinstance(checked, Checked)
    return checked
