"""Alerts as people and machines receive them: one SNS message, three renderings.

``message`` is the alert as SNS publishes it and the outbox keeps it (and its size check);
``render`` holds what every alert shares (subject rules, the email layout, the AWS Chatbot
document); each other module is one kind of alert: ``status`` (a change of status, a
reminder), ``opt_ins`` (fewer member accounts opted in), ``members`` (organization members
changed) and ``selftest`` (the test notification). A check imports the renderers only when
it builds an alert.
"""

from enrollment_monitor.alerts.message import Alert

__all__ = ["Alert"]
