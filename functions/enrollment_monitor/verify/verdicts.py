"""What each line of ``enrollment-monitor verify``'s checklist says, decided from typed facts
alone (``facts``): pure functions, so every verdict is tested without AWS."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from enrollment_monitor.alerts.render import api_text
from enrollment_monitor.enrollment import COMPUTE_OPTIMIZER, Enrollment, WatchedSubject
from enrollment_monitor.errors import NOT_AWS, AwsCallError
from enrollment_monitor.subjects import service_of
from enrollment_monitor.verify.facts import (
    Alarm,
    Function,
    Key,
    Notification,
    Reply,
    Role,
    Subscription,
)
from enrollment_monitor.verify.model import (
    CLOUDWATCH,
    ENROLLMENT_ALARM,
    FAILED_INVOCATIONS_ALARM,
    NOTIFICATION_DAYS,
    Line,
    Series,
    Stack,
    Window,
    failed,
    passed,
)
from enrollment_monitor.verify.policy import NO_RESOURCE, Evaluation, Policy, Request, Verdict

# What a key policy must let CloudWatch alarms do to publish to a topic encrypted with it.
KEY_GRANT = f"the service principal {CLOUDWATCH} kms:Decrypt and kms:GenerateDataKey*"
DRIFT_FIX = (
    "it was changed outside CloudFormation: revert the drift (CloudFormation drift detection "
    "shows it), then verify again"
)


def judge_stack(stack: Stack) -> Line:
    if stack.complete:
        return passed("stack", f"{stack.name} is {stack.status}")
    if stack.status == "REVIEW_IN_PROGRESS":
        fix = "a change set waits for you: execute it (or delete it), then verify again"
    elif stack.status.endswith("_IN_PROGRESS"):
        fix = "wait for the operation to finish, then verify again"
    elif stack.status.endswith("ROLLBACK_COMPLETE"):
        fix = "the last change was rolled back: read the stack's events, fix, deploy again"
    else:
        fix = "read the stack's events (aws cloudformation describe-stack-events), fix, redeploy"
    reason = f" ({stack.reason})" if stack.reason else ""
    return failed("stack", f"{stack.name} is {stack.status}{reason}", fix)


def judge_invocations(
    function: str, log_group: str, window: Window, invocations: float, errors: float
) -> Line:
    logs = f"aws logs tail {log_group} --since {window.seconds // 60}m"
    counted = f"{invocations:g} invocation{'' if invocations == 1 else 's'} of {function}"
    if errors:
        return failed(
            "invocations",
            f"{errors:g} of {counted} failed {window}",
            f"read its log: {logs} --filter-pattern ERROR",
        )
    if not invocations:
        return failed(
            "invocations",
            f"{function} was not invoked {window}",
            "check that the stack's schedule is enabled; a new stack needs one scheduled check: "
            "verify again after it",
        )
    return passed("invocations", f"{counted} {window}, none failed")


def judge_alarm(stack: Stack, suffix: str, alarm: Alarm | None) -> Line:
    name = stack.alarm_name(suffix)
    check = f"alarm {suffix}"
    if alarm is None:
        return failed(check, f"{name} does not exist", DRIFT_FIX)
    if not alarm.actions_enabled:
        return failed(
            check,
            f"{name} has its actions disabled: it notifies no one",
            f"aws cloudwatch enable-alarm-actions --alarm-names {name}",
        )
    if stack.topic not in alarm.alarm_actions & alarm.ok_actions:
        return failed(check, f"{name} does not notify {stack.topic}", DRIFT_FIX)
    if alarm.state == "INSUFFICIENT_DATA":
        return failed(
            check,
            f"{name} is INSUFFICIENT_DATA: it has not evaluated a check yet",
            "wait for the next scheduled check (a new stack's first), then verify again",
        )
    if alarm.state == "ALARM" and suffix != ENROLLMENT_ALARM:
        return failed(check, f"{name} is ALARM: {alarm.reason}", "fix what its reason says")
    return passed(check, f"{name} is {alarm.state}")


def judge_notifications(latest: Mapping[str, Notification | None]) -> Line:
    """``latest``: each alarm's newest notification to the topic since the alarm was last
    configured (None: none in the window). What CloudWatch itself says of publishing to the
    topic: the proof the policies work, and the only one: without a history item, the line
    cannot pass."""
    check = "alarm notifications"
    failures = {name: item for name, item in latest.items() if item and item.failed}
    if failures:
        name, item = next(iter(failures.items()))
        others = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return failed(
            check,
            f"the last notification of {name} failed{others}: {item.summary}",
            "CloudWatch could not publish to the topic: fix what the topic policy and key "
            f"policy lines say (README: Bring your own topic), then {_prove_notification(latest)}",
        )
    delivered = [name for name, item in latest.items() if item]
    if not delivered:
        return failed(
            check,
            f"cannot tell: no alarm notified the topic in the last {NOTIFICATION_DAYS} days "
            "(or since it was last configured), so CloudWatch's history holds no proof",
            f"{_prove_notification(latest)} (its subscribers receive it; the alarm returns to "
            "its state at its next evaluation), then verify again",
        )
    return passed(
        check,
        f"CloudWatch published the last notification of {len(delivered)} of {len(latest)} alarms",
    )


def _prove_notification(alarms: Iterable[str]) -> str:
    # The alarm whose proof misleads least: its ALARM says invocations failed, never that
    # enrollment was lost, and its reason says it is a test.
    names = list(alarms)
    proof = f"-{FAILED_INVOCATIONS_ALARM}"
    alarm = next((n for n in names if n.endswith(proof)), names[0] if names else "")
    return (
        f"prove it: aws cloudwatch set-alarm-state --alarm-name {alarm or '<alarm>'} "
        "--state-value ALARM --state-reason 'enrollment-monitor verify: a test, not an incident'"
    )


def judge_heartbeat(
    metric: str,
    watched: Mapping[str, Series | None],
    function: Function,
    has_data: bool,
) -> Line:
    """``watched``: the series each alarm on ``metric`` watches (None: no such alarm, or not a
    one-series alarm); ``has_data``: whether the series the function emits has data in the
    window."""
    check = f"metric {metric}"
    emitted = Series(function.namespace, metric, {"service": function.service})
    for alarm, series in watched.items():
        if series is None:
            found = f"{alarm} does not exist or does not watch {metric} as the template writes it"
            return failed(check, f"cannot tell: {found}", DRIFT_FIX)
        if series != emitted:
            return failed(
                check,
                f"{alarm} watches {series} but the function emits {emitted}",
                "deploy the stack again: the alarm and the function must come from one template",
            )
    if not function.regions:
        return failed(
            check, "the function checks no Region (MONITORED_REGIONS is empty)", DRIFT_FIX
        )
    regions = ", ".join(function.regions)
    if not has_data:
        return failed(
            check,
            f"no data point: no check completed in every watched Region ({regions})",
            "a check in which one Region fails or hangs emits none: see the invocations line "
            "and the function's log, which names the Region",
        )
    alarms = " and ".join(watched)
    return passed(check, f"data points: checks completed in {regions}, as {alarms} read them")


def judge_subscriptions(stack: Stack, subscriptions: Sequence[Subscription]) -> Line:
    email = stack.parameters.get("NotificationEmail", "")
    emailed = any(
        s.protocol == "email" and s.endpoint.lower() == email.lower() for s in subscriptions
    )
    if email and not emailed:
        return failed(
            "subscriptions",
            f"{email} (NotificationEmail) is not subscribed: it unsubscribed, or was removed",
            f"aws sns subscribe --topic-arn {stack.topic} --protocol email "
            f"--notification-endpoint {email}, then confirm the mail",
        )
    if not subscriptions:
        return failed(
            "subscriptions",
            "the topic has no subscription: alerts reach no one",
            "set NotificationEmail or a chat channel and deploy, or subscribe an endpoint",
        )
    unconfirmed = [s for s in subscriptions if not s.confirmed]
    if unconfirmed:
        listed = ", ".join(f"{_endpoint(s)} ({s.arn})" for s in unconfirmed)
        return failed(
            "subscriptions",
            f"not confirmed: {listed}",
            "follow the link in the confirmation message SNS sent (for email, look in spam "
            "too); SNS drops an unconfirmed subscription after 3 days, so a mistyped address "
            "goes away by itself",
        )
    described = ", ".join(_endpoint(s) for s in subscriptions)
    return passed("subscriptions", f"{len(subscriptions)} confirmed: {described}")


# What AWS calls AWS Chatbot since its rename, short enough for a checklist line.
CHAT_SERVICE = "Amazon Q Developer (AWS Chatbot)"


def _endpoint(subscription: Subscription) -> str:
    if subscription.chatbot:
        return CHAT_SERVICE
    return f"{subscription.protocol} {subscription.endpoint}".strip()


def judge_chat(stack: Stack, subscriptions: Sequence[Subscription]) -> Line:
    configured = stack.chat_channels()
    if not configured:
        return passed("chat", "no Slack or Teams channel configured")
    # Each channel configuration subscribes to the topic on its own.
    attached = [s for s in subscriptions if s.chatbot and s.confirmed]
    channels = " and ".join(configured)
    if len(attached) < len(configured):
        return failed(
            "chat",
            f"{channels} configured, {len(attached)} {CHAT_SERVICE} subscription(s)",
            "open the Amazon Q Developer in chat applications console (formerly AWS Chatbot): "
            "each channel configuration must list the topic",
        )
    return passed("chat", f"{channels} channel(s) subscribed through {CHAT_SERVICE}")


def alarm_requests(
    stack: Stack, action: str, resource: str, context: Mapping[str, str] | None = None
) -> list[Request]:
    """The requests CloudWatch makes for each alarm of the stack, with the condition keys
    they carry (``aws:SourceOwner`` is the older name of ``aws:SourceAccount``, which the
    topic policy SNS writes by default still uses; ``resource`` is an ARN)."""
    return [
        Request(
            service=CLOUDWATCH,
            action=action,
            resource=resource,
            context={
                "aws:SourceAccount": stack.account,
                "aws:SourceOwner": stack.account,
                "aws:SourceArn": alarm,
                "aws:ResourceAccount": resource.split(":")[4],
                "aws:SecureTransport": "true",
                "aws:PrincipalServiceName": CLOUDWATCH,
                "aws:PrincipalIsAWSService": "true",
                **(context or {}),
            },
        )
        for alarm in stack.alarm_arns
    ]


def judge_topic_policy(stack: Stack, policy: Policy) -> Line:
    if stack.topic_region != stack.region:
        return failed(
            "topic policy",
            f"the topic is in {stack.topic_region} and the alarms in {stack.region}: CloudWatch "
            "notifies topics of its own Region only",
            f"give AlertTopicArn a topic in {stack.region}",
        )
    return _judge_policy(
        "topic policy",
        policy.evaluate_all(alarm_requests(stack, "sns:Publish", stack.topic)),
        "lets this stack's alarms publish",
        f"allow the service principal {CLOUDWATCH} sns:Publish on the topic, with "
        "aws:SourceAccount = this account (README: Bring your own topic)",
    )


def judge_unencrypted_topic() -> Line:
    return passed("key policy", "the topic is not encrypted with a KMS key")


def judge_key(stack: Stack, key: Key) -> Line | None:
    """What is wrong with the topic's key whatever its policy says, if anything. Of another
    account's key, verify knows only the ARN: no manager, no state."""
    if key.manager == "AWS":
        return failed(
            "key policy",
            f"the topic is encrypted with an AWS managed key ({key.arn}), which CloudWatch "
            "cannot use: alarm notifications are dropped",
            f"encrypt the topic with a customer managed key whose policy allows {KEY_GRANT}",
        )
    if key.state is not None and key.state != "Enabled":
        return failed(
            "key policy",
            f"{key.arn} is {key.state}: nothing can publish to the topic",
            "enable the key (or cancel its deletion)",
        )
    granted = stack.parameters.get("AlertTopicKmsKeyArn", "")
    if stack.brings_its_own_topic and granted != key.arn:
        return failed(
            "key policy",
            f"the topic's key is {key.arn}, but the function is granted "
            f"{granted or 'no key'} (AlertTopicKmsKeyArn): its alerts cannot be published",
            f"deploy with AlertTopicKmsKeyArn={key.arn}",
        )
    if key.account != stack.account:
        # GetKeyPolicy works in the key's own account only.
        return failed(
            "key policy",
            f"{key.arn} belongs to account {key.account}: verify cannot read its policy",
            f"ask that account to check that the key policy allows {KEY_GRANT}, with "
            "aws:SourceAccount = this account",
        )
    return None


