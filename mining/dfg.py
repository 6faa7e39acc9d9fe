"""Directly-follows graph of the filtered cases: edge frequencies, waiting times, activity and start/end counts."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from mining.cases import EVENT_ORDER
from mining.filters import Filters, case_selection


@dataclass
class DFG:
    """Directly-follows graph; every table is sorted by frequency (descending), then by name.

    - `edges`: source, target, frequency (times the target directly follows the source), cases (distinct cases
      with that step), and the waiting time in seconds: wait_median_s, wait_mean_s, wait_p90_s, wait_total_s.
      The wait runs from the end of the source to the start of the target when the target has a start time,
      else to its end (so on complete-only logs it is the time between the two completions). It is negative
      when the target started before the source ended (overlapping activity instances).
    - `activities`: activity, events, cases.
    - `start_activities` / `end_activities`: activity, cases whose first / last event it is.
    """

    edges: pd.DataFrame
    activities: pd.DataFrame
    start_activities: pd.DataFrame
    end_activities: pd.DataFrame


def dfg(con: duckdb.DuckDBPyConnection, filters: Filters) -> DFG:
    """Return the directly-follows graph of the cases passing `filters`, with waiting times per edge."""
    selection, params = case_selection(filters)
    events = f"""
        WITH selected AS ({selection}),
        ev AS (
            SELECT e.case_id, e.activity, e.start_time, e.end_time, e.event_id
            FROM events e JOIN selected USING (case_id)
            WHERE e.process = $f_process
        )
    """
    edges = con.execute(f"""
        {events},
        steps AS (
            SELECT case_id, activity AS source, end_time AS source_end,
                   lead(activity) OVER w AS target,
                   lead(coalesce(start_time, end_time)) OVER w AS target_time
            FROM ev
            WINDOW w AS (PARTITION BY case_id ORDER BY {EVENT_ORDER})
        ),
        waits AS (
            SELECT case_id, source, target, epoch(target_time - source_end) AS wait_s
            FROM steps WHERE target IS NOT NULL
        )
        SELECT source, target, count(*) AS frequency, count(DISTINCT case_id) AS cases,
               median(wait_s) AS wait_median_s, avg(wait_s) AS wait_mean_s,
               quantile_cont(wait_s, 0.9) AS wait_p90_s, sum(wait_s) AS wait_total_s
        FROM waits
        GROUP BY source, target
        ORDER BY frequency DESC, source, target
    """, params).df()
    activities = con.execute(f"""
        {events}
        SELECT activity, count(*) AS events, count(DISTINCT case_id) AS cases
        FROM ev GROUP BY activity ORDER BY events DESC, activity
    """, params).df()
    ends = con.execute(f"""
        {events},
        ends AS (
            SELECT case_id,
                   first(activity ORDER BY {EVENT_ORDER}) AS first_activity,
                   last(activity ORDER BY {EVENT_ORDER}) AS last_activity
            FROM ev GROUP BY case_id
        )
        SELECT 'start' AS side, first_activity AS activity, count(*) AS cases FROM ends GROUP BY first_activity
        UNION ALL
        SELECT 'end', last_activity, count(*) FROM ends GROUP BY last_activity
        ORDER BY side, cases DESC, activity
    """, params).df()
    start = ends[ends.side == "start"].drop(columns="side").reset_index(drop=True)
    end = ends[ends.side == "end"].drop(columns="side").reset_index(drop=True)
    return DFG(edges=edges, activities=activities, start_activities=start, end_activities=end)
