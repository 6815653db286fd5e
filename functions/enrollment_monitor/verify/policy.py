"""Whether a resource policy (an SNS topic's, a KMS key's) lets an AWS service principal make
one request, evaluated as IAM does for the parts verify can know.

Verify knows the request a CloudWatch alarm makes: its principal, action, resource and the
condition keys a service principal sends (``aws:SourceAccount``, ``aws:SourceArn``,
``aws:SecureTransport`` ...). A condition on any other key is a question verify cannot answer:
the verdict is then ``UNKNOWN``, never a pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Verdict(Enum):
    ALLOWED = "allowed"
    DENIED = "denied"  # an explicit Deny applies
    NOT_ALLOWED = "not allowed"  # no Allow applies
    UNKNOWN = "unknown"  # a condition verify cannot evaluate decides


@dataclass(frozen=True)
class Request:
    service: str  # the service principal, e.g. cloudwatch.amazonaws.com
    action: str
    resource: str
    context: Mapping[str, str]  # the condition keys the request carries, names in any case

    def value(self, key: str) -> str | None:
        return {k.lower(): v for k, v in self.context.items()}.get(key.lower())


@dataclass(frozen=True)
class Evaluation:
    verdict: Verdict
    why: str  # the statement (its Sid or its position) and, when unknown, the key


# Keys a service principal's request carries or, as listed here, never carries.
ABSENT_FOR_SERVICES = frozenset({"aws:sourcevpc", "aws:sourcevpce", "aws:userid", "aws:username"})
_NEGATED = ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike")
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda value, pattern: value == pattern,
    "StringEqualsIgnoreCase": lambda value, pattern: value.lower() == pattern.lower(),
    "StringLike": lambda value, pattern: glob(pattern, value),
    # IAM treats ArnEquals as ArnLike: both match each of an ARN's six parts on its own.
    "ArnEquals": lambda value, pattern: arn_like(pattern, value),
    "ArnLike": lambda value, pattern: arn_like(pattern, value),
    "Bool": lambda value, pattern: value.lower() == str(pattern).lower(),
}


def evaluate(policy: str | None, request: Request) -> Evaluation:
    statements = _statements(policy)
    outcomes: dict[str, list[tuple[bool | None, str]]] = {"Allow": [], "Deny": []}
    for number, statement in enumerate(statements, start=1):
        if statement.get("Effect") in outcomes and _applies_to(statement, request):
            name = statement.get("Sid") or f"statement {number}"
            met, unknown_key = _conditions_met(statement.get("Condition", {}), request)
            why = name if unknown_key is None else f"{name} (condition on {unknown_key})"
            outcomes[statement["Effect"]].append((met, why))
    # An explicit Deny wins, then a Deny verify cannot rule out, then an Allow.
    for effect, held, verdict in (
        ("Deny", True, Verdict.DENIED),
        ("Deny", None, Verdict.UNKNOWN),
        ("Allow", True, Verdict.ALLOWED),
        ("Allow", None, Verdict.UNKNOWN),
    ):
        for met, why in outcomes[effect]:
            if met is held:
                return Evaluation(verdict, why)
    return Evaluation(Verdict.NOT_ALLOWED, "no statement allows it")


def evaluate_all(policy: str | None, requests: Iterable[Request]) -> Evaluation:
    """The first evaluation that does not allow, else the last (all allowed)."""
    evaluation = Evaluation(Verdict.NOT_ALLOWED, "no request to evaluate")
    for request in requests:
        evaluation = evaluate(policy, request)
        if evaluation.verdict is not Verdict.ALLOWED:
            return evaluation
    return evaluation


def _statements(policy: str | None) -> list[Mapping[str, Any]]:
    if not policy:
        return []
    statements = json.loads(policy).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _applies_to(statement: Mapping[str, Any], request: Request) -> bool:
    return (
        _matches(statement, "Principal", "NotPrincipal", _names_service, request.service)
        and _matches(statement, "Action", "NotAction", _matches_action, request.action)
        and _matches(statement, "Resource", "NotResource", _matches_arn, request.resource)
    )


def _matches(
    statement: Mapping[str, Any],
    key: str,
    negated: str,
    test: Callable[[Any, str], bool],
    value: str,
) -> bool:
    if key in statement:
        return test(statement[key], value)
    if negated in statement:
        return not test(statement[negated], value)
    return key == "Resource"  # key policies may leave Resource out: the key itself


def _names_service(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return service in _as_list(principal.get("Service")) or "*" in _as_list(principal.get("AWS"))


def _matches_action(patterns: Any, action: str) -> bool:
    return any(glob(str(p).lower(), action.lower()) for p in _as_list(patterns))


def _matches_arn(patterns: Any, arn: str) -> bool:
    return any(str(p) == "*" or arn_like(str(p), arn) for p in _as_list(patterns))


def glob(pattern: str, value: str) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one; nothing else is special."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.DOTALL) is not None


def arn_like(pattern: str, arn: str) -> bool:
    """An ARN pattern matched as IAM does: part by part, so no wildcard crosses a colon
    before the resource part."""
    patterns, parts = pattern.split(":", 5), arn.split(":", 5)
    return len(patterns) == len(parts) == 6 and all(
        glob(p, v) for p, v in zip(patterns, parts, strict=True)
    )


def _conditions_met(
    conditions: Mapping[str, Mapping[str, Any]], request: Request
) -> tuple[bool | None, str | None]:
    """True when every condition holds, False when one fails, None when one depends on a key
    verify does not know (that key is returned too)."""
    unknown = None
    for operator, tests in conditions.items():
        for key, patterns in tests.items():
            held = _condition(operator, key, _as_list(patterns), request)
            if held is False:
                return False, None
            if held is None:
                unknown = key
    return (True, None) if unknown is None else (None, unknown)


def _condition(operator: str, key: str, patterns: list[Any], request: Request) -> bool | None:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    negated = base in _NEGATED
    compare = _OPERATORS.get(base.replace("Not", "", 1) if negated else base)
    value = request.value(key)
    if base == "Null":
        if value is None and key.lower() not in ABSENT_FOR_SERVICES:
            return None
        return any(str(p).lower() == str(value is None).lower() for p in patterns)
    if compare is None or ":" in operator:  # ForAnyValue:..., numeric, date, IP operators
        return None
    if value is None:
        if key.lower() not in ABSENT_FOR_SERVICES:
            return None
        # IAM: a missing key fails a positive operator and satisfies a negated one.
        return if_exists or negated
    matched = any(compare(value, str(pattern)) for pattern in patterns)
    return not matched if negated else matched


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
