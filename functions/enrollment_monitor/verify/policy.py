"""Whether a resource policy (an SNS topic's, a KMS key's) lets an AWS service principal make
one request, or an identity's policies (a role's) let it make one, evaluated as IAM does for the
parts verify can know.

Verify knows the request a CloudWatch alarm makes: its principal, action, resource and the
condition keys a service principal sends (``aws:SourceAccount``, ``aws:SourceArn``,
``aws:SecureTransport`` ...). A condition on any other key, or a policy variable naming one, is
a question verify cannot answer: the verdict is then ``UNKNOWN``, never a pass. So is what IAM
leaves undocumented, such as whether a ``Service`` principal written in other letter case names
the service. Of a role's own requests verify knows no condition key at all.

A policy is parsed once (``Policy.parse``) into typed statements; a document of a shape IAM
does not write raises ValueError there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

# Keys a service principal's request carries or, as listed here, never carries (IAM's global
# condition keys: aws:username only for IAM users, aws:SourceVpc(e) only through a VPC endpoint).
# Not aws:userid: IAM documents it in every signed request, and not what a service's is.
ABSENT_FOR_SERVICES = frozenset({"aws:sourcevpc", "aws:sourcevpce", "aws:username"})


# The resource of a request for an action that names no resource type (a read of enrollment).
NO_RESOURCE = "*"


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
    # The keys it is known not to carry (of a role's request, verify knows none absent).
    absent: frozenset[str] = ABSENT_FOR_SERVICES

    def value(self, key: str) -> str | None:
        return {k.lower(): v for k, v in self.context.items()}.get(key.lower())

    def lacks(self, key: str) -> bool:
        """Whether the request is known not to carry ``key`` (not only not known to)."""
        return self.value(key) is None and key.lower() in self.absent


@dataclass(frozen=True)
class Evaluation:
    verdict: Verdict
    why: str  # the statement (its Sid or its position) and, when unknown, what verify cannot tell


@dataclass(frozen=True)
class Principals:
    """A statement's Principal (or NotPrincipal), as far as it can name a service principal."""

    everyone: bool = False
    services: frozenset[str] = frozenset()
    negated: bool = False

    def name(self, service: str) -> bool | None:
        """Whether the element names ``service``; None when it is written only in other letter
        case (IAM does not document whether its matching is case-sensitive)."""
        named = self.everyone or service in self.services
        if not named and service.lower() in {s.lower() for s in self.services}:
            return None
        return named != self.negated


@dataclass(frozen=True)
class Patterns:
    """A statement's Action or Resource (or its Not... form)."""

    patterns: tuple[str, ...] = ()
    negated: bool = False


@dataclass(frozen=True)
class Condition:
    operator: str  # as written: StringNotEqualsIfExists, ForAnyValue:StringLike ...
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    name: str  # its Sid, or its position
    effect: str
    principals: Principals
    actions: Patterns
    resources: Patterns
    conditions: tuple[Condition, ...] = ()
    # IAM reads ``${...}`` as literal text in a policy of an older language version.
    variables: bool = False


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...] = ()

    @classmethod
    def parse(
        cls, document: str | Mapping[str, Any] | None, name: str = "", identity: bool = False
    ) -> Policy:
        """The policy of a JSON document (or of the object boto3 decoded it into); no document
        is a policy with no statement. ``name`` prefixes its statements' names; ``identity``:
        an identity's policy, whose statements apply to that identity (they name no
        principal)."""
        if not document:
            return cls()
        parsed = _mapping(
            json.loads(document) if isinstance(document, str) else document, "a policy"
        )
        listed = parsed.get("Statement", [])
        statements = listed if isinstance(listed, list) else [listed]
        variables = parsed.get("Version") == "2012-10-17"
        return cls(
            tuple(
                _statement(s, number, variables, name, identity)
                for number, s in enumerate(statements, start=1)
            )
        )

    def __add__(self, other: Policy) -> Policy:
        """Both policies' statements, evaluated together (an identity's policies)."""
        return Policy(self.statements + other.statements)

    def evaluate(self, request: Request) -> Evaluation:
        outcomes: dict[str, list[tuple[bool | None, str]]] = {"Allow": [], "Deny": []}
        for statement in self.statements:
            if statement.effect in outcomes:
                met, unknown = _holds(statement, request, statement.variables)
                why = statement.name if unknown is None else f"{statement.name} ({unknown})"
                outcomes[statement.effect].append((met, why))
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

    def evaluate_all(self, requests: Iterable[Request]) -> Evaluation:
        """The first evaluation that does not allow, else the last (all allowed)."""
        evaluation = Evaluation(Verdict.NOT_ALLOWED, "no request to evaluate")
        for request in requests:
            evaluation = self.evaluate(request)
            if evaluation.verdict is not Verdict.ALLOWED:
                return evaluation
        return evaluation


def evaluate(document: str | None, request: Request) -> Evaluation:
    return Policy.parse(document).evaluate(request)


