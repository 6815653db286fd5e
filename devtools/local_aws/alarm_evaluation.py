"""How CloudWatch evaluates a metric alarm, as its user guide says, for the alarms moto does not
evaluate: a pure model, no AWS.

The rules ("Configuring how CloudWatch alarms treat missing data", "How alarm state is evaluated
when data is missing", "Avoiding premature transitions to alarm state", and "Alarm evaluation"):

- An alarm with a period of a minute or more is evaluated every minute over a sliding window:
  the most recent periods end at the evaluation time.
- CloudWatch retrieves more periods than ``EvaluationPeriods`` (N), the *evaluation range*, whose
  length it does not document (5 for N = 3 in the guide's examples).
- With at least N real datapoints in the range, the N most recent real ones are evaluated and
  ``TreatMissingData`` is ignored. With fewer, every real one is evaluated and the rest are filled
  as ``TreatMissingData`` says, as few as possible; ``missing`` and ``ignore`` fill none, and with
  no real datapoint at all they give ``INSUFFICIENT_DATA`` and the current state.
- At least ``DatapointsToAlarm`` (M) breaching: ``ALARM``; otherwise ``OK``, except that with
  ``missing`` an alarm whose real datapoints all breach goes to ``ALARM`` only once the oldest is
  at least M periods old (and stays ``INSUFFICIENT_DATA`` before), and with ``ignore`` keeps its
  state.

The metric math the template uses, ``FILL(id, value)``, fills the periods without a datapoint
before the alarm sees them. What it returns for a range with no datapoint at all AWS does not
document: ``fill_empty_range`` chooses, and a test should hold for both.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
EVALUATION_INTERVAL = 60  # seconds: alarms with a period of a minute or more

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
_FILL = re.compile(r"^FILL\(\s*([a-z][A-Za-z0-9_]*)\s*,\s*(-?[0-9.]+)\s*\)$")


def evaluate(
    points: Sequence[float | None],
    evaluation_periods: int,
    datapoints_to_alarm: int,
    breaches: Callable[[float], bool],
    treat_missing_data: str,
    current: str = INSUFFICIENT_DATA,
) -> str:
    """The state an alarm goes to, from the datapoints of its evaluation range, oldest first
    (None: missing)."""
    real = [point for point in points if point is not None]
    n, m = evaluation_periods, datapoints_to_alarm
    if len(real) >= n:
        return ALARM if sum(map(breaches, real[-n:])) >= m else OK
    breaching = sum(map(breaches, real))
    if treat_missing_data in ("breaching", "notBreaching"):
        filled = n - len(real) if treat_missing_data == "breaching" else 0
        return ALARM if breaching + filled >= m else OK
    if treat_missing_data not in ("missing", "ignore"):
        raise ValueError(f"TreatMissingData {treat_missing_data!r} is not CloudWatch's")
    if not real:
        return INSUFFICIENT_DATA if treat_missing_data == "missing" else current
    if breaching >= m:
        return ALARM
    if breaching < len(real):
        return OK
    if treat_missing_data == "ignore":
        return current
    oldest = next(i for i, point in enumerate(points) if point is not None)
    return ALARM if len(points) - oldest >= m else INSUFFICIENT_DATA


@dataclass(frozen=True)
class HeartbeatAlarm:
    """An alarm on the SampleCount of one metric, alone or under ``FILL(metric, value)``."""

    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    comparison: str
    threshold: float
    treat_missing_data: str
    fill: float | None = None  # FILL's value; None: the bare metric

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> HeartbeatAlarm:
        """From an AWS::CloudWatch::Alarm's resolved properties (or PutMetricAlarm's
        arguments); anything this model does not know is refused, not guessed."""
        fill = None
        if "Metrics" in properties:
            (stat,) = (q for q in properties["Metrics"] if "MetricStat" in q)
            (watched,) = (q for q in properties["Metrics"] if q.get("ReturnData", True))
            if watched is not stat:
                parsed = _FILL.match(watched["Expression"].strip())
                if not parsed or parsed[1] != stat["Id"]:
                    raise ValueError(f"not modelled: {watched['Expression']!r}")
                fill = float(parsed[2])
            period, statistic = stat["MetricStat"]["Period"], stat["MetricStat"]["Stat"]
        else:
            period, statistic = properties["Period"], properties["Statistic"]
        if statistic != "SampleCount":
            raise ValueError(f"not modelled: the {statistic} statistic")
        evaluation_periods = int(properties["EvaluationPeriods"])
        return cls(
            period=int(period),
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=int(properties.get("DatapointsToAlarm", evaluation_periods)),
            comparison=properties["ComparisonOperator"],
            threshold=float(properties["Threshold"]),
            treat_missing_data=properties.get("TreatMissingData", "missing"),
            fill=fill,
        )

    def state(
        self,
        heartbeats: Sequence[float],
        now: float,
        evaluation_range: int,
        current: str = INSUFFICIENT_DATA,
        fill_empty_range: bool = True,
    ) -> str:
        """The state at ``now`` given the sorted times (seconds) at which each datapoint was
        visible to CloudWatch, over an evaluation range of ``evaluation_range`` periods."""
        if evaluation_range < self.evaluation_periods:
            raise ValueError("the evaluation range holds at least EvaluationPeriods periods")
        points: list[float | None] = []
        for k in range(evaluation_range, 0, -1):  # oldest first
            start, end = now - k * self.period, now - (k - 1) * self.period
            count = bisect.bisect_left(heartbeats, end) - bisect.bisect_left(heartbeats, start)
            points.append(float(count) if count else None)
        if self.fill is not None and (fill_empty_range or any(p is not None for p in points)):
            points = [self.fill if point is None else point for point in points]
        compare = _COMPARISONS[self.comparison]
        return evaluate(
            points,
            self.evaluation_periods,
            self.datapoints_to_alarm,
            lambda value: compare(value, self.threshold),
            self.treat_missing_data,
            current,
        )

    def timeline(
        self,
        heartbeats: Sequence[float],
        start: float,
        end: float,
        evaluation_range: int,
        fill_empty_range: bool = True,
    ) -> Iterator[tuple[float, str]]:
        """(time, state) at every evaluation from the alarm's creation at ``start`` (in
        INSUFFICIENT_DATA, as PutMetricAlarm creates it) until ``end``."""
        ordered = sorted(heartbeats)
        state = INSUFFICIENT_DATA
        now = start
        while now <= end:
            state = self.state(ordered, now, evaluation_range, state, fill_empty_range)
            yield now, state
            now += EVALUATION_INTERVAL


def notifications(timeline: Iterator[tuple[float, str]]) -> list[tuple[float, str]]:
    """The state changes, each one notification to the alarm's actions for that state."""
    changes = []
    previous = INSUFFICIENT_DATA
    for time, state in timeline:
        if state != previous:
            changes.append((time, state))
            previous = state
    return changes
