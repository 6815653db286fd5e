"""CloudWatch metrics of one check, as embedded metric format lines on stdout.

Every metric carries the dimensions ``Region`` and ``service``; ``EnrollmentStatus`` and
``MemberAccounts`` add ``Status``. The alarms in template.yaml watch exactly these sets.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit, single_metric

from enrollment_monitor.enrollment import KNOWN_STATUSES, Enrollment


def emit_enrollment(namespace: str, region: str, enrollment: Enrollment) -> None:
    """The status one-hot over the four known statuses, and the member figures."""
    _emit_per_status(namespace, region, "EnrollmentStatus", _one_hot(enrollment.status))
    figures = {
        "MemberAccountsOptedIn": enrollment.member_accounts_opted_in,
        "MemberAccountsEnrolled": enrollment.member_accounts_enrolled,
    }
    _emit(namespace, region, {name: int(v) for name, v in figures.items() if v is not None})


def emit_heartbeat(namespace: str, region: str) -> None:
    """``CheckCompleted``: the Region's check is done (read, recorded, every owed alert
    delivered, members done). A check that fails emits none: the silent alarm sees it."""
    _emit(namespace, region, {"CheckCompleted": 1})


def _emit(namespace: str, region: str, values: Mapping[str, int]) -> None:
    if not values:
        return
    metrics = EphemeralMetrics(namespace=namespace)
    metrics.add_dimension(name="Region", value=region)
    for name, value in values.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
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
