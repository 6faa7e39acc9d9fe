"""Data-quality report: quarantined rows, truncated cases, overlapping instances and outlying timestamps."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

# An activity counts as a usual first activity when at least this share of cases start with it.
USUAL_START_SHARE = 0.05
# Outlying timestamps lie this many interquartile ranges beyond the quartiles of their process.
FENCE_IQR = 3.0


@dataclass
class QualityReport:
    """Tables of the data-quality report; each holds one row per process (or per process and reason)."""

    rejects_by_reason: pd.DataFrame
    unusual_starts: pd.DataFrame
    overlapping_instances: pd.DataFrame
    outlying_timestamps: pd.DataFrame


def quality_report(con: duckdb.DuckDBPyConnection, process: str | None = None) -> QualityReport:
    """Return the data-quality report for one process, or for all when `process` is None."""
    p = {"process": process}
    rejects = con.execute("""
        SELECT process, reason, count(*) AS rows
        FROM rejects WHERE $process IS NULL OR process = $process
        GROUP BY ALL ORDER BY process, rows DESC, reason
    """, p).df()
    # Ordering is part of the data: (end_time, start_time, event_id) within a case, never row order.
    starts = con.execute(f"""
        WITH firsts AS (
            SELECT process, case_id,
                   arg_min(activity, (end_time, coalesce(start_time, end_time), event_id)) AS first_activity
            FROM events WHERE $process IS NULL OR process = $process
            GROUP BY process, case_id
        ),
        counts AS (
            SELECT process, first_activity, count(*) AS n FROM firsts GROUP BY process, first_activity
        ),
        shares AS (
            SELECT process, first_activity, n, n / sum(n) OVER (PARTITION BY process) AS share FROM counts
        )
        SELECT process,
               CAST(sum(n) AS BIGINT) AS cases,
               CAST(coalesce(sum(n) FILTER (WHERE share < {USUAL_START_SHARE}), 0) AS BIGINT)
                   AS cases_without_usual_start,
               string_agg(first_activity, ', ' ORDER BY first_activity)
                   FILTER (WHERE share >= {USUAL_START_SHARE}) AS usual_first_activities
        FROM shares
        GROUP BY process ORDER BY process
    """, p).df()
    overlaps = con.execute("""
        WITH ordered AS (
            SELECT process, case_id, resource, start_time,
                   max(end_time) OVER (PARTITION BY process, case_id ORDER BY start_time, end_time, event_id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS busy_until,
                   max(end_time) OVER (PARTITION BY process, case_id, resource
                                       ORDER BY start_time, end_time, event_id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS resource_busy_until
            FROM events
            WHERE start_time IS NOT NULL AND ($process IS NULL OR process = $process)
        )
        SELECT process,
               count(*) AS instances_with_start,
               count(*) FILTER (WHERE start_time < busy_until) AS overlapping_in_case,
               count(*) FILTER (WHERE resource IS NOT NULL AND start_time < resource_busy_until)
                   AS overlapping_same_resource,
               count(DISTINCT case_id) FILTER (WHERE start_time < busy_until) AS cases_with_overlap
        FROM ordered GROUP BY process ORDER BY process
    """, p).df()
    outliers = con.execute(f"""
        WITH bounds AS (
            SELECT process,
                   quantile_cont(epoch(end_time), 0.25) AS q1,
                   quantile_cont(epoch(end_time), 0.75) AS q3
            FROM events WHERE $process IS NULL OR process = $process GROUP BY process
        )
        SELECT e.process,
               to_timestamp(b.q1 - {FENCE_IQR} * (b.q3 - b.q1)) AS usual_from,
               to_timestamp(b.q3 + {FENCE_IQR} * (b.q3 - b.q1)) AS usual_to,
               count(*) FILTER (WHERE epoch(e.end_time) < b.q1 - {FENCE_IQR} * (b.q3 - b.q1)) AS before_usual,
               count(*) FILTER (WHERE epoch(e.end_time) > b.q3 + {FENCE_IQR} * (b.q3 - b.q1)) AS after_usual,
               count(*) FILTER (WHERE e.end_time > now()) AS in_future
        FROM events e JOIN bounds b USING (process)
        GROUP BY e.process, b.q1, b.q3 ORDER BY e.process
    """, p).df()
    return QualityReport(rejects, starts, overlaps, outliers)


def rejected_rows(con: duckdb.DuckDBPyConnection, process: str, limit: int = 200) -> pd.DataFrame:
    """Return a sample of the quarantined rows of one process, in import and row order."""
    return con.execute(
        "SELECT row_number, reason, raw FROM rejects WHERE process = ? ORDER BY import_id, row_number LIMIT ?",
        [process, limit],
    ).df()
