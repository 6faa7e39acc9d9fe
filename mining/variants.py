"""Variants (distinct activity sequences) of the filtered cases, and the duration of every case."""

from __future__ import annotations

import duckdb
import pandas as pd

from mining.cases import case_index, run
from mining.filters import Filters, in_selection, indexed_selection


def variants(con: duckdb.DuckDBPyConnection, filters: Filters, top: int | None = None) -> pd.DataFrame:
    """Return one row per variant, most frequent first: variant_id, activities (list), cases, share, coverage
    (cumulative share) and median_duration_s; only the first `top` rows when `top` is given."""
    index = case_index(con, filters.process)
    selection, params = indexed_selection(filters, index.cases, index.variants)
    limit = ""
    if top is not None:
        params["v_top"] = int(top)
        limit = "LIMIT $v_top"
    return run(con, f"""
        WITH selected AS ({selection}),
        per_key AS (
            SELECT seq_hash, n_events, count(*) AS cases, median(duration_s) AS median_duration_s
            FROM {index.cases} WHERE {in_selection(filters)} GROUP BY seq_hash, n_events
        ),
        per_variant AS (
            SELECT v.variant_id, v.activities, k.cases, k.median_duration_s
            FROM per_key k JOIN {index.variants} v USING (seq_hash, n_events)
        )
        SELECT variant_id, activities, cases,
               cases / sum(cases) OVER () AS share,
               sum(cases) OVER (ORDER BY cases DESC, variant_id ROWS UNBOUNDED PRECEDING)
                   / sum(cases) OVER () AS coverage,
               median_duration_s
        FROM per_variant
        ORDER BY cases DESC, variant_id
        {limit}
    """, params)


def case_durations(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Return one row per passing case: case_id, start (earliest start or end time), end (latest end time) and
    duration_s (seconds), ordered by case_id."""
    index = case_index(con, filters.process)
    selection, params = indexed_selection(filters, index.cases, index.variants)
    return run(con, f"""
        WITH selected AS ({selection})
        SELECT case_id, case_start AS start, case_end AS "end", duration_s
        FROM {index.cases}
        WHERE {in_selection(filters)}
        ORDER BY case_id
    """, params)
