"""Roles split by a case attribute: a role whose people each work on the cases of one department, one site or
one department at one site becomes one role per value."""

from __future__ import annotations

import pandas as pd

from simulation.discovery.sql import assign_roles, frame
from simulation.discovery.state import Discovery
from simulation.spec import ROLE_KEY_SEPARATOR, CaseAttribute

# Roles split by a case attribute: this share of a role's events is done by the people of the case's own value
# (the rest are stand-ins, e.g. deputies during absences), and each person does this share of their work on one
# value.
PARTITION_OWN_SHARE = 0.9
PARTITION_PERSON_SHARE = 0.8


def split_roles(state: Discovery, attributes: list[CaseAttribute], sites: dict[str, float]) -> None:
    """Split each role whose people each work on the cases of one department and/or site into one role per
    value, so that a role's queue, calendar and absences are those of the people who really do its work."""
    # split role -> (role it was split from, attributes, value key); original role -> (attributes, key -> role)
    state.split_from = {}
    state.role_by = {}
    drawn = {a.name: a for a in attributes if a.number is None}
    candidates: list[list[str]] = []
    if "department" in drawn:
        candidates.append(["department"])
    if len(sites) >= 2:
        candidates.append(["site"])
        # The simulated cases pair a department with a site only when the departments are drawn per site.
        if "department" in drawn and drawn["department"].per_site:
            candidates.append(["department", "site"])
    if not candidates:
        state.notes["roles by case attribute"] = "none: the model draws neither departments nor sites."
        return
    df = frame(state.con, f"""
        SELECT e.grp, e.resource, coalesce(c.department, '') AS department, coalesce(c.site, '') AS site,
               count(*) AS n
        FROM {state.ev} e JOIN {state.cs} c USING (case_id)
        WHERE NOT e.sys AND e.grp IS NOT NULL AND e.resource IS NOT NULL
        GROUP BY ALL ORDER BY ALL
    """)
    found: list[str] = []
    mapping: list[tuple[str, str]] = []
    for grp, g in df.groupby("grp", sort=True):
        if g.resource.nunique() < 2:
            continue
        best: tuple[tuple[int, float], list[str], dict[str, list[str]], float, float] | None = None
        for attrs in candidates:
            key = g[attrs].astype(str).agg(ROLE_KEY_SEPARATOR.join, axis=1)
            complete = (g[attrs] != "").all(axis=1)
            by = g[complete].assign(key=key[complete]).groupby(["resource", "key"]).n.sum()
            if by.empty:
                continue
            per_person = by.groupby(level=0)
            main = {r: k for r, k in per_person.idxmax()}
            person_share = float((per_person.max() / per_person.sum()).min())
            owners: dict[str, list[str]] = {}
            for r, k in sorted(main.items()):
                owners.setdefault(k, []).append(r)
            own = float(sum(n for (r, k), n in by.items() if main[r] == k) / g.n.sum())
            if len(owners) < 2 or own < PARTITION_OWN_SHARE or person_share < PARTITION_PERSON_SHARE:
                continue
            # The finest partition that still explains the work: departments per site rather than sites.
            score = (len(owners), own)
            if best is None or score > best[0]:
                best = (score, attrs, owners, own, person_share)
        if best is None:
            continue
        _, attrs, owners, own, person_share = best
        routes = {k: f"{grp}{ROLE_KEY_SEPARATOR}{k}" for k in sorted(owners)}
        state.role_by[str(grp)] = (list(attrs), routes)
        for k, people_ in owners.items():
            state.split_from[routes[k]] = str(grp)
            mapping += [(r, routes[k]) for r in people_]
        found.append(f"{grp} by {' and '.join(attrs)} into {len(owners)} roles ({own:.1%} of its events done "
                     f"by the people of the case's own {' · '.join(attrs)}; each person at least "
                     f"{person_share:.0%} on one; the rest are stand-ins)")
    if mapping:
        # A person's stand-in work stays in their own role: their hours and absences are one calendar.
        assign_roles(state.con, state.ev, pd.DataFrame(mapping, columns=["resource", "role"]), "e.grp IS NOT NULL")
    state.notes["roles by case attribute"] = (
        "a role whose people each work on the cases of one department, one site or one department at one site "
        f"(at least {PARTITION_OWN_SHARE:.0%} of its events done by the people whose main value is the case's, "
        f"each person with at least {PARTITION_PERSON_SHARE:.0%} of their events on their main value) is split "
        "into one role per value, with its own people, calendar and absences; its activities choose the role "
        "by the case's value (role_by), values nobody owns going to the largest of the roles; the finest "
        "such partition wins. Stand-ins (work on other values) stay with their performer's role and are "
        "not simulated as such. "
        + ("Split: " + "; ".join(found) + "." if found else "No role is split."))
