"""Errors that say which AWS call failed, where, and what to do about it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

_PERMISSION_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",  # SNS
    "UnauthorizedOperation",
}


class MonitorError(Exception):
    """A check could not complete. The message is meant for the person reading the logs."""


class AwsCallError(MonitorError):
    def __init__(self, call: str, region: str, code: str, detail: str) -> None:
        self.call, self.region, self.code = call, region, code
        hint = ""
        if code in _PERMISSION_CODES:
            hint = f"; the caller's IAM policy must allow {call}"
        elif code == "NoCredentials":
            hint = "; configure AWS credentials (environment, profile or role)"
        super().__init__(f"{call} in {region} failed: {code}: {detail}{hint}")

    @property
    def denied(self) -> bool:
        """AWS refused the call to this caller (as opposed to failing to answer)."""
        return self.code in _PERMISSION_CODES


@contextmanager
def calling(call: str, region: str) -> Iterator[None]:
    """Turns botocore's errors into an AwsCallError naming ``call`` (an IAM action name)."""
    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code") or "Unknown"
        raise AwsCallError(call, region, code, details.get("Message") or str(error)) from error
    except NoCredentialsError as error:
        raise AwsCallError(call, region, "NoCredentials", str(error)) from error
    except BotoCoreError as error:
        raise AwsCallError(call, region, type(error).__name__, str(error)) from error
