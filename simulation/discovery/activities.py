"""Activities: each activity of the model assembled from the earlier findings (role, processing time, delays,
calendar, batches), with its note."""

from __future__ import annotations

import pandas as pd

from simulation.discovery.sql import frame
from simulation.discovery.state import Discovery
from simulation.fitting import Fit
from simulation.spec import Activity, fixed

# A step done by people without recorded starts that opens more than this share of its cases is done at the arrival.
AT_ARRIVAL_SHARE = 0.5


def assemble_activities(state: Discovery, durations: dict[str, Fit | None], delays: dict[str, Fit]) -> list[Activity]:
    """Return the model's activities: role, processing time, delays and calendar, each explained in the notes."""
    info = frame(state.con, f"""
        SELECT activity, count(*) AS n, avg(pos) AS pos, mode(grp) FILTER (WHERE NOT sys) AS grp,
               avg((prev_end IS NULL)::DOUBLE) AS opens
        FROM {state.ev} GROUP BY activity ORDER BY avg(pos), activity
    """)
    out: list[Activity] = []
    for a, n, _, grp, opens in info.itertuples(index=False):
        automated = state.automated[a]
        role = None if automated or grp is None or pd.isna(grp) else str(grp)
        # Without a start, a case's first step has no enablement, and the arrival is read from its end: the
        # twin has it done at the arrival rather than queue it and add a duration after the arrival.
        estimated = role is not None and state.start_rule[a] == "estimated"
        at_arrival = estimated and opens > AT_ARRIVAL_SHARE
        fit = durations.get(a)
        delay = delays.get(a)
        text = f"{n:,} events; " + ("automated (done by a system or nobody known)" if automated
                                   else f"role {role}" if role else "no performer known")
        if a in state.batched:
            text += f"; {state.batched[a]}"
        if fit is not None:
            text += (f"; processing ({state.start_rule[a]} starts"
                     + (", counted in working time: work left at a shift's end goes on at the next"
                        if estimated else "") + f", n={fit.n:,}): {fit.note}")
        else:
            text += "; processing: instantaneous (no start)"
        if delay is not None:
            text += f"; delay before it ({state.wait_kind.get(a)}): {delay.note}"
        after = state.delay_after.get(a)
        for p, f in (after or {}).items():
            text += f"; delay after {p}: " + (f.note if f is not None else "none")
        if a in state.working_time_delay:
            text += " (delays in the working time of its role)"
        if at_arrival:
            text += (f"; it opens {opens:.0%} of its cases, with no start recorded: a case that starts with it "
                     "has it done at the arrival, which was read from its end")
        kwargs: dict = {"duration": fit.distribution} if fit is not None else {}
        calendar = state.system_calendars.get(a) if role is None else None
        if calendar is not None:
            kwargs["calendar"] = calendar.name
            text += f"; runs in the hours of calendar {calendar.name}"
        if role is not None and role in state.split_from:
            attrs, routes = state.role_by[state.split_from[role]]
            kwargs |= {"role_by": attrs, "roles": routes}
            text += (f" (one of {len(routes)} roles of {state.split_from[role]}, by {' · '.join(attrs)}; the "
                     "others' values route to theirs)")
            routed = set(routes.values()) & state.role_names
            own = {r: f for r, f in state.duration_by_role.get(a, {}).items() if r in routed}
            if own:
                kwargs["duration_by_role"] = {r: f.distribution for r, f in own.items()}
                text += ("; processing differs by role (the one above is the other roles'): "
                         + "; ".join(f"{r}: {f.note}" for r, f in own.items()))
        state.notes[f"activity {a}"] = text
        if after:
            kwargs["delay_after"] = {p: f.distribution if f is not None else fixed(0.0)
                                     for p, f in after.items()}
        out.append(Activity(name=str(a), role=role, automated=automated,
                            delay=delay.distribution if delay is not None else None,
                            delay_in_working_time=a in state.working_time_delay, at_arrival=at_arrival,
                            duration_in_working_time=estimated, **kwargs))
    return out
