"""Shared per-case SQL: the event order within a case, and one summary row per case of a process."""

from __future__ import annotations

# Ordering is part of the data: within a case events follow (end_time, start_time, event_id), never row order.
# DuckDB sorts NULL start times last, so among events ending together one without a start comes last.
EVENT_ORDER = "end_time, start_time, event_id"

# One row per case of the process bound to $f_process: its start (earliest known time), end, duration in
# seconds, activity sequence in event order and variant id (md5 of the activities joined with chr(31)).
CASE_SUMMARY_SQL = f"""
    SELECT case_id,
           min(coalesce(start_time, end_time)) AS case_start,
           max(end_time) AS case_end,
           epoch(max(end_time) - min(coalesce(start_time, end_time))) AS duration_s,
           list(activity ORDER BY {EVENT_ORDER}) AS activities,
           md5(string_agg(activity, chr(31) ORDER BY {EVENT_ORDER})) AS variant_id
    FROM events
    WHERE process = $f_process
    GROUP BY case_id
"""

# The same start, end and duration without the activity sequence: no ordered aggregate, so several times cheaper;
# for the views and filters that need only the span of a case.
CASE_SPAN_SQL = """
    SELECT case_id,
           min(coalesce(start_time, end_time)) AS case_start,
           max(end_time) AS case_end,
           epoch(max(end_time) - min(coalesce(start_time, end_time))) AS duration_s
    FROM events
    WHERE process = $f_process
    GROUP BY case_id
"""


def sequence_key_sql(events: str) -> str:
    """Return SQL with one row per case of `events` (a subquery of events rows): case_id, seq_hash and n_events
    (together a key of the activity sequence), case_start, case_end and duration_s.

    The key sums a 64-bit hash of (activity, position) over the events of the case: equal sequences get equal
    keys without building and comparing a list or string per case, which makes grouping cases by variant several
    times cheaper; two different sequences of the same length share a key with a chance of about 2^-64 per pair.
    """
    return f"""
        SELECT case_id, sum(hash(activity, position)) AS seq_hash, count(*) AS n_events,
               min(coalesce(start_time, end_time)) AS case_start, max(end_time) AS case_end,
               epoch(max(end_time) - min(coalesce(start_time, end_time))) AS duration_s
        FROM (SELECT case_id, activity, start_time, end_time,
                     row_number() OVER (PARTITION BY case_id ORDER BY {EVENT_ORDER}) AS position
              FROM ({events}))
        GROUP BY case_id
    """


def variant_of_keys_sql(keys: str) -> str:
    """Return SQL with one row per distinct sequence key of `keys` (rows of `sequence_key_sql`, named as a CTE or
    table): seq_hash, n_events, variant_id (md5 of the activities joined with chr(31), as in CASE_SUMMARY_SQL) and
    activities, computed from one example case per key only."""
    return f"""
        SELECT k.seq_hash, k.n_events, x.variant_id, x.activities
        FROM (SELECT seq_hash, n_events, min(case_id) AS example FROM {keys} GROUP BY seq_hash, n_events) k
        JOIN (SELECT case_id, list(activity ORDER BY {EVENT_ORDER}) AS activities,
                     md5(string_agg(activity, chr(31) ORDER BY {EVENT_ORDER})) AS variant_id
              FROM events
              WHERE process = $f_process
                AND case_id IN (SELECT min(case_id) FROM {keys} GROUP BY seq_hash, n_events)
              GROUP BY case_id) x ON x.case_id = k.example
    """