def evaluate_all(document: str | None, requests: Iterable[Request]) -> Evaluation:
    return Policy.parse(document).evaluate_all(requests)


# ------------------------------------------------------------------------------ parsing


def _statement(
    statement: Any, number: int, variables: bool, policy: str, identity: bool
) -> Statement:
    statement = _mapping(statement, "a statement")
    conditions = _mapping(statement.get("Condition", {}), "a Condition")
    named = str(statement.get("Sid") or f"statement {number}")
    return Statement(
        name=f"{policy} {named}" if policy else named,
        effect=str(statement.get("Effect")),
        principals=Principals(everyone=True) if identity else _principals(statement),
        actions=_patterns(statement, "Action"),
        # A key policy may leave Resource out: the key itself.
        resources=_patterns(statement, "Resource", absent=("*",)),
        conditions=tuple(
            Condition(str(operator), str(key), _strings(values))
            for operator, tests in conditions.items()
            for key, values in _mapping(tests, f"the {operator} condition").items()
        ),
        variables=variables,
    )


def _principals(statement: Mapping[str, Any]) -> Principals:
    negated = "Principal" not in statement and "NotPrincipal" in statement
    principal = statement.get("NotPrincipal" if negated else "Principal")
    if principal == "*":
        return Principals(everyone=True, negated=negated)
    if not isinstance(principal, dict):
        return Principals(negated=negated)  # none, or one that cannot be a service principal
    return Principals(
        everyone="*" in _strings(principal.get("AWS")),
        services=frozenset(_strings(principal.get("Service"))),
        negated=negated,
    )


def _patterns(statement: Mapping[str, Any], key: str, absent: tuple[str, ...] = ()) -> Patterns:
    if key in statement:
        return Patterns(_strings(statement[key]))
    if f"Not{key}" in statement:
        return Patterns(_strings(statement[f"Not{key}"]), negated=True)
    return Patterns(absent)


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object: {json.dumps(value)[:200]}")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    """A policy value (one, or a list) as text; JSON's true and false as IAM writes them."""
    listed = [] if value is None else value if isinstance(value, list) else [value]
    return tuple(json.dumps(v) if isinstance(v, bool) else str(v) for v in listed)


# ------------------------------------------------------------------------------ evaluation

_NEGATED = (
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
)
_WILDCARD = re.compile(r"[*?]")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# ${key, 'default'}: the default when the request does not carry the key.
_DEFAULT = re.compile(r"(?P<key>[^\s,']+), '(?P<default>[^']*)'")


@dataclass(frozen=True)
class _Piece:
    """A run of a pattern: literal text, one of IAM's wildcards (``*`` any run of characters,
    ``?`` one; nothing else is special), or what a policy variable resolved to."""

    text: str
    wildcard: bool = False
    resolved: bool = False


def _pieces(pattern: str) -> list[_Piece]:
    pieces, start = [], 0
    for wildcard in _WILDCARD.finditer(pattern):
        pieces += [_Piece(pattern[start : wildcard.start()]), _Piece(wildcard[0], wildcard=True)]
        start = wildcard.end()
    return [*pieces, _Piece(pattern[start:])]


def _resolved(pattern: str, request: Request, variables: bool) -> list[_Piece] | None:
    """``pattern`` with its policy variables replaced, once, by the request's values (None: one
    names a value verify does not know)."""
    if not variables:
        return _pieces(pattern)
    pieces, start = [], 0
    for variable in _VARIABLE.finditer(pattern):
        value = _variable(variable[1], request)
        if value is None:
            return None
        pieces += [*_pieces(pattern[start : variable.start()]), _Piece(value, resolved=True)]
        start = variable.end()
    return [*pieces, *_pieces(pattern[start:])]


def _variable(name: str, request: Request) -> str | None:
    if name in ("*", "?", "$"):  # ${*}, ${?}, ${$}: the character itself
        return name
    default = _DEFAULT.fullmatch(name)
    key = default["key"] if default else name
    value = request.value(key)
    if value is None and default and request.lacks(key):
        return default["default"]
    return value


def _text(pieces: list[_Piece]) -> str:
    """The pattern as text, for the operators that have no wildcards."""
    return "".join(piece.text for piece in pieces)


def _like(pieces: list[_Piece], value: str) -> bool:
    regex = "".join(
        (".*" if piece.text == "*" else ".") if piece.wildcard else re.escape(piece.text)
        for piece in pieces
    )
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _arn_like(pieces: list[_Piece], arn: str, resource: bool = False) -> bool | None:
    """An ARN pattern matched as IAM does: each of the six colon-separated parts on its own, so
    no wildcard crosses a colon before the resource part.

    IAM documents neither a shorter pattern nor a value that is no ARN. Either may match
    nothing, or match as a StringLike pattern; a short pattern may also match as if its
    missing parts were ``*`` (as IAM is reported to read a short Resource with a wildcard).
    None unless every reading agrees. In a Resource, IAM takes no variable before the
    resource part: None too."""
    values = arn.split(":", 5)
    parts = _arn_parts(pieces)
    if resource and any(piece.resolved for part in parts[:5] for piece in part):
        return None
    if len(parts) == len(values) == 6:
        return _parts_like(parts, values)
    readings = {False, _like(pieces, arn)}
    if len(values) == 6:
        readings.add(_parts_like(parts + [[_Piece("*", wildcard=True)]] * (6 - len(parts)), values))
    return readings.pop() if len(readings) == 1 else None


