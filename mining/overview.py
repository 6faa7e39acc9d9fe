"""What a workspace holds: processes, activities, imports and volume over time."""

from __future__ import annotations

import duckdb
import pandas as pd


def processes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Return one row per process: cases, events, activities, resources, time span and share with start times."""
    return con.execute("""
        SELECT process,
               count(DISTINCT case_id) AS cases,
               count(*) AS events,
               count(DISTINCT activity) AS activities,
               count(DISTINCT resource) AS resources,
               min(coalesce(start_time, end_time)) AS first_event,
               max(end_time) AS last_event,
               round(count(start_time) / count(*), 4) AS share_with_start
        FROM events
        GROUP BY process
        ORDER BY process
    """).df()


def activities(con: duckdb.DuckDBPyConnection, process: str) -> pd.DataFrame:
    """Return activities of one process with their event and case counts, most frequent first."""
    return con.execute("""
        SELECT activity, count(*) AS events, count(DISTINCT case_id) AS cases
        FROM events WHERE process = ?
        GROUP BY activity
        ORDER BY events DESC, activity
    """, [process]).df()


def events_per_month(con: duckdb.DuckDBPyConnection, process: str | None = None) -> pd.DataFrame:
    """Return events per calendar month (UTC) and process, optionally for one process."""
    return con.execute("""
        SELECT process, CAST(date_trunc('month', end_time) AS DATE) AS month, count(*) AS events
        FROM events
        WHERE $process IS NULL OR process = $process
        GROUP BY ALL
        ORDER BY process, month
    """, {"process": process}).df()


def imports(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Return the provenance of every import, newest first."""
    return con.execute("""
        SELECT import_id, process, kind, location, rows_read, rows_accepted, rows_rejected,
               events_added, events_duplicate, started_at, finished_at,
               round(epoch(finished_at - started_at), 2) AS seconds, content_hash, twinflow_version
        FROM imports
        ORDER BY import_id DESC
    """).df()


def workspace_version(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Return (number of imports, latest import id): it changes with every import that commits."""
    count, latest = con.execute("SELECT count(*), coalesce(max(import_id), 0) FROM imports").fetchall()[0]
    return int(count), int(latest)
