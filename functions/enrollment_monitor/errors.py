"""Errors that say which AWS call failed, where, and what to do about it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import responses

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from enrollment_monitor.parse import Missing

_PERMISSION_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",  # SNS
    "UnauthorizedOperation",
}
# An answer that is not AWS's: a proxy's or a captive portal's page, an empty body.
NOT_AWS = "NotAnAwsAnswer"
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_SAID_LIMIT = 80


class MonitorError(Exception):
    """A check could not complete. The message is meant for the person reading the logs."""


# What AWS documents of the account a call of the organization needs, for a refused call.
_TELL_THE_ACCOUNT = (
    "`aws organizations describe-organization` names the management account "
    "(MasterAccountId), and `aws organizations list-delegated-administrators "
    "--service-principal compute-optimizer.amazonaws.com` the delegated administrator"
)
_ORGANIZATIONS_ACCOUNT = (
    "Organizations answers this call only in the management account or a delegated "
    "administrator of Organizations"
)
_NEEDS_ACCOUNT = {
    "compute-optimizer:GetEnrollmentStatusesForOrganization": "the API reference documents "
    "this call for an organization's management account (the user guide lets a delegated "
    "administrator manage member opt-in, but does not say it can list members this way)",
    "organizations:ListAWSServiceAccessForOrganization": _ORGANIZATIONS_ACCOUNT,
    "organizations:ListDelegatedAdministrators": _ORGANIZATIONS_ACCOUNT,
}


class AwsCallError(MonitorError):
    def __init__(self, call: str, region: str, code: str, detail: str) -> None:
        self.call, self.region, self.code = call, region, code
        hint = ""
        if code in _PERMISSION_CODES and call in _NEEDS_ACCOUNT:
            hint = (
                f"; the caller's IAM policy must allow {call}, and {_NEEDS_ACCOUNT[call]}: "
                f"{_TELL_THE_ACCOUNT}"
            )
        elif code in _PERMISSION_CODES:
            hint = f"; the caller's IAM policy must allow {call}"
        elif code == "NoCredentials":
            hint = "; configure AWS credentials (environment, profile or role)"
        elif code == NOT_AWS:
            hint = (
                "; a proxy, a firewall or an endpoint URL may be in the way: "
                "check HTTPS_PROXY, AWS_ENDPOINT_URL[_<SERVICE>] and your network, then retry"
            )
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
        message = details.get("Message") or ""
        if code.isdigit():  # botocore found no AWS error in the body: only the HTTP status
            raise AwsCallError(call, region, NOT_AWS, _answered(message, code)) from error
        raise AwsCallError(call, region, code, message or str(error)) from error
    except NoCredentialsError as error:
        raise AwsCallError(call, region, "NoCredentials", str(error)) from error
    except ResponseParserError as error:  # its message ends with the body it could not parse
        body = str(error).split("\n", 1)[-1]
        raise AwsCallError(call, region, NOT_AWS, _answered(body)) from error
    except BotoCoreError as error:
        raise AwsCallError(call, region, type(error).__name__, str(error)) from error
    except Missing as error:  # botocore read an answer, but not AWS's
        raise AwsCallError(call, region, NOT_AWS, str(error)) from error


def _answered(body: str, status: str | None = None) -> str:
    """What the endpoint answered, in a few words: never the page itself. ``body`` is what
    botocore kept of it: the text, its bytes' repr, or the status's reason phrase when the
    body was empty or bare HTML (botocore's generic error)."""
    answered = f"HTTP {status} with " if status else "an answer botocore could not read: "
    title = _TITLE.search(body)
    if title or re.search(r"<(!doctype\s+)?html", body, re.IGNORECASE):
        said = f' titled "{_said(title[1])}"' if title and _said(title[1]) else ""
        return f"{answered}an HTML page{said}"
    text = body.strip()
    if len(text) > 2 and text[0] == "b" and text[1] in "'\"" and text[-1] == text[1]:
        text = text[2:-1].strip()  # the repr of the bytes
    if status and text == responses.get(int(status)):
        return f"HTTP {status} {text} and no AWS error"
    return f'{answered}"{_said(text)}"' if text else f"{answered}an empty body"


def _said(text: str) -> str:
    line = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return line if len(line) <= _SAID_LIMIT else line[: _SAID_LIMIT - 1] + "\u2026"
