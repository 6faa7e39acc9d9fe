"""KPIs of the filtered cases of one process: cycle time, approval turnaround, touchless, exception, rework and
first-time-right rates, manual touches, SLA adherence and cost per case.

Every configured name and number (systems, activities, targets, minutes, rates) is a bound parameter, never SQL
text. Within a case events follow (end_time, start_time, event_id). An event is by a system when its role is
'system' or its resource is one of `system_resources`; a manual touch is an event with a resource that is not a
system (events without a resource are by nobody known and are not touches).
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from mining.cases import EVENT_ORDER, case_index
from mining.filters import TYPED_CASE_COLUMNS, Filters, in_selection, indexed_selection
from synthetic.params import ServiceParams

SYSTEM_ROLE = "system"
APPROVAL_PREFIX = "Approve"

DEFINITIONS: dict[str, str] = {
    "cycle time": "Hours from the first known time of a case (its earliest start, else its earliest end) to the "
                  "end of its last event; shown as median, mean and 90th percentile over the cases.",
    "approval turnaround": "Per approval activity: hours from the end of the previous event of the case (the "
                           "moment the approval became ready) to the end of the approval. Approvals that open a "
                           "case have no previous event and are left out.",
    "touchless rate": "Share of cases without any manual touch: every event is by a system (role 'system' or a "
                      "resource configured as a system) or by no known resource.",
    "exception rate": "Share of cases holding at least one of the configured exception activities.",
    "rework rate": "Share of cases in which some activity is repeated after other activities: it occurs twice "
                   "with at least one different activity in between (A B A is rework, A A is not).",
    "first-time-right rate": "Share of cases with neither rework nor an exception activity.",
    "manual touches per case": "Mean number of events per case performed by a known resource that is not a "
                               "system.",
    "SLA adherence": "Share of cases whose cycle time is within the target hours of their SLA attribute (e.g. "
                     "priority), over the cases whose attribute value has a target. When an SLA end activity is "
                     "configured the clock stops at its first end in the case instead (cases without it: at the "
                     "case end).",
    "cost per case": "Mean over the cases of the cost of their manual touches: standard minutes of the activity "
                     "(else the default) times the hourly rate of the performer's role (else the default) / 60.",
}

SUMMARY_COLUMNS = ["kpi", "value", "unit", "cases"]
PER_CASE_COLUMNS = ["case_id", "cycle_time_h", "touchless", "exception", "rework", "first_time_right",
                    "manual_touches", "sla_met", "cost"]
APPROVAL_COLUMNS = ["activity", "count", "median_h", "mean_h", "p90_h"]
REWORK_COLUMNS = ["activity", "cases", "share"]


class KpiConfig(BaseModel):
    """What counts as a system, an exception and an approval, the SLA targets and the cost model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system_resources: list[str] = Field(default_factory=list,
                                        description="resources that are systems, besides every role 'system'")
    exception_activities: list[str] = Field(default_factory=list)
    approval_activities: list[str] | None = Field(
        None, description=f"approval activities; None: every activity whose name starts with '{APPROVAL_PREFIX}'")
    sla_attribute: str = Field("priority", description="case attribute (typed column or JSON key) with the class")
    sla_targets_hours: dict[str, float] = Field(default_factory=dict, description="attribute value -> hours")
    sla_until_activity: str | None = Field(
        None, description="SLA clock stops at the first end of this activity (else, or without it, at case end)")
    standard_minutes: dict[str, float] = Field(default_factory=dict, description="activity -> minutes of work")
    rate_per_role_hour: dict[str, float] = Field(default_factory=dict, description="role -> cost per hour")
    default_minutes: float = Field(10.0, ge=0)
    default_rate: float = Field(50.0, ge=0)


_GENERIC_EXCEPTIONS = ["Send approval reminder", "Escalate approval"]
_EXCEPTIONS: dict[str, list[str]] = {
    "supplier_invoices": ["Resolve price mismatch", "Reject duplicate", "Reset to draft"],
    "purchase_requests": ["Reject purchase request", "Approve budget exception"],
    "onboarding": ["Postpone start date", "Request missing documents"],
    "service_requests": ["Reassign ticket", "Reopen ticket"],
    "inventory_exceptions": ["Expedite order"],
}


def default_config(process: str) -> KpiConfig:
    """Return sensible defaults for the demo organisation's processes (generic ones for any other process)."""
    if process == "service_requests":
        # The generator's SLA runs from submission to the first resolution (closing waits days after it).
        sla = {"sla_targets_hours": dict(ServiceParams().sla_hours), "sla_until_activity": "Resolve ticket"}
    else:
        sla = {}
    return KpiConfig(exception_activities=_EXCEPTIONS.get(process, []) + _GENERIC_EXCEPTIONS, **sla)


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    # DuckDB rejects unused named parameters: bind only those the statement names.
    used = set(re.findall(r"\$(\w+)", sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used}).df()