def judge_key_policy(stack: Stack, key: Key, policy: Policy) -> Line:
    # SNS asks KMS for the alarms with the topic in the encryption context.
    context = {"kms:EncryptionContext:aws:sns:topicArn": stack.topic}
    requests = [
        request
        for action in ("kms:Decrypt", "kms:GenerateDataKey")
        for request in alarm_requests(stack, action, key.arn, context)
    ]
    return _judge_policy(
        "key policy",
        policy.evaluate_all(requests),
        f"{key.arn} lets this stack's alarms encrypt",
        f"allow {KEY_GRANT} in the key policy (README: Bring your own topic)",
    )


def _judge_policy(check: str, evaluation: Evaluation, allowed: str, fix: str) -> Line:
    if evaluation.verdict is Verdict.ALLOWED:
        return passed(check, allowed)
    if evaluation.verdict is Verdict.UNKNOWN:
        return failed(
            check,
            f"cannot tell whether CloudWatch alarms may use it: {evaluation.why} depends on "
            "what verify cannot know",
            f"make sure that statement lets them; {fix}",
        )
    return failed(check, f"CloudWatch alarms are {evaluation.verdict.value}: {evaluation.why}", fix)


def judge_test_notification(function: str, log_group: str, reply: Reply) -> Line:
    if reply.error is not None:
        return failed(
            "test notification",
            f"{function} failed: {reply.error}",
            f"read its log: aws logs tail {log_group} --since 10m",
        )
    return passed(
        "test notification",
        "published: every subscription should show a TestNotification within a minute",
    )


