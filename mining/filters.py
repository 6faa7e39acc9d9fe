"""Filters shared by every mining view, turned into parameterised SQL that selects the passing cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mining.cases import CASE_SUMMARY_SQL, EVENT_ORDER, sequence_key_sql, variant_of_keys_sql

# Case attributes stored as typed columns of `cases`; any other key is looked up in cases.attributes (JSON).
# Only these names ever become SQL text: every other piece of user input is a bound parameter.
TYPED_CASE_COLUMNS = ("site", "department", "currency")


class Filters(BaseModel):
    """Which cases of one process a view looks at; every criterion left empty lets all cases through."""

    model_config = ConfigDict(extra="forbid")

    process: str
    time_from: datetime | None = Field(None, description="start of the time window (inclusive)")
    time_to: datetime | None = Field(None, description="end of the time window (exclusive)")
    time_mode: Literal["started", "ended", "active"] = Field(
        "active", description="keep cases that started in, ended in, or were active at some time in [from, to)")
    attributes: dict[str, str] = Field(
        default_factory=dict, description="case attribute -> required value (site, department, currency or "
                                          "any key of the case's JSON attributes)")
    activities_present: list[str] = Field(default_factory=list, description="cases containing all of these")
    activities_absent: list[str] = Field(default_factory=list, description="cases containing none of these")
    duration_min_s: float | None = Field(None, description="minimum case duration in seconds (inclusive)")
    duration_max_s: float | None = Field(None, description="maximum case duration in seconds (inclusive)")
    start_activities: list[str] = Field(default_factory=list, description="cases whose first activity is one of")
    end_activities: list[str] = Field(default_factory=list, description="cases whose last activity is one of")
    variants: list[str] = Field(default_factory=list, description="variant ids (md5 of the activity sequence)")

    @field_validator("time_from", "time_to")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Workspace times are UTC TIMESTAMPTZ; a naive bound is read as UTC rather than the machine's zone.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _ranges(self) -> Filters:
        if self.time_from and self.time_to and self.time_from >= self.time_to:
            raise ValueError("time_from must be before time_to")
        if (self.duration_min_s is not None and self.duration_max_s is not None
                and self.duration_min_s > self.duration_max_s):
            raise ValueError("duration_min_s must not exceed duration_max_s")
        return self


def is_unfiltered(filters: Filters) -> bool:
    """True when no criterion is set, so that every case of the process passes."""
    return (filters.time_from is None and filters.time_to is None and not filters.attributes
            and not filters.activities_present and not filters.activities_absent
            and filters.duration_min_s is None and filters.duration_max_s is None
            and not filters.start_activities and not filters.end_activities and not filters.variants)


def in_selection(filters: Filters, column: str = "case_id", key: str = "case_id") -> str:
    """Return an SQL condition that `column` names a passing case. Without criteria it is `true`, so that a view
    of the whole process pays for no join; else a semi-join on column `key` of the CTE `selected` (a
    `case_selection` or `indexed_selection` body), which the query must then define."""
    return "true" if is_unfiltered(filters) else f"{column} IN (SELECT {key} FROM selected)"


def _window_conditions(filters: Filters, bind: Callable[[str, object], str], prefix: str = "") -> list[str]:
    """Return the conditions of the time window on the columns case_start and case_end (with `prefix`)."""
    if filters.time_from is None and filters.time_to is None:
        return []
    # active: the case's span [start, end] overlaps [from, to)
    first, last = {"started": ("case_start", "case_start"), "ended": ("case_end", "case_end"),
                   "active": ("case_end", "case_start")}[filters.time_mode]
    where = [f"{prefix}{first} >= {bind('f_from', filters.time_from)}"] if filters.time_from is not None else []
    if filters.time_to is not None:
        where.append(f"{prefix}{last} < {bind('f_to', filters.time_to)}")
    return where


def _attribute_conditions(filters: Filters, bind: Callable[[str, object], str]) -> list[str]:
    """Return the conditions on the case attributes, on the `cases` row aliased c."""
    where = []
    for i, (key, value) in enumerate(sorted(filters.attributes.items())):
        v = bind(f"f_value_{i}", value)
        if key in TYPED_CASE_COLUMNS:
            where.append(f"c.{key} = {v}")
        else:
            # A quoted JSON path reads the key literally, whatever characters ('.', '$', quotes) it holds.
            k = bind(f"f_key_{i}", key)
            where.append(f"""json_extract_string(c.attributes, '$."' || replace({k}, '"', '\\"') || '"') = {v}""")
    return where


def indexed_selection(filters: Filters, cases: str, variants: str) -> tuple[str, dict]:
    """Like `case_selection`, on a case index (mining.cases.case_index: the names of its `cases` and `variants`
    tables): every criterion but the attributes is then a condition on one row per case or per variant. It
    selects case_id and case_no (the case's number in the index)."""
    params: dict = {"f_process": filters.process}
    where: list[str] = []

    def bind(name: str, value: object) -> str:
        params[name] = value
        return f"${name}"

    where += _window_conditions(filters, bind, "s.")
    where += _attribute_conditions(filters, bind)
    if filters.activities_present:
        where.append(f"list_has_all(v.activities, {bind('f_present', filters.activities_present)}::VARCHAR[])")
    if filters.activities_absent:
        where.append(f"NOT list_has_any(v.activities, {bind('f_absent', filters.activities_absent)}::VARCHAR[])")
    if filters.duration_min_s is not None:
        where.append(f"s.duration_s >= {bind('f_duration_min', filters.duration_min_s)}")
    if filters.duration_max_s is not None:
        where.append(f"s.duration_s <= {bind('f_duration_max', filters.duration_max_s)}")
    if filters.start_activities:
        where.append(f"list_contains({bind('f_starts', filters.start_activities)}::VARCHAR[], v.activities[1])")
    if filters.end_activities:
        where.append(f"list_contains({bind('f_ends', filters.end_activities)}::VARCHAR[], v.activities[-1])")
    if filters.variants:
        where.append(f"list_contains({bind('f_variants', filters.variants)}::VARCHAR[], v.variant_id)")
    source = f"{cases} s"
    if (filters.activities_present or filters.activities_absent or filters.start_activities
            or filters.end_activities or filters.variants):
        source += f" JOIN {variants} v USING (seq_hash, n_events)"
    if filters.attributes:
        source += " JOIN cases c ON c.process = $f_process AND c.case_id = s.case_id"
    sql = f"""
        SELECT s.case_id, s.case_no
        FROM {source}
        WHERE {' AND '.join(where) or 'true'}
    """
    return sql, params


def case_selection(filters: Filters) -> tuple[str, dict]:
    """Return (SQL selecting the case_id of every passing case, its named parameters); use it as a CTE body."""
    params: dict = {"f_process": filters.process}
    where: list[str] = []
    # Per-case aggregates over the events: only those some criterion needs are computed, because the ordered
    # ones (sequence, first and last activity) cost far more than the rest.
    aggregates: list[str] = []

    def bind(name: str, value: object) -> str:
        params[name] = value
        return f"${name}"

    span = ["min(coalesce(start_time, end_time)) AS case_start", "max(end_time) AS case_end",
            "epoch(max(end_time) - min(coalesce(start_time, end_time))) AS duration_s"]
    if (filters.time_from is not None or filters.time_to is not None or filters.duration_min_s is not None
            or filters.duration_max_s is not None):
        aggregates += span
    where += _window_conditions(filters, bind)
    where += _attribute_conditions(filters, bind)
    if filters.activities_present:
        # One plain boolean aggregate per activity: far cheaper than collecting the case's activities in a list.
        for i, name in enumerate(dict.fromkeys(filters.activities_present)):
            aggregates.append(f"bool_or(activity = {bind(f'f_present_{i}', name)}) AS has_present_{i}")
            where.append(f"has_present_{i}")
    if filters.activities_absent:
        absent = bind("f_absent", filters.activities_absent)
        aggregates.append(f"count(*) FILTER (WHERE list_contains({absent}::VARCHAR[], activity)) AS n_absent")
        where.append("n_absent = 0")
    if filters.duration_min_s is not None:
        where.append(f"duration_s >= {bind('f_duration_min', filters.duration_min_s)}")
    if filters.duration_max_s is not None:
        where.append(f"duration_s <= {bind('f_duration_max', filters.duration_max_s)}")
    if filters.start_activities:
        aggregates.append(f"first(activity ORDER BY {EVENT_ORDER}) AS first_activity")
        where.append(f"list_contains({bind('f_starts', filters.start_activities)}::VARCHAR[], first_activity)")
    if filters.end_activities:
        aggregates.append(f"last(activity ORDER BY {EVENT_ORDER}) AS last_activity")
        where.append(f"list_contains({bind('f_ends', filters.end_activities)}::VARCHAR[], last_activity)")
    events = "SELECT * FROM events WHERE process = $f_process"
    prefix = ""
    if filters.variants:
        # Variant ids are md5s of whole sequences: compute them for one example case per sequence key only.
        prefix = f"WITH keyed AS MATERIALIZED ({sequence_key_sql(events)})"
        source = f"(SELECT k.*, v.variant_id FROM keyed k JOIN ({variant_of_keys_sql('keyed')}) v " \
                 "USING (seq_hash, n_events)) s"
        rest = [a for a in aggregates if a not in span]
        if rest:
            source += f" JOIN (SELECT case_id, {', '.join(rest)} FROM events WHERE process = $f_process " \
                      "GROUP BY case_id) a USING (case_id)"
        where.append(f"list_contains({bind('f_variants', filters.variants)}::VARCHAR[], variant_id)")
    elif aggregates:
        source = f"(SELECT case_id, {', '.join(aggregates)} FROM events WHERE process = $f_process " \
                 "GROUP BY case_id) s"
    else:
        source = "(SELECT DISTINCT case_id FROM events WHERE process = $f_process) s"
    if filters.attributes:
        source += " JOIN cases c ON c.process = $f_process AND c.case_id = s.case_id"
    sql = f"""
        {prefix}
        SELECT s.case_id
        FROM {source}
        WHERE {' AND '.join(where) or 'true'}
    """
    return sql, params


def case_count(con: duckdb.DuckDBPyConnection, filters: Filters) -> int:
    """Return the number of cases that pass the filters."""
    selection, params = case_selection(filters)
    return int(con.execute(f"SELECT count(*) FROM ({selection})", params).fetchone()[0])


def attribute_values(con: duckdb.DuckDBPyConnection, process: str, limit: int = 200) -> pd.DataFrame:
    """Return key, value and cases for the case attributes of a process (typed columns and JSON keys), at most
    `limit` values per key, the most common first."""
    typed = " UNION ALL ".join(f"SELECT '{c}' AS key, {c} AS value FROM c" for c in TYPED_CASE_COLUMNS)
    return con.execute(f"""
        WITH c AS (SELECT * FROM cases WHERE process = $process),
        extra AS (
            SELECT k AS key,
                   json_extract_string(c.attributes, '$."' || replace(k, '"', '\\"') || '"') AS value
            FROM c, unnest(json_keys(c.attributes)) AS t(k)
            WHERE c.attributes IS NOT NULL AND NOT list_contains($typed, k)
        ),
        counted AS (
            SELECT key, value, count(*) AS cases
            FROM ({typed} UNION ALL SELECT key, value FROM extra)
            WHERE value IS NOT NULL
            GROUP BY key, value
        )
        SELECT key, value, cases FROM counted
        QUALIFY row_number() OVER (PARTITION BY key ORDER BY cases DESC, value) <= $limit
        ORDER BY key, cases DESC, value
    """, {"process": process, "typed": list(TYPED_CASE_COLUMNS), "limit": int(limit)}).df()


def boundary_activities(con: duckdb.DuckDBPyConnection, process: str) -> pd.DataFrame:
    """Return activity, starts and ends: how many cases of the process begin and finish with each activity."""
    return con.execute(f"""
        WITH s AS ({CASE_SUMMARY_SQL})
        SELECT activity, sum(starts)::BIGINT AS starts, sum(ends)::BIGINT AS ends
        FROM (SELECT activities[1] AS activity, 1 AS starts, 0 AS ends FROM s
              UNION ALL SELECT activities[-1], 0, 1 FROM s)
        GROUP BY activity
        ORDER BY sum(starts) + sum(ends) DESC, activity
    """, {"f_process": process}).df()
