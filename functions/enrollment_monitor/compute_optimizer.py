"""Reads from Compute Optimizer."""

from __future__ import annotations

from typing import Any

from enrollment_monitor.enrollment import Enrollment
from enrollment_monitor.errors import calling


def read_enrollment(client: Any, region: str) -> Enrollment:
    with calling("compute-optimizer:GetEnrollmentStatus", region):
        return Enrollment.from_api(client.get_enrollment_status())
