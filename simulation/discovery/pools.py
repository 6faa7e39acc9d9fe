"""Who does the manual work: the role recorded on the events or, when the log records none, pools of the
resources that do the same activities."""

from __future__ import annotations

import pandas as pd

from simulation.discovery.sql import assign_roles, frame
from simulation.discovery.state import Discovery


def find_pools(state: Discovery) -> None:
    """Set each manual event's group: its recorded role, or its resource's pool when the log records no roles."""
    stats_ = frame(state.con, f"""
        SELECT count(*) FILTER (WHERE NOT sys) AS manual, count(grp) FILTER (WHERE NOT sys) AS with_role
        FROM {state.ev}
    """)
    manual, with_role = int(stats_.manual[0]), int(stats_.with_role[0])
    state.pooled = manual > 0 and with_role < 0.5 * manual
    if not state.pooled:
        state.notes["roles from"] = "the role recorded on the events (an activity's role: its most frequent one)."
        return
    # No roles in the log: resources doing the same activities form a pool. An activity counts for a resource
    # when it makes at least 5% of the resource's work, so that a rare stand-in does not split a pool.
    per = frame(state.con, f"""
        SELECT resource, activity, count(*) AS n FROM {state.ev}
        WHERE NOT sys GROUP BY ALL ORDER BY resource, activity
    """)
    per["share"] = per.n / per.groupby("resource").n.transform("sum")
    sets = per[per.share >= 0.05].groupby("resource").activity.apply(lambda s: tuple(sorted(s)))
    volume = per.groupby("activity").n.sum()
    work = per.groupby("resource").n.sum()
    load: dict[tuple, int] = {}
    for r, acts in sets.items():
        load[acts] = load.get(acts, 0) + int(work[r])
    # A pool with under 1% of the manual work joins the larger pool whose activities overlap its own most
    # (Jaccard), so that a handful of occasional performers does not make a pool of its own.
    ranked = sorted(load, key=lambda a: (-load[a], a))
    big = [a for a in ranked if load[a] >= 0.01 * manual] or ranked[:1]
    home: dict[tuple, tuple] = {}
    for acts in ranked:
        if acts in big:
            home[acts] = acts
            continue
        best = max(big, key=lambda b: (len(set(acts) & set(b)) / len(set(acts) | set(b)), load[b]))
        home[acts] = best if set(acts) & set(best) else acts
    names: dict[tuple, str] = {}
    for acts in ranked:
        if home[acts] == acts:
            main = max(acts, key=lambda a: (volume[a], a))
            names[acts] = f"pool {len(names) + 1}: {main}" + (f" +{len(acts) - 1}" if len(acts) > 1 else "")
    assign_roles(state.con, state.ev, pd.DataFrame({"resource": sets.index, "role": [names[home[a]] for a in sets]}))
    state.notes["roles from"] = (
        f"the log records no roles for most manual events ({with_role:,} of {manual:,}): resources are pooled "
        f"by the activities they perform (those making at least 5% of a resource's events); resources with the "
        f"same set of activities form one pool; a pool with under 1% of the manual work joins the pool whose "
        f"activities overlap its own most ({len(names)} pools from {len(sets)} resources).")
