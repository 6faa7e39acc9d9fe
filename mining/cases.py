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
