"""The organization's switches for Compute Optimizer, read from Organizations (a global
service): trusted access, without which members are no longer opted in, and the delegated
administrator. Both change without any UpdateEnrollmentStatus."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from enrollment_monitor import parse
from enrollment_monitor.enrollment import Enrollment
from enrollment_monitor.errors import calling
from enrollment_monitor.subjects.service import NOT_ACTIVE, Service

PRINCIPAL = "compute-optimizer.amazonaws.com"
LIST_ACCESS = "organizations:ListAWSServiceAccessForOrganization"
LIST_ADMINISTRATORS = "organizations:ListDelegatedAdministrators"
REGISTERED, NOT_REGISTERED = "Registered", "NotRegistered"


def read_access(client: Any, region: str, _account_id: str) -> Enrollment:
    """Active while trusted access is enabled for Compute Optimizer."""
    pages = client.get_paginator("list_aws_service_access_for_organization").paginate()
    enabled = _listed(pages, region, LIST_ACCESS, "EnabledServicePrincipals")
    mine = [p for p in enabled if p.get("ServicePrincipal") == PRINCIPAL]
    if not mine:
        return Enrollment("Inactive", f"trusted access is not enabled for {PRINCIPAL}")
    since = parse.moment("DateEnabled", mine[0].get("DateEnabled"))
    return Enrollment("Active", f"trusted access is enabled for {PRINCIPAL}", since)


def read_administrator(client: Any, region: str, _account_id: str) -> Enrollment:
    """Registered (naming the account) or not: the delegated administrator of Compute
    Optimizer."""
    pages = client.get_paginator("list_delegated_administrators").paginate(
        ServicePrincipal=PRINCIPAL
    )
    listed = _listed(pages, region, LIST_ADMINISTRATORS, "DelegatedAdministrators")
    accounts = tuple(sorted(a["Id"] for a in listed if parse.is_account_id(a.get("Id"))))
    if not accounts:
        return Enrollment(NOT_REGISTERED, f"no delegated administrator for {PRINCIPAL}", holders=())
    reason = f"delegated administrator: account {', '.join(accounts)}"
    return Enrollment(REGISTERED, reason, holders=accounts)


def _listed(pages: Iterable[Any], region: str, call: str, field: str) -> list[dict[str, Any]]:
    """Every entry of every page; a page without ``field`` is not Organizations' answer."""
    entries: list[dict[str, Any]] = []
    with calling(call, region):
        for page in pages:
            entries += [entry for entry in parse.required(page, field) if isinstance(entry, dict)]
    return entries


_STEPS_IN_MANAGEMENT = (
    "Look up the Organizations event in CloudTrail (us-east-1) to see who changed it."
)

# What a change of delegated administrator does: a move from one account to another does both.
_DEREGISTERED = (
    "The former delegated administrator can no longer manage Compute Optimizer for the "
    "organization: a monitor or a team working from that account loses the organization's view."
)
_REGISTERED = (
    "The newly registered account can now manage Compute Optimizer for the organization, "
    "members' opt-in included."
)

ACCESS = Service(
    id="organization-access",
    name="Organizations trusted access for Compute Optimizer",
    watched="Organizations trusted access for Compute Optimizer",
    scope="organization",
    client="organizations",
    calls=(LIST_ACCESS,),
    read=read_access,
    meaning={
        "Active": "Compute Optimizer has trusted access to the organization: it can enroll "
        "and analyse member accounts.",
        "Inactive": "Compute Optimizer has no trusted access to the organization.",
    },
    steps={
        "Active": ["Nothing: this is the healthy state."],
        "Inactive": [
            "If nobody meant to disable it, opt in again from the management account "
            "including the members: `aws compute-optimizer update-enrollment-status --status "
            "Active --include-member-accounts` (this enables trusted access again).",
            _STEPS_IN_MANAGEMENT,
        ],
    },
    damage={
        NOT_ACTIVE: "With trusted access disabled after opt-in, the organization's member "
        "accounts are no longer opted in to Compute Optimizer: they get no recommendations, "
        "and the organization's figures and member listing stop covering them.",
    },
    console="organizations/v2/home/services",
)

ADMINISTRATOR = Service(
    id="delegated-administrator",
    name="Compute Optimizer delegated administrator",
    watched="Compute Optimizer delegated administrator",
    scope="organization",
    client="organizations",
    calls=(LIST_ADMINISTRATORS,),
    read=read_administrator,
    meaning={
        REGISTERED: "A member account is registered as Compute Optimizer's delegated "
        "administrator: it can manage Compute Optimizer for the organization.",
        NOT_REGISTERED: "No account is registered as Compute Optimizer's delegated "
        "administrator: only the management account manages it for the organization.",
    },
    steps={
        REGISTERED: [
            "If this was meant, nothing. Check the account named above.",
            _STEPS_IN_MANAGEMENT,
        ],
        NOT_REGISTERED: [
            "If nobody meant to deregister it, register it again from the management account: "
            "`aws organizations register-delegated-administrator --account-id ACCOUNT "
            f"--service-principal {PRINCIPAL}`.",
            _STEPS_IN_MANAGEMENT,
        ],
    },
    damage={NOT_REGISTERED: _DEREGISTERED, REGISTERED: _REGISTERED},
    moved=f"{_DEREGISTERED} {_REGISTERED}",
    expects_active=False,
)
