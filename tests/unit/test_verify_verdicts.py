"""The verdicts of `enrollment-monitor verify`, each a pure function of typed facts (no boto3
shapes here: `test_verify_facts` reads those), and the policy evaluation behind the topic and
key policy lines."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from enrollment_monitor.enrollment import Enrollment, WatchedSubject
from enrollment_monitor.verify.facts import (
    Alarm,
    Function,
    Key,
    Notification,
    Reply,
    Role,
    Subscription,
)
from enrollment_monitor.verify.model import ALARMS, Series, Stack, Window
from enrollment_monitor.verify.policy import Policy, Request, Verdict, evaluate, evaluate_all
from enrollment_monitor.verify.verdicts import (
    alarm_requests,
    judge_alarm,
    judge_chat,
    judge_enrollment,
    judge_heartbeat,
    judge_invocations,
    judge_key,
    judge_key_policy,
    judge_notifications,
    judge_role,
    judge_stack,
    judge_subscriptions,
    judge_test_notification,
    judge_topic_policy,
)

CLOUDWATCH = "cloudwatch.amazonaws.com"
ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
ALARM = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:team-monitor-silent"
PUBLISH = Request(
    CLOUDWATCH,
    "sns:Publish",
    TOPIC,
    {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": ALARM, "aws:SecureTransport": "true"},
)
STACK = Stack(
    "team",
    "us-east-1",
    "CREATE_COMPLETE",
    outputs={"FunctionName": "team-fn", "AlertTopicArn": TOPIC},
    stack_id=f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/team/1",
)


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def statement(effect: str = "Allow", **fields: Any) -> dict[str, Any]:
    return {
        "Effect": effect,
        "Principal": {"Service": CLOUDWATCH},
        "Action": "sns:Publish",
        "Resource": TOPIC,
        **fields,
    }


# ------------------------------------------------------------------------------ policy


def without(key: str, **fields: Any) -> dict[str, Any]:
    """A Deny statement with ``key`` replaced by its Not... form in ``fields``."""
    denied = statement("Deny", **fields)
    del denied[key]
    return denied


@pytest.mark.parametrize(
    "document",
    [
        policy(statement()),
        policy(statement(Principal={"Service": [CLOUDWATCH, "events.amazonaws.com"]})),
        policy(statement(Principal="*", Action="SNS:*", Resource="*")),
        policy(statement(Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})),
        policy(
            statement(
                Condition={"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:*:alarm:team-*"}}
            )
        ),
        # The template's own: publish only over TLS, denied otherwise.
        policy(
            statement(),
            statement("Deny", Principal="*", Condition={"Bool": {"aws:SecureTransport": "false"}}),
        ),
    ],
)
def test_policies_that_let_the_alarms_publish(document: str) -> None:
    assert evaluate(document, PUBLISH).verdict is Verdict.ALLOWED


@pytest.mark.parametrize(
    ("document", "verdict"),
    [
        (None, Verdict.NOT_ALLOWED),
        (policy(statement(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), Verdict.NOT_ALLOWED),
        (policy(statement(Action="sns:Subscribe")), Verdict.NOT_ALLOWED),
        (policy(statement(Resource=f"{TOPIC}-other")), Verdict.NOT_ALLOWED),
        (
            policy(statement(Condition={"StringEquals": {"aws:SourceAccount": "999999999999"}})),
            Verdict.NOT_ALLOWED,
        ),
        (policy(statement(), statement("Deny", Principal="*", Action="sns:*")), Verdict.DENIED),
        (
            policy(statement(), without("Principal", NotPrincipal={"AWS": "arn:aws:iam::1:root"})),
            Verdict.DENIED,
        ),
        (policy(statement(), without("Action", NotAction="sns:Subscribe")), Verdict.DENIED),
        (policy(statement(), without("Action", NotAction="sns:Publish")), Verdict.ALLOWED),
        # A key a service principal's request never carries fails a positive operator...
        (
            policy(statement(Condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}})),
            Verdict.NOT_ALLOWED,
        ),
        # ...and satisfies a negated one.
        (
            policy(
                statement(),
                statement("Deny", Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}),
            ),
            Verdict.DENIED,
        ),
        (
            policy(
                statement(),
                statement(
                    "Deny",
                    Principal="*",
                    Condition={"StringNotEquals": {"aws:SourceAccount": "999999999999"}},
                ),
            ),
            Verdict.DENIED,
        ),
        # An organization guard: whether a service principal's request carries the key is not
        # something verify can know, so it cannot pass.
        (
            policy(
                statement(),
                statement(
                    "Deny",
                    Principal="*",
                    Sid="OnlyOurOrganization",
                    Condition={"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}},
                ),
            ),
            Verdict.UNKNOWN,
        ),
        (
            policy(statement(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
            Verdict.UNKNOWN,
        ),
    ],
)
def test_policies_that_do_not_or_cannot_tell(document: str | None, verdict: Verdict) -> None:
    assert evaluate(document, PUBLISH).verdict is verdict


def test_an_unknown_verdict_names_the_statement_and_the_key() -> None:
    document = policy(
        statement(Sid="Guard", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})
    )
    assert evaluate(document, PUBLISH).why == "Guard (condition on aws:PrincipalOrgID)"


def test_a_key_policy_granting_generate_data_key_star_covers_generate_data_key() -> None:
    granted = policy(statement(Action=["kms:Decrypt", "kms:GenerateDataKey*"], Resource="*"))
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        request = Request(CLOUDWATCH, action, key, PUBLISH.context)
        assert evaluate(granted, request).verdict is Verdict.ALLOWED
    only_decrypt = policy(statement(Action="kms:Decrypt", Resource="*"))
    request = Request(CLOUDWATCH, "kms:GenerateDataKey", key, PUBLISH.context)
    assert evaluate(only_decrypt, request).verdict is Verdict.NOT_ALLOWED


# ------------------------------------------------------------------------------ verdicts


@pytest.mark.parametrize("status", ["CREATE_COMPLETE", "UPDATE_COMPLETE"])
def test_a_complete_stack_passes(status: str) -> None:
    assert judge_stack(Stack("s", "us-east-1", status)).passed


@pytest.mark.parametrize(
    ("status", "fix"),
    [
        ("UPDATE_IN_PROGRESS", "wait for the operation"),
        ("UPDATE_ROLLBACK_COMPLETE", "rolled back"),
        ("ROLLBACK_COMPLETE", "rolled back"),
        ("CREATE_FAILED", "describe-stack-events"),
    ],
)
def test_a_stack_that_is_not_complete_fails_with_what_to_do(status: str, fix: str) -> None:
    line = judge_stack(Stack("s", "us-east-1", status, reason="Resource creation cancelled"))
    assert not line.passed
    assert status in line.found and "Resource creation cancelled" in line.found
    assert line.fix and fix in line.fix


NOTIFYING = Alarm(state="OK", alarm_actions=frozenset({TOPIC}), ok_actions=frozenset({TOPIC}))


@pytest.mark.parametrize(
    ("fields", "found"),
    [
        ({"actions_enabled": False}, "actions disabled"),
        ({"alarm_actions": frozenset()}, "does not notify"),
        ({"ok_actions": frozenset({"arn:aws:sns:us-east-1:1:other"})}, "does not notify"),
        ({"state": "INSUFFICIENT_DATA"}, "INSUFFICIENT_DATA"),
        ({"state": "ALARM", "reason": "no data"}, "is ALARM: no data"),
    ],
)
def test_an_alarm_that_would_not_tell_anyone_fails(fields: dict[str, Any], found: str) -> None:
    line = judge_alarm(STACK, "monitor-silent", replace(NOTIFYING, **fields))
    assert not line.passed and found in line.found and line.fix


def test_the_enrollment_alarm_in_alarm_is_the_monitor_working() -> None:
    assert judge_alarm(STACK, "enrollment-not-active", replace(NOTIFYING, state="ALARM")).passed
    assert not judge_alarm(STACK, "enrollment-not-active", None).passed


def test_the_heartbeat_line_needs_both_alarms_on_the_emitted_series_and_its_data() -> None:
    function = Function(namespace="Ns", service="team", regions=("us-east-1", "eu-west-1"))
    emitted = Series("Ns", "RegionsNotActive", {"service": "team"})
    both = {"a": emitted, "b": emitted}

    line = judge_heartbeat("RegionsNotActive", both, function, has_data=True)
    assert line.passed and "checks completed in us-east-1, eu-west-1" in line.found
    assert not judge_heartbeat("RegionsNotActive", both, function, has_data=False).passed
    assert not judge_heartbeat("RegionsNotActive", {**both, "b": None}, function, True).passed
    elsewhere = Series("Ns", "RegionsNotActive", {"service": "enrollment-monitor"})
    assert not judge_heartbeat("RegionsNotActive", {**both, "b": elsewhere}, function, True).passed
    other = replace(emitted, namespace="Other")
    assert not judge_heartbeat("RegionsNotActive", {**both, "a": other}, function, True).passed
    none_watched = replace(function, regions=())
    assert not judge_heartbeat("RegionsNotActive", both, none_watched, True).passed


def test_an_aws_managed_key_fails_however_it_is_named() -> None:
    line = judge_key(STACK, Key("arn:aws:kms:us-east-1:123456789012:key/aws", manager="AWS"))
    assert line and not line.passed and line.fix and "customer managed key" in line.fix


def test_a_key_of_another_account_cannot_be_read_and_says_so() -> None:
    key = Key("arn:aws:kms:us-east-1:999999999999:key/k", manager="CUSTOMER", state="Enabled")
    line = judge_key(STACK, key)
    assert line and not line.passed and "account 999999999999" in line.found
    # What verify knows of it without describing it (KMS may refuse another account that).
    assert judge_key(STACK, Key(key.arn)) == line


def test_your_own_topic_needs_its_key_granted_to_the_function() -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
    metadata = Key(key, manager="CUSTOMER", state="Enabled")
    own = Stack(**{**STACK.__dict__, "parameters": {"AlertTopicArn": TOPIC}})

    line = judge_key(own, metadata)

    assert line and not line.passed and line.fix == f"deploy with AlertTopicKmsKeyArn={key}"
    granted = Stack(
        **{**STACK.__dict__, "parameters": {"AlertTopicArn": TOPIC, "AlertTopicKmsKeyArn": key}}
    )
    assert judge_key(granted, metadata) is None


def test_subscriptions_must_all_be_confirmed() -> None:
    email = Subscription(f"{TOPIC}:1", "email", "ops@example.com")
    for state in ("PendingConfirmation", "Deleted"):
        line = judge_subscriptions(STACK, [email, replace(email, arn=state)])
        assert not line.passed and state in line.found
    assert judge_subscriptions(STACK, [email]).passed
    empty = judge_subscriptions(STACK, [])
    assert not empty.passed and "reach no one" in empty.found


def test_each_configured_chat_app_needs_its_own_chatbot_subscription() -> None:
    both = Stack(
        **{
            **STACK.__dict__,
            "parameters": {
                "SlackWorkspaceId": "T0123",
                "SlackChannelId": "C0123",
                "TeamsTeamId": "t",
                "TeamsChannelId": "c",
                "TeamsTenantId": "n",
            },
        }
    )
    chatbot = Subscription(f"{TOPIC}:2", "https", "https://global.sns-api.chatbot.amazonaws.com")

    assert not judge_chat(both, [chatbot]).passed
    assert judge_chat(both, [chatbot, replace(chatbot, arn=f"{TOPIC}:3")]).passed
    assert not judge_chat(both, [chatbot, replace(chatbot, arn="PendingConfirmation")]).passed
    assert judge_chat(STACK, []).passed  # none configured
    assert "Amazon Q Developer (AWS Chatbot)" in judge_subscriptions(STACK, [chatbot]).found


def test_a_missing_chat_subscription_sends_you_to_the_console_by_its_current_name() -> None:
    slack = Stack(
        **{**STACK.__dict__, "parameters": {"SlackWorkspaceId": "T1", "SlackChannelId": "C1"}}
    )

    line = judge_chat(slack, [])

    assert not line.passed
    assert line.fix.startswith(
        "open the Amazon Q Developer in chat applications console (formerly AWS Chatbot)"
    )


def test_a_failed_test_notification_shows_the_error_and_where_to_read_more() -> None:
    reply = Reply("CheckFailed: sns:Publish failed")
    line = judge_test_notification("fn", "/aws/lambda/team-enrollment-monitor", reply)
    assert line.found == "fn failed: CheckFailed: sns:Publish failed"
    assert line.fix == "read its log: aws logs tail /aws/lambda/team-enrollment-monitor --since 10m"


def test_a_failed_alarm_notification_fails_the_line_whichever_field_says_so() -> None:
    delivered = Notification(f"Successfully executed action {TOPIC}", "Succeeded")
    by_data = Notification("", action_state="Failed")
    by_summary = Notification(f"Failed to execute action {TOPIC}")

    assert judge_notifications({"a": delivered, "b": None}).passed
    for failure in (by_data, by_summary):
        line = judge_notifications({"a": delivered, "b": failure})
        assert not line.passed and line.found.startswith("the last notification of b failed")


def test_alarm_notifications_never_pass_without_a_history_item_as_proof() -> None:
    """An emulator whose history holds no Action item, or a stack no alarm of which has
    changed state in the window: nothing proves CloudWatch can publish to the topic."""
    line = judge_notifications({"team-monitor-silent": None, "team-function-errors": None})

    assert not line.passed
    assert line.found.startswith("cannot tell: no alarm notified the topic in the last 14 days")
    assert line.fix is not None and line.fix.startswith(
        "prove it: aws cloudwatch set-alarm-state --alarm-name team-monitor-silent "
        "--state-value ALARM"
    )


def test_the_proof_verify_asks_for_never_tells_subscribers_enrollment_was_lost() -> None:
    # Every subscriber receives the proof: an enrollment-not-active ALARM would read as
    # Compute Optimizer lost; a failed-invocations one, said to be a test, does not.
    names = [f"team-{alarm}" for alarm in ALARMS]
    never_notified = judge_notifications(dict.fromkeys(names))
    failure = Notification("Failed to execute action", "Failed")
    refused = judge_notifications({**dict.fromkeys(names), "team-enrollment-not-active": failure})

    for line in (never_notified, refused):
        assert line.fix is not None
        assert "--alarm-name team-failed-invocations --state-value ALARM" in line.fix
        assert "--state-reason 'enrollment-monitor verify: a test, not an incident'" in line.fix
        assert "enrollment-not-active --state-value" not in line.fix


def test_a_topic_in_another_region_than_the_alarms_fails_whatever_its_policy() -> None:
    allowed = Policy.parse(policy(statement(Sid="ThisStacksAlarmsPublish")))
    assert judge_topic_policy(STACK, allowed).passed
    elsewhere = Stack(
        **{
            **STACK.__dict__,
            "outputs": {**STACK.outputs, "AlertTopicArn": TOPIC.replace("us-east-1", "eu-west-1")},
        }
    )
    line = judge_topic_policy(elsewhere, allowed)
    assert not line.passed and line.fix == "give AlertTopicArn a topic in us-east-1"


def alarm_request(name: str, **context: str) -> Request:
    arn = ALARM.rsplit(":", 1)[0] + f":{name}"
    return Request(
        CLOUDWATCH,
        "sns:Publish",
        TOPIC,
        {"aws:SourceAccount": ACCOUNT, "aws:SourceOwner": ACCOUNT, "aws:SourceArn": arn, **context},
    )


def test_every_alarm_must_be_let_in_not_only_the_first() -> None:
    three = [f"{ALARM.rsplit(':', 1)[0]}:team-{s}" for s in ("a", "b", "c")]
    document = policy(statement(Condition={"ArnEquals": {"aws:SourceArn": three}}))
    requests = [alarm_request(f"team-{s}") for s in ("a", "b", "c", "d")]

    assert evaluate_all(document, requests[:3]).verdict is Verdict.ALLOWED
    assert evaluate_all(document, requests).verdict is Verdict.NOT_ALLOWED


@pytest.mark.parametrize(
    ("pattern", "verdict"),
    [
        ("arn:aws:cloudwatch:us-east-1:123456789012:alarm:team-*", Verdict.ALLOWED),
        ("arn:aws:cloudwatch:*:*:alarm:team-*", Verdict.ALLOWED),
        # IAM matches an ARN part by part: no wildcard stands for a missing account part.
        ("arn:aws:cloudwatch:*:alarm:team-*", Verdict.NOT_ALLOWED),
        # Only * and ? are wildcards: [t] is the characters [, t and ].
        ("arn:aws:cloudwatch:us-east-1:123456789012:alarm:[t]eam-*", Verdict.NOT_ALLOWED),
    ],
)
def test_arn_conditions_match_as_iam_does(pattern: str, verdict: Verdict) -> None:
    for operator in ("ArnLike", "ArnEquals"):  # IAM treats both alike
        document = policy(statement(Condition={operator: {"aws:SourceArn": pattern}}))
        assert evaluate(document, PUBLISH).verdict is verdict


# IAM documents ARN patterns of six parts. A shorter one may match no ARN, or match as if its
# missing parts were * (as IAM reads a short Resource), or as a StringLike pattern would.
MAY_MATCH_THE_ALARMS = ["*", "arn:*", "arn:aws:cloudwatch:*", "arn:aws:*:us-east-1", "arn:aws"]


@pytest.mark.parametrize("pattern", MAY_MATCH_THE_ALARMS)
@pytest.mark.parametrize("operator", ["ArnLike", "ArnEquals"])
def test_a_deny_on_a_short_arn_pattern_that_may_match_never_passes(
    operator: str, pattern: str
) -> None:
    deny = statement("Deny", Principal="*", Condition={operator: {"aws:SourceArn": pattern}})

    assert evaluate(policy(statement(), deny), PUBLISH).verdict is Verdict.UNKNOWN
    allow = statement(Condition={operator: {"aws:SourceArn": pattern}})
    assert evaluate(policy(allow), PUBLISH).verdict is Verdict.UNKNOWN


@pytest.mark.parametrize("pattern", ["arn:aws:sns:*", "arn:aws-cn:*", "arn:aws:sns"])
def test_a_short_arn_pattern_no_reading_matches_still_decides(pattern: str) -> None:
    deny = statement("Deny", Principal="*", Condition={"ArnLike": {"aws:SourceArn": pattern}})

    assert evaluate(policy(statement(), deny), PUBLISH).verdict is Verdict.ALLOWED
    allow = statement(Condition={"ArnLike": {"aws:SourceArn": pattern}})
    assert evaluate(policy(allow), PUBLISH).verdict is Verdict.NOT_ALLOWED


@pytest.mark.parametrize(
    ("pattern", "verdict"),
    [
        # An ARN operator on a key whose value is no ARN: IAM documents no reading either.
        ("*", Verdict.UNKNOWN),
        ("1234*", Verdict.UNKNOWN),
        ("arn:*", Verdict.ALLOWED),  # no reading matches 123456789012
        ("arn:aws:cloudwatch:*:*:*", Verdict.ALLOWED),
    ],
)
def test_a_deny_with_an_arn_operator_on_a_value_that_is_no_arn_never_passes(
    pattern: str, verdict: Verdict
) -> None:
    deny = statement("Deny", Principal="*", Condition={"ArnLike": {"aws:SourceAccount": pattern}})
    assert evaluate(policy(statement(), deny), PUBLISH).verdict is verdict


def test_string_not_equals_ignore_case_is_read_not_left_unknown() -> None:
    guard = {"StringNotEqualsIgnoreCase": {"aws:SourceAccount": "999999999999"}}
    deny = statement("Deny", Principal="*", Condition=guard)
    assert evaluate(policy(statement(), deny), PUBLISH).verdict is Verdict.DENIED
    guard = {"StringNotEqualsIgnoreCase": {"aws:SourceArn": ALARM.upper()}}
    deny = statement("Deny", Principal="*", Condition=guard)
    assert evaluate(policy(statement(), deny), PUBLISH).verdict is Verdict.ALLOWED


@pytest.mark.parametrize(
    ("resource", "denied", "not_denied"),
    [
        ("arn:aws:sns:*", Verdict.UNKNOWN, Verdict.UNKNOWN),
        ("arn:aws:*", Verdict.UNKNOWN, Verdict.UNKNOWN),
        # No reading names the topic: a Deny on it does not apply, one on all but it does.
        ("arn:aws:cloudwatch:*", Verdict.ALLOWED, Verdict.DENIED),
    ],
)
def test_a_deny_on_a_short_resource_pattern_never_passes(
    resource: str, denied: Verdict, not_denied: Verdict
) -> None:
    deny = statement("Deny", Principal="*", Resource=resource)
    assert evaluate(policy(statement(), deny), PUBLISH).verdict is denied
    all_but = without("Resource", NotResource=resource)
    assert evaluate(policy(statement(), all_but), PUBLISH).verdict is not_denied


# The requests verify makes for the stack's alarms; aws:ResourceAccount is the topic's account.
PUBLISHES = alarm_requests(STACK, "sns:Publish", TOPIC)


@pytest.mark.parametrize(
    ("condition", "verdict"),
    [
        # Denies that apply to every alarm, written with variables IAM resolves.
        ({"StringEquals": {"aws:SourceAccount": "${aws:SourceAccount}"}}, Verdict.DENIED),
        ({"StringEquals": {"aws:SourceAccount": "${aws:ResourceAccount}"}}, Verdict.DENIED),
        ({"StringLike": {"aws:SourceArn": "arn:*:${aws:SourceOwner}:alarm:*"}}, Verdict.DENIED),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:${aws:ResourceAccount}:alarm:*"}},
            Verdict.DENIED,
        ),
        ({"Bool": {"aws:SecureTransport": "${aws:PrincipalIsAWSService}"}}, Verdict.DENIED),
        # A default stands in for a key the request never carries.
        (
            {"StringEquals": {"aws:SourceAccount": "${aws:username, '123456789012'}"}},
            Verdict.DENIED,
        ),
        # The confused-deputy guard: it does not apply to this account's alarms.
        ({"StringNotEquals": {"aws:SourceAccount": "${aws:ResourceAccount}"}}, Verdict.ALLOWED),
        ({"StringNotEquals": {"aws:SourceAccount": "${aws:sourceaccount}"}}, Verdict.ALLOWED),
        # A variable verify cannot resolve decides nothing.
        ({"StringEquals": {"aws:SourceAccount": "${aws:PrincipalOrgID}"}}, Verdict.UNKNOWN),
        ({"StringEquals": {"aws:SourceAccount": "${aws:username}"}}, Verdict.UNKNOWN),
        ({"StringEquals": {"aws:SourceAccount": "${ aws:SourceAccount }"}}, Verdict.UNKNOWN),
        ({"ArnLike": {"aws:SourceArn": "${aws:SourceArn}"}}, Verdict.UNKNOWN),
        # ${*}, ${?} and ${$} are the characters themselves, never wildcards or variables.
        ({"StringNotLike": {"aws:SourceArn": "${*}"}}, Verdict.DENIED),
        ({"StringNotLike": {"aws:SourceArn": "arn:aws:cloudwatch:${?}*"}}, Verdict.DENIED),
        ({"StringEquals": {"aws:SourceAccount": "${$}{aws:SourceAccount}"}}, Verdict.ALLOWED),
    ],
)
def test_policy_variables_are_resolved_for_the_requests_the_alarms_make(
    condition: dict[str, Any], verdict: Verdict
) -> None:
    deny = statement("Deny", Principal="*", Condition=condition)
    assert Policy.parse(policy(statement(), deny)).evaluate_all(PUBLISHES).verdict is verdict


def test_a_policy_older_than_2012_10_17_has_no_variables() -> None:
    deny = statement(
        "Deny",
        Principal="*",
        Condition={"StringEquals": {"aws:SourceAccount": "${aws:SourceAccount}"}},
    )
    for version in ({"Version": "2008-10-17"}, {}):
        legacy = json.dumps({**version, "Statement": [statement(), deny]})
        assert Policy.parse(legacy).evaluate_all(PUBLISHES).verdict is Verdict.ALLOWED


@pytest.mark.parametrize(
    ("resource", "verdict"),
    [
        # In Resource, IAM takes a variable only after the fifth colon.
        ("arn:aws:sns:us-east-1:${aws:ResourceAccount}:alerts", Verdict.UNKNOWN),
        ("arn:aws:sns:us-east-1:${aws:ResourceAccount}:*", Verdict.UNKNOWN),
        ("arn:aws:sns:us-east-1:123456789012:${aws:PrincipalOrgID}", Verdict.UNKNOWN),
        ("arn:aws:sns:us-east-1:123456789012:al${?}rts", Verdict.ALLOWED),
        ("arn:aws:sns:us-east-1:123456789012:${aws:SourceOwner}", Verdict.ALLOWED),
    ],
)
def test_a_deny_on_a_resource_with_variables_never_passes(resource: str, verdict: Verdict) -> None:
    deny = statement("Deny", Principal="*", Resource=resource)
    assert Policy.parse(policy(statement(), deny)).evaluate_all(PUBLISHES).verdict is verdict


def test_a_key_policy_may_name_the_topic_and_account_with_variables() -> None:
    key = Key(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k")
    topic = "arn:${aws:PrincipalServiceName}:sns:us-east-1:${aws:ResourceAccount}:alerts"
    granted = statement(
        Action=["kms:Decrypt", "kms:GenerateDataKey*"],
        Resource="*",
        Condition={
            "StringEquals": {"aws:SourceAccount": "${aws:ResourceAccount}"},
            "StringLike": {
                "kms:EncryptionContext:aws:sns:topicArn": "arn:*:sns:*:${aws:SourceAccount}:alerts"
            },
        },
    )
    assert judge_key_policy(STACK, key, Policy.parse(policy(granted))).passed
    other = {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic}}
    assert not judge_key_policy(STACK, key, Policy.parse(policy(statement(Condition=other)))).passed


def test_the_topic_policy_sns_writes_by_default_lets_the_alarms_in() -> None:
    default = policy(
        {
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:GetTopicAttributes", "SNS:Publish", "SNS:Subscribe"],
            "Resource": TOPIC,
            "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT}},
        }
    )
    assert evaluate(default, alarm_request("team-monitor-silent")).verdict is Verdict.ALLOWED


def test_an_organization_guard_that_exempts_services_lets_the_alarms_in() -> None:
    guarded = policy(
        statement(),
        statement(
            "Deny",
            Principal="*",
            Condition={
                "StringNotEquals": {"aws:PrincipalOrgID": "o-abc"},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        ),
    )
    request = alarm_request("team-monitor-silent", **{"aws:PrincipalIsAWSService": "true"})
    assert evaluate(guarded, request).verdict is Verdict.ALLOWED


def test_the_key_policy_aws_documents_for_encrypted_topics_lets_the_alarms_in() -> None:
    key = policy(
        statement(
            Action=["kms:GenerateDataKey*", "kms:Decrypt"],
            Resource="*",
            Condition={
                "ArnLike": {"aws:SourceArn": ALARM},
                "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": TOPIC},
            },
        )
    )
    context = {**PUBLISH.context, "kms:EncryptionContext:aws:sns:topicArn": TOPIC}
    request = Request(CLOUDWATCH, "kms:GenerateDataKey", "arn:aws:kms:us-east-1:1:key/k", context)
    assert evaluate(key, request).verdict is Verdict.ALLOWED


# IAM documents aws:userid in every signed request, without saying what a service's is; and it
# does not say whether a Service principal in other letter case names the service.
USERID = {"StringEquals": {"aws:userid": "AIDAEXAMPLE"}}
UNDOCUMENTED = {
    "a Deny on aws:userid": [statement(), statement("Deny", Principal="*", Condition=USERID)],
    "an Allow only without aws:userid": [statement(Condition={"Null": {"aws:userid": "true"}})],
    "an Allow for every aws:userid but users'": [
        statement(Condition={"StringNotLike": {"aws:userid": "AIDA*"}})
    ],
    "a variable's default for aws:userid": [
        statement(),
        statement(
            "Deny",
            Principal="*",
            Condition={"StringEquals": {"aws:SourceAccount": "${aws:userid, '123456789012'}"}},
        ),
    ],
    "a Deny on the service in capitals": [
        statement(),
        statement("Deny", Principal={"Service": "CloudWatch.amazonaws.com"}),
    ],
    "a Deny on all but the service in capitals": [
        statement(),
        without("Principal", NotPrincipal={"Service": "CLOUDWATCH.AMAZONAWS.COM"}),
    ],
    "an Allow of the service in capitals": [
        statement(Principal={"Service": "CloudWatch.amazonaws.com"})
    ],
}


@pytest.mark.parametrize("statements", UNDOCUMENTED.values(), ids=list(UNDOCUMENTED))
def test_what_iam_leaves_undocumented_is_cannot_tell_never_a_pass(
    statements: list[dict[str, Any]],
) -> None:
    topic = judge_topic_policy(STACK, Policy.parse(policy(*statements)))
    as_key_policy = [{**s, "Action": "kms:*", "Resource": "*"} for s in statements]
    key = Key(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k")
    key_line = judge_key_policy(STACK, key, Policy.parse(policy(*as_key_policy)))

    for line in (topic, key_line):
        assert not line.passed and line.found.startswith("cannot tell whether"), line


def test_a_service_principal_in_other_letter_case_is_named_in_the_reason() -> None:
    document = policy(statement(Principal={"Service": "CloudWatch.amazonaws.com"}, Sid="Alarms"))
    assert evaluate(document, PUBLISH).why == (
        "Alarms (Principal names cloudwatch.amazonaws.com only in other letter case)"
    )


def test_a_test_notification_that_did_not_fail_passes() -> None:
    assert judge_test_notification("fn", "/aws/lambda/fn", Reply()).passed


@pytest.mark.parametrize(
    ("invocations", "errors", "found"),
    [
        (1, 0, "1 invocation of team-fn in the last 120 min, none failed"),
        (2, 0, "2 invocations of team-fn in the last 120 min, none failed"),
        (1, 1, "1 of 1 invocation of team-fn failed in the last 120 min"),
        (3, 1, "1 of 3 invocations of team-fn failed in the last 120 min"),
    ],
)
def test_the_invocations_line_counts_in_words(invocations: int, errors: int, found: str) -> None:
    window = Window.of(datetime(2026, 1, 1, tzinfo=UTC), 3600)

    line = judge_invocations("team-fn", "/aws/lambda/team-fn", window, invocations, errors)

    assert line.found == found


# ------------------------------------------------------------------------------ the function's role

ROLE = f"arn:aws:iam::{ACCOUNT}:role/team-EnrollmentMonitorFunctionRole-1"
READS = ("compute-optimizer:GetEnrollmentStatus", "cost-optimization-hub:ListEnrollmentStatuses")


def role_policy(*statements: dict[str, Any], name: str = "enrollment-monitor") -> Policy:
    return Policy.parse(policy(*statements), name, identity=True)


def grants(*actions: str, effect: str = "Allow", **fields: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": list(actions), "Resource": "*", **fields}


def role(*statements: dict[str, Any], boundary: Policy | None = None) -> Role:
    return Role(
        ROLE, role_policy(*statements), boundary, "arn:aws:iam::1:policy/b" * bool(boundary)
    )


def test_a_role_granting_every_watched_read_passes_naming_them() -> None:
    line = judge_role(role(grants(*READS)), READS)

    assert line.passed
    assert line.found.startswith(
        "team-EnrollmentMonitorFunctionRole-1 allows compute-optimizer:GetEnrollmentStatus, "
        "cost-optimization-hub:ListEnrollmentStatuses"
    )


def test_a_role_missing_a_watched_read_fails_naming_the_action_and_the_fix() -> None:
    line = judge_role(role(grants(READS[0])), READS)

    assert not line.passed
    assert "is not allowed cost-optimization-hub:ListEnrollmentStatuses" in line.found
    assert line.fix and "deploy the stack again" in line.fix and READS[1] in line.fix


def test_the_role_s_policies_are_evaluated_together_a_deny_in_any_wins() -> None:
    policies = role_policy(grants(*READS)) + role_policy(
        grants("cost-optimization-hub:*", effect="Deny", Sid="NoHub"), name="guard"
    )

    line = judge_role(Role(ROLE, policies), READS)

    assert not line.passed
    assert line.found.endswith(f"may not call {READS[1]}: guard NoHub denies it")


IN_ONE_REGION = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}


@pytest.mark.parametrize(
    "statements",
    [
        [grants(*READS, Condition=IN_ONE_REGION)],
        [grants(*READS), grants("*", effect="Deny", Condition={"Null": {"aws:SourceVpc": "true"}})],
        # IAM documents "*" alone for a read that names no resource: a pattern may or may not.
        [grants(*READS, Resource="arn:aws:*")],
        [grants(*READS), grants("*", effect="Deny", Resource="arn:aws:compute-optimizer:*:*:*")],
    ],
    ids=["conditional allow", "conditional deny", "allow on a pattern", "deny on a pattern"],
)
def test_what_the_role_s_policies_leave_unknowable_is_cannot_tell_never_a_pass(
    statements: list[dict[str, Any]],
) -> None:
    line = judge_role(role(*statements), READS)

    assert not line.passed and line.found.startswith("cannot tell whether")
    assert line.fix and "make sure that statement lets the role call" in line.fix


def test_a_permissions_boundary_must_allow_each_read_too() -> None:
    boundary = role_policy(grants("compute-optimizer:*"), name="boundary")

    line = judge_role(role(grants(*READS), boundary=boundary), READS)

    assert not line.passed
    assert f"permissions boundary arn:aws:iam::1:policy/b does not allow {READS[1]}" in line.found
    assert judge_role(role(grants(*READS), boundary=role_policy(grants("*"))), READS).passed


@pytest.mark.parametrize(
    ("variables", "reads"),
    [
        ({}, ["compute-optimizer:GetEnrollmentStatus"]),
        (
            {"TRACK_MEMBER_ACCOUNTS": "true", "ALSO_WATCH": "OrganizationAccess, Unknown"},
            [
                "compute-optimizer:GetEnrollmentStatus",
                "compute-optimizer:GetEnrollmentStatusesForOrganization",
                "organizations:ListAWSServiceAccessForOrganization",
                "organizations:ListDelegatedAdministrators",
            ],
        ),
        (
            {"TRACK_MEMBER_ACCOUNTS": "false", "ALSO_WATCH": "CostOptimizationHub"},
            ["compute-optimizer:GetEnrollmentStatus", READS[1]],
        ),
    ],
)
def test_the_reads_a_function_makes_follow_its_environment(
    variables: dict[str, str], reads: list[str]
) -> None:
    configuration = {"Role": ROLE, "Environment": {"Variables": variables}}

    assert list(Function.from_api(configuration).reads) == reads


def test_require_active_names_a_watched_service_not_active_with_its_own_fix() -> None:
    enrollments = {
        WatchedSubject(ACCOUNT, "us-east-1"): Enrollment("Active"),
        WatchedSubject(ACCOUNT, "us-east-1", "cost-optimization-hub"): Enrollment("Inactive"),
    }

    line = judge_enrollment(enrollments)

    assert not line.passed and line.found == "not Active: Cost Optimization Hub is Inactive"
    assert line.fix and "aws cost-optimization-hub update-enrollment-status" in line.fix
    enrollments[WatchedSubject(ACCOUNT, "us-east-1", "cost-optimization-hub")] = Enrollment(
        "Active"
    )
    assert judge_enrollment(enrollments).found == "Active in us-east-1; so is Cost Optimization Hub"
