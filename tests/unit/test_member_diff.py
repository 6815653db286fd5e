"""The member diff is pure: the stored members and a listing in, writes and changes out."""

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enrollment_monitor.enrollment import MemberEnrollment
from enrollment_monitor.member_diff import (
    GONE,
    Forget,
    MemberDiff,
    MemberWrite,
    Remember,
    Remembered,
    StoredMembers,
    Unlisted,
    Unreported,
)

Change = tuple[str, str | None, str | None]


def diff(
    stored: Mapping[str, Remembered], listed: list[tuple[str, str]], baseline: bool = False
) -> tuple[list[MemberWrite], list[Change], MemberDiff]:
    member_diff = MemberDiff(StoredMembers.of(stored), baseline)
    listing = (MemberEnrollment(a, s) for a, s in listed)
    writes = [*member_diff.listed(listing), *member_diff.unlisted()]
    changes = [
        (c.account_id, c.previous, c.current)
        for kept in member_diff.changes.kept.values()
        for c in kept
    ]
    return writes, changes, member_diff


CASES = {
    "baseline remembers every member": (
        {},
        [("a1", "Active"), ("a2", "Pending")],
        True,
        [Remember("a1", "Active"), Remember("a2", "Pending")],
        [],
    ),
    "baseline after a crashed one forgets who is gone": (
        {"a1": "Active"},
        [("a2", "Active")],
        True,
        [Remember("a2", "Active"), Forget("a1")],
        [],
    ),
    "steady: nothing": ({"a1": "Active"}, [("a1", "Active")], False, [], []),
    "a change": (
        {"a1": "Active"},
        [("a1", "Inactive")],
        False,
        [Remember("a1", Unreported("Inactive", "Active"))],
        [("a1", "Active", "Inactive")],
    ),
    "a new member": (
        {},
        [("a4", "Pending")],
        False,
        [Remember("a4", Unreported("Pending", None))],
        [("a4", None, "Pending")],
    ),
    "a member missed once is written down, not reported": (
        {"a2": "Active"},
        [],
        False,
        [Remember("a2", Unlisted("Active"))],
        [],
    ),
    "a member missed twice in a row has left": (
        {"a2": Unlisted("Active")},
        [],
        False,
        [Remember("a2", Unreported(None, "Active"))],
        [("a2", "Active", None)],
    ),
    "a member missed once and listed again is as it was": (
        {"a2": Unlisted("Active")},
        [("a2", "Active")],
        False,
        [Remember("a2", "Active")],
        [],
    ),
    "a member missed once and listed with a new status changed from the last reported": (
        {"a2": Unlisted("Active")},
        [("a2", "Inactive")],
        False,
        [Remember("a2", Unreported("Inactive", "Active"))],
        [("a2", "Active", "Inactive")],
    ),
    "a departure a crashed check confirmed is reported, not written again": (
        {"a2": Unreported(None, "Active")},
        [],
        False,
        [],
        [("a2", "Active", None)],
    ),
    "an unreported change missed is a first miss of the status last reported": (
        {"a2": Unreported("Inactive", "Active")},
        [],
        False,
        [Remember("a2", Unlisted("Active"))],
        [],
    ),
    "a baseline forgets a member it does not list": (
        {"a2": Unlisted("Active")},
        [],
        True,
        [Forget("a2")],
        [],
    ),
    "a member that left earlier is not reported again": ({"a2": GONE}, [], False, [], []),
    "a member that left and returns is new": (
        {"a2": GONE},
        [("a2", "Active")],
        False,
        [Remember("a2", Unreported("Active", None))],
        [("a2", None, "Active")],
    ),
    "a change a crashed check wrote is reported, not written again": (
        {"a1": Unreported("Inactive", "Active")},
        [("a1", "Inactive")],
        False,
        [],
        [("a1", "Active", "Inactive")],
    ),
    "a change a crashed check wrote and that reverted is repaired": (
        {"a1": Unreported("Inactive", "Active")},
        [("a1", "Active")],
        False,
        [Remember("a1", "Active")],
        [],
    ),
    "an unreported new member that is gone again is forgotten": (
        {"a4": Unreported("Pending", None)},
        [],
        False,
        [Forget("a4")],
        [],
    ),
    "the change since the last report, not since the unreported one": (
        {"a1": Unreported("Inactive", "Active")},
        [("a1", "Failed")],
        False,
        [Remember("a1", Unreported("Failed", "Active"))],
        [("a1", "Active", "Failed")],
    ),
    "a member listed twice is compared once": (
        {"a1": "Active"},
        [("a1", "Active"), ("a1", "Inactive")],
        False,
        [],
        [],
    ),
}


@pytest.mark.parametrize(
    ("stored", "listed", "baseline", "writes", "changes"), CASES.values(), ids=CASES.keys()
)
def test_member_diff(
    stored: dict[str, Remembered],
    listed: list[tuple[str, str]],
    baseline: bool,
    writes: list[MemberWrite],
    changes: list[Change],
) -> None:
    assert diff(stored, listed, baseline)[:2] == (writes, changes)


