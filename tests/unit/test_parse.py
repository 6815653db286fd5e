"""Answers from Compute Optimizer, parsed once where they enter: each field its type, or "not
said", logged once naming the field and the value."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from enrollment_monitor import invisible, parse
from enrollment_monitor.enrollment import Enrollment, MemberEnrollment, NotAnAccount


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    """What the parsers log, whatever else is configured (Powertools in a sandbox)."""
    kept, logger = Kept(), logging.getLogger(parse.__name__)
    logger.addHandler(kept)
    try:
        yield kept.records
    finally:
        logger.removeHandler(kept)


@pytest.mark.parametrize(
    ("answer", "figures"),
    [
        ({"numberOfMemberAccountsOptedIn": 7}, (7, None)),
        ({"numberOfMemberAccountsOptedIn": 0}, (0, None)),
        ({"numberOfMemberAccountsOptedIn": 7.0}, (7, None)),  # JSON's one number type
        ({"memberAccountsEnrolled": False}, (None, False)),
        (
            {"memberAccountsEnrolled": True, "numberOfMemberAccountsOptedIn": 2**31 - 1},
            (2**31 - 1, True),
        ),
    ],
)
def test_member_figures_of_their_type_are_kept(
    answer: dict[str, Any], figures: tuple[Any, Any], logged: list[logging.LogRecord]
) -> None:
    enrollment = Enrollment.from_api({"status": "Active", **answer})

    assert enrollment.figures == figures
    assert type(enrollment.member_accounts_opted_in) in (int, type(None))
    assert logged == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("numberOfMemberAccountsOptedIn", True),
        ("numberOfMemberAccountsOptedIn", False),
        ("numberOfMemberAccountsOptedIn", "7"),
        ("numberOfMemberAccountsOptedIn", 7.5),
        ("numberOfMemberAccountsOptedIn", float("nan")),
        ("numberOfMemberAccountsOptedIn", float("inf")),
        ("numberOfMemberAccountsOptedIn", -1),
        ("numberOfMemberAccountsOptedIn", 2**31),
        ("numberOfMemberAccountsOptedIn", [7]),
        ("memberAccountsEnrolled", 1),
        ("memberAccountsEnrolled", 0),
        ("memberAccountsEnrolled", "true"),
        ("statusReason", 7),
        ("statusReason", ["a reason"]),
        ("lastUpdatedTimestamp", "2026-11-26T09:30:00Z"),
        ("lastUpdatedTimestamp", 1_700_000_000),
        ("lastUpdatedTimestamp", datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))),
        ("lastUpdatedTimestamp", datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))),
    ],
)
def test_a_field_of_another_type_is_not_said_and_logged_once_naming_it(
    name: str, value: Any, logged: list[logging.LogRecord]
) -> None:
    enrollment = Enrollment.from_api({"status": "Inactive", name: value})

    assert enrollment == Enrollment("Inactive")
    (record,) = logged
    assert record.levelno == logging.WARNING
    assert name in record.getMessage() and repr(value)[:20] in record.getMessage()


@pytest.mark.parametrize("status", [None, "", 7, ["Active"], {"status": "Active"}])
def test_a_status_not_said_is_unknown_and_so_not_active(status: Any) -> None:
    enrollment = Enrollment.from_api({"status": status})

    assert enrollment.status == "Unknown" and not enrollment.active


@pytest.mark.parametrize(
    "answer",
    [
        {},  # what botocore makes of a 200 whose body is an HTML page or empty
        {"statusReason": "x", "ResponseMetadata": {"HTTPStatusCode": 200}},
    ],
)
def test_an_answer_without_a_status_is_not_aws_and_never_a_value(answer: dict[str, Any]) -> None:
    with pytest.raises(parse.Missing, match="without status, which AWS always returns"):
        Enrollment.from_api(answer)


def test_text_is_valid_unicode_and_bounded() -> None:
    enrollment = Enrollment.from_api(
        {"status": "Inactive\ud800" + "s" * 500, "statusReason": "\udfff" * 5_000}
    )

    assert enrollment.status == "Inactive\ufffd" + "s" * 91
    assert enrollment.status_reason == "\ufffd" * 1_000
    enrollment.status.encode()  # what SNS and DynamoDB need


def test_a_time_is_aware_utc_to_the_second() -> None:
    local = timezone(timedelta(hours=2))
    moment = datetime(2026, 11, 26, 11, 30, 5, 123_456, tzinfo=local)

    enrollment = Enrollment.from_api({"status": "Active", "lastUpdatedTimestamp": moment})

    assert enrollment.last_updated == datetime(2026, 11, 26, 9, 30, 5, tzinfo=UTC)
    assert enrollment.last_updated and enrollment.last_updated.microsecond == 0


@pytest.mark.parametrize(
    "account_id",
    [
        "#ROUND",
        "",
        "1" * 1024,
        "12345678901",
        "1234567890123",
        "12345678901\n",
        "\u0661" * 12,  # digits, but not ASCII ones
        "\uff11" * 12,  # fullwidth digits
        111111111111,
        None,
    ],
)
def test_a_member_whose_account_id_is_not_12_digits_is_refused_naming_it(account_id: Any) -> None:
    with pytest.raises(NotAnAccount) as refused:
        MemberEnrollment.from_api({"accountId": account_id, "status": "Active"})

    assert refused.value.shown.startswith(repr(account_id)[:20])
    assert len(refused.value.shown) <= 80


@pytest.mark.parametrize("entry", ["111111111111", None, ["111111111111"]])
def test_an_entry_that_is_not_an_object_is_refused(entry: Any) -> None:
    with pytest.raises(NotAnAccount):
        MemberEnrollment.from_api(entry)


def test_a_member_keeps_its_fields_parsed_like_the_accounts() -> None:
    member = MemberEnrollment.from_api(
        {"accountId": "012345678901", "status": "Failed\ud800", "statusReason": 7}
    )

    assert member == MemberEnrollment("012345678901", "Failed\ufffd")


def test_shown_values_are_bounded_reprs() -> None:
    assert parse.shown("#ROUND") == "'#ROUND'"
    assert parse.shown("\ud800") == "'\\ud800'"
    long = parse.shown("1" * 1024)
    assert long.startswith("'1111") and "1,024 characters" in long and len(long) <= 60


# What is invisible (enrollment_monitor.invisible): the one table the edge and every rendering
# share.

KNOWN_INVISIBLE = {
    "\u00ad": "soft hyphen",
    "\u034f": "combining grapheme joiner",
    "\u115f": "Hangul choseong filler",
    "\u1160": "Hangul jungseong filler",
    "\u3164": "Hangul filler",
    "\uffa0": "halfwidth Hangul filler",
    "\u2800": "braille pattern blank",
    "\u200d": "zero width joiner",
    "\u2060": "word joiner",
    "\ufe0f": "variation selector-16",
    "\U000e0100": "variation selector-17",
    "\U000e0041": "tag latin capital letter a",
    "\ufeff": "zero width no-break space",
    "\ufdd0": "noncharacter",
    "\ufffe": "noncharacter",
    "\U0001ffff": "noncharacter",
    "\U0010ffff": "noncharacter",
    "\ue000": "private use",
    "\x07": "bell, a control: a space",
}
KNOWN_VISIBLE = "A\u00e9\u00a0\u3000\ufffd\u2028\u0301\u1100\u3131\u2801\U0001f600"


def test_every_invisible_character_is_removed_where_text_enters() -> None:
    for character, name in KNOWN_INVISIBLE.items():
        assert parse.text("status", f"Act{character}ive", 100) in ("Active", "Act ive"), name
    assert parse.text("status", f"Active{''.join(KNOWN_INVISIBLE)}", 100) == "Active"


def test_visible_characters_are_kept() -> None:
    assert invisible.visible(KNOWN_VISIBLE) == KNOWN_VISIBLE


def test_the_table_is_unicodes_default_ignorable_code_points_and_noncharacters() -> None:
    regex = pytest.importorskip("regex")  # a dependency of cfn-lint, in the dev environment
    unicode = regex.compile(r"[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]")
    said = {code for code in range(0x110000) if unicode.match(chr(code))}

    assert said | {invisible.BRAILLE_PATTERN_BLANK} == set(invisible.INVISIBLE)