def _parts_like(parts: list[list[_Piece]], values: list[str]) -> bool:
    return all(_like(part, value) for part, value in zip(parts, values, strict=True))


def _arn_parts(pieces: list[_Piece]) -> list[list[_Piece]]:
    """The pattern's parts, split at its first five colons written in it."""
    parts: list[list[_Piece]] = [[]]
    for piece in pieces:
        if piece.wildcard or piece.resolved:
            parts[-1].append(piece)
            continue
        texts = piece.text.split(":", max(0, 6 - len(parts)))
        parts[-1].append(_Piece(texts[0]))
        parts += [[_Piece(text)] for text in texts[1:]]
    return parts


_OPERATORS: dict[str, Callable[[str, list[_Piece]], bool | None]] = {
    "StringEquals": lambda value, pieces: value == _text(pieces),
    "StringEqualsIgnoreCase": lambda value, pieces: value.lower() == _text(pieces).lower(),
    "StringLike": lambda value, pieces: _like(pieces, value),
    # IAM treats ArnEquals as ArnLike: both match each of an ARN's six parts on its own.
    "ArnEquals": lambda value, pieces: _arn_like(pieces, value),
    "ArnLike": lambda value, pieces: _arn_like(pieces, value),
    "Bool": lambda value, pieces: value.lower() == _text(pieces).lower(),
}


def _any(results: Iterable[bool | None]) -> bool | None:
    """Whether any holds: True if one does, False if none can, None if verify cannot tell."""
    found: bool | None = False
    for result in results:
        if result:
            return True
        if result is None:
            found = None
    return found


def _negated(result: bool | None, negated: bool) -> bool | None:
    return result if result is None or not negated else not result


def _holds(
    statement: Statement, request: Request, variables: bool
) -> tuple[bool | None, str | None]:
    """Whether the statement applies to the request (None: verify cannot tell, with what it
    cannot tell)."""
    action = _listed(
        statement.actions, lambda pattern: _like(_pieces(pattern.lower()), request.action.lower())
    )
    resource = _listed(
        statement.resources, lambda pattern: _names_resource(pattern, request, variables)
    )
    principal = statement.principals.name(request.service)
    met, unknown = _conditions_met(statement.conditions, request, variables)
    if False in (principal, action, resource, met):
        return False, None
    if principal is None:
        element = "NotPrincipal" if statement.principals.negated else "Principal"
        return None, f"{element} names {request.service} only in other letter case"
    if resource is None:
        element = "NotResource" if statement.resources.negated else "Resource"
        return None, f"{element} {', '.join(statement.resources.patterns)}"
    return met, unknown


def _names_resource(pattern: str, request: Request, variables: bool) -> bool | None:
    if pattern == "*":
        return True
    if request.resource == NO_RESOURCE:
        return None  # IAM documents "*" alone for an action that names no resource
    pieces = _resolved(pattern, request, variables)
    return None if pieces is None else _arn_like(pieces, request.resource, resource=True)


def _listed(element: Patterns, matches: Callable[[str], bool | None]) -> bool | None:
    """Whether one of the element's patterns matches (its Not... form: none does)."""
    return _negated(_any(matches(pattern) for pattern in element.patterns), element.negated)


def _conditions_met(
    conditions: Iterable[Condition], request: Request, variables: bool
) -> tuple[bool | None, str | None]:
    """True when every condition holds, False when one fails, None when one depends on a key
    verify does not know (that key is returned too)."""
    unknown = None
    for condition in conditions:
        held = _condition(condition, request, variables)
        if held is False:
            return False, None
        if held is None:
            unknown = f"condition on {condition.key}"
    return (True, None) if unknown is None else (None, unknown)


def _condition(condition: Condition, request: Request, variables: bool) -> bool | None:
    operator, key, patterns = condition.operator, condition.key, condition.values
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    negated = base in _NEGATED
    compare = _OPERATORS.get(base.replace("Not", "", 1) if negated else base)
    value = request.value(key)
    if base == "Null":
        if value is None and not request.lacks(key):
            return None
        return any(pattern.lower() == str(value is None).lower() for pattern in patterns)
    if compare is None or ":" in operator:  # ForAnyValue:..., numeric, date, IP operators
        return None
    if value is None:
        if not request.lacks(key):
            return None
        # IAM: a missing key fails a positive operator and satisfies a negated one.
        return if_exists or negated
    matched = _any(
        None if pieces is None else compare(value, pieces)
        for pieces in (_resolved(pattern, request, variables) for pattern in patterns)
    )
    return _negated(matched, negated)
