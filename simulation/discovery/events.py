"""Reading the events: the temporary tables of the selected events and of their cases that every later step
queries, and the time zone the log's times are read in (as asked, from a case attribute, or detected)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from mining.cases import EVENT_ORDER
from mining.filters import case_selection, is_unfiltered
from simulation.discovery.sql import fetchall
from simulation.discovery.state import Discovery
from simulation.zones import ZoneDetection, detect_timezone

# An event done by a system (role 'system', a configured system resource, a resource called 'system') or by no
# known resource.
SYSTEM_EVENT = """(coalesce(role, '') = 'system' OR list_contains($systems, resource)
                  OR lower(coalesce(resource, '')) = 'system' OR resource IS NULL)"""


def create_tables(state: Discovery) -> None:
    """Create the temp tables of the selected events (state.ev) and of their cases (state.cs)."""
    selection, params = case_selection(state.filters)
    where = "true" if is_unfiltered(state.filters) else "case_id IN (SELECT case_id FROM selected)"
    cte = "" if is_unfiltered(state.filters) else f"WITH selected AS ({selection})"
    order = EVENT_ORDER
    params = {**params, "f_process": state.process, "systems": state.systems}
    # One row per selected event, in case order, with what came before it in its case and for its resource.
    fetchall(state.con, f"""
        CREATE TEMP TABLE {state.ev} AS
        {cte}
        SELECT case_id, activity, start_time, end_time, resource, role, role AS grp, event_id,
               {SYSTEM_EVENT} AS sys,
               row_number() OVER w AS pos,
               lag(end_time) OVER w AS prev_end,
               lag(activity) OVER w AS prev_activity,
               lead(activity) OVER w AS next_activity,
               CASE WHEN resource IS NOT NULL
                    THEN lag(end_time) OVER (PARTITION BY resource ORDER BY end_time, event_id) END
                   AS res_prev_end,
               CAST(NULL AS TIMESTAMPTZ) AS est_start
        FROM events
        WHERE process = $f_process AND {where}
        WINDOW w AS (PARTITION BY case_id ORDER BY {order})
    """, params)
    state.con.execute(f"""
        CREATE TEMP TABLE {state.cs} AS
        SELECT s.case_id, s.arrival, s.case_end, c.amount, c.currency, c.site, c.department, c.attributes
        FROM (SELECT case_id, min(coalesce(start_time, end_time)) AS arrival, max(end_time) AS case_end
              FROM {state.ev} GROUP BY case_id) s
        LEFT JOIN cases c ON c.process = $p AND c.case_id = s.case_id
    """, {"p": state.process}).fetchall()


def read_timezone(state: Discovery) -> str:
    """Return the time zone to read the log's times in; where it came from goes to state.tz_source."""
    state.tz_detected = False
    if state.tz_arg:
        ZoneInfo(state.tz_arg)
        state.tz_source = "as asked"
        return state.tz_arg
    rows = fetchall(state.con, f"""
        SELECT json_extract_string(attributes, '$.timezone') AS tz, count(*) AS n FROM {state.cs}
        WHERE json_extract_string(attributes, '$.timezone') IS NOT NULL
        GROUP BY tz ORDER BY n DESC, tz
    """)
    for tz, _ in rows:
        try:
            ZoneInfo(tz)
            state.tz_source = "the case attribute timezone, its most frequent value"
            return tz
        except (KeyError, ValueError):
            continue
    # No zone given: people keep local office hours, so the zone whose clock changes the working day follows
    # reads their calendars without the hour's blur at every change (validation still measures in UTC).
    detection = _detect_timezone(state)
    state.tz_detected = detection.detected
    back = " (read on the selected cases back to the log's start)" if state.filters.time_from else ""
    state.tz_source = ("detected" if detection.detected else "the default") + ", no zone given and no case " \
        f"attribute timezone{back}: {detection.note}"
    return detection.zone


def _detect_timezone(state: Discovery) -> ZoneDetection:
    if state.filters.time_from is None:
        return detect_timezone(state.con, state.ev)
    # A daylight-saving rule shows across the seasons only, which a window of recent cases may not span: read
    # the selected cases back to the log's start, never past the window's end (a validation's training model
    # sees nothing of its test period).
    selection, params = case_selection(state.filters.model_copy(update={"time_from": None}))
    table = f"{state.ev}_tz"
    fetchall(state.con, f"""
        CREATE TEMP TABLE {table} AS
        WITH selected AS ({selection})
        SELECT start_time, end_time, resource, activity, {SYSTEM_EVENT} AS sys FROM events
        WHERE process = $f_process AND case_id IN (SELECT case_id FROM selected)
    """, {**params, "systems": state.systems})
    try:
        return detect_timezone(state.con, table)
    finally:
        state.con.execute(f"DROP TABLE IF EXISTS {table}").fetchall()