def judge_enrollment(enrollments: Mapping[WatchedSubject, Enrollment]) -> Line:
    """``enrollments``: each watched subject's expected Active, read now (``verify
    --require-active``): Compute Optimizer in each Region, then what AlsoWatch adds."""
    regions = [subject.region for subject in enrollments if subject.service == COMPUTE_OPTIMIZER]
    if not regions:
        return failed(
            "enrollment", "the function checks no Region (MONITORED_REGIONS is empty)", DRIFT_FIX
        )
    not_active = {subject: e for subject, e in enrollments.items() if not e.active}
    if not not_active:
        others = [service_of(s).name for s in enrollments if s.service != COMPUTE_OPTIMIZER]
        also = f"; so is {' and '.join(others)}" if others else ""
        return passed("enrollment", f"Active in {', '.join(regions)}{also}")
    described = "; ".join(
        f"{_subject(subject)} is {e.status}"
        + (f" ({api_text(e.status_reason)})" if e.status_reason else "")
        for subject, e in not_active.items()
    )
    first, enrollment = next(iter(not_active.items()))
    fix = (
        "if the account is meant to be enrolled, opt in again: aws compute-optimizer "
        f"update-enrollment-status --status Active --region {first.region} (each Region named)"
        if first.service == COMPUTE_OPTIMIZER
        else service_of(first).steps_for(enrollment.status)[0]
    )
    return failed("enrollment", f"not Active: {described}", fix)


