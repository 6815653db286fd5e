"""The monitor's template as the Serverless Application Repository takes it.

SAR refuses a nested stack given by a template URL; it takes a nested application that is in
SAR itself. ``make publish`` therefore publishes the chat stack (nested/chatbot.yaml) as the
application ``enrollment-monitor-chat`` first, then this rewrites the built template so that
``ChatChannels`` names that application by ARN and version (docs/PUBLISHING.md).

    python -m devtools.release.sar --template .aws-sam/build/template.yaml --version 0.2.0 \\
        --region us-east-1 > .aws-sam/sar.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devtools.local_aws.template import load_template

CHAT_APPLICATION = "enrollment-monitor-chat"
CHAT_RESOURCE = "ChatChannels"


def for_sar(template: dict[str, Any], chat_application_id: str, version: str) -> dict[str, Any]:
    """``template`` with its chat stack as the SAR application ``chat_application_id``."""
    rewritten = copy.deepcopy(template)
    chat = rewritten["Resources"][CHAT_RESOURCE]
    chat["Type"] = "AWS::Serverless::Application"
    chat["Properties"] = {
        "Location": {"ApplicationId": chat_application_id, "SemanticVersion": version},
        "Parameters": chat["Properties"]["Parameters"],
    }
    return rewritten


def chat_application_id(region: str) -> str:
    """Where ``sam publish`` puts the chat application for the caller's account."""
    import boto3

    identity = boto3.client("sts", region_name=region).get_caller_identity()
    partition = identity["Arn"].split(":")[1]
    return (
        f"arn:{partition}:serverlessrepo:{region}:{identity['Account']}:"
        f"applications/{CHAT_APPLICATION}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.release.sar", description=__doc__)
    parser.add_argument("--template", type=Path, required=True, help="the built template")
    parser.add_argument("--version", required=True, help="the release's semantic version")
    parser.add_argument("--region", required=True, help="the SAR Region")
    arguments = parser.parse_args(argv)
    template = load_template(arguments.template.resolve())
    rewritten = for_sar(template, chat_application_id(arguments.region), arguments.version)
    json.dump(rewritten, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
