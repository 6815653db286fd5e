"""CloudWatch's alarm history, answered on the wire: moto does not implement
``DescribeAlarmHistory``. Under moto, botocore speaks CloudWatch's JSON 1.0 protocol
(``X-Amz-Target: GraniteServiceVersion20100801.<Operation>``), which this answers."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from devtools.fake_compute_optimizer import AnswersOnTheWire, header, response

_TARGET = "GraniteServiceVersion20100801.DescribeAlarmHistory"


@dataclass
class FakeAlarmHistory(AnswersOnTheWire):
    """``items[alarm name]``: its history items, newest first, as the API returns them."""

    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def delivered(self, alarm: str, topic: str) -> None:
        self._act(alarm, f"Successfully executed action {topic}", "Succeeded")

    def failed(self, alarm: str, topic: str, error: str) -> None:
        self._act(alarm, f'Failed to execute action {topic}. Received error: "{error}"', "Failed")

    def _act(self, alarm: str, summary: str, state: str) -> None:
        item = {
            "AlarmName": alarm,
            "AlarmType": "MetricAlarm",
            "Timestamp": time.time(),
            "HistoryItemType": "Action",
            "HistorySummary": summary,
            "HistoryData": json.dumps({"actionState": state}),
        }
        self.items.setdefault(alarm, []).insert(0, item)

    def _answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if header(request, "X-Amz-Target") != _TARGET:
            return None
        asked = json.loads(request.body or b"{}")
        found = self.items.get(asked.get("AlarmName", ""), [])[: asked.get("MaxRecords", 100)]
        return response(request.url, 200, {"AlarmHistoryItems": found})
