"""Publishing to the Serverless Application Repository: the metadata SAR reads, one version,
and the chat stack as an application of its own that the monitor nests (devtools.release.sar)."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

import enrollment_monitor
from devtools.release.sar import CHAT_RESOURCE, for_sar

from template import CHAT_TEMPLATE, TEMPLATE, load_template

CHAT_APPLICATION_ID = (
    "arn:aws:serverlessrepo:us-east-1:123456789012:applications/enrollment-monitor-chat"
)


@pytest.mark.parametrize("path", [TEMPLATE, CHAT_TEMPLATE], ids=["monitor", "chat"])
def test_each_application_is_described_for_the_serverless_application_repository(
    path: Path,
) -> None:
    application = load_template(path)["Metadata"]["AWS::ServerlessRepo::Application"]
    project = tomllib.loads((TEMPLATE.parent / "pyproject.toml").read_text())["project"]
    assert application["SpdxLicenseId"] == project["license"]
    for local_file in (application["LicenseUrl"], application["ReadmeUrl"]):
        assert (path.parent / local_file).is_file(), local_file
    assert re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", application["Name"])
    assert re.fullmatch(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$", application["Author"])
    assert 1 <= len(application["Description"]) <= 256
    assert 1 <= len(application["Labels"]) <= 10
    for label in application["Labels"]:
        assert re.fullmatch(r"^[a-zA-Z0-9+\-_:\/@]{1,127}$", label)
    # The version has one source, the package's __version__: `make publish` passes it.
    assert "SemanticVersion" not in application


def test_the_chat_application_has_the_monitors_author_and_home() -> None:
    monitor = load_template()["Metadata"]["AWS::ServerlessRepo::Application"]
    chat = load_template(CHAT_TEMPLATE)["Metadata"]["AWS::ServerlessRepo::Application"]
    for field in ("Author", "SpdxLicenseId", "HomePageUrl", "SourceCodeUrl"):
        assert chat[field] == monitor[field]
    assert chat["Name"] == CHAT_APPLICATION_ID.rsplit("/", 1)[1]


def test_make_publish_publishes_both_applications_at_the_packages_version() -> None:
    dry_run = subprocess.run(
        ["make", "--dry-run", "publish", "PUBLISH_BUCKET=example-bucket"],
        cwd=TEMPLATE.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    version = enrollment_monitor.__version__
    assert dry_run.count(f"--semantic-version {version}") == 2
    assert dry_run.index("nested/chatbot.yaml") < dry_run.index("devtools.release.sar")
    assert f"--version {version}" in dry_run and "example-bucket" in dry_run


def sar_template() -> dict[str, Any]:
    return for_sar(load_template(), CHAT_APPLICATION_ID, enrollment_monitor.__version__)


def test_for_sar_the_chat_stack_is_the_chat_application_with_the_same_parameters() -> None:
    original = load_template()["Resources"][CHAT_RESOURCE]

    chat = sar_template()["Resources"][CHAT_RESOURCE]

    assert chat["Type"] == "AWS::Serverless::Application"
    assert chat["Condition"] == original["Condition"]
    assert chat["Properties"] == {
        "Location": {
            "ApplicationId": CHAT_APPLICATION_ID,
            "SemanticVersion": enrollment_monitor.__version__,
        },
        "Parameters": original["Properties"]["Parameters"],
    }
    types = {resource["Type"] for resource in sar_template()["Resources"].values()}
    assert "AWS::CloudFormation::Stack" not in types


def test_the_template_for_sar_is_lint_clean(tmp_path: Path) -> None:
    rewritten = tmp_path / "sar.json"
    rewritten.write_text(json.dumps(sar_template()))
    matches = lint_file(rewritten, ManualArgs(regions=["us-east-1"]))
    assert [str(match) for match in matches] == []


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        ([], "PUBLISH_BUCKET is not set"),
        (["PUBLISH_BUCKET=example-bucket"], "replace OWNER in HomePageUrl and SourceCodeUrl"),
    ],
)
def test_make_publish_refuses_before_building(arguments: list[str], refusal: str) -> None:
    refused = subprocess.run(
        ["make", "publish-preflight", *arguments],
        cwd=TEMPLATE.parent,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and refusal in refused.stderr
