"""Where the rework is: per activity, the cases in which it is rework, ranked.

Two kinds of rework show in an event log. A *repeat*: an activity occurs again after other activities in the
same case (A B A; A A is one run, not rework) — the definition of the rework-rate KPI. A *correction*: an
activity that exists only to undo or redo earlier work, such as reassigning a misrouted ticket, reopening it or
resetting a bill to draft; every occurrence is rework even when nothing repeats. Corrections are named by the
caller or, by default, recognised from the activity name (see CORRECTION_PATTERN).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from mining.cases import EVENT_ORDER
from mining.filters import Filters, case_selection

# Verbs that undo or redo earlier work, at the start of an activity name (case-insensitive).
CORRECTION_PATTERN = (r"^\s*(re-?(assign|open|set|submit|do|work|route|direct|turn|send|enter|schedule|issue|book)"
                      r"|correct|redo|cancel|revers|undo|return)")
REWORK_COLUMNS = ["activity", "kind", "cases", "share", "events"]


def correction_activities(con: duckdb.DuckDBPyConnection, process: str) -> list[str]:
    """Return the activities of `process` whose names mark them as corrections (CORRECTION_PATTERN)."""
    rows = con.execute("""
        SELECT DISTINCT activity FROM events
        WHERE process = $p AND regexp_matches(activity, $pattern, 'i')
        ORDER BY activity
    """, {"p": process, "pattern": CORRECTION_PATTERN}).fetchall()
    return [r[0] for r in rows]


def rework(con: duckdb.DuckDBPyConnection, filters: Filters, corrections: list[str] | None = None) -> pd.DataFrame:
    """Return one row per activity that is rework in some selected case, most cases first: kind ('correction'
    or 'repeat'), the cases where it is rework, their share of the selected cases, and its rework events."""
    if corrections is None:
        corrections = correction_activities(con, filters.process)
    selection, params = case_selection(filters)
    params["corrections"] = list(corrections)
    found = con.execute(f"""
        WITH selected AS ({selection}),
        ev AS (
            SELECT e.case_id, e.activity,
                   lag(e.activity) OVER (PARTITION BY e.case_id
                                         ORDER BY {', '.join('e.' + c for c in EVENT_ORDER.split(', '))}) AS prev
            FROM events e JOIN selected USING (case_id)
            WHERE e.process = $f_process
        ),
        per_case AS (
            -- A run of an activity starts where the previous event is another activity; two runs make a repeat.
            SELECT case_id, activity, count(*) AS n,
                   count(*) FILTER (WHERE prev IS DISTINCT FROM activity) AS runs
            FROM ev GROUP BY case_id, activity
        ),
        reworked AS (
            SELECT case_id, activity, list_contains($corrections, activity) AS is_correction, n, runs
            FROM per_case
            WHERE list_contains($corrections, activity) OR runs >= 2
        )
        SELECT activity,
               CASE WHEN bool_or(is_correction) THEN 'correction' ELSE 'repeat' END AS kind,
               count(*) AS cases,
               count(*) / (SELECT count(*) FROM selected) AS share,
               -- a correction is rework every time; a repeated activity from its second occurrence on
               sum(CASE WHEN is_correction THEN n ELSE n - 1 END) AS events
        FROM reworked GROUP BY activity
        ORDER BY cases DESC, activity
    """, params).df()
    return found[REWORK_COLUMNS]
