"""Mapping of source columns onto the canonical event fields: automatic for the usual names, explicit otherwise."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

# Canonical field -> source names it is recognised by (compared after `_normalise`), most specific first.
KNOWN_NAMES: dict[str, list[str]] = {
    "case_id": ["case:concept:name", "case_id", "caseid", "case", "case_key", "case_number", "trace_id",
                "traceid", "trace", "process_instance", "ticket_id", "ticket"],
    "activity": ["concept:name", "activity", "activity_name", "activityname", "activity_id", "task",
                 "task_name", "event", "event_name", "action", "step"],
    "end_time": ["time:timestamp", "end_time", "endtime", "end_timestamp", "complete_timestamp",
                 "completetimestamp", "complete_time", "completion_time", "timestamp", "time", "end",
                 "end_date", "datetime", "date", "event_time"],
    "start_time": ["start_time", "starttime", "start_timestamp", "starttimestamp", "start", "start_date",
                   "time:start"],
    "resource": ["org:resource", "resource", "user", "user_name", "username", "performer", "agent",
                 "actor", "employee", "owner"],
    "role": ["org:role", "role", "org:group", "group", "resource_role", "team"],
    "lifecycle": ["lifecycle:transition", "lifecycle", "transition", "event_type", "eventtype"],
    "instance": ["concept:instance", "lifecycle:instance", "activity_instance_id", "activity_instance",
                 "instance_id"],
    "amount": ["amount", "case:amount", "amount_total", "total_amount", "requested_amount",
               "case:requestedamount"],
    "currency": ["currency", "case:currency", "currency_id"],
    "site": ["site", "case:site", "company", "company_id", "case:company", "location", "clinic", "hospital"],
    "department": ["department", "case:department", "dept", "cost_center", "cost_centre",
                   "organizational_unit", "org:unit"],
}

REQUIRED = ("case_id", "activity", "end_time")
FIELDS = tuple(KNOWN_NAMES)


def _normalise(name: str) -> str:
    """Lower-case, trim, and unify separators so 'Case ID', 'case-id' and 'case_id' compare equal."""
    return re.sub(r"[\s\-\.]+", "_", name.strip().lower())


class ColumnMapping(BaseModel):
    """Which source column feeds each canonical field; `None` means the field is absent."""

    model_config = ConfigDict(extra="forbid")

    case_id: str | None = None
    activity: str | None = None
    end_time: str | None = None
    start_time: str | None = None
    resource: str | None = None
    role: str | None = None
    lifecycle: str | None = None
    instance: str | None = None
    amount: str | None = None
    currency: str | None = None
    site: str | None = None
    department: str | None = None

    def mapped(self) -> dict[str, str]:
        """Return field -> source column for the fields that are mapped."""
        return {f: c for f, c in self.model_dump().items() if c is not None}


def resolve_mapping(columns: list[str], explicit: dict[str, str | None] | None = None) -> ColumnMapping:
    """Return the mapping for `columns`: explicit choices first, then the usual names; raise if one is unknown."""
    explicit = {k: v for k, v in (explicit or {}).items() if v}
    unknown_fields = set(explicit) - set(FIELDS)
    if unknown_fields:
        raise ValueError(f"unknown field(s) in mapping: {', '.join(sorted(unknown_fields))}")
    for field, column in explicit.items():
        if column not in columns:
            raise ValueError(f"column {column!r} given for {field} is not in the file (has: {_preview(columns)})")
    taken = set(explicit.values())
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(_normalise(c), c)
    chosen: dict[str, str] = dict(explicit)
    for field, names in KNOWN_NAMES.items():
        if field in chosen:
            continue
        for name in names:
            column = by_norm.get(name)
            if column is not None and column not in taken:
                chosen[field] = column
                taken.add(column)
                break
    return ColumnMapping(**chosen)


def require_core(mapping: ColumnMapping, columns: list[str], source: str) -> None:
    """Raise ValueError naming the source when case, activity or timestamp has no column."""
    missing = [f for f in REQUIRED if getattr(mapping, f) is None]
    if missing:
        names = {"case_id": "case id", "activity": "activity", "end_time": "timestamp"}
        raise ValueError(
            f"{source}: no {' / '.join(names[m] for m in missing)} column found among "
            f"{_preview(columns)}; map it explicitly (e.g. --case-id COLUMN)"
        )


def _preview(columns: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f", ... ({len(columns)} columns)" if len(columns) > limit else "")
