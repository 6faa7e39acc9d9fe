"""Bottlenecks of the filtered cases: activities, transitions and resources ranked by their share of the waiting,
where that waiting concentrates (site, department, resource, weekday), its trend, and a one-line finding each.

The waiting before an event runs from the end of the previous event of its case to the event's start, or to its
end when it has no start (as in the DFG and the Performance page). Not all waiting is a queue in front of people,
so every activity gets a wait kind, and the ranking is by the waiting for people:

- ``people``: done by a person; the work waited for someone to pick it up;
- ``system``: done by a system (role 'system', a configured system resource or a configured system activity):
  timers, batch runs, interfaces;
- ``external``: done by a party outside the organisation (a configured role such as 'external');
- ``scheduled``: done by a person but on a date the case carries (a due date, a planned start date): the
  completion follows that date far more tightly than it follows the moment the work became ready, so the wait
  is by design. Detected from the case's date attributes, or configured.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from mining.cases import EVENT_ORDER
from mining.filters import Filters, case_selection
from mining.process_map import format_duration

WAIT_KINDS = ("people", "system", "external", "scheduled")
DEFINITIONS: dict[str, str] = {
    "people": "done by a person; the work waited for someone to pick it up (a queue).",
    "system": "done by a system (role 'system' or a configured system resource): timers, batch runs, interfaces.",
    "external": "done by, or waiting for, a party outside the organisation (a supplier, a register).",
    "scheduled": "done by a person on a date the case carries (a due date, a planned start date): waiting by "
                 "design, detected when the completion follows that date far more tightly than the moment the "
                 "work became ready.",
}
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
RANK_COLUMNS = ["rank", "events", "cases", "wait_total_h", "share_of_people_waiting", "share_of_all_waiting",
                "wait_median_h", "wait_p90_h", "wait_kind", "finding"]


class BottleneckConfig(BaseModel):
    """Which performers are systems or external parties, which activities wait for a date, and the time zone
    in which weekdays are read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system_resources: list[str] = Field(default_factory=list,
                                        description="resources that are systems, besides every role 'system'")
    external_roles: list[str] = Field(default_factory=lambda: ["external"],
                                      description="roles of parties outside the organisation")
    scheduled_activities: dict[str, str] = Field(
        default_factory=dict, description="activity -> what it waits for by design (e.g. 'the due date')")
    external_activities: dict[str, str] = Field(
        default_factory=dict, description="activity -> the outside party it waits for (e.g. 'the supplier's "
                                          "delivery'), though a person records it")
    system_activities: dict[str, str] = Field(
        default_factory=dict, description="activity -> why a system does it though the log names a person or "
                                          "nobody (e.g. 'closed by a timer'); its wait is no queue for people")
    detect_scheduled: bool = Field(True, description="find date-driven activities from the case's date attributes")
    schedule_ratio: float = Field(0.5, gt=0, description="an activity is date-driven when the spread (IQR) of its "
                                                         "end around a case date is below this share of the "
                                                         "spread of its waiting")
    schedule_min_wait_h: float = Field(24.0, ge=0, description="only activities with a median wait above this")
    timezone: str = Field("UTC", description="zone in which weekdays and months are read")
    top: int = Field(10, ge=1, description="findings written for this many items of each ranking")
    min_events: int = Field(20, ge=1, description="fewest events behind a statement about a segment or weekday")


def default_config(process: str, timezone: str = "UTC") -> BottleneckConfig:
    """Return the configuration for a process of the demo organisation (known outside waits), else the default."""
    # A store keeper records "Receive goods" when the delivery arrives: the wait before it is the supplier's
    # lead time, not a queue in front of the store.
    external = {"purchase_requests": {"Receive goods": "the supplier's delivery"},
                "inventory_exceptions": {"Receive goods": "the supplier's delivery"}}
    return BottleneckConfig(external_activities=external.get(process, {}), timezone=timezone)


@dataclass
class Bottlenecks:
    """Rankings of activities, transitions and resources (most waiting for people first), the wait kind of every
    activity, and the findings in plain language, most important first."""

    activities: pd.DataFrame
    transitions: pd.DataFrame
    resources: pd.DataFrame
    wait_kinds: pd.DataFrame
    findings: list[str] = field(default_factory=list)
    total_wait_h: float = 0.0
    people_wait_h: float = 0.0


