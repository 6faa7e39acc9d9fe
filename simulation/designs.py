"""Designs put in force on a model (`apply`): a scenario's changes checked against the model, staffing and volume
changes written into its roles and arrivals, every other change added to its policies, which the engine carries out
(see design_steps.py)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from simulation.spec import (
    END,
    START,
    AiTriage,
    ApprovalMatrix,
    Arrivals,
    Automation,
    Delegation,
    Escalation,
    Model,
    Scenario,
    ScheduledAction,
    Staffing,
    Volume,
)


def _check(model: Model, change: Any, where: str) -> None:
    """Raise ValueError when `change` names an activity, role, calendar or site the model does not have."""
    activities = {a.name for a in model.activities}
    roles = {r.name for r in model.roles}

    def need(name: str | None, known: set[str], what: str, extra: tuple[str, ...] = ()) -> None:
        if name is not None and name not in known and name not in extra:
            raise ValueError(f"{where}: unknown {what} {name!r} (known: {', '.join(sorted(known)) or 'none'})")

    if isinstance(change, ApprovalMatrix):
        need(change.after, activities, "activity", (START,))
        need(change.then, activities, "activity", (END,))
        for band in change.bands:
            for name in band.approvals:
                need(name, activities, "activity")
    elif isinstance(change, Delegation):
        need(change.role, roles, "role")
        need(change.delegate, roles, "role")
    elif isinstance(change, Escalation):
        need(change.activity, activities, "activity")
        need(change.escalate_to, roles, "role")
        if change.business_hours and model.activity(change.activity).role is None:
            raise ValueError(f"{where}: business hours need a role on activity {change.activity!r}")
    elif isinstance(change, ScheduledAction):
        need(change.activity, activities, "activity")
        ZoneInfo(change.timezone)
    elif isinstance(change, Automation):
        need(change.activity, activities, "activity")
        need(change.exception_role, roles, "role")
    elif isinstance(change, AiTriage):
        need(change.activity, activities, "activity")
        need(change.review_role, roles, "role")
        need(change.misroute_role, roles, "role")
    elif isinstance(change, Staffing):
        need(change.role, roles, "role")
        need(change.calendar, {c.name for c in model.calendars}, "calendar")
    elif isinstance(change, Volume):
        sites = set(model.arrivals.sites)
        if change.site is not None:
            need(change.site, sites, "site")
        if change.new_site is not None and change.new_site in sites:
            raise ValueError(f"{where}: site {change.new_site!r} exists already")


def apply(model: Model, scenario: Scenario | None) -> Model:
    """Return the model with the scenario's changes in force: Staffing and Volume change the roles and arrivals,
    every other change is appended to `policies`; raise ValueError naming an unknown activity, role or site.

    Staffing and Volume already among the model's own policies are put in force first (and leave `policies`).
    """
    own = [(p, f"model {model.name!r}, policy {i} ({p.kind})") for i, p in enumerate(model.policies, 1)]
    changes = [(c, f"scenario {scenario.name!r}, change {i} ({c.kind})")
               for i, c in enumerate(scenario.changes if scenario else [], 1)]
    for change, where in own + changes:
        _check(model, change, where)
    if not changes and not any(isinstance(p, Staffing | Volume) for p in model.policies):
        return model
    roles = {r.name: r for r in model.roles}
    arrivals = model.arrivals
    policies = [p for p in model.policies if not isinstance(p, Staffing | Volume)]
    for change, _ in [o for o in own if isinstance(o[0], Staffing | Volume)] + changes:
        if isinstance(change, Staffing):
            update = {k: getattr(change, k) for k in ("headcount", "calendar", "hourly_cost")
                      if getattr(change, k) is not None}
            roles[change.role] = roles[change.role].model_copy(update=update)
        elif isinstance(change, Volume):
            arrivals = _scaled(arrivals, change)
        else:
            policies.append(change)
    changed = model.model_copy(update={"roles": list(roles.values()), "arrivals": arrivals, "policies": policies})
    return Model.model_validate(changed.model_dump())


def _scaled(arrivals: Arrivals, change: Volume) -> Arrivals:
    """Return the arrivals with a volume change: the rate scaled (overall or one site's) and a new site added."""
    rate, sites = arrivals.cases_per_week, dict(arrivals.sites)
    if change.site is None:
        rate *= change.factor
    else:
        total = sum(sites.values())
        weighted = {s: v * (change.factor if s == change.site else 1.0) for s, v in sites.items()}
        rate *= sum(weighted.values()) / total
        sites = {s: v / sum(weighted.values()) for s, v in weighted.items()}
    if change.new_site is not None and change.new_site_share > 0:
        total = sum(sites.values()) or 1.0
        sites = {s: v / total * (1 - change.new_site_share) for s, v in sites.items()}
        sites[change.new_site] = change.new_site_share
        rate /= 1 - change.new_site_share
    return arrivals.model_copy(update={"cases_per_week": rate, "sites": sites})