def _subject(subject: WatchedSubject) -> str:
    """Compute Optimizer's subject by its Region; any other by its service's name."""
    return subject.region if subject.service == COMPUTE_OPTIMIZER else service_of(subject).name


def role_requests(reads: Sequence[str]) -> list[Request]:
    """What verify knows of the requests the function's role makes for ``reads``: the action,
    on no resource (none of these reads names a resource type), and no condition key at all
    (no principal either: an identity's policy names none)."""
    return [Request("", action, NO_RESOURCE, {}, absent=frozenset()) for action in reads]


def judge_role(role: Role, reads: Sequence[str]) -> Line:
    """Whether the function's role lets it make ``reads`` (``Function.reads``): an Allow in its
    policies and in its permissions boundary if it has one, a Deny in neither. Service control
    policies verify does not read: a read they refuse fails the check, which the invocations
    line shows."""
    check = "function role"
    held: dict[Verdict, list[tuple[str, Evaluation, bool]]] = {verdict: [] for verdict in Verdict}
    for request in role_requests(reads):
        verdict, evaluation, by_boundary = _role_evaluation(role, request)
        held[verdict].append((request.action, evaluation, by_boundary))
    if held[Verdict.DENIED]:
        action, evaluation, _ = held[Verdict.DENIED][0]
        return failed(
            check,
            f"{role.name} may not call {action}: {evaluation.why} denies it",
            f"take {action} out of what {evaluation.why} denies: the function's check needs it",
        )
    refused = {
        by_boundary: ", ".join(a for a, _, b in held[Verdict.NOT_ALLOWED] if b is by_boundary)
        for by_boundary in (False, True)
    }
    if refused[False]:
        return failed(
            check,
            f"{role.name} is not allowed {refused[False]}: no statement of its policies allows "
            "it, and the function's check needs it",
            "the template grants each read the function's settings need: deploy the stack "
            f'again (a role changed by hand: allow {refused[False]} on "*")',
        )
    if refused[True]:
        return failed(
            check,
            f"{role.name}'s permissions boundary {role.boundary_arn} does not allow "
            f"{refused[True]}, which the function's check needs",
            f"let the boundary allow {refused[True]} too",
        )
    if held[Verdict.UNKNOWN]:
        action, evaluation, _ = held[Verdict.UNKNOWN][0]
        return failed(
            check,
            f"cannot tell whether {role.name} may call {action}: {evaluation.why} depends on "
            "what verify cannot know",
            f"make sure that statement lets the role call {action}",
        )
    return passed(
        check,
        f"{role.name} allows {', '.join(reads)} (its policies and boundary; service control "
        "policies are not read)",
    )