def _params(con: duckdb.DuckDBPyConnection, filters: Filters, config: KpiConfig) -> tuple[str, dict]:
    index = case_index(con, filters.process)
    selection, params = indexed_selection(filters, index.cases, index.variants)
    params |= {
        "k_system_role": SYSTEM_ROLE,
        "k_systems": list(config.system_resources),
        "k_exceptions": list(config.exception_activities),
        "k_approvals": list(config.approval_activities or []),
        "k_by_prefix": config.approval_activities is None,
        "k_prefix": APPROVAL_PREFIX,
        "k_sla_keys": list(config.sla_targets_hours),
        "k_sla_hours": [float(v) for v in config.sla_targets_hours.values()],
        "k_min_keys": list(config.standard_minutes),
        "k_min_values": [float(v) for v in config.standard_minutes.values()],
        "k_rate_keys": list(config.rate_per_role_hour),
        "k_rate_values": [float(v) for v in config.rate_per_role_hour.values()],
        "k_default_minutes": float(config.default_minutes),
        "k_default_rate": float(config.default_rate),
    }
    return selection, params


# Events of the selected cases in case order with their position, the previous event's end and whether they are
# a manual touch; needs `selected` unless the filters are empty (format it with in_selection).
_EVENTS_SQL = f"""
    ev AS (
        SELECT e.case_id, e.event_id, e.activity, e.start_time, e.end_time, e.resource, e.role,
               row_number() OVER w AS position,
               lag(e.end_time) OVER w AS prev_end,
               (e.resource IS NOT NULL AND coalesce(e.role, '') <> $k_system_role
                AND NOT list_contains($k_systems::VARCHAR[], e.resource)) AS manual
        FROM events e
        WHERE e.process = $f_process AND {{in_selection}}
        WINDOW w AS (PARTITION BY e.case_id ORDER BY {EVENT_ORDER})
    ),
    reworked AS (
        SELECT case_id, activity
        FROM ev GROUP BY case_id, activity
        HAVING max(position) - min(position) + 1 > count(*)
    )
"""


def _events_sql(filters: Filters) -> str:
    return _EVENTS_SQL.format(in_selection=in_selection(filters, "e.case_id"))


def kpis_per_case(con: duckdb.DuckDBPyConnection, filters: Filters, config: KpiConfig) -> pd.DataFrame:
    """Return one row per selected case: case_id, cycle_time_h, touchless, exception, rework, first_time_right,
    manual_touches, sla_met (null without a target) and cost."""
    selection, params = _params(con, filters, config)
    if config.sla_attribute in TYPED_CASE_COLUMNS:
        sla_value = f"c.{config.sla_attribute}::VARCHAR"
    else:
        params["k_sla_attr"] = config.sla_attribute
        sla_value = """json_extract_string(c.attributes, '$."' || replace($k_sla_attr, '"', '\\"') || '"')"""
    if config.sla_until_activity is not None:
        params["k_sla_until"] = config.sla_until_activity
        sla_stop, sla_end = "min(end_time) FILTER (WHERE activity = $k_sla_until)", "coalesce(p.sla_end, s.case_end)"
    else:
        sla_stop, sla_end = "NULL", "s.case_end"
    index = case_index(con, filters.process)
    # Exceptions and rework depend on the activity sequence only, so they are decided once per variant; the
    # touches, cost and SLA stop need the events but not their order, so no sort is needed.
    found = _run(con, f"""
        WITH selected AS ({selection}),
        positions AS (
            SELECT seq_hash, n_events, unnest(activities) AS activity, generate_subscripts(activities, 1) AS position
            FROM {index.variants}
        ),
        reworked AS (
            SELECT DISTINCT seq_hash, n_events
            FROM (SELECT seq_hash, n_events FROM positions GROUP BY seq_hash, n_events, activity
                  HAVING max(position) - min(position) + 1 > count(*))
        ),
        flags AS (
            SELECT v.seq_hash, v.n_events, list_has_any(v.activities, $k_exceptions::VARCHAR[]) AS exception,
                   r.seq_hash IS NOT NULL AS rework
            FROM {index.variants} v
            LEFT JOIN reworked r ON r.seq_hash = v.seq_hash AND r.n_events = v.n_events
        ),
        sel AS (
            SELECT s.case_id, s.case_start, s.case_end, s.duration_s, f.exception, f.rework,
                   ($k_sla_hours::DOUBLE[])[list_position($k_sla_keys::VARCHAR[], {sla_value})] AS target
            FROM {index.cases} s
            JOIN flags f ON f.seq_hash = s.seq_hash AND f.n_events = s.n_events
            LEFT JOIN cases c ON c.process = $f_process AND c.case_id = s.case_id
            WHERE {in_selection(filters, "s.case_id")}
        ),
        per_event AS (
            SELECT case_id,
                   count(*) FILTER (WHERE manual) AS manual_touches,
                   coalesce(sum(
                       coalesce(($k_min_values::DOUBLE[])[list_position($k_min_keys::VARCHAR[], activity)],
                                $k_default_minutes)
                       * coalesce(($k_rate_values::DOUBLE[])[list_position($k_rate_keys::VARCHAR[], role)],
                                  $k_default_rate) / 60.0) FILTER (WHERE manual), 0) AS cost,
                   {sla_stop} AS sla_end
            FROM (SELECT case_id, activity, end_time, role,
                         (resource IS NOT NULL AND coalesce(role, '') <> $k_system_role
                          AND NOT list_contains($k_systems::VARCHAR[], resource)) AS manual
                  FROM events WHERE process = $f_process AND {in_selection(filters)})
            GROUP BY case_id
        )
        SELECT s.case_id, s.duration_s / 3600.0 AS cycle_time_h,
               p.manual_touches = 0 AS touchless, s.exception, s.rework,
               p.manual_touches, s.target, epoch({sla_end} - s.case_start) / 3600.0 AS sla_h, p.cost
        FROM sel s JOIN per_event p ON p.case_id = s.case_id
        ORDER BY s.case_id
    """, params)
    found["first_time_right"] = ~(found["rework"].astype(bool) | found["exception"].astype(bool))
    met = (found["sla_h"] <= found["target"]).astype("boolean")
    found["sla_met"] = met.mask(found["target"].isna())
    found["manual_touches"] = found["manual_touches"].astype("int64")
    for column in ("touchless", "exception", "rework", "first_time_right"):
        found[column] = found[column].astype(bool)
    return found[PER_CASE_COLUMNS]


