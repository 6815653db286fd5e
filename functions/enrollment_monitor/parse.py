"""Values from Compute Optimizer, parsed once where they enter (DESIGN: "Parse at the edge").

Each field becomes its type or "not said" (None): a count is an int (never a bool), a flag a
bool, text valid Unicode (a lone surrogate replaced), visible and bounded, a time aware UTC to
the second. A value that does not fit is logged once, naming the field and the value, and goes no
further: no rendering, key or write ever sees it.

The command line imports this module too, without Powertools: it logs with the standard
library (``app`` gives the Lambda's lines Powertools' JSON format).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeGuard

from enrollment_monitor.invisible import visible

logger = logging.getLogger(__name__)

# The API's integers are 32-bit (Smithy's Integer); a count of members is never negative.
COUNT_LIMIT = 2**31 - 1
# A value named in a log line or an error, at most this long.
SHOWN_LIMIT = 60
# ASCII digits only: \d would take any script's digits.
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Missing(Exception):
    """An answer without a field the API always returns: not AWS's answer but what a proxy,
    a captive portal or an emulator sent instead (botocore parses a 200 whose body is an HTML
    page or nothing at all into an empty answer). ``errors.calling`` names the call it failed."""

    def __init__(self, field: str, answer: Mapping[str, Any]) -> None:
        self.field = field
        metadata = answer.get("ResponseMetadata") or {}
        status = metadata.get("HTTPStatusCode", "")
        content_type = (metadata.get("HTTPHeaders") or {}).get("content-type")
        sent = f"HTTP {status}{f' ({content_type})' if content_type else ''}".strip()
        super().__init__(f"{sent or 'an answer'} without {field}, which AWS always returns")


def required(answer: Mapping[str, Any], *path: str) -> Any:
    """``answer[path[0]][path[1]]...``, a field the API always returns; Missing if the answer
    lacks it. Every reader takes what it cannot do without through here, inside
    ``errors.calling``: an answer that is not AWS's is a failed call, never a value."""
    found: Any = answer
    for field in path:
        if not isinstance(found, Mapping) or field not in found:
            raise Missing(field, answer)
        found = found[field]
    return found


def text(field: str, value: Any, limit: int, of: str = "") -> str | None:
    """Text as a person sees it, so that two statuses compare as they are shown: one line of
    at most ``limit`` characters, each a valid one (a lone surrogate, which no UTF-8 encoder
    takes, becomes U+FFFD), nothing invisible (``invisible.visible``), spaces collapsed and
    trimmed; None if not said or not text."""
    if not isinstance(value, str):
        _not_said(field, value, of)
        return None
    value = value[:limit]
    if not value.isascii():
        value = _SURROGATE.sub("\ufffd", value)
    return " ".join(visible(value).split())


def count(field: str, value: Any, of: str = "") -> int | None:
    """A count from 0 to ``COUNT_LIMIT``. A whole float counts as the int it equals: JSON has
    one number type, so an answer written ``7.0`` says 7 (and refusing it would silence the
    member figures for as long as the service writes them so). A bool is no count."""
    if type(value) is float and math.isfinite(value) and value.is_integer():
        value = int(value)
    if type(value) is int and 0 <= value <= COUNT_LIMIT:
        return value
    _not_said(field, value, of)
    return None


def flag(field: str, value: Any, of: str = "") -> bool | None:
    """True or false; 1, 0 or "true" are not said."""
    if type(value) is bool:
        return value
    _not_said(field, value, of)
    return None


def moment(field: str, value: Any, of: str = "") -> datetime | None:
    """A time as botocore parsed it, in UTC to the second (as the monitor stores and shows
    it, so it reads back unchanged); naive, it is taken as UTC. What botocore could not read
    comes as sent, and is not said."""
    try:
        if not isinstance(value, datetime):  # botocore could not read it (clients.timestamp)
            raise TypeError(value)
        aware = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (TypeError, OverflowError):  # or, in UTC, past either end of datetime's years
        _not_said(field, value, of)
        return None
    return aware.replace(microsecond=0)


def is_account_id(value: Any) -> TypeGuard[str]:
    """Twelve ASCII digits: the only thing an account id can be, so never a control item's
    key (``#ROUND``), nor an empty or oversized DynamoDB key."""
    return isinstance(value, str) and _ACCOUNT_ID.fullmatch(value) is not None


def shown(value: Any) -> str:
    """A value as a log line or an error names it: its repr (escapes included, so a lone
    surrogate or a newline is visible and printable), cut to ``SHOWN_LIMIT``."""
    described = repr(value)
    if len(described) <= SHOWN_LIMIT:
        return described
    size = f" ({len(value):,} characters)" if isinstance(value, str) else ""
    return f"{described[: SHOWN_LIMIT - len(size) - 3]}...{size}"


def _not_said(field: str, value: Any, of: str) -> None:
    """Not said: ``value`` is None (the field was left out) or is logged as not fitting."""
    if value is None:
        return None
    where = f" (member {of})" if of else ""
    logger.warning(
        "%s%s from Compute Optimizer is %s, which does not fit the field: taken as not said",
        field,
        where,
        shown(value),
        extra={"field": field, "value": shown(value)},
    )