def _role_evaluation(role: Role, request: Request) -> tuple[Verdict, Evaluation, bool]:
    """The role's policies and its boundary together: a refusal by either, then what either
    leaves unknown, decides; else both allow. True: the boundary decided."""
    evaluations = [(role.policies.evaluate(request), False)]
    if role.boundary is not None:
        evaluations.append((role.boundary.evaluate(request), True))
    for verdict in (Verdict.DENIED, Verdict.NOT_ALLOWED, Verdict.UNKNOWN):
        for evaluation, by_boundary in evaluations:
            if evaluation.verdict is verdict:
                return verdict, evaluation, by_boundary
    return Verdict.ALLOWED, evaluations[0][0], False


def fix_for(error: AwsCallError) -> str:
    if error.denied:
        return f"let your credentials call {error.call} (read-only), then verify again"
    if error.code == NOT_AWS:
        return (
            "check HTTPS_PROXY, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (and your "
            "network): what answered was not AWS; then verify again"
        )
    if error.code.endswith(("NotFound", "NotFoundException")):
        return f"{error.call} found nothing: {DRIFT_FIX}"
    if error.code in ("TooManyRequestsException", "ThrottlingException", "Throttling"):
        return (
            "AWS is throttling the call (for --send-test: the function runs one check at a "
            "time): verify again shortly"
        )
    return "verify again; if it persists, check the AWS Health Dashboard"
