"""The watched subjects: each one service's enrollment in one scope, with its facts
(``service.Service``). Compute Optimizer in every watched Region; with ``AlsoWatch``, Cost
Optimization Hub, Compute Optimizer Automation and the organization's access."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from enrollment_monitor.enrollment import WatchedSubject
from enrollment_monitor.subjects import automation, compute_optimizer, cost_optimization_hub
from enrollment_monitor.subjects import organization as organization
from enrollment_monitor.subjects.service import Service

if TYPE_CHECKING:  # settings validates AlsoWatch against what is declared here
    from enrollment_monitor.settings import Settings

SERVICES: dict[str, Service] = {
    service.id: service
    for service in (
        compute_optimizer.SERVICE,
        cost_optimization_hub.SERVICE,
        automation.SERVICE,
        organization.ACCESS,
        organization.ADMINISTRATOR,
    )
}
# What AlsoWatch (ALSO_WATCH) may name, beside Compute Optimizer in every watched Region, and
# what each value watches.
ALSO_HUB = "CostOptimizationHub"
ALSO_AUTOMATION = "ComputeOptimizerAutomation"
ALSO_ORGANIZATION = "OrganizationAccess"
ALSO_WATCH_VALUES = (ALSO_HUB, ALSO_AUTOMATION, ALSO_ORGANIZATION)
ALSO_WATCHED = {
    ALSO_HUB: (cost_optimization_hub.SERVICE,),
    ALSO_AUTOMATION: (automation.SERVICE,),
    ALSO_ORGANIZATION: (organization.ACCESS, organization.ADMINISTRATOR),
}


def service_of(subject: WatchedSubject) -> Service:
    return SERVICES[subject.service]


def watched(settings: Settings, account_id: str) -> list[WatchedSubject]:
    """Every subject a check reads."""
    return subjects_of(account_id, settings.regions, settings.also_watch, settings.home_region)


def subjects_of(
    account_id: str, regions: Sequence[str], also_watch: Sequence[str], home_region: str
) -> list[WatchedSubject]:
    """Compute Optimizer in each Region, then each service ``also_watch`` names (AlsoWatch's
    values), once, in its Region (the Hub's only endpoint, else ``home_region``)."""
    subjects = [WatchedSubject(account_id, region) for region in regions]
    for value in also_watch:
        for service in ALSO_WATCHED[value]:
            region = service.region or home_region
            subjects.append(WatchedSubject(account_id, region, service.id))
    return subjects
