"""Start times: which activities have recorded starts, which are instantaneous, and, for work by people recorded
with ends only, the estimated start of each event."""

from __future__ import annotations

import pandas as pd

from simulation.discovery.sql import frame
from simulation.discovery.state import Discovery


def estimate_starts(state: Discovery) -> None:
    """Set how each activity starts (recorded, estimated or instant) and write the estimated starts."""
    acts = frame(state.con, f"""
        SELECT activity, count(*) AS n, count(start_time) AS starts, avg(sys::INT) AS sys_share
        FROM {state.ev} GROUP BY activity ORDER BY activity
    """)
    state.automated = {a: bool(s > 0.5) for a, s in zip(acts.activity, acts.sys_share, strict=True)}
    has_starts = {a: s >= 0.5 * n for a, n, s in zip(acts.activity, acts.n, acts.starts, strict=True)}
    state.start_rule = {}
    for a in acts.activity:
        if state.mode == "always" and not state.automated[a]:
            state.start_rule[a] = "estimated"
        elif has_starts[a]:
            state.start_rule[a] = "recorded"
        elif state.mode == "auto" and not state.automated[a]:
            state.start_rule[a] = "estimated"
        else:
            state.start_rule[a] = "instant"
    estimated = sorted(a for a, r in state.start_rule.items() if r == "estimated")
    if estimated:
        # The earliest a person can have started: the end of the case's previous event (enablement) and of
        # their own previous event (availability), and not before the start of the shift in which the work
        # ended, or of the last shift before it that day (else a night off would count as work); work ending
        # before the day's first shift started no earlier than the hour it ended in; on a day without
        # shifts, no earlier than local midnight.
        rows = [(g, d, h, _bound_hour(h, hs_all)) for g, wh in state.work_hours.items()
                for d, hs_all in wh.items() for h in range(24)]
        shift_starts = pd.DataFrame(rows, columns=["grp", "dow", "h", "first_h"]) if rows else \
            pd.DataFrame({"grp": pd.Series(dtype=str), "dow": pd.Series(dtype=int),
                          "h": pd.Series(dtype=int), "first_h": pd.Series(dtype=int)})
        state.con.register("_disc_shift_starts", shift_starts)
        try:
            state.con.execute(f"""
                UPDATE {state.ev} e SET est_start = least(e.end_time, x.est)
                FROM (
                    SELECT e.event_id, greatest(e.prev_end, e.res_prev_end,
                           timezone($tz, date_trunc('day', timezone($tz, e.end_time))
                                    + to_hours(coalesce(s.first_h, 0)::BIGINT))) AS est
                    FROM {state.ev} e
                    LEFT JOIN _disc_shift_starts s ON s.grp = e.grp
                         AND s.dow = isodow(timezone($tz, e.end_time)) - 1
                         AND s.h = hour(timezone($tz, e.end_time))
                    WHERE list_contains($acts, e.activity)) x
                WHERE e.event_id = x.event_id AND list_contains($acts, e.activity)
            """, {"tz": state.tz, "acts": estimated}).fetchall()
        finally:
            state.con.unregister("_disc_shift_starts")
    recorded = sorted(a for a, r in state.start_rule.items() if r == "recorded")
    instant = sorted(a for a, r in state.start_rule.items() if r == "instant")
    state.notes["start times"] = (
        f"start_estimation={state.mode}. Recorded starts used for {len(recorded)} activities"
        + (f"; starts estimated for {len(estimated)} ({', '.join(estimated)}) as the latest of the end of the "
           "case's previous event (when the work became ready), the end of the performer's previous event "
           "(when they became free) and the start of the role's shift in which (or after which) the work ended "
           "(the hour it ended in when that was before the day's first shift; local midnight without shifts) "
           "— the usual enablement / resource-availability rule (a case's first event, which has no "
           "enablement, only when its activity has fewer than 20 others); it overstates "
           "processing when people do not pick work up at once, and is exact when they do"
           if estimated else "")
        + (f"; instantaneous (no start recorded{', done by a system' if state.mode != 'none' else ''}): "
           f"{', '.join(instant)}" if instant else "") + ".")


def _bound_hour(h: int, hours: list[int]) -> int:
    """Return the hour from which work ending in hour `h` can have started: the start of the shift (run of
    working hours) holding h or, after it, of the last shift that started before h; h itself before any shift."""
    starts = [r[0] for r in _runs(hours) if r[0] <= h]
    return starts[-1] if starts else h


def _runs(hours: list[int]) -> list[list[int]]:
    """Return the runs of consecutive hours."""
    out: list[list[int]] = []
    for h in sorted(hours):
        if out and h == out[-1][-1] + 1:
            out[-1].append(h)
        else:
            out.append([h])
    return out
