"""The alarms on the monitor's own metrics, evaluated against what real checks emit: status by
status, and with one Region silent among several (issue 16)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from enrollment_monitor.errors import MonitorError

from conftest import emitted_metrics, watching
from template import own_metric_alarm

REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")


def alarm_state(alarm: dict[str, Any], output: str) -> str:
    """What CloudWatch makes of one period holding the EMF ``output`` of one check: ALARM, OK,
    or, when no datapoint has the alarm's exact dimensions, what its FILL puts there or else
    what its TreatMissingData says."""
    values = [
        value
        for name, dimensions, value in emitted_metrics(output)
        if name == alarm["metric"] and dimensions == alarm["dimensions"]
    ]
    if not values and alarm["fill"] is None:
        return {"breaching": "ALARM", "notBreaching": "OK"}.get(alarm["missing"], alarm["missing"])
    observed = (
        {"Maximum": max, "SampleCount": len}[alarm["statistic"]](values)
        if values
        else alarm["fill"]
    )
    breaching = {
        "GreaterThanThreshold": observed > alarm["threshold"],
        "LessThanThreshold": observed < alarm["threshold"],
    }[alarm["comparison"]]
    return "ALARM" if breaching else "OK"


@pytest.mark.parametrize("status", ["Active", "Inactive", "Pending", "Failed", "Suspended"])
@pytest.mark.parametrize("silent", [None, "eu-west-1"], ids=["all checked", "one Region silent"])
def test_the_alarms_fire_status_by_status_and_for_one_silent_region_among_several(
    status: str, silent: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    with watching(REGIONS) as monitor:
        monitor.status(status, region="ap-south-1")
        if silent:
            monitor.aws.wire.fail(
                "compute-optimizer", "GetEnrollmentStatus", "InternalError", times=9, region=silent
            )
        capsys.readouterr()
        with contextlib.suppress(MonitorError):
            monitor.check()
    output = capsys.readouterr().out

    not_active = alarm_state(own_metric_alarm("EnrollmentNotActiveAlarm"), output)
    silence = alarm_state(own_metric_alarm("MonitorSilentAlarm"), output)
    if silent:
        assert silence == "ALARM"
        assert not_active == "missing"  # keeps its state: the silent alarm speaks
    else:
        assert silence == "OK"
        assert not_active == ("OK" if status == "Active" else "ALARM")
