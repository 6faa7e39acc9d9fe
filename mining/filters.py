"""Filters shared by every mining view, turned into parameterised SQL that selects the passing cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mining.cases import CASE_SUMMARY_SQL

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


def case_selection(filters: Filters) -> tuple[str, dict]:
    """Return (SQL selecting the case_id of every passing case, its named parameters); use it as a CTE body."""
    params: dict = {"f_process": filters.process}
    where: list[str] = []

    def bind(name: str, value: object) -> str:
        params[name] = value
        return f"${name}"

    if filters.time_from is not None or filters.time_to is not None:
        lo = bind("f_from", filters.time_from) if filters.time_from is not None else None
        hi = bind("f_to", filters.time_to) if filters.time_to is not None else None
        if filters.time_mode == "started":
            where += [f"s.case_start >= {lo}"] if lo else []
            where += [f"s.case_start < {hi}"] if hi else []
        elif filters.time_mode == "ended":
            where += [f"s.case_end >= {lo}"] if lo else []
            where += [f"s.case_end < {hi}"] if hi else []
        else:  # active: the case's span [start, end] overlaps [from, to)
            where += [f"s.case_end >= {lo}"] if lo else []
            where += [f"s.case_start < {hi}"] if hi else []
    for i, (key, value) in enumerate(sorted(filters.attributes.items())):
        v = bind(f"f_value_{i}", value)
        if key in TYPED_CASE_COLUMNS:
            where.append(f"c.{key} = {v}")
        else:
            # A quoted JSON path reads the key literally, whatever characters ('.', '$', quotes) it holds.
            k = bind(f"f_key_{i}", key)
            where.append(f"""json_extract_string(c.attributes, '$."' || replace({k}, '"', '\\"') || '"') = {v}""")
    if filters.activities_present:
        where.append(f"list_has_all(s.activities, {bind('f_present', filters.activities_present)})")
    if filters.activities_absent:
        where.append(f"NOT list_has_any(s.activities, {bind('f_absent', filters.activities_absent)})")
    if filters.duration_min_s is not None:
        where.append(f"s.duration_s >= {bind('f_duration_min', filters.duration_min_s)}")
    if filters.duration_max_s is not None:
        where.append(f"s.duration_s <= {bind('f_duration_max', filters.duration_max_s)}")
    if filters.start_activities:
        where.append(f"list_contains({bind('f_starts', filters.start_activities)}, s.activities[1])")
    if filters.end_activities:
        where.append(f"list_contains({bind('f_ends', filters.end_activities)}, s.activities[-1])")
    if filters.variants:
        where.append(f"list_contains({bind('f_variants', filters.variants)}, s.variant_id)")
    sql = f"""
        SELECT s.case_id
        FROM ({CASE_SUMMARY_SQL}) s
        LEFT JOIN cases c ON c.process = $f_process AND c.case_id = s.case_id
        WHERE {' AND '.join(where) or 'true'}
    """
    return sql, params
