"""CloudWatch metrics of one check, as embedded metric format lines on stdout.

Every metric carries the dimensions ``Region`` and ``service``; ``EnrollmentStatus`` and
``MemberAccounts`` add ``Status``. The alarms in template.yaml watch exactly these sets.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit, single_metric

from enrollment_monitor.enrollment import KNOWN_STATUSES, Enrollment


def emit_check(namespace: str, region: str, enrollment: Enrollment) -> None:
    """The status one-hot over the four known statuses, member figures, and the heartbeat."""
    _emit_per_status(namespace, region, "EnrollmentStatus", _one_hot(enrollment.status))
    metrics = EphemeralMetrics(namespace=namespace)
    metrics.add_dimension(name="Region", value=region)
    if enrollment.member_accounts_opted_in is not None:
        metrics.add_metric(
            name="MemberAccountsOptedIn",
            unit=MetricUnit.Count,
            value=enrollment.member_accounts_opted_in,
        )
    if enrollment.member_accounts_enrolled is not None:
        metrics.add_metric(
            name="MemberAccountsEnrolled",
            unit=MetricUnit.Count,
            value=int(enrollment.member_accounts_enrolled),
        )
    metrics.add_metric(name="CheckCompleted", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


def emit_member_counts(namespace: str, region: str, counts: Mapping[str, int]) -> None:
    """How many organization members are in each known status (all four, zeros included)."""
    _emit_per_status(
        namespace, region, "MemberAccounts", {s: counts.get(s, 0) for s in KNOWN_STATUSES}
    )


def _one_hot(status: str) -> dict[str, int]:
    return {known: int(known == status) for known in KNOWN_STATUSES}


def _emit_per_status(namespace: str, region: str, name: str, values: Mapping[str, int]) -> None:
    for status, value in values.items():
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=value,
            namespace=namespace,
            default_dimensions={"Region": region},
        ) as metric:
            metric.add_dimension(name="Status", value=status)
