"""Batches: activities people do for many cases at once, and the recurring local times their runs start at."""

from __future__ import annotations

from simulation.discovery.sql import frame
from simulation.discovery.state import Discovery
from simulation.spec import WEEKDAYS, ScheduledAction


def find_batches(state: Discovery) -> list[ScheduledAction]:
    """Return a schedule for each activity people do in batches (most of its events share performer, start
    and end with other events) at recurring local times."""
    rows = frame(state.con, f"""
        SELECT activity, count(*) AS n, count(DISTINCT (resource, start_time, end_time)) AS runs
        FROM (SELECT activity, resource, end_time,
                     CASE WHEN list_contains($est, activity) THEN est_start ELSE start_time END AS start_time
              FROM {state.ev} WHERE NOT sys)
        WHERE start_time IS NOT NULL
        GROUP BY activity HAVING count(*) >= 20 AND runs <= 0.5 * count(*) ORDER BY activity
    """, {"est": [a for a, r in state.start_rule.items() if r == "estimated"]})
    state.batched = {}
    state.scheduled = set()
    out: list[ScheduledAction] = []
    for a, n, runs in rows.itertuples(index=False):
        starts = frame(state.con, f"""
            SELECT isodow(t) - 1 AS dow, (round((hour(t) * 60 + minute(t)) / 5) * 5)::INT AS minute,
                   count(*) AS runs
            FROM (SELECT DISTINCT resource, end_time,
                         timezone($tz, CASE WHEN list_contains($est, activity) THEN est_start
                                            ELSE start_time END) AS t
                  FROM {state.ev} WHERE activity = $a AND NOT sys)
            WHERE t IS NOT NULL GROUP BY ALL ORDER BY dow, minute
        """, {"a": a, "tz": state.tz, "est": [x for x, r in state.start_rule.items() if r == "estimated"]})
        total = starts.runs.sum()
        days = starts.groupby("dow").runs.sum()
        days = sorted(int(d) for d, v in days.items() if v >= 0.05 * total)
        times = starts.groupby("minute").runs.sum()
        times = sorted(int(m) for m, v in times.items() if v >= 0.1 * total)[:6]
        text = (f"done in batches: {n:,} events in {runs:,} runs ({n / runs:.0f} cases a run); the processing "
                "time below is a case's share of its run (the run's duration / its cases), so that the role's "
                "workload matches the log")
        if days and times and times[-1] < 24 * 60:
            hhmm = [f"{m // 60:02d}:{m % 60:02d}" for m in times]
            share = starts[starts.minute.isin(times) & starts.dow.isin(days)].runs.sum() / total
            state.scheduled.add(str(a))
            out.append(ScheduledAction(activity=str(a), days=[WEEKDAYS[d] for d in days], times=hhmm,
                                       timezone=state.tz))
            text += (f"; runs start on {', '.join(WEEKDAYS[d] for d in days)} at {', '.join(hhmm)} {state.tz} "
                     f"({share:.0%} of the runs): a schedule policy")
        else:
            text += "; at no recurring time"
        state.batched[a] = text
    return out
