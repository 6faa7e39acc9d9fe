"""Variants (distinct activity sequences) of the filtered cases, and the duration of every case."""

from __future__ import annotations

import duckdb
import pandas as pd

from mining.cases import CASE_SPAN_SQL, sequence_key_sql, variant_of_keys_sql
from mining.filters import Filters, case_selection, in_selection


def variants(con: duckdb.DuckDBPyConnection, filters: Filters, top: int | None = None) -> pd.DataFrame:
    """Return one row per variant, most frequent first: variant_id, activities (list), cases, share, coverage
    (cumulative share) and median_duration_s; only the first `top` rows when `top` is given."""
    selection, params = case_selection(filters)
    limit = ""
    if top is not None:
        params["v_top"] = int(top)
        limit = "LIMIT $v_top"
    events = f"SELECT * FROM events WHERE process = $f_process AND {in_selection(filters)}"
    # Cases are grouped by a hash key of their sequence; the md5 id and the activity list are built once per
    # variant (from one example case), not once per case.
    return con.execute(f"""
        WITH selected AS ({selection}),
        keyed AS MATERIALIZED ({sequence_key_sql(events)}),
        per_key AS (
            SELECT seq_hash, n_events, count(*) AS cases, median(duration_s) AS median_duration_s
            FROM keyed GROUP BY seq_hash, n_events
        ),
        per_variant AS (
            SELECT v.variant_id, v.activities, k.cases, k.median_duration_s
            FROM per_key k JOIN ({variant_of_keys_sql('keyed')}) v USING (seq_hash, n_events)
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
        FROM ({CASE_SPAN_SQL}) s
        WHERE {in_selection(filters, "s.case_id")}
        ORDER BY s.case_id
    """, params).df()
