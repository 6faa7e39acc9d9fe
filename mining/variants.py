"""Variants (distinct activity sequences) of the filtered cases, and the duration of every case."""

from __future__ import annotations

import duckdb
import pandas as pd

from mining.cases import CASE_SUMMARY_SQL
from mining.filters import Filters, case_selection


def variants(con: duckdb.DuckDBPyConnection, filters: Filters, top: int | None = None) -> pd.DataFrame:
    """Return one row per variant, most frequent first: variant_id, activities (list), cases, share, coverage
    (cumulative share) and median_duration_s; only the first `top` rows when `top` is given."""
    selection, params = case_selection(filters)
    limit = ""
    if top is not None:
        params["v_top"] = int(top)
        limit = "LIMIT $v_top"
    return con.execute(f"""
        WITH selected AS ({selection}),
        per_case AS (SELECT s.* FROM ({CASE_SUMMARY_SQL}) s JOIN selected USING (case_id)),
        per_variant AS (
            SELECT variant_id, any_value(activities) AS activities, count(*) AS cases,
                   median(duration_s) AS median_duration_s
            FROM per_case GROUP BY variant_id
        )
        SELECT variant_id, activities, cases,
               cases / sum(cases) OVER () AS share,
               sum(cases) OVER (ORDER BY cases DESC, variant_id ROWS UNBOUNDED PRECEDING)
                   / sum(cases) OVER () AS coverage,
               median_duration_s
        FROM per_variant
        ORDER BY cases DESC, variant_id
        {limit}
    """, params).df()


def case_durations(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Return one row per passing case: case_id, start (earliest start or end time), end (latest end time) and
    duration_s (seconds), ordered by case_id."""
    selection, params = case_selection(filters)
    return con.execute(f"""
        WITH selected AS ({selection})
        SELECT s.case_id, s.case_start AS start, s.case_end AS "end", s.duration_s
        FROM ({CASE_SUMMARY_SQL}) s JOIN selected USING (case_id)
        ORDER BY s.case_id
    """, params).df()
