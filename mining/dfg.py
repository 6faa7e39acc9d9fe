"""Directly-follows graph of the filtered cases: edge frequencies, waiting times, activity and start/end counts."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from mining.cases import EVENT_ORDER
from mining.filters import Filters, case_selection, in_selection


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
    # One window pass over the events feeds all four tables: the steps are materialised once, not per table.
    found = con.execute(f"""
        WITH selected AS ({selection}),
        steps AS MATERIALIZED (
            SELECT case_id, activity,
                   lead(activity) OVER w AS target,
                   epoch(lead(coalesce(start_time, end_time)) OVER w - end_time) AS wait_s,
                   row_number() OVER w = 1 AS is_first
            FROM events
            WHERE process = $f_process AND {in_selection(filters)}
            WINDOW w AS (PARTITION BY case_id ORDER BY {EVENT_ORDER})
        )
        SELECT 0 AS part, activity AS source, target, count(*) AS frequency, count(DISTINCT case_id) AS cases,
               median(wait_s) AS wait_median_s, avg(wait_s) AS wait_mean_s,
               quantile_cont(wait_s, 0.9) AS wait_p90_s, sum(wait_s) AS wait_total_s
        FROM steps WHERE target IS NOT NULL GROUP BY activity, target
        UNION ALL
        SELECT 1, activity, NULL, count(*), count(DISTINCT case_id), NULL, NULL, NULL, NULL
        FROM steps GROUP BY activity
        UNION ALL
        SELECT 2, activity, NULL, count(*), count(*), NULL, NULL, NULL, NULL
        FROM steps WHERE is_first GROUP BY activity
        UNION ALL
        SELECT 3, activity, NULL, count(*), count(*), NULL, NULL, NULL, NULL
        FROM steps WHERE target IS NULL GROUP BY activity
        ORDER BY part, frequency DESC, source, target
    """, params).df()

    def part(number: int, columns: list[str], names: dict[str, str]) -> pd.DataFrame:
        return found[found.part == number][columns].rename(columns=names).reset_index(drop=True)

    return DFG(
        edges=part(0, ["source", "target", "frequency", "cases", "wait_median_s", "wait_mean_s", "wait_p90_s",
                       "wait_total_s"], {}),
        activities=part(1, ["source", "frequency", "cases"], {"source": "activity", "frequency": "events"}),
        start_activities=part(2, ["source", "cases"], {"source": "activity"}),
        end_activities=part(3, ["source", "cases"], {"source": "activity"}),
    )