def kpi_summary(con: duckdb.DuckDBPyConnection, filters: Filters, config: KpiConfig) -> pd.DataFrame:
    """Return one row per KPI: kpi, value, unit and the number of cases it is computed over."""
    per_case = kpis_per_case(con, filters, config)
    n = len(per_case)
    cycle = per_case["cycle_time_h"]
    sla = per_case["sla_met"].dropna()

    def mean(series: pd.Series) -> float | None:
        return float(series.astype(float).mean()) if len(series) else None

    rows = [
        ("cycle time (median)", float(cycle.median()) if n else None, "hours", n),
        ("cycle time (mean)", mean(cycle), "hours", n),
        ("cycle time (p90)", float(cycle.quantile(0.9)) if n else None, "hours", n),
        ("touchless rate", mean(per_case["touchless"]), "share", n),
        ("exception rate", mean(per_case["exception"]), "share", n),
        ("rework rate", mean(per_case["rework"]), "share", n),
        ("first-time-right rate", mean(per_case["first_time_right"]), "share", n),
        ("manual touches per case", mean(per_case["manual_touches"]), "events", n),
        ("SLA adherence", mean(sla), "share", len(sla)),
        ("cost per case", mean(per_case["cost"]), "currency", n),
    ]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def approval_turnaround(con: duckdb.DuckDBPyConnection, filters: Filters, config: KpiConfig) -> pd.DataFrame:
    """Return one row per approval activity, most approvals first: count of approvals with a previous event, and
    median_h, mean_h, p90_h hours from the previous event's end to the approval's end."""
    selection, params = _params(con, filters, config)
    found = _run(con, f"""
        WITH selected AS ({selection}),
        {_events_sql(filters)},
        approvals AS (
            SELECT activity, epoch(end_time - prev_end) / 3600.0 AS hours
            FROM ev
            WHERE prev_end IS NOT NULL
              AND (list_contains($k_approvals::VARCHAR[], activity)
                   OR ($k_by_prefix AND starts_with(activity, $k_prefix)))
        )
        SELECT activity, count(*) AS count, median(hours) AS median_h, avg(hours) AS mean_h,
               quantile_cont(hours, 0.9) AS p90_h
        FROM approvals GROUP BY activity
        ORDER BY count DESC, activity
    """, params)
    return found[APPROVAL_COLUMNS]


def rework_by_activity(con: duckdb.DuckDBPyConnection, filters: Filters, config: KpiConfig) -> pd.DataFrame:
    """Return one row per activity repeated after other activities in some case, most cases first: cases where
    it is, and their share of the selected cases."""
    selection, params = _params(con, filters, config)
    found = _run(con, f"""
        WITH selected AS ({selection}),
        {_events_sql(filters)}
        SELECT activity, count(*) AS cases, count(*) / (SELECT count(*) FROM selected) AS share
        FROM reworked GROUP BY activity
        ORDER BY cases DESC, activity
    """, params)
    return found[REWORK_COLUMNS]
