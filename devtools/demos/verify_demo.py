"""``make verify-demo``: ``enrollment-monitor verify`` on a healthy stack and on a broken one,
offline.

Both stacks are deployed from the transformed template.yaml on a moto server this starts on
127.0.0.1 (a free port), or on the endpoint ``AWS_ENDPOINT_URL`` names
(``AWS_ENDPOINT_URL_<SERVICE>`` as botocore reads them): a moto server of yours; LocalStack
cannot create the stack (docs/DEVELOPMENT.md, Emulators). What moto cannot serve is answered in
this process by the stand-ins the tests use (``devtools.local_aws.stack``): Compute Optimizer,
the alarms' history, and the function's invocation, which runs the real handler. No AWS
account, no Docker.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from devtools.local_aws.resources import environment
from devtools.local_aws.stack import (
    REFUSED,
    Deployed,
    StackNotCreated,
    StandIns,
    deploy,
    email_unconfirmed,
    function_fails,
    stand_ins,
    topic_policy_refuses_alarms,
)
from devtools.local_aws.template import REGION
from enrollment_monitor import cli

HEALTHY, BROKEN = "healthy-monitor", "broken-monitor"
REGIONS = ("us-east-1", "eu-west-1")
PARAMETERS = {
    "Regions": ",".join(REGIONS),
    "NotificationEmail": "ops@example.com",
    "CreateDashboard": "false",
}
# Nothing of your own AWS configuration is read: no profile, no credentials, no setting that
# could send a request anywhere but the endpoint.
HERMETIC = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


def main() -> int:
    try:
        return _demo()
    except StackNotCreated as error:  # what the emulator said, not a traceback
        print(f"\n{error}", file=sys.stderr)
        return 1


def _demo() -> int:
    given = os.environ.get("AWS_ENDPOINT_URL")
    with _endpoint(given) as endpoint, _hermetic(endpoint), stand_ins() as aws:
        where = "AWS_ENDPOINT_URL" if given else "a moto server started for this demo"
        print(f"enrollment-monitor verify, offline: AWS is {endpoint} ({where});")
        print("Compute Optimizer, the alarms' history and the function's invocations are")
        print("answered in this process, the invocations by the real handler.\n")
        healthy = _healthy_stack(aws)
        print(f"1. {HEALTHY}: deployed, one scheduled check ran, CloudWatch evaluated the alarms")
        healthy_code = _verify(healthy)
        broken = _broken_stack(aws)
        print(f"\n2. {BROKEN}: the email was never confirmed, its topic policy refuses the")
        print("   alarms, and Compute Optimizer refuses the function, so its check fails")
        broken_code = _verify(broken)
    if (healthy_code, broken_code) != (0, 1):
        print(f"\nunexpected exit codes: {healthy_code} and {broken_code}", file=sys.stderr)
        return 1
    return 0


def _healthy_stack(aws: StandIns) -> Deployed:
    for region in REGIONS:
        aws.compute_optimizer.set_enrollment(region, "Active")
    deployed = deploy(aws, HEALTHY, PARAMETERS)
    deployed.healthy()
    return deployed


def _broken_stack(aws: StandIns) -> Deployed:
    deployed = deploy(aws, BROKEN, PARAMETERS)
    email_unconfirmed(deployed)
    topic_policy_refuses_alarms(deployed)
    function_fails(deployed)
    deployed.notified(error=REFUSED)
    return deployed


def _verify(deployed: Deployed) -> int:
    arguments = ["verify", "--stack", deployed.name, "--send-test"]
    print(f"\n$ enrollment-monitor {' '.join(arguments)}")
    sys.stdout.flush()
    code = cli.main(arguments)
    print(f"(exit {code})")
    return code


@contextmanager
def _endpoint(given: str | None) -> Iterator[str]:
    """``given``, or the URL of a moto server on 127.0.0.1, stopped afterwards."""
    if given:
        yield given
        return
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextmanager
def _hermetic(endpoint: str) -> Iterator[None]:
    with environment({**HERMETIC, "AWS_ENDPOINT_URL": endpoint}):
        for name in UNSET:
            os.environ.pop(name, None)
        yield


if __name__ == "__main__":
    sys.exit(main())
