"""The embedded metric format (EMF) lines a handler writes to stdout, read back as CloudWatch
Logs reads them: one metric series per metric and dimension set.

The one parser of the tests, ``make demo``, ``make bench`` and the Lambda stand-in
(devtools/local_aws/lambda_invoke.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    """One metric of an EMF line under one of its dimension sets."""

    namespace: str
    name: str
    dimensions: dict[str, str]  # in the order the dimension set names them
    values: list[Any]  # Powertools writes a list when a metric was added twice

    @property
    def value(self) -> Any:
        return self.values[0]

    def __str__(self) -> str:
        dimensions = ", ".join(f"{name}={value}" for name, value in self.dimensions.items())
        return f"{self.name} {{{dimensions}}}"


def documents(output: str) -> list[dict[str, Any]]:
    """The EMF documents among the lines of ``output``; any other line (a log) is skipped."""
    return [
        json.loads(line)
        for line in output.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]


def metrics(output: str) -> list[Metric]:
    """Every metric of every EMF document in ``output``, once per dimension set, in order."""
    found = []
    for document in documents(output):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = {name: document[name] for name in dimension_set}
                for metric in directive["Metrics"]:
                    value = document[metric["Name"]]
                    values = value if isinstance(value, list) else [value]
                    found.append(Metric(directive["Namespace"], metric["Name"], dimensions, values))
    return found
