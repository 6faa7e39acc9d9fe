"""Performance views of the filtered cases: timelines, throughput, waiting and processing, arrivals, workload
and handovers. All times are UTC and all durations are in seconds.

The waiting time before an event runs from the end of the previous event of its case to the event's start, or
to its end when it has no start time (as for the edges of the DFG); the first event of a case has none.
Processing is end - start where the start is known, else null.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pandas as pd

from mining.cases import CASE_SPAN_SQL, EVENT_ORDER
from mining.filters import Filters, case_selection, in_selection
from mining.process_map import format_duration

FREQUENCIES = ("week", "month")
HANDOVER_BY = ("role", "resource")

# Events of the selected cases in case order, with their waiting and processing times; needs `selected` unless
# the filters are empty (format it with in_selection).
_SEQUENCE_SQL = f"""
    ev AS (
        SELECT e.case_id, e.event_id, e.activity, e.start_time, e.end_time, e.resource, e.role
        FROM events e
        WHERE e.process = $f_process AND {{in_selection}}
    ),
    seq AS (
        SELECT *,
               row_number() OVER w AS position,
               lag(resource) OVER w AS prev_resource,
               lag(role) OVER w AS prev_role,
               epoch(coalesce(start_time, end_time) - lag(end_time) OVER w) AS waiting_s,
               epoch(end_time - start_time) AS processing_s
        FROM ev
        WINDOW w AS (PARTITION BY case_id ORDER BY {EVENT_ORDER})
    )
"""


def case_timeline(con: duckdb.DuckDBPyConnection, process: str, case_id: str) -> pd.DataFrame:
    """Return the events of one case in order: position, activity, start, end (UTC), resource, role, waiting_s
    (seconds since the previous event ended) and processing_s (end - start, null without a start)."""
    return con.execute(f"""
        WITH selected AS (SELECT $t_case AS case_id),
        {_SEQUENCE_SQL.format(in_selection="e.case_id IN (SELECT case_id FROM selected)")}
        SELECT position, activity, start_time AS start, end_time AS "end", resource, role, waiting_s,
               processing_s, event_id
        FROM seq ORDER BY position
    """, {"f_process": process, "t_case": case_id}).df()


def case_attributes(con: duckdb.DuckDBPyConnection, process: str, case_id: str) -> dict:
    """Return the attributes of one case: its typed columns that are set plus its JSON attributes ({} if none)."""
    rows = con.execute("""
        SELECT amount, currency, site, department, attributes FROM cases
        WHERE process = $f_process AND case_id = $t_case
    """, {"f_process": process, "t_case": case_id}).fetchall()
    if not rows:
        return {}
    amount, currency, site, department, attributes = rows[0]
    typed = {"amount": amount, "currency": currency, "site": site, "department": department}
    found = {k: v for k, v in typed.items() if v is not None}
    extra = json.loads(attributes) if isinstance(attributes, str) else (attributes or {})
    if isinstance(extra, dict):
        found.update({k: v for k, v in extra.items() if k not in found})
    return found


def throughput(con: duckdb.DuckDBPyConnection, filters: Filters, freq: str = "week") -> pd.DataFrame:
    """Return one row per week (starting Monday) or month, UTC, without gaps: period, cases_started,
    cases_ended and median_cycle_time_s (seconds) of the cases ended in it."""
    if freq not in FREQUENCIES:
        raise ValueError(f"unknown frequency {freq!r}: use one of {', '.join(FREQUENCIES)}")
    selection, params = case_selection(filters)
    params["t_freq"] = freq
    found = con.execute(f"""
        WITH selected AS ({selection}),
        per_case AS (SELECT s.* FROM ({CASE_SPAN_SQL}) s WHERE {in_selection(filters, "s.case_id")}),
        started AS (
            SELECT date_trunc($t_freq, timezone('UTC', case_start)) AS period, count(*) AS cases_started
            FROM per_case GROUP BY period
        ),
        ended AS (
            SELECT date_trunc($t_freq, timezone('UTC', case_end)) AS period, count(*) AS cases_ended,
                   median(duration_s) AS median_cycle_time_s
            FROM per_case GROUP BY period
        )
        SELECT period, coalesce(cases_started, 0) AS cases_started, coalesce(cases_ended, 0) AS cases_ended,
               median_cycle_time_s
        FROM started FULL JOIN ended USING (period)
        ORDER BY period
    """, params).df()
    columns = ["period", "cases_started", "cases_ended", "median_cycle_time_s"]
    if found.empty:
        return found[columns]
    found["period"] = pd.to_datetime(found["period"])
    periods = pd.date_range(found["period"].min(), found["period"].max(), freq="W-MON" if freq == "week" else "MS")
    out = found.set_index("period").reindex(periods).rename_axis("period").reset_index()
    out[["cases_started", "cases_ended"]] = out[["cases_started", "cases_ended"]].fillna(0).astype("int64")
    return out[columns]


def activity_times(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Return one row per activity, most total waiting first: events; waiting before it (seconds) as
    wait_median_s, wait_mean_s, wait_p90_s, wait_total_s and wait_share (of all waiting); processing (seconds,
    where the start is known) as processing_median_s, processing_mean_s, processing_p90_s."""
    selection, params = case_selection(filters)
    return con.execute(f"""
        WITH selected AS ({selection}),
        {_SEQUENCE_SQL.format(in_selection=in_selection(filters, "e.case_id"))}
        SELECT activity, count(*) AS events,
               median(waiting_s) AS wait_median_s, avg(waiting_s) AS wait_mean_s,
               quantile_cont(waiting_s, 0.9) AS wait_p90_s, coalesce(sum(waiting_s), 0) AS wait_total_s,
               coalesce(sum(waiting_s), 0) / nullif(sum(sum(waiting_s)) OVER (), 0) AS wait_share,
               median(processing_s) AS processing_median_s, avg(processing_s) AS processing_mean_s,
               quantile_cont(processing_s, 0.9) AS processing_p90_s
        FROM seq GROUP BY activity
        ORDER BY wait_total_s DESC, activity
    """, params).df()


