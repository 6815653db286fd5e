"""CloudWatch metrics of one check, as embedded metric format (EMF) lines on stdout: once per
check, not once per Region, and no series for a status nobody holds, because each series is
what CloudWatch bills. Every metric carries the dimension ``service`` (the stack's name).

- ``RegionsNotActive``: how many watched subjects expected Active are not (Inactive, Pending,
  Failed, or a status AWS adds later): Compute Optimizer in each watched Region, and what
  AlsoWatch adds (Automation and the delegated administrator count for nothing: they are
  watched for changes alone). Emitted only when every subject's check completed: the
  datapoint is the heartbeat, so one subject whose check did not complete leaves the period
  without it. ``enrollment-not-active`` alarms on its maximum, ``monitor-silent`` on its
  absence.
- ``StatusNotActive`` with ``Subject`` (the service), ``Region`` and ``Status``: 1 for each
  subject ``RegionsNotActive`` counts, so a graph names the Region and its status. No datapoint
  while everything is Active: free while healthy. A status is sent as printable ASCII, any
  other character escaped (CloudWatch takes ASCII dimension values).
- ``MemberAccountsOptedIn``, ``MemberAccountsEnrolled``: the organization's figures, as
  Compute Optimizer answers them in the member listing Region of a management account,
  whenever the answer carries them (member tracking or not).
- ``MemberAccounts`` with ``Status``: how many members hold each status some member holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from enrollment_monitor.enrollment import Enrollment

# CloudWatch takes dimension values of up to 1,024 characters; a status is far shorter.
DIMENSION_LIMIT = 250


def emit_check(
    namespace: str,
    not_active: int | None,
    figures: Enrollment | None,
    member_counts: Mapping[str, int],
    statuses: Sequence[tuple[str, str, str]] = (),
) -> None:
    """``not_active``: the subjects not Active, None when a check did not complete;
    ``figures``: the organization's, None when not read; ``member_counts``: members per
    status listed; ``statuses``: (service, Region, status) of each subject not Active."""
    values: dict[str, int] = {}
    if not_active is not None:
        values["RegionsNotActive"] = not_active
    if figures:
        opted_in, enrolled = figures.figures
        if opted_in is not None:
            values["MemberAccountsOptedIn"] = opted_in
        if enrolled is not None:
            values["MemberAccountsEnrolled"] = int(enrolled)
    _emit(namespace, values)
    for status, count in member_counts.items():
        if count:
            _emit(namespace, {"MemberAccounts": count}, Status=status)
    for service, region, status in statuses:
        dimensions = {"Subject": service, "Region": region, "Status": dimension_value(status)}
        _emit(namespace, {"StatusNotActive": 1}, **dimensions)


def dimension_value(text: str) -> str:
    """``text`` as a CloudWatch dimension value: printable ASCII, every other character
    escaped (``\\u00e9``), at most ``DIMENSION_LIMIT`` characters, never empty."""
    escaped = "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode() for c in text)
    return escaped.strip()[:DIMENSION_LIMIT] or "?"


def _emit(namespace: str, values: Mapping[str, int], **dimensions: str) -> None:
    """One EMF document: every value, with ``dimensions`` beside ``service``."""
    if not values:
        return
    metrics = EphemeralMetrics(namespace=namespace)
    for dimension, dimension_value in dimensions.items():
        metrics.add_dimension(name=dimension, value=dimension_value)
    for name, value in values.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.flush_metrics()
