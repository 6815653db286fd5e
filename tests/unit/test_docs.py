"""The README and docs/ cannot drift from the code: every command they show is run by a test or
marked as needing AWS, the console link they show is the one alerts carry, the parameters'
defaults are the template's, and the README stays short, draws the flow and maps docs/."""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from enrollment_monitor.alerts import Alert
from enrollment_monitor.alerts.opt_ins import opt_ins_alert
from enrollment_monitor.alerts.render import console_links
from enrollment_monitor.alerts.status import status_alert
from enrollment_monitor.enrollment import Decision, Enrollment, Observation, WatchedSubject
from tests.template import load_template, parameter_defaults

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [README, *PAGES]
NEEDS_AWS = "<!-- needs AWS -->"
SHELLS = {"sh", "bash", "shell", "console"}
MOMENT = datetime(2026, 11, 26, 10, tzinfo=UTC)  # of the alerts the docs show

# Every command the docs show that runs without AWS, and the test that runs it.
COVERED = {
    "make demo": "tests/behaviour/test_demo.py::test_demo_prints_each_alert_once_and_no_raw_logs",
    "make test": "tests/unit/test_docs.py::test_each_make_target_shown_runs_what_its_test_runs",
    "make test-thorough": "tests/unit/test_docs.py::"
    "test_each_make_target_shown_runs_what_its_test_runs",
    "make verify-demo": "tests/deployment/test_verify_demo.py::"
    "test_verify_demo_prints_a_healthy_checklist_then_a_broken_one_with_fixes",
    ".venv/bin/enrollment-monitor status --help": "tests/behaviour/test_cli.py::"
    "test_help_documents_the_exit_codes_and_the_common_options",
    "make stackset-template": "tests/deployment/test_stackset.py::"
    "test_the_template_deploys_on_moto_and_its_check_alerts_the_account_s_own_topic",
    ".venv/bin/python -m devtools.bench --quick": "tests/deployment/test_bench.py::"
    "test_the_quick_bench_runs_every_measure_and_prints_both_tables",
}
# What each make target shown must run, and the file of the test that runs the same (`make
# test` is this very suite but the tests marked thorough, which `make test-thorough` runs).
SUITE = ("pyproject.toml", 'testpaths = ["tests"]')
MAKE_TARGETS = {
    "demo": ("-m devtools.demos.demo", "tests/behaviour/test_demo.py", '"devtools.demos.demo"'),
    "verify-demo": (
        "-m devtools.demos.verify_demo",
        "tests/deployment/test_verify_demo.py",
        '"devtools.demos.verify_demo"',
    ),
    "test": ('$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not thorough"', *SUITE),
    "test-thorough": ("$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m thorough", *SUITE),
    "stackset-template": (
        "-m devtools.release.stackset",
        "tests/deployment/test_stackset.py",
        '"devtools.release.stackset"',
    ),
    "bench": ("$(PY) -m devtools.bench", "tests/deployment/test_bench.py", '"devtools.bench"'),
    # Shown as needing AWS: its test runs it dry (make -n), samconfig.toml deciding --guided.
    "deploy": ("/bin/sam deploy", "tests/deployment/test_make.py", '"deploy"'),
}


@dataclass(frozen=True)
class Shown:
    where: str  # file:line
    command: str
    needs_aws: bool


def _marked(lines: list[str], index: int) -> bool:
    """Whether the last non-blank line before ``lines[index]`` is the needs-AWS marker."""
    before = [line.strip() for line in lines[:index] if line.strip()]
    return bool(before) and before[-1] == NEEDS_AWS


def shown_commands(path: Path) -> list[Shown]:
    """Each command ``path`` shows: the lines of a shell block (a console block's ``$ `` lines
    only), and every ``$ `` line elsewhere; trailing comments and continuations folded."""
    lines = path.read_text().splitlines()
    shown: list[Shown] = []
    fence: tuple[str, bool] | None = None  # (language, marked)
    pending = ""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence else (stripped[3:].strip().lower(), _marked(lines, index))
            continue
        language, marked = fence if fence else ("", _marked(lines, index))
        if stripped.startswith("$ "):
            command = stripped[2:]
        elif language in SHELLS - {"console"} and stripped and not stripped.startswith("#"):
            command = stripped
        else:
            continue
        command = pending + re.sub(r"\s+#\s.*$", "", command).strip()
        if command.endswith("\\"):
            pending = command[:-1].strip() + " "
            continue
        pending = ""
        shown.append(Shown(f"{path.relative_to(ROOT)}:{index + 1}", command, marked))
    return shown


def _test_exists(node: str) -> bool:
    path, name = node.split("::")
    return (ROOT / path).is_file() and f"def {name}(" in (ROOT / path).read_text()


def _recipe(target: str) -> str:
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert found, f"the Makefile has no target {target}"
    return found[1]


