"""The alarm evaluator (devtools.local_aws.alarm_evaluation) reproduces the CloudWatch user guide's
own examples before it is trusted with the template's alarms.

The tables are those of "How alarm state is evaluated when data is missing" (Amazon CloudWatch
User Guide, "Configuring how CloudWatch alarms treat missing data"): an evaluation range of 5
datapoints, oldest first; 0 not breaching, X breaching, - missing. Two rows come from the
guide's earlier edition, whose table the current one shortened; they follow the same rules.
"""

from __future__ import annotations

import pytest

from devtools.local_aws.alarm_evaluation import ALARM, INSUFFICIENT_DATA, OK, evaluate

RETAIN = "retain current state"
COLUMNS = ("missing", "ignore", "breaching", "notBreaching")

# Datapoints to Alarm 3 of Evaluation Periods 3.
THREE_OF_THREE = {
    "0 - X - X": (OK, OK, OK, OK),
    "0 - - - -": (OK, OK, OK, OK),
    "- - - - -": (INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    "0 X X - X": (ALARM, ALARM, ALARM, ALARM),
    "- - X - -": (ALARM, RETAIN, ALARM, OK),  # "premature alarm state"
    # The earlier edition's table:
    "- - - - X": (INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    "X - - - -": (ALARM, RETAIN, ALARM, OK),
}
# Datapoints to Alarm 2 of Evaluation Periods 3 (an M out of N alarm).
TWO_OF_THREE = {
    "0 - X - X": (ALARM, ALARM, ALARM, ALARM),
    "0 0 X 0 X": (ALARM, ALARM, ALARM, ALARM),
    "0 - X - -": (OK, OK, ALARM, OK),
    "- - - - 0": (OK, OK, ALARM, OK),
    "- - - X -": (ALARM, RETAIN, ALARM, OK),
}
TABLES = [(3, row, states) for row, states in THREE_OF_THREE.items()] + [
    (2, row, states) for row, states in TWO_OF_THREE.items()
]


def datapoints(row: str) -> list[float | None]:
    return [{"0": 0.0, "X": 1.0, "-": None}[cell] for cell in row.split()]


@pytest.mark.parametrize(("datapoints_to_alarm", "row", "states"), TABLES)
@pytest.mark.parametrize("current", [OK, ALARM, INSUFFICIENT_DATA])
def test_the_evaluator_gives_the_user_guides_state_for_every_row_and_missing_data_setting(
    datapoints_to_alarm: int, row: str, states: tuple[str, ...], current: str
) -> None:
    for treat_missing_data, expected in zip(COLUMNS, states, strict=True):
        state = evaluate(
            datapoints(row),
            evaluation_periods=3,
            datapoints_to_alarm=datapoints_to_alarm,
            breaches=lambda value: value > 0,
            treat_missing_data=treat_missing_data,
            current=current,
        )
        assert state == (current if expected == RETAIN else expected), (row, treat_missing_data)


def test_the_evaluator_refuses_a_missing_data_setting_cloudwatch_does_not_have() -> None:
    with pytest.raises(ValueError, match="TreatMissingData"):
        evaluate([None], 1, 1, lambda value: value > 0, "breach")
