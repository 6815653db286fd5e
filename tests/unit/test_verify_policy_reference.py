"""verify's policy evaluation against a deliberately simple reference, over generated topic and
key policies: verify never says "allowed" where IAM may refuse.

The reference reads IAM's documentation with no cleverness: it evaluates every statement,
condition and value in full, and where IAM's answer depends on what a request may carry or on
what IAM leaves undocumented (a short ARN pattern, a variable it cannot resolve, a Service
principal in other letter case) it tries both answers. Its result is the set of decisions IAM
may reach. verify's "allowed", "denied" and "not allowed" must each be the only one; its "cannot
tell" must stand for more than one.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from test_verify_verdicts import ACCOUNT, CLOUDWATCH, STACK, TOPIC

from enrollment_monitor.verify.facts import Key
from enrollment_monitor.verify.policy import Policy, Request, Verdict
from enrollment_monitor.verify.verdicts import alarm_requests, judge_key_policy, judge_topic_policy

SEED = 20260417
POLICIES = 300  # of each kind: topic and key
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
ALARMS = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{STACK.name}"
# What a service principal's request never carries; any other key it does not carry may or
# may not be there (aws:userid is in every signed request, IAM says: a service's is unknown).
NEVER_CARRIED = {"aws:sourcevpc", "aws:sourcevpce", "aws:username"}
ALLOWED, DENIED, NOT_ALLOWED = "allowed", "denied", "not allowed"

# ------------------------------------------------------------------------------ the reference


class Unknowns:
    """Answers each open question (may the request carry this key? which reading of an
    undocumented pattern does IAM take?) with the next of ``answers``, counting them."""

    def __init__(self, answers: tuple[bool, ...] = ()) -> None:
        self.answers, self.asked = answers, 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.answers[self.asked - 1] if self.asked <= len(self.answers) else False


def reference(document: dict[str, Any], request: Request) -> set[str]:
    """Every decision IAM may reach on ``request`` under ``document``."""
    first = Unknowns()
    decisions = {decide(document, request, first)}
    for answers in itertools.product((False, True), repeat=first.asked):
        decisions.add(decide(document, request, Unknowns(answers)))
    return decisions


def decide(document: dict[str, Any], request: Request, unknown: Unknowns) -> str:
    variables = document.get("Version") == "2012-10-17"
    context = {key.lower(): value for key, value in request.context.items()}
    applies = {"Allow": False, "Deny": False}
    for statement in document["Statement"]:
        results = [
            principal_named(statement, unknown),
            action_named(statement, request.action),
            resource_named(statement, request.resource, context, variables, unknown),
            *conditions_hold(statement.get("Condition", {}), context, variables, unknown),
        ]
        applies[statement["Effect"]] |= all(results)
    return DENIED if applies["Deny"] else ALLOWED if applies["Allow"] else NOT_ALLOWED


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def principal_named(statement: dict[str, Any], unknown: Unknowns) -> bool:
    for element, negated in (("Principal", False), ("NotPrincipal", True)):
        if element in statement:
            principal = statement[element]
            services = listed(principal.get("Service", [])) if isinstance(principal, dict) else []
            named = principal == "*" or (
                isinstance(principal, dict)
                and (CLOUDWATCH in services or "*" in listed(principal.get("AWS", [])))
            )
            if not named and CLOUDWATCH in (service.lower() for service in services):
                named = unknown()  # IAM does not say whether it matches letter case
            return named != negated
    return False


def action_named(statement: dict[str, Any], action: str) -> bool:
    for element, negated in (("Action", False), ("NotAction", True)):
        if element in statement:
            named = any(
                wildcard_match(literal(pattern.lower()), action.lower())
                for pattern in listed(statement[element])
            )
            return named != negated
    return False


def resource_named(
    statement: dict[str, Any],
    resource: str,
    context: dict[str, str],
    variables: bool,
    unknown: Unknowns,
) -> bool:
    for element, negated in (("Resource", False), ("NotResource", True)):
        if element in statement:
            named = [
                pattern == "*" or arn_match(pattern, resource, context, variables, unknown, True)
                for pattern in listed(statement[element])
            ]
            return any(named) != negated
    return True  # a key policy's statement without Resource: the key itself


# A pattern is a list of (kind, text): "text" a character written in the policy, "value" one
# a variable or ${*} ${?} ${$} stood for, "*" and "?" the wildcards.
Pattern = list[tuple[str, str]]


def literal(pattern: str) -> Pattern:
    return [(c if c in "*?" else "text", c) for c in pattern]


def substituted(pattern: str, context: dict[str, str], variables: bool) -> Pattern | None:
    """The pattern with its variables replaced, or None if one cannot be."""
    if not variables:
        return literal(pattern)
    out: Pattern = []
    rest = pattern
    while rest:
        end = rest.find("}")
        if rest.startswith("${") and end > 0:
            name, rest = rest[2:end], rest[end + 1 :]
            if name in ("*", "?", "$"):
                out.append(("value", name))
                continue
            default = re.fullmatch(r"([^\s,']+), '([^']*)'", name)
            key = (default.group(1) if default else name).lower()
            if key in context:
                value = context[key]
            elif default and key in NEVER_CARRIED:
                value = default.group(2)
            else:
                return None
            out += [("value", c) for c in value]
        else:
            out += literal(rest[0])
            rest = rest[1:]
    return out


def wildcard_match(pattern: Pattern, text: str) -> bool:
    """* any run of characters, ? one, the rest themselves; by the book, not by regex."""
    if not pattern:
        return not text
    (kind, char), rest = pattern[0], pattern[1:]
    if kind == "*":
        return any(wildcard_match(rest, text[i:]) for i in range(len(text) + 1))
    if not text:
        return False
    return (kind == "?" or char == text[0]) and wildcard_match(rest, text[1:])


def arn_match(
    written: str,
    arn: str,
    context: dict[str, str],
    variables: bool,
    unknown: Unknowns,
    in_resource: bool,
) -> bool:
    pattern = substituted(written, context, variables)
    if pattern is None:
        return unknown()
    parts: list[Pattern] = [[]]
    for kind, char in pattern:
        if kind == "text" and char == ":" and len(parts) < 6:
            parts.append([])
        else:
            parts[-1].append((kind, char))
    if in_resource and any(kind == "value" for part in parts[:5] for kind, _ in part):
        return unknown()  # IAM takes no variable there
    values = arn.split(":", 5)
    if len(parts) == len(values) == 6:
        return all(wildcard_match(p, v) for p, v in zip(parts, values, strict=True))
    # IAM documents neither a shorter pattern nor a value that is no ARN: every reading counts.
    readings = {False, wildcard_match(pattern, arn)}
    if len(values) == 6:
        padded = parts + [[("*", "*")]] * (6 - len(parts))
        readings.add(all(wildcard_match(p, v) for p, v in zip(padded, values, strict=True)))
    return readings.pop() if len(readings) == 1 else unknown()


def value_matches(
    operator: str, written: Any, value: str, context: dict[str, str], variables: bool, u: Unknowns
) -> bool:
    text = str(written).lower() if isinstance(written, bool) else str(written)  # JSON true
    if operator.startswith("Arn"):
        return arn_match(text, value, context, variables, u, False)
    pattern = substituted(text, context, variables)
    if pattern is None:
        return u()
    if operator == "StringLike":
        return wildcard_match(pattern, value)
    plain = "".join(char for _, char in pattern)
    if operator in ("StringEqualsIgnoreCase", "Bool"):
        return plain.lower() == value.lower()
    return plain == value


POSITIVE = {
    "StringEquals": "StringEquals",
    "StringNotEquals": "StringEquals",
    "StringEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringLike": "StringLike",
    "StringNotLike": "StringLike",
    "ArnLike": "ArnLike",
    "ArnEquals": "ArnLike",
    "ArnNotLike": "ArnLike",
    "ArnNotEquals": "ArnLike",
    "Bool": "Bool",
}


def conditions_hold(
    block: dict[str, dict[str, Any]], context: dict[str, str], variables: bool, u: Unknowns
) -> list[bool]:
    held = []
    for operator, tests in block.items():
        for key, written in tests.items():
            base = operator.removesuffix("IfExists")
            present = key.lower() in context
            maybe_present = not present and key.lower() not in NEVER_CARRIED
            if base == "Null":
                absent = u() if maybe_present else not present
                held.append(any(str(v).lower() == str(absent).lower() for v in listed(written)))
            elif base not in POSITIVE or maybe_present:
                held.append(u())  # an operator verify does not read, or a key it cannot know
            elif not present:
                held.append(operator.endswith("IfExists") or "Not" in base)
            else:
                value = context[key.lower()]
                matches = [
                    value_matches(POSITIVE[base], v, value, context, variables, u)
                    for v in listed(written)
                ]
                held.append(any(matches) != ("Not" in base))
    return held


# ------------------------------------------------------------------------------ the generator

ACCOUNTS = [
    ACCOUNT,
    "999999999999",
    "12345678901?",
    "1234*",
    "${aws:SourceAccount}",
    "${aws:ResourceAccount}",
    "${aws:SOURCEOWNER}",
    "${aws:username, '123456789012'}",
    "${aws:username, '999999999999'}",
    "${aws:username}",
    "${aws:PrincipalOrgID}",
    "${ aws:SourceAccount }",
    "${*}",
    "${$}{aws:SourceAccount}",
]
ARNS = [
    f"{ALARMS}-monitor-silent",
    f"{ALARMS}-*",
    f"{ALARMS}-monitor-*",
    f"{ALARMS}-?????????-errors",
    "arn:aws:cloudwatch:us-east-1:999999999999:alarm:*",
    "arn:aws:cloudwatch:*:*:alarm:*",
    "arn:aws:cloudwatch:*:alarm:team-*",
    "arn:aws:*:*:*:*",
    "*",
    "arn:*",
    "arn:aws:cloudwatch:*",
    "arn:aws:sns:*",
    "arn:aws:cloudwatch:us-east-1",
    "arn:aws:cloudwatch:us-east-1:${aws:ResourceAccount}:alarm:*",
    "arn:aws:cloudwatch:us-east-1:${aws:SourceAccount}:alarm:team-${*}",
    "arn:${aws:PrincipalOrgID}:cloudwatch:*:*:*",
    "${aws:SourceArn}",
    "arn:aws:sns:*:${aws:SourceOwner}:*",
    TOPIC,
    f"arn:aws:sns:*:{ACCOUNT}:al${{?}}rts",
]
BOOLEANS = ["true", "false", True, False, "${aws:PrincipalIsAWSService}", "${aws:PrincipalOrgID}"]
KEYS = {
    "aws:SourceAccount": ACCOUNTS,
    "AWS:SourceOwner": ACCOUNTS,
    "aws:ResourceAccount": ACCOUNTS,
    "aws:SourceArn": ARNS,
    "kms:EncryptionContext:aws:sns:topicArn": ARNS,
    "aws:SecureTransport": BOOLEANS,
    "aws:PrincipalIsAWSService": BOOLEANS,
    "aws:PrincipalOrgID": ["o-abc", "${aws:PrincipalOrgID}"],  # verify cannot know
    "aws:SourceVpce": ["vpce-1", "${aws:SourceVpce, 'vpce-1'}"],  # never carried
    "aws:username": ["ops", "${aws:username}"],  # never carried
    "aws:userid": ["AIDAEXAMPLE", "AIDA*", "${aws:userid, 'AIDAEXAMPLE'}"],  # carried, unknown
}
OPERATORS = [*POSITIVE, "Null", "NumericLessThan", "IpAddress", "ForAnyValue:StringLike"]
PRINCIPALS: list[dict[str, Any]] = [
    {"Principal": "*"},
    {"Principal": {"Service": CLOUDWATCH}},
    {"Principal": {"Service": ["events.amazonaws.com", CLOUDWATCH]}},
    {"Principal": {"AWS": "*"}},
    {"Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}},
    {"NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}},
    {"NotPrincipal": {"Service": CLOUDWATCH}},
    {"Principal": {"Service": "CloudWatch.amazonaws.com"}},
    {"NotPrincipal": {"Service": ["events.amazonaws.com", "CLOUDWATCH.AMAZONAWS.COM"]}},
]
ACTIONS = {
    "topic": ["sns:Publish", "SNS:Publish", "sns:*", "*", "sns:Pub?ish", "sns:Subscribe"],
    "key": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:*", "*", "kms:Encrypt", "KMS:decrypt"],
}
RESOURCES = {
    "topic": [
        TOPIC,
        "*",
        "arn:aws:sns:*:*:*",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:ale*",
        f"{TOPIC}-other",
        "arn:aws:sns:*",
        "arn:aws:*",
        "arn:aws:cloudwatch:*",
        "arn:aws:sns:us-east-1:${aws:ResourceAccount}:alerts",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:${{aws:PrincipalOrgID}}",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:al${{?}}rts",
    ],
    "key": [KEY, "*", "arn:aws:kms:*:*:key/*", "arn:aws:kms:*", f"{KEY}-other"],
}


GRANTS: dict[str, dict[str, Any]] = {
    "topic": {"Effect": "Allow", "Principal": {"Service": CLOUDWATCH}, "Action": "sns:Publish"},
    "key": {
        "Effect": "Allow",
        "Principal": {"Service": CLOUDWATCH},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    },
}


def generated(kind: str, rng: random.Random) -> dict[str, Any]:
    def one_or_two(choices: list[Any]) -> Any:
        return rng.choice(choices) if rng.random() < 0.7 else rng.sample(choices, 2)

    def statement(grant: bool = False) -> dict[str, Any]:
        """A statement of random parts; a grant names the alarms and their action."""
        written: dict[str, Any] = {"Effect": rng.choice(["Allow", "Allow", "Deny"])}
        written.update(rng.choice(PRINCIPALS))
        written["NotAction" if rng.random() < 0.15 else "Action"] = one_or_two(ACTIONS[kind])
        if kind == "topic" or rng.random() < 0.8:
            element = "NotResource" if rng.random() < 0.15 else "Resource"
            written[element] = one_or_two(RESOURCES[kind])
        if grant:
            written.pop("NotAction", None)
            written.update(GRANTS[kind])
        conditions: dict[str, dict[str, Any]] = {}
        for _ in range(rng.choice([0, 1, 1, 2])):
            operator = rng.choice(OPERATORS)
            if operator != "Null" and rng.random() < 0.2:
                operator += "IfExists"
            key = rng.choice(list(KEYS))
            pool = KEYS[key] if rng.random() < 0.8 else rng.choice(list(KEYS.values()))
            # Null takes "true" or "false" (both always hold, and verify does not see that).
            value = rng.choice(["true", "false"]) if operator == "Null" else one_or_two(pool)
            conditions.setdefault(operator, {})[key] = value
        if conditions:
            written["Condition"] = conditions
        return written

    version = rng.choice(["2012-10-17"] * 6 + ["2008-10-17", None])
    others = [statement() for _ in range(rng.randint(0, 2))]
    document: dict[str, Any] = {"Statement": [statement(grant=rng.random() < 0.6), *others]}
    return document if version is None else {"Version": version, **document}


def requests_of(kind: str) -> list[Request]:
    if kind == "topic":
        return alarm_requests(STACK, "sns:Publish", TOPIC)
    context = {"kms:EncryptionContext:aws:sns:topicArn": TOPIC}
    return [
        request
        for action in ("kms:Decrypt", "kms:GenerateDataKey")
        for request in alarm_requests(STACK, action, KEY, context)
    ]


def policies() -> Iterator[tuple[str, dict[str, Any]]]:
    rng = random.Random(SEED)
    for kind in ("topic", "key"):
        for _ in range(POLICIES):
            yield kind, generated(kind, rng)


# ------------------------------------------------------------------------------ the comparison

ONLY = {Verdict.ALLOWED: {ALLOWED}, Verdict.DENIED: {DENIED}, Verdict.NOT_ALLOWED: {NOT_ALLOWED}}
LINES: dict[str, Callable[[Policy], bool]] = {
    "topic": lambda policy: judge_topic_policy(STACK, policy).passed,
    "key": lambda policy: judge_key_policy(STACK, Key(KEY), policy).passed,
}


def test_verify_never_allows_what_iam_may_refuse() -> None:
    verdicts: Counter[Verdict] = Counter()
    passed, distinct = 0, set()
    for kind, document in policies():
        text = json.dumps(document)
        distinct.add(text)
        policy = Policy.parse(text)
        every_request_allowed = True
        for request in requests_of(kind):
            verdict = policy.evaluate(request).verdict
            may = reference(document, request)
            verdicts[verdict] += 1
            said = f"{verdict.value} where IAM may reach {sorted(may)}: {text} for {request}"
            if verdict is Verdict.UNKNOWN:
                assert len(may) > 1, f"cannot tell needlessly: {said}"
            else:
                assert may == ONLY[verdict], said
            every_request_allowed &= may == {ALLOWED}
        if LINES[kind](policy):
            passed += 1
            assert every_request_allowed, f"the {kind} policy line passed: {text}"

    # The generator is not vacuous: distinct policies, every verdict, lines that pass.
    assert len(distinct) >= 2 * POLICIES * 0.95
    assert min(verdicts[verdict] for verdict in Verdict) >= 100, verdicts
    assert passed >= 50, passed