def test_every_command_the_docs_show_is_run_by_a_test_or_marked_as_needing_aws() -> None:
    unaccounted = [
        f"{shown.where}: {shown.command}"
        for document in DOCUMENTS
        for shown in shown_commands(document)
        if not shown.needs_aws and shown.command not in COVERED
    ]

    assert not unaccounted, (
        "a command no test runs: add it to COVERED with the test that runs it, or put "
        f"{NEEDS_AWS} on the line before its block: {unaccounted}"
    )


def test_each_covered_command_is_still_shown_and_its_test_exists() -> None:
    shown = {s.command for document in DOCUMENTS for s in shown_commands(document)}

    assert set(COVERED) <= shown, f"no longer shown: {set(COVERED) - shown}"
    assert [node for node in COVERED.values() if not _test_exists(node)] == []


# A shorthand ParameterValue (as the shell passes it) with a comma the AWS CLI splits at: one
# not escaped as `\,` and not followed by the structure's next `Key=`.
SPLIT_VALUE = re.compile(r"ParameterValue=(?:[^,\\]|\\.)*,(?![A-Za-z]+=)")


def test_no_parameter_value_the_docs_show_is_split_by_the_aws_cli_at_a_comma() -> None:
    """The AWS CLI's shorthand reads `ParameterKey=Regions,ParameterValue=a,b` as a list of two
    values and refuses it for a string ("Invalid type for parameter ... ParameterValue");
    `ParameterValue=a\\,b`, quoted so that the shell keeps the backslash, is the string `a,b`."""
    split = [
        f"{shown.where}: {word}"
        for document in DOCUMENTS
        for shown in shown_commands(document)
        for word in shlex.split(shown.command)
        if SPLIT_VALUE.search(word)
    ]

    assert split == []


