"""Directly-follows graph of the filtered cases: edge frequencies, waiting times, activity and start/end counts."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from mining.cases import case_index, run
from mining.filters import Filters, in_selection, indexed_selection


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
    index = case_index(con, filters.process)
    selection, params = indexed_selection(filters, index.cases, index.variants)
    # Counts come from the variants of the selected cases (a handful of lists weighted by their case counts);
    # only the waiting times need the steps of every case.
    found = run(con, f"""
        WITH selected AS ({selection}),
        per_key AS MATERIALIZED (
            SELECT seq_hash, n_events, count(*) AS cases
            FROM {index.cases} WHERE {in_selection(filters)} GROUP BY seq_hash, n_events
        ),
        items AS MATERIALIZED (
            SELECT k.seq_hash, k.n_events, k.cases, unnest(v.activities) AS activity,
                   unnest(v.activities[2:] || [NULL::VARCHAR]) AS target,
                   generate_subscripts(v.activities, 1) AS pos
            FROM per_key k JOIN {index.variants} v USING (seq_hash, n_events)
        ),
        edge_counts AS (
            SELECT activity AS source, target, sum(cases) AS frequency
            FROM items WHERE target IS NOT NULL GROUP BY activity, target
        ),
        edge_cases AS (
            SELECT activity AS source, target, sum(cases) AS cases
            FROM (SELECT DISTINCT seq_hash, n_events, cases, activity, target FROM items WHERE target IS NOT NULL)
            GROUP BY activity, target
        ),
        activity_events AS (SELECT activity, sum(cases) AS events FROM items GROUP BY activity),
        activity_cases AS (
            SELECT activity, sum(cases) AS cases
            FROM (SELECT DISTINCT seq_hash, n_events, cases, activity FROM items) GROUP BY activity
        ),
        waits AS (
            SELECT a.activity AS source, b.activity AS target, w.* EXCLUDE (source, target)
            FROM (SELECT source, target, median(wait_s) AS wait_median_s, avg(wait_s) AS wait_mean_s,
                         quantile_cont(wait_s, 0.9) AS wait_p90_s, sum(wait_s) AS wait_total_s
                  FROM {index.steps}
                  WHERE target IS NOT NULL AND {in_selection(filters, "case_no", "case_no")}
                  GROUP BY source, target) w
            JOIN {index.activities} a ON a.code = w.source
            JOIN {index.activities} b ON b.code = w.target
        )
        SELECT 0 AS part, source, target, frequency::BIGINT AS frequency, c.cases::BIGINT AS cases,
               wait_median_s, wait_mean_s, wait_p90_s, wait_total_s
        FROM edge_counts JOIN edge_cases c USING (source, target) JOIN waits USING (source, target)
        UNION ALL
        SELECT 1, activity, NULL, events::BIGINT, cases::BIGINT, NULL, NULL, NULL, NULL
        FROM activity_events JOIN activity_cases USING (activity)
        UNION ALL
        SELECT 2, activity, NULL, sum(cases)::BIGINT, sum(cases)::BIGINT, NULL, NULL, NULL, NULL
        FROM items WHERE pos = 1 GROUP BY activity
        UNION ALL
        SELECT 3, activity, NULL, sum(cases)::BIGINT, sum(cases)::BIGINT, NULL, NULL, NULL, NULL
        FROM items WHERE target IS NULL GROUP BY activity
        ORDER BY part, frequency DESC, source, target
    """, params)

    def part(number: int, columns: list[str], names: dict[str, str]) -> pd.DataFrame:
        return found[found.part == number][columns].rename(columns=names).reset_index(drop=True)

    return DFG(
        edges=part(0, ["source", "target", "frequency", "cases", "wait_median_s", "wait_mean_s", "wait_p90_s",
                       "wait_total_s"], {}),
        activities=part(1, ["source", "frequency", "cases"], {"source": "activity", "frequency": "events"}),
        start_activities=part(2, ["source", "cases"], {"source": "activity"}),
        end_activities=part(3, ["source", "cases"], {"source": "activity"}),
    )
