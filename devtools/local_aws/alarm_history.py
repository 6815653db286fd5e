"""CloudWatch's alarm history, answered on the wire: moto does not implement
``DescribeAlarmHistory``. botocore speaks CloudWatch's JSON 1.0 protocol
(``X-Amz-Target: GraniteServiceVersion20100801.<Operation>``), which this answers, honouring
the request's alarm, item type, dates, order and page size as CloudWatch does."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from devtools.local_aws.compute_optimizer import Addressed, AnswersOnTheWire, response


@dataclass
class FakeAlarmHistory(AnswersOnTheWire):
    """Every alarm's history items, as CloudWatch records them."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def delivered(self, alarm: str, topic: str, seconds_ago: float = 0) -> None:
        self._act(alarm, f"Successfully executed action {topic}", "Succeeded", seconds_ago)

    def failed(self, alarm: str, topic: str, error: str, seconds_ago: float = 0) -> None:
        summary = f'Failed to execute action {topic}. Received error: "{error}"'
        self._act(alarm, summary, "Failed", seconds_ago)

    def _act(self, alarm: str, summary: str, state: str, seconds_ago: float) -> None:
        self.items.append(
            {
                "AlarmName": alarm,
                "AlarmType": "MetricAlarm",
                "Timestamp": time.time() - seconds_ago,
                "HistoryItemType": "Action",
                "HistorySummary": summary,
                "HistoryData": json.dumps({"actionState": state}),
            }
        )

    def _answer(self, request: AWSPreparedRequest, call: Addressed) -> AWSResponse | None:
        if (call.service, call.operation) != ("monitoring", "DescribeAlarmHistory"):
            return None
        asked = json.loads(request.body or b"{}")
        found = [
            item
            for item in self.items
            if item["AlarmName"] == asked.get("AlarmName", item["AlarmName"])
            and item["HistoryItemType"] == asked.get("HistoryItemType", item["HistoryItemType"])
            and asked.get("StartDate", 0) <= item["Timestamp"] <= asked.get("EndDate", 1e12)
        ]
        newest_first = asked.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        found.sort(key=lambda item: item["Timestamp"], reverse=newest_first)
        return response(
            request.url, 200, {"AlarmHistoryItems": found[: asked.get("MaxRecords", 50)]}
        )