def test_members_that_left_earlier_are_named_for_a_check_that_writes_anyway() -> None:
    *_, member_diff = diff({"a2": GONE, "a3": "Active"}, [("a3", "Active")])

    assert member_diff.left_earlier == ["a2"]


def test_a_member_to_rewrite_is_written_even_where_its_item_holds_what_the_diff_wants() -> None:
    member_diff = MemberDiff(StoredMembers.of({"a1": "Active"}), False, frozenset({"a1"}))

    writes = [*member_diff.listed([MemberEnrollment("a1", "Active")]), *member_diff.unlisted()]

    assert writes == [Remember("a1", "Active")]


def test_stored_members_listed_in_any_order_are_found() -> None:
    stored = StoredMembers(["a3", "a1", "a2"], ["Active", GONE, Unreported("Failed", "Active")])

    assert list(stored) == ["a1", "a2", "a3"]
    assert stored == {"a1": GONE, "a2": Unreported("Failed", "Active"), "a3": "Active"}
    assert stored.position("a4") is None


def test_the_stored_members_are_not_changed() -> None:
    stored: dict[str, Remembered] = {"a1": "Active", "a2": GONE}

    diff(stored, [("a1", "Inactive"), ("a3", "Active")])

    assert stored == {"a1": "Active", "a2": GONE}


# ---------------------------------------------------------------- against a naive model

ACCOUNTS = ["a1", "a2", "a3", "a4"]
STATUSES = ["Active", "Inactive", "Pending", "Failed"]
remembered = st.one_of(
    st.sampled_from([*STATUSES, GONE]),
    st.builds(Unlisted, st.sampled_from(STATUSES)),
    st.builds(
        Unreported,
        st.sampled_from([*STATUSES, None]),
        st.sampled_from([*STATUSES, None]),
    ).filter(lambda u: u.status != u.previous),
)
stored_members = st.dictionaries(st.sampled_from(ACCOUNTS), remembered)
listings = st.lists(st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(STATUSES)), max_size=6)


def last_reported(known: Remembered | None) -> str | None:
    if isinstance(known, Unreported):
        return known.previous
    if isinstance(known, Unlisted):
        return known.status
    return known or None


def listed_last_time(known: Remembered | None) -> bool:
    """Listed by the last complete listing: a status, or a status change not yet reported."""
    if isinstance(known, Unreported):
        return known.status is not None
    return isinstance(known, str) and known != GONE


def expected(
    stored: Mapping[str, Remembered], listed: list[tuple[str, str]], baseline: bool
) -> tuple[dict[str, Remembered], set[Change]]:
    """The table as it must be after the writes, and the changes to report."""
    current: dict[str, str] = {}
    for account_id, status in listed:
        current.setdefault(account_id, status)
    if baseline:
        return dict(current), set()
    table: dict[str, Remembered] = {}
    changes = set()
    for account_id in current.keys() | stored.keys():
        before, now = last_reported(stored.get(account_id)), current.get(account_id)
        if now is None and before is not None and listed_last_time(stored.get(account_id)):
            table[account_id] = Unlisted(before)  # a first miss: not a change yet
        elif before != now:
            table[account_id] = Unreported(now, before)
            changes.add((account_id, before, now))
        elif now is not None:
            table[account_id] = now
        elif stored.get(account_id) == GONE:
            table[account_id] = GONE
    return table, changes


def applied(stored: Mapping[str, Remembered], writes: list[MemberWrite]) -> dict[str, Remembered]:
    table = dict(stored)
    for write in writes:
        if isinstance(write, Forget):
            del table[write.account_id]
        else:
            table[write.account_id] = write.remembered
    return table


def reported(table: Mapping[str, Remembered]) -> dict[str, Remembered]:
    """The table once the alert that reports its changes is owed (the round closed): a
    member missed stays so, for the next listing to confirm."""
    return {
        account_id: (known.status or GONE) if isinstance(known, Unreported) else known
        for account_id, known in table.items()
    }


@given(stored=stored_members, listed=listings, baseline=st.booleans())
def test_writes_and_changes_match_a_naive_model(
    stored: dict[str, Remembered], listed: list[tuple[str, str]], baseline: bool
) -> None:
    writes, changes, _ = diff(stored, listed, baseline)

    table, expected_changes = expected(stored, listed, baseline)
    assert applied(stored, writes) == table
    assert set(changes) == expected_changes and len(changes) == len(expected_changes)
    # Written once: the same listing against the written table writes nothing more but the
    # misses a check that died wrote (they count once its round is closed); once reported, the
    # same listing reports only the departures it confirms.
    died = {a: k.status if isinstance(k, Unlisted) else k for a, k in table.items()}
    assert diff(died, listed, baseline)[0] == [
        Remember(a, k) for a, k in sorted(table.items()) if isinstance(k, Unlisted)
    ]
    missed = {(a, k.status, None) for a, k in reported(table).items() if isinstance(k, Unlisted)}
    writes, changes, _ = diff(reported(table), listed)
    assert set(changes) == missed and len(changes) == len(missed)
    assert writes == [Remember(a, Unreported(None, s)) for a, s, _ in sorted(missed)]
