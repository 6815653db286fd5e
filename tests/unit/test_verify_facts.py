"""What AWS answers, converted once into the typed facts `enrollment-monitor verify` judges:
the only tests that need boto3's shapes."""

import json

from enrollment_monitor.verify.facts import Alarm, Function, Notification, Reply, Subscription
from enrollment_monitor.verify.model import Series
from enrollment_monitor.verify.verdicts import judge_test_notification

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def test_a_failed_test_notification_shows_the_error_not_the_stack_trace() -> None:
    payload = {
        "errorType": "CheckFailed",
        "errorMessage": "sns:Publish failed",
        "stackTrace": ['  File "/var/task/app.py", line 1'],
    }
    reply = Reply.from_api({"FunctionError": "Unhandled"}, json.dumps(payload))
    line = judge_test_notification("fn", "/aws/lambda/team-enrollment-monitor", reply)
    assert line.found == "fn failed: CheckFailed: sns:Publish failed"
    assert line.fix == "read its log: aws logs tail /aws/lambda/team-enrollment-monitor --since 10m"


def test_a_test_notification_whose_error_is_not_json_still_says_it() -> None:
    line = judge_test_notification(
        "fn", "/aws/lambda/fn", Reply.from_api({"FunctionError": "Unhandled"}, "boom")
    )
    assert not line.passed and line.found == "fn failed: boom"


def test_a_reply_without_a_function_error_is_no_error_whatever_its_payload() -> None:
    assert Reply.from_api({"StatusCode": 200}, '{"errorType": "x"}') == Reply()


def test_a_notification_says_failed_in_its_summary_or_in_its_data() -> None:
    delivered = {"HistorySummary": f"Successfully executed action {TOPIC}", "HistoryData": "{}"}
    by_data = {"HistorySummary": "", "HistoryData": json.dumps({"actionState": "Failed"})}
    by_summary = {"HistorySummary": f"Failed to execute action {TOPIC}", "HistoryData": "x"}

    assert not Notification.from_api(delivered).failed
    assert Notification.from_api(by_data).failed
    assert Notification.from_api(by_summary) == Notification(by_summary["HistorySummary"])


def test_a_subscription_is_confirmed_once_sns_shows_its_arn() -> None:
    listed = {"SubscriptionArn": "PendingConfirmation", "Protocol": "email", "Endpoint": "a@b.c"}

    assert not Subscription.from_api(listed).confirmed
    assert Subscription.from_api({**listed, "SubscriptionArn": f"{TOPIC}:1"}).confirmed
    assert Subscription.from_api({"SubscriptionArn": "Deleted", "Protocol": "sqs"}).endpoint == ""


def test_an_alarm_carries_the_one_series_it_watches() -> None:
    described = {
        "StateValue": "OK",
        "Namespace": "Ns",
        "MetricName": "RegionsNotActive",
        "Dimensions": [{"Name": "service", "Value": "team"}],
        "AlarmActions": [TOPIC],
    }

    alarm = Alarm.from_api(described)

    assert alarm.series == Series("Ns", "RegionsNotActive", {"service": "team"})
    assert alarm.alarm_actions == {TOPIC}
    query = {"StateValue": "OK", "Metrics": [{"Id": "q", "Expression": "SELECT 1"}]}
    assert Alarm.from_api(query).series is None


def test_a_metric_math_alarm_carries_the_one_series_its_expression_reads() -> None:
    def stat(service: str) -> dict[str, object]:
        metric = {
            "Namespace": "Ns",
            "MetricName": "RegionsNotActive",
            "Dimensions": [{"Name": "service", "Value": service}],
        }
        return {"MetricStat": {"Metric": metric, "Period": 60, "Stat": "SampleCount"}}

    fill = {"Id": "completed", "Expression": "FILL(heartbeat, 0)", "ReturnData": True}
    silent = {"StateValue": "OK", "Metrics": [{"Id": "heartbeat", **stat("team")}, fill]}

    assert Alarm.from_api(silent).series == Series("Ns", "RegionsNotActive", {"service": "team"})
    two = {**silent, "Metrics": [*silent["Metrics"], {"Id": "other", **stat("elsewhere")}]}
    assert Alarm.from_api(two).series is None


def test_the_function_configuration_gives_what_its_metrics_carry() -> None:
    configuration = {
        "Timeout": 90,
        "Environment": {
            "Variables": {
                "POWERTOOLS_METRICS_NAMESPACE": "Ns",
                "POWERTOOLS_SERVICE_NAME": "team",
                "MONITORED_REGIONS": "us-east-1,eu-west-1",
            }
        },
    }

    assert Function.from_api(configuration) == Function(
        "Ns", "team", ("us-east-1", "eu-west-1"), 90
    )
    assert Function.from_api({}).regions == ()