def test_the_comma_rule_tells_a_list_from_a_string_as_the_aws_cli_does() -> None:
    words = shlex.split(
        "--parameters ParameterKey=Regions,ParameterValue=us-east-1,eu-west-1 "
        "ParameterKey=Regions,ParameterValue=us-east-1\\,eu-west-1 "
        "'ParameterKey=Regions,ParameterValue=us-east-1\\,eu-west-1' "
        "ParameterKey=CodeKey,ParameterValue=a/b.zip ParameterKey=A,UsePreviousValue=true "
        "ParameterKey=B,ParameterValue=x,UsePreviousValue=false"
    )

    assert [bool(SPLIT_VALUE.search(word)) for word in words[1:]] == [
        True,  # a list of two values
        True,  # unquoted, the shell took the backslash away
        False,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize("target", sorted(MAKE_TARGETS))
def test_each_make_target_shown_runs_what_its_test_runs(target: str) -> None:
    """`make demo` runs the module its test runs, and so on: a test of the module is a test of
    the command. `make test` and `make test-thorough` run pytest on `testpaths`, this suite,
    split by the thorough marker."""
    runs, test_file, test_says = MAKE_TARGETS[target]

    assert runs in _recipe(target)
    assert test_says in (ROOT / test_file).read_text()


@pytest.mark.parametrize("target", ["test", "test-thorough"])
def test_make_test_says_first_the_time_development_md_measured(target: str) -> None:
    said = re.search(r"about (\d+) s on 2 cores", _recipe(target).splitlines()[0])
    measured = re.search(
        rf"`make {target}` says first: about (\d+) s on 2 cores",
        re.sub(r"\s+", " ", (ROOT / "docs" / "DEVELOPMENT.md").read_text()),
    )

    assert said, f"make {target} does not say first how long it takes"
    assert measured and measured[1] == said[1], "docs/DEVELOPMENT.md measured another time"


def test_the_marker_finds_commands_in_every_shape() -> None:
    shown = shown_commands(ROOT / "tests" / "unit" / "docs_sample.md")

    assert [(s.command, s.needs_aws) for s in shown] == [
        ("make demo", False),
        ("sam deploy --guided", True),
        ("aws sns publish --topic-arn x --message y", True),
        ("enrollment-monitor status", False),
        ("make test", False),
    ]


def test_the_console_link_the_docs_show_is_the_one_alerts_carry() -> None:
    links = [
        (path.name, link)
        for path in DOCUMENTS
        for link in re.findall(
            r"https://[^\s`\"'<>)]*compute-optimizer/home[^\s`\"'<>)]*", path.read_text()
        )
    ]

    assert links
    for page, link in links:
        region = re.search(r"region=([a-z0-9-]+)", link)
        rendered = console_links(
            WatchedSubject("123456789012", region[1] if region else "us-east-1")
        )[0]
        cut = link.rstrip(".…")
        assert link == rendered or (cut != link and rendered.startswith(cut)), (page, link)


def example_shown(name: str, alert: Alert) -> tuple[list[str], list[str]]:
    """The lines docs/ALERTS.md shows between the ``name`` markers, and the same number of the
    alert's subject, a blank line and its email."""
    page = (ROOT / "docs" / "ALERTS.md").read_text()
    shown = re.search(
        rf"<!-- {name}:start -->\n```\n(.*?)```\n<!-- {name}:end -->", page, re.DOTALL
    )
    assert shown, f"docs/ALERTS.md has no block between the {name} markers"
    lines = shown[1].splitlines()
    rendered = f"{alert.subject}\n\n{json.loads(alert.message)['email']}".splitlines()
    return lines, rendered[: len(lines)]


def test_the_opt_in_alert_alerts_md_shows_is_what_the_code_renders() -> None:
    """docs/ALERTS.md shows the subject and the email's first lines of the alert that fewer
    members are opted in (12, then 10): line for line what the renderer sends."""
    figures = {"member_accounts_enrolled": True}
    alert = opt_ins_alert(
        WatchedSubject("123456789012", "us-east-1"),
        Enrollment("Active", member_accounts_opted_in=12, **figures),
        Enrollment("Active", member_accounts_opted_in=10, **figures),
        MOMENT,
    )

    shown, rendered = example_shown("opt-in-example", alert)

    assert shown == rendered


def test_the_move_alert_alerts_md_shows_is_what_the_code_renders() -> None:
    """docs/ALERTS.md shows the subject and the email's first lines of the alert that the
    delegated administrator moved from 111111111111 to 222222222222."""

    def registered(account: str) -> Observation:
        reason = f"delegated administrator: account {account}"
        return Observation(Enrollment("Registered", reason, holders=(account,)), MOMENT)

    alert = status_alert(
        WatchedSubject("123456789012", "us-east-1", "delegated-administrator"),
        Decision.CHANGED,
        registered("111111111111"),
        registered("222222222222"),
        MOMENT,
    )

    shown, rendered = example_shown("move-example", alert)

    assert shown == rendered


def test_the_parameters_table_shows_the_template_defaults() -> None:
    table = (ROOT / "docs" / "CONFIGURATION.md").read_text().split("## Parameters", 1)[1]
    table = table.split("\n## ", 1)[0]
    rows = re.findall(r"^\| ((?:`\w+`(?:, )?)+) \| ([^|]*) \|", table, re.MULTILINE)
    defaults = parameter_defaults()
    documented: set[str] = set()

    for names, default in rows:
        for name in re.findall(r"`(\w+)`", names):
            documented.add(name)
            shown = default.strip()
            if shown.startswith("empty"):
                assert defaults[name] == "", name
            else:
                value = re.match(r"`([^`]*)`", shown)
                assert value and value[1] == defaults[name], name

    assert documented == set(defaults)


def test_the_alarm_period_s_limit_the_readme_states_is_the_template_s() -> None:
    allowed = load_template()["Parameters"]["CheckPeriodSeconds"]["AllowedValues"]
    stated = re.findall(r"`CheckPeriodSeconds` is at most (\d+)", README.read_text())

    assert stated == [str(max(allowed))]


@pytest.mark.parametrize("stale", ["EnrollmentStatus{", "CheckCompleted", "Metrics Insights"])
def test_no_page_describes_the_old_metrics_or_alarms(stale: str) -> None:
    assert [path.name for path in DOCUMENTS if stale in path.read_text()] == []


def test_the_readme_fits_in_250_lines() -> None:
    assert len(README.read_text().splitlines()) <= 250


def test_the_readme_draws_the_flow_from_schedule_to_subscribers() -> None:
    diagram = re.search(r"```mermaid\n(.*?)```", README.read_text(), re.DOTALL)

    assert diagram
    for step in ("Scheduler", "Lambda", "Region", "DynamoDB", "SNS", "email", "Chatbot", "SQS"):
        assert step in diagram[1], step
    assert re.search(r"alarms\].*--> N", diagram[1]) or "A -- directly --> N" in diagram[1]


def test_the_readme_maps_every_page_of_docs_in_one_line_each() -> None:
    section = README.read_text().split("## Documentation", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| [docs/")]

    assert sorted(re.search(r"\(docs/([^)]+)\)", row)[1] for row in rows) == [  # type: ignore[index]
        path.name for path in PAGES
    ]


def test_the_silent_alarm_s_window_is_the_readme_s_promise_for_every_period() -> None:
    """README says after how many periods without a check "monitor silent" fires; the template
    maps each CheckPeriodSeconds to that many periods, rounded up to the minute
    (tests/deployment/test_silent_alarm_timing.py shows CloudWatch then fires on time)."""
    (stated,) = re.findall(r'"monitor silent" alarm\*\*: for ([0-9.]+) periods', README.read_text())
    template = load_template()
    minutes = template["Mappings"]["SilentAlarmMinutes"]
    for period in template["Parameters"]["CheckPeriodSeconds"]["AllowedValues"]:
        assert minutes[str(period)]["Minutes"] == math.ceil(float(stated) * period / 60), period