def arrival_heatmap(con: duckdb.DuckDBPyConnection, filters: Filters, tz: str = "UTC") -> pd.DataFrame:
    """Return 7 x 24 rows weekday (0 = Monday), hour, cases: the cases whose first event falls in that hour of
    that weekday in the IANA time zone `tz`."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc
    selection, params = case_selection(filters)
    params["t_tz"] = tz
    return con.execute(f"""
        WITH selected AS ({selection}),
        per_case AS (SELECT s.* FROM ({CASE_SPAN_SQL}) s WHERE {in_selection(filters, "s.case_id")}),
        local AS (SELECT timezone($t_tz, case_start) AS t FROM per_case),
        counts AS (SELECT isodow(t) - 1 AS weekday, hour(t) AS hour, count(*) AS cases FROM local GROUP BY ALL),
        grid AS (SELECT d.range AS weekday, h.range AS hour FROM range(7) d CROSS JOIN range(24) h)
        SELECT grid.weekday::INTEGER AS weekday, grid.hour::INTEGER AS hour, coalesce(cases, 0) AS cases
        FROM grid LEFT JOIN counts USING (weekday, hour)
        ORDER BY weekday, hour
    """, params).df()


def resource_workload(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Return one row per resource (null when unknown), most events first: events, cases, role (the most
    frequent one), busy_s (sum of processing seconds where the start is known) and share of all events."""
    selection, params = case_selection(filters)
    return con.execute(f"""
        WITH selected AS ({selection}),
        {_SEQUENCE_SQL.format(in_selection=in_selection(filters, "e.case_id"))}
        SELECT resource, count(*) AS events, count(DISTINCT case_id) AS cases, mode(role) AS role,
               sum(processing_s) AS busy_s, count(*) / sum(count(*)) OVER () AS share
        FROM seq GROUP BY resource
        ORDER BY events DESC, resource NULLS LAST
    """, params).df()


def handovers(con: duckdb.DuckDBPyConnection, filters: Filters, by: str = "role") -> pd.DataFrame:
    """Return the handovers between roles or resources, most frequent first: source, target (different and both
    known, target directly following source in a case), count, cases and wait_median_s (seconds)."""
    if by not in HANDOVER_BY:
        raise ValueError(f"unknown handover level {by!r}: use one of {', '.join(HANDOVER_BY)}")
    selection, params = case_selection(filters)
    # `by` is one of HANDOVER_BY, so only a fixed column name becomes SQL text.
    return con.execute(f"""
        WITH selected AS ({selection}),
        {_SEQUENCE_SQL.format(in_selection=in_selection(filters, "e.case_id"))}
        SELECT prev_{by} AS source, {by} AS target, count(*) AS count, count(DISTINCT case_id) AS cases,
               median(waiting_s) AS wait_median_s
        FROM seq
        WHERE prev_{by} IS NOT NULL AND {by} IS NOT NULL AND prev_{by} <> {by}
        GROUP BY ALL
        ORDER BY count DESC, source, target
    """, params).df()


def _quote(text: object) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def handover_dot(df: pd.DataFrame) -> str:
    """Return Graphviz DOT text of a `handovers` table: one node per role/resource, edges labelled with the
    handover count and median wait, thicker for more handovers."""
    names = sorted(set(df["source"]) | set(df["target"])) if not df.empty else []
    ids = {name: f"n{i}" for i, name in enumerate(names)}
    lines = ["digraph handovers {", "  rankdir=LR;", '  node [shape=box, style="rounded,filled", '
             'fillcolor="#deebf7", fontname="Helvetica"];', '  edge [fontname="Helvetica", color="#555555"];']
    lines += [f"  {ids[name]} [label={_quote(name)}];" for name in names]
    top = max(df["count"].max(), 1) if not df.empty else 1
    for row in df.itertuples(index=False):
        label = f"{row.count:,} / {format_duration(row.wait_median_s)}"
        width = 1 + 4 * row.count / top
        lines.append(f"  {ids[row.source]} -> {ids[row.target]} [label={_quote(' ' + label)}, "
                     f"penwidth={width:.2f}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