def _consume(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    return con.execute(sql, params or {}).df()


def _create_waits(con: duckdb.DuckDBPyConnection, table: str, filters: Filters, tz: str) -> None:
    selection, params = case_selection(filters)
    params["tz"] = tz
    # One row per event that has a predecessor in its case; weekday and month of the moment the work became
    # ready are read in the chosen zone (ISO weekday 1 = Monday).
    con.execute(f"""
        CREATE TEMP TABLE {table} AS
        WITH selected AS ({selection}),
        ev AS (
            SELECT e.case_id, e.activity, e.resource, e.role, e.start_time, e.end_time,
                   coalesce(c.site, e.site) AS site, coalesce(c.department, e.department) AS department,
                   lag(e.activity) OVER w AS prev_activity, lag(e.end_time) OVER w AS ready
            FROM events e JOIN selected USING (case_id)
            LEFT JOIN cases c ON c.process = e.process AND c.case_id = e.case_id
            WHERE e.process = $f_process
            WINDOW w AS (PARTITION BY e.case_id ORDER BY {', '.join('e.' + c for c in EVENT_ORDER.split(', '))})
        )
        SELECT case_id, activity, prev_activity, resource, role, site, department, end_time, ready,
               epoch(coalesce(start_time, end_time) - ready) / 3600.0 AS wait_h,
               isodow(timezone($tz, ready)) AS ready_dow,
               isodow(timezone($tz, end_time)) AS end_dow,
               date_trunc('month', timezone($tz, ready)) AS month
        FROM ev WHERE ready IS NOT NULL
    """, params).fetchall()


def _date_attributes(con: duckdb.DuckDBPyConnection, process: str) -> list[str]:
    """Return the case attribute keys whose values are dates in at least 90% of the cases that have them."""
    rows = con.execute("""
        WITH kv AS (
            SELECT unnest(json_keys(attributes)) AS k, attributes FROM cases
            WHERE process = $p AND attributes IS NOT NULL
        )
        SELECT k FROM kv
        GROUP BY k
        HAVING avg((try_cast(json_extract_string(attributes, '$."' || replace(k, '"', '\\"') || '"') AS DATE)
                    IS NOT NULL)::INT) >= 0.9
        ORDER BY k
    """, {"p": process}).fetchall()
    return [r[0] for r in rows]


def _scheduled_by_dates(con: duckdb.DuckDBPyConnection, table: str, process: str, config: BottleneckConfig,
                        people_activities: list[str]) -> dict[str, str]:
    """Return activity -> the date attribute its completion follows, for the date-driven activities."""
    found: dict[str, str] = {}
    if not people_activities:
        return found
    for key in _date_attributes(con, process):
        rows = con.execute(f"""
            WITH d AS (
                SELECT w.activity, w.wait_h,
                       epoch(w.end_time - try_cast(json_extract_string(c.attributes,
                             '$."' || replace($k, '"', '\\"') || '"') AS DATE)) / 3600.0 AS from_date_h
                FROM {table} w JOIN cases c ON c.process = $p AND c.case_id = w.case_id
                WHERE list_contains($acts, w.activity)
            )
            SELECT activity,
                   quantile_cont(wait_h, 0.75) - quantile_cont(wait_h, 0.25) AS wait_iqr,
                   quantile_cont(from_date_h, 0.75) - quantile_cont(from_date_h, 0.25) AS date_iqr,
                   median(wait_h) AS wait_median
            FROM d WHERE from_date_h IS NOT NULL
            GROUP BY activity HAVING count(*) >= $n
        """, {"k": key, "p": process, "acts": people_activities, "n": config.min_events}).fetchall()
        for activity, wait_iqr, date_iqr, wait_median in rows:
            if (activity not in found and wait_median is not None and wait_median >= config.schedule_min_wait_h
                    and wait_iqr and date_iqr is not None and date_iqr < config.schedule_ratio * wait_iqr):
                found[activity] = key
    return found


def wait_kinds(con: duckdb.DuckDBPyConnection, table: str, process: str, config: BottleneckConfig) -> pd.DataFrame:
    """Return one row per activity: events, majority role, wait kind and why (see the module docstring)."""
    kinds = _consume(con, f"""
        SELECT activity, count(*) AS events, mode(role) AS role,
               avg((role = 'system' OR list_contains($systems, resource))::INT) AS system_share,
               avg((list_contains($externals, role))::INT) AS external_share
        FROM {table} GROUP BY activity ORDER BY activity
    """, {"systems": list(config.system_resources), "externals": list(config.external_roles)})
    kinds["wait_kind"] = "people"
    kinds["why"] = "done by people"
    kinds.loc[kinds.external_share > 0.5, ["wait_kind", "why"]] = ["external", "done by an outside party"]
    kinds.loc[kinds.system_share > 0.5, ["wait_kind", "why"]] = ["system", "done by a system (timer, batch)"]
    for activity, why in config.external_activities.items():
        kinds.loc[kinds.activity == activity, ["wait_kind", "why"]] = ["external", f"waits for {why}"]
    people = kinds.loc[kinds.wait_kind == "people", "activity"].tolist()
    scheduled = {a: f"waits for {why}" for a, why in config.scheduled_activities.items() if a in people}
    if config.detect_scheduled:
        for activity, key in _scheduled_by_dates(con, table, process, config,
                                                 [a for a in people if a not in scheduled]).items():
            scheduled[activity] = f"follows the case's {key}, not the moment the work was ready"
    for activity, why in scheduled.items():
        kinds.loc[kinds.activity == activity, ["wait_kind", "why"]] = ["scheduled", why]
    # Last, and only over people: a configured outside party or schedule says more about the wait than "a system".
    for activity, why in config.system_activities.items():
        kinds.loc[(kinds.activity == activity) & (kinds.wait_kind == "people"), ["wait_kind", "why"]] = ["system", why]
    return kinds[["activity", "events", "role", "wait_kind", "why"]]


def _rank(df: pd.DataFrame, total: float, people_total: float) -> pd.DataFrame:
    df = df.copy()
    df["share_of_all_waiting"] = df["wait_total_h"] / total if total else 0.0
    df["share_of_people_waiting"] = df["wait_total_h"].where(df["wait_kind"] == "people", 0.0) / (
        people_total if people_total else 1.0)
    order = df["wait_kind"].map({k: i for i, k in enumerate(WAIT_KINDS)})
    df = df.assign(_order=order).sort_values(["_order", "wait_total_h"], ascending=[True, False], kind="stable")
    df = df.drop(columns="_order").reset_index(drop=True)
    df["rank"] = range(1, len(df) + 1)
    df["finding"] = ""
    return df


def _hours(h: float | None) -> str:
    return format_duration(None if h is None or pd.isna(h) else h * 3600)


def _segment_phrase(con: duckdb.DuckDBPyConnection, table: str, activity: str, config: BottleneckConfig) -> str:
    """Return ' at <site>, <department>' when one segment holds a disproportionate part of the activity's
    waiting (at least a third of it, and at least 1.5 times its share of the events), else ''."""
    rows = con.execute(f"""
        SELECT site, department, count(*) AS n, sum(wait_h) AS wait,
               sum(wait_h) / nullif(sum(sum(wait_h)) OVER (), 0) AS wait_share,
               count(*) / sum(count(*)) OVER () AS event_share
        FROM {table} WHERE activity = $a
        GROUP BY site, department ORDER BY wait DESC NULLS LAST LIMIT 1
    """, {"a": activity}).fetchall()
    if not rows:
        return ""
    site, department, n, _, wait_share, event_share = rows[0]
    if (n < config.min_events or wait_share is None or wait_share < 1 / 3 or not event_share
            or wait_share < 1.5 * event_share or (site is None and department is None)):
        return ""
    where = ", ".join(str(p) for p in (site, department) if p is not None)
    return f" at {where} ({wait_share:.0%} of this step's waiting, {event_share:.0%} of its events)"


def _resource_phrase(con: duckdb.DuckDBPyConnection, table: str, activity: str, config: BottleneckConfig) -> str:
    rows = con.execute(f"""
        SELECT resource, count(*) AS n, sum(wait_h) / nullif(sum(sum(wait_h)) OVER (), 0) AS wait_share,
               count(*) / sum(count(*)) OVER () AS event_share, count(*) OVER () AS performers
        FROM {table} WHERE activity = $a AND resource IS NOT NULL
        GROUP BY resource ORDER BY sum(wait_h) DESC NULLS LAST LIMIT 1
    """, {"a": activity}).fetchall()
    if not rows:
        return ""
    resource, n, wait_share, event_share, performers = rows[0]
    if (performers < 2 or n < config.min_events or wait_share is None or wait_share < 1 / 3
            or wait_share < 1.5 * event_share):
        return ""
    return f"; {wait_share:.0%} of it waits for {resource} ({event_share:.0%} of the events)"


def _weekday_phrase(con: duckdb.DuckDBPyConnection, table: str, column: str, value: str,
                    people_acts: list[str], config: BottleneckConfig) -> str:
    """Return ', worst for work arriving on <weekday>s (median ...)': the weekday on which this item's median
    wait most exceeds the median wait of all waiting for people on that weekday."""
    rows = con.execute(f"""
        WITH mine AS (
            SELECT ready_dow, count(*) AS n, median(wait_h) AS med FROM {table}
            WHERE {column} = $v GROUP BY ready_dow
        ),
        everyone AS (
            SELECT ready_dow, median(wait_h) AS med FROM {table} WHERE list_contains($acts, activity)
            GROUP BY ready_dow
        )
        SELECT mine.ready_dow, mine.med, mine.med / nullif(everyone.med, 0) AS ratio
        FROM mine JOIN everyone USING (ready_dow)
        WHERE mine.n >= $n
        ORDER BY ratio DESC NULLS LAST, mine.ready_dow LIMIT 1
    """, {"v": value, "n": config.min_events, "acts": people_acts}).fetchall()
    if not rows or rows[0][2] is None or rows[0][2] <= 1.0:
        return ""
    dow, med, _ = rows[0]
    return f", worst for work arriving on {WEEKDAYS[dow - 1]} (median {_hours(med)})"


def _trend_phrase(con: duckdb.DuckDBPyConnection, table: str, column: str, value: str) -> str:
    """Return ', rising' / ', falling' with the medians of the first and last third of the months, or ''."""
    months = con.execute(f"""
        SELECT month, median(wait_h) AS med, count(*) AS n FROM {table} WHERE {column} = $v
        GROUP BY month ORDER BY month
    """, {"v": value}).df()
    months = months[months.n >= 5]
    if len(months) < 3:
        return ""
    third = max(1, len(months) // 3)
    first, last = months.med.iloc[:third].median(), months.med.iloc[-third:].median()
    if not first or pd.isna(first) or pd.isna(last):
        return ""
    change = last / first - 1
    if abs(change) < 0.25:
        return ", stable over the period"
    word = "rising" if change > 0 else "falling"
    return f", {word} (median {_hours(first)} in the first months, {_hours(last)} in the last)"


def _absence_phrase(con: duckdb.DuckDBPyConnection, table: str, resource: str, role: str | None) -> str:
    """Return '; completes no work on <weekday>s' for working weekdays on which the resource's role peers
    complete at least 8% of their work and the resource under 1%."""
    rows = con.execute(f"""
        WITH mine AS (
            SELECT end_dow, count(*) / sum(count(*)) OVER () AS share FROM {table}
            WHERE resource = $r GROUP BY end_dow
        ),
        peers AS (
            SELECT end_dow, count(*) / sum(count(*)) OVER () AS share FROM {table}
            WHERE role IS NOT DISTINCT FROM $role AND resource IS DISTINCT FROM $r GROUP BY end_dow
        )
        SELECT peers.end_dow, coalesce(mine.share, 0) AS mine
        FROM peers LEFT JOIN mine USING (end_dow)
        WHERE peers.share >= 0.08 AND coalesce(mine.share, 0) < 0.01
        ORDER BY peers.end_dow
    """, {"r": resource, "role": role}).fetchall()
    if not rows:
        return ""
    days = " and ".join(WEEKDAYS[d - 1] for d, _ in rows)
    never = all(share == 0 for _, share in rows)
    return f"; {'completes no work' if never else 'hardly ever completes work'} on {days}"


def bottlenecks(con: duckdb.DuckDBPyConnection, filters: Filters,
                config: BottleneckConfig | None = None) -> Bottlenecks:
    """Return the activities, transitions and resources of the filtered cases ranked by waiting for people, with
    the wait kind of every activity and a one-line finding for the top items."""
    config = config or BottleneckConfig()
    table = f"_waits_{uuid.uuid4().hex}"
    _create_waits(con, table, filters, config.timezone)
    try:
        return _bottlenecks(con, table, filters.process, config)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}").fetchall()


def _bottlenecks(con: duckdb.DuckDBPyConnection, table: str, process: str, config: BottleneckConfig) -> Bottlenecks:
    kinds = wait_kinds(con, table, process, config)
    kind_of = dict(zip(kinds.activity, kinds.wait_kind, strict=True))
    people_acts = [a for a, k in kind_of.items() if k == "people"]
    totals = con.execute(f"""
        SELECT coalesce(sum(wait_h), 0), coalesce(sum(wait_h) FILTER (WHERE list_contains($acts, activity)), 0)
        FROM {table}
    """, {"acts": people_acts}).fetchall()[0]
    total, people_total = float(totals[0]), float(totals[1])
    stats = """count(*) AS events, count(DISTINCT case_id) AS cases, sum(wait_h) AS wait_total_h,
               median(wait_h) AS wait_median_h, quantile_cont(wait_h, 0.9) AS wait_p90_h"""
    activities = _consume(con, f"SELECT activity, {stats} FROM {table} GROUP BY activity")
    activities = activities.merge(kinds[["activity", "role", "wait_kind", "why"]], on="activity")
    activities = _rank(activities, total, people_total)

    transitions = _consume(con, f"SELECT prev_activity, activity, {stats} FROM {table} GROUP BY ALL")
    transitions["wait_kind"] = transitions["activity"].map(kind_of)
    transitions = _rank(transitions, total, people_total)

    # A resource's main activity is where most of its waiting is, the one its peers are compared on.
    resources = _consume(con, f"""
        WITH per AS (
            SELECT resource, activity, sum(wait_h) AS w, median(wait_h) AS med FROM {table}
            WHERE resource IS NOT NULL AND list_contains($acts, activity) GROUP BY ALL
        ),
        main AS (
            SELECT resource, arg_max(activity, w) AS main_activity, arg_max(med, w) AS main_median_h
            FROM per GROUP BY resource
        )
        SELECT resource, mode(role) AS role, {stats}, any_value(main.main_activity) AS main_activity,
               any_value(main.main_median_h) AS main_median_h
        FROM {table} JOIN main USING (resource)
        WHERE list_contains($acts, activity)
        GROUP BY resource
    """, {"acts": people_acts})
    resources["wait_kind"] = "people"
    resources = _rank(resources, total, people_total)
    resources = _with_peer_medians(con, table, resources)

    findings: list[tuple[float, str]] = []
    for i, row in activities.head(config.top).iterrows():
        if row.wait_kind != "people":
            text = (f"{row.activity}: {row.share_of_all_waiting:.0%} of all waiting, median {_hours(row.wait_median_h)}"
                    f" — not a queue: {kinds.loc[kinds.activity == row.activity, 'why'].iloc[0]}")
        else:
            text = (f"{row.activity}{_segment_phrase(con, table, row.activity, config)}: "
                    f"{row.share_of_people_waiting:.0%} of all waiting for people, median {_hours(row.wait_median_h)}"
                    f"{_weekday_phrase(con, table, 'activity', row.activity, people_acts, config)}"
                    f"{_trend_phrase(con, table, 'activity', row.activity)}"
                    f"{_resource_phrase(con, table, row.activity, config)}")
        activities.at[i, "finding"] = text
        findings.append((row.share_of_people_waiting, text))
    for i, row in resources.head(config.top).iterrows():
        peer = ""
        if pd.notna(row.peer_median_h):
            peer = f" against {_hours(row.peer_median_h)} for the others doing {row.main_activity}"
        role = f" ({row.role})" if isinstance(row.role, str) and row.role else ""
        text = (f"{row.resource}{role}: {row.share_of_people_waiting:.0%} of all waiting for people, "
                f"median {_hours(row.main_median_h)} on {row.main_activity}{peer}"
                f"{_absence_phrase(con, table, row.resource, row.role)}"
                f"{_trend_phrase(con, table, 'resource', row.resource)}")
        resources.at[i, "finding"] = text
        findings.append((row.share_of_people_waiting, text))
    for i, row in transitions.head(config.top).iterrows():
        transitions.at[i, "finding"] = (
            f"{row.prev_activity} → {row.activity}: {row.share_of_all_waiting:.0%} of all waiting, "
            f"median {_hours(row.wait_median_h)} ({row.wait_kind})")
    findings.sort(key=lambda f: -f[0])
    scheduled = [t for _, t in findings if "not a queue" in t]
    ordered = [t for _, t in findings if "not a queue" not in t] + scheduled
    return Bottlenecks(activities=activities, transitions=transitions, resources=resources, wait_kinds=kinds,
                       findings=ordered, total_wait_h=total, people_wait_h=people_total)


def _with_peer_medians(con: duckdb.DuckDBPyConnection, table: str, resources: pd.DataFrame) -> pd.DataFrame:
    """Add peer_median_h: the median wait of the other performers of each resource's main activity."""
    if resources.empty:
        return resources.assign(peer_median_h=pd.Series(dtype="float64"))
    pairs = resources[["resource", "main_activity"]]
    peers = con.execute(f"""
        SELECT p.resource, median(w.wait_h) AS peer_median_h
        FROM (SELECT unnest($r) AS resource, unnest($a) AS main_activity) p
        JOIN {table} w ON w.activity = p.main_activity AND w.resource IS DISTINCT FROM p.resource
        GROUP BY p.resource
    """, {"r": pairs.resource.tolist(), "a": pairs.main_activity.tolist()}).df()
    return resources.merge(peers, on="resource", how="left")
