"""Alerts as people and machines receive them: one SNS message, three renderings.

``render`` holds what every alert shares (the SNS message, subject rules, the email layout,
the AWS Chatbot document, the size check); each other module is one kind of alert:
``status`` (a change of status, a reminder), ``members`` (organization members changed) and
``selftest`` (the test notification).
"""

from enrollment_monitor.alerts.render import Alert

__all__ = ["Alert"]
