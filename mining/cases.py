"""Shared per-case SQL: the event order within a case, and one summary row per case of a process."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

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

    The key xors a 64-bit hash of (activity, position) over the events of the case: equal sequences get equal
    keys without building and comparing a list or string per case, which makes grouping cases by variant several
    times cheaper; two different sequences of the same length share a key with a chance of about 2^-64 per pair.
    The pair is folded into one integer before hashing: hash(a, b) combines the two hashes linearly, and a xor
    of such combinations would no longer depend on the order of the activities.
    """
    return f"""
        SELECT case_id, bit_xor(hash(xor(hash(activity), position::UBIGINT))) AS seq_hash, count(*) AS n_events,
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


# ----------------------------------------------------------------------------------------------------------------
# The case index: what every filter change would otherwise recompute from the events (a sort of all events of the
# process by case and EVENT_ORDER), computed once per workspace and process and kept as Arrow tables in this
# process, so that it outlives the connection it was built on (the app opens one per query).

INDEX_PREFIX = "_twinflow_index"
# Indexes kept, the most recently used first: at about 25 bytes an event, 8 indexes of 1M events are ~200 MB.
INDEX_ENTRIES = 8
_indexes: OrderedDict[tuple[str, str], tuple[tuple, dict[str, pa.Table]]] = OrderedDict()
_indexes_lock = threading.Lock()


@dataclass(frozen=True)
class CaseIndex:
    """Names under which the case index of one process is registered on a connection (Arrow-backed views).

    - `cases`: case_id, case_no (a number for the case, only meaningful within the index), case_start, case_end,
      duration_s (as in CASE_SUMMARY_SQL), seq_hash and n_events (the key of the case's activity sequence, as in
      sequence_key_sql but over activity codes).
    - `variants`: seq_hash, n_events, variant_id (as in CASE_SUMMARY_SQL) and activities, one row per key.
    - `activities`: activity and its code.
    - `steps`: case_no, source, position, target (activity codes; target is that of the next event, null for the
      last one) and wait_s, from the end of the source to the start of the target (else its end). Numbers rather
      than text keep it at about 24 bytes an event.
    """

    cases: str
    variants: str
    activities: str
    steps: str


def case_index(con: duckdb.DuckDBPyConnection, process: str) -> CaseIndex:
    """Register the case index of `process` on `con` and return the names of its tables; it is built on first use
    for the workspace file and process, and again whenever the process's events changed since.

    Events are only ever added, by imports that each record a new import id and their finish time, so the number
    of events, the latest import id and the latest finish time of the process tell whether the index is current
    (also when a workspace file is replaced by another one); they cost one narrow scan. An in-memory database
    has no path to key a cache by: its index is built on every call.
    """
    stamp = tuple(con.execute("""
        SELECT (SELECT count(*) FROM events WHERE process = $p),
               (SELECT coalesce(max(import_id), -1) FROM events WHERE process = $p),
               (SELECT max(finished_at) FROM imports WHERE process = $p)
    """, {"p": process}).fetchall()[0])
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
                       ).fetchall()[0][0]
    key = hashlib.md5(process.encode()).hexdigest()[:16]
    index = CaseIndex(*(f"{INDEX_PREFIX}_{key}_{part}" for part in ("cases", "variants", "activities", "steps")))
    cache_key = (str(Path(path).resolve()), process) if path else None
    with _indexes_lock:
        cached = _indexes.get(cache_key) if cache_key else None
        if cached is not None and cached[0] == stamp:
            _indexes.move_to_end(cache_key, last=False)
            tables = cached[1]
        else:
            cached = None
    if cached is None:
        tables = _build_index(con, process, index)
        if cache_key:
            with _indexes_lock:
                _indexes[cache_key] = (stamp, tables)
                _indexes.move_to_end(cache_key, last=False)
                while len(_indexes) > INDEX_ENTRIES:
                    _indexes.popitem()
    for part, table in tables.items():
        con.register(getattr(index, part), table)
    return index


def _build_index(con: duckdb.DuckDBPyConnection, process: str, index: CaseIndex) -> dict[str, pa.Table]:
    params = {"f_process": process}
    spans = f"{INDEX_PREFIX}_spans"
    tables = {"activities": con.sql("""
        SELECT activity, (row_number() OVER (ORDER BY activity))::INTEGER AS code
        FROM (SELECT DISTINCT activity FROM events WHERE process = $f_process)
    """, params=params).to_arrow_table()}
    con.register(index.activities, tables["activities"])
    con.register(spans, con.sql(f"SELECT (row_number() OVER ())::INTEGER AS case_no, * FROM ({CASE_SPAN_SQL})",
                                params=params).to_arrow_table())
    try:
        # The one sort of all events; partitioning by a number is cheaper than by the case id text.
        tables["steps"] = con.sql(f"""
            SELECT c.case_no, a.code AS source, (row_number() OVER w)::INTEGER AS position,
                   lead(a.code) OVER w AS target,
                   epoch(lead(coalesce(e.start_time, e.end_time)) OVER w - e.end_time) AS wait_s
            FROM events e
            JOIN {spans} c ON c.case_id = e.case_id
            JOIN {index.activities} a ON a.activity = e.activity
            WHERE e.process = $f_process
            WINDOW w AS (PARTITION BY c.case_no ORDER BY e.end_time, e.start_time, e.event_id)
        """, params=params).to_arrow_table()
        con.register(index.steps, tables["steps"])
        tables["cases"] = con.sql(f"""
            SELECT c.case_id, c.case_no, c.case_start, c.case_end, c.duration_s, k.seq_hash, k.n_events
            FROM {spans} c
            JOIN (SELECT case_no, bit_xor(hash((source::UBIGINT << 32) | position::UBIGINT)) AS seq_hash,
                         count(*) AS n_events
                  FROM {index.steps} GROUP BY case_no) k ON k.case_no = c.case_no
        """).to_arrow_table()
    finally:
        con.unregister(spans)
    con.register(index.cases, tables["cases"])
    tables["variants"] = con.sql(variant_of_keys_sql(index.cases), params=params).to_arrow_table()
    return tables


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """Execute `sql` with those of `params` it names (DuckDB rejects unused named parameters) into a frame."""
    used = set(re.findall(r"\$(\w+)", sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used}).df()
