"""Compliance checks of the filtered cases: segregation of duties, approval thresholds and forbidden orders.

Every rule's contents (activity names, roles, amounts, system names) are bound parameters, never SQL text.
Within a case events follow (end_time, start_time, event_id). A check returns one row per violation; the
summary gives per rule the cases it applies to, the violating cases and their share.

- SoD: the same resource performs both activities in one case (two different events). Events without a
  resource and events of systems never count; systems are the resources named in `systems`, or when that is
  None every event whose role is 'system'. Applies to the cases holding both activities.
- Threshold: a case whose amount (cases.amount, else the largest events.amount) is at least min_amount needs
  at least min_approvals events of the approval activities, by one of the required roles when given.
  Applies to the cases at or above the amount.
- Order: `after` must not occur before `before` has: a violation is an `after` event earlier in case order
  than the first `before` event, or any `after` event in a case without `before`. Applies to the cases
  holding `after`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mining.cases import EVENT_ORDER
from mining.filters import Filters, case_selection
from synthetic.params import InvoiceParams

SYSTEM_ROLE = "system"

SOD_COLUMNS = ["rule", "case_id", "resource", "first_time", "second_time"]
THRESHOLD_COLUMNS = ["rule", "case_id", "amount", "approvals", "approvers", "roles"]
ORDER_COLUMNS = ["rule", "case_id", "resource", "time", "required_time"]
SUMMARY_COLUMNS = ["rule", "kind", "description", "cases_checked", "violations", "rate"]


class SoDRule(BaseModel):
    """Segregation of duties: nobody performs both activities in one case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    first_activity: str
    second_activity: str

    def describe(self) -> str:
        return f"the same person must not do both '{self.first_activity}' and '{self.second_activity}'"


class ThresholdRule(BaseModel):
    """Cases at or above an amount need a number of approvals, by given roles if any."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    min_amount: float
    approval_activities: list[str] = Field(min_length=1)
    required_roles: list[str] | None = None
    min_approvals: int = Field(1, ge=1)

    def describe(self) -> str:
        by = f" by {' / '.join(self.required_roles)}" if self.required_roles else ""
        return (f"amount >= {self.min_amount:,.2f} needs {self.min_approvals} x "
                f"{' / '.join(repr(a) for a in self.approval_activities)}{by}")


class OrderRule(BaseModel):
    """`after` must not occur before `before` has occurred in the case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    before: str
    after: str

    @model_validator(mode="after")
    def _different(self) -> OrderRule:
        if self.before == self.after:
            raise ValueError("before and after must be different activities")
        return self

    def describe(self) -> str:
        return f"'{self.after}' must not occur before '{self.before}'"


Rule = SoDRule | ThresholdRule | OrderRule

_INVOICES = InvoiceParams()

DEFAULT_RULES: dict[str, list[Rule]] = {
    "purchase_requests": [
        SoDRule(name="PO creator approves", first_activity="Create purchase order",
                second_activity="Approve purchase order"),
        SoDRule(name="Requester approves", first_activity="Submit purchase request",
                second_activity="Approve request (department head)"),
        OrderRule(name="PO created before approval", before="Approve request (department head)",
                  after="Create purchase order"),
    ],
    "supplier_invoices": [
        SoDRule(name="Bill creator posts", first_activity="Create bill", second_activity="Post invoice"),
        SoDRule(name="Approver releases payment", first_activity="Approve invoice (department head)",
                second_activity="Release payment"),
        SoDRule(name="Controller approves and releases payment",
                first_activity="Approve invoice (finance controller)", second_activity="Release payment"),
        OrderRule(name="Payment before approval", before="Approve invoice (department head)",
                  after="Release payment"),
        ThresholdRule(name="Finance controller above threshold", min_amount=_INVOICES.finance_controller_above,
                      approval_activities=["Approve invoice (finance controller)"],
                      required_roles=["finance controller"]),
        ThresholdRule(name="CFO above threshold", min_amount=_INVOICES.cfo_above,
                      approval_activities=["Approve invoice (CFO)"], required_roles=["CFO"]),
    ],
}

# The events of the selected cases with their position in case order; needs `selected`.
_EVENTS_SQL = f"""
    ev AS (
        SELECT e.case_id, e.event_id, e.activity, e.end_time, e.resource, e.role,
               row_number() OVER (PARTITION BY e.case_id ORDER BY {EVENT_ORDER}) AS position
        FROM events e JOIN selected USING (case_id)
        WHERE e.process = $f_process
    )
"""


def _systems_params(systems: Iterable[str] | None) -> dict:
    return {"t_by_name": systems is not None, "t_systems": sorted(set(systems or ())), "t_system_role": SYSTEM_ROLE}


def _sod_sql(selection: str) -> str:
    return f"""
        WITH selected AS ({selection}),
        {_EVENTS_SQL},
        people AS (
            SELECT * FROM ev
            WHERE resource IS NOT NULL
              AND NOT (CASE WHEN $t_by_name THEN list_contains($t_systems::VARCHAR[], resource)
                            ELSE coalesce(role = $t_system_role, false) END)
        )
        SELECT a.case_id, a.resource, min(a.end_time) AS first_time, min(b.end_time) AS second_time
        FROM people a JOIN people b
          ON a.case_id = b.case_id AND a.resource = b.resource AND a.event_id <> b.event_id
        WHERE a.activity = $t_first AND b.activity = $t_second
        GROUP BY a.case_id, a.resource
    """


def check_sod(con: duckdb.DuckDBPyConnection, filters: Filters, rules: Sequence[SoDRule],
              systems: Iterable[str] | None = None) -> pd.DataFrame:
    """Return one row per rule, case and resource doing both activities: rule, case_id, resource, first_time and
    second_time (end of the resource's earliest event of each activity, UTC)."""
    selection, params = case_selection(filters)
    params |= _systems_params(systems)
    frames = []
    for rule in rules:
        found = con.execute(_sod_sql(selection), params | {"t_first": rule.first_activity,
                                                           "t_second": rule.second_activity}).df()
        frames.append(found.assign(rule=rule.name))
    return _stack(frames, SOD_COLUMNS)


_AMOUNTS_SQL = """
    amounts AS (
        SELECT s.case_id, coalesce(max(c.amount), max(e.amount)) AS amount
        FROM selected s
        LEFT JOIN cases c ON c.process = $f_process AND c.case_id = s.case_id
        LEFT JOIN events e ON e.process = $f_process AND e.case_id = s.case_id
        GROUP BY s.case_id
    )
"""


def _threshold_sql(selection: str) -> str:
    return f"""
        WITH selected AS ({selection}),
        {_EVENTS_SQL},
        {_AMOUNTS_SQL},
        approvals AS (
            SELECT case_id,
                   count(*) FILTER (WHERE NOT $t_by_role OR list_contains($t_roles::VARCHAR[], role)) AS approvals,
                   list(DISTINCT resource ORDER BY resource) FILTER (WHERE resource IS NOT NULL) AS approvers,
                   list(DISTINCT role ORDER BY role) FILTER (WHERE role IS NOT NULL) AS roles
            FROM ev WHERE list_contains($t_activities::VARCHAR[], activity)
            GROUP BY case_id
        )
        SELECT a.case_id, a.amount, coalesce(p.approvals, 0) AS approvals,
               coalesce(p.approvers, []::VARCHAR[]) AS approvers, coalesce(p.roles, []::VARCHAR[]) AS roles
        FROM amounts a LEFT JOIN approvals p USING (case_id)
        WHERE a.amount >= $t_min_amount AND coalesce(p.approvals, 0) < $t_min_approvals
        ORDER BY a.case_id
    """


def _threshold_params(rule: ThresholdRule) -> dict:
    return {"t_by_role": rule.required_roles is not None, "t_roles": rule.required_roles or [],
            "t_activities": rule.approval_activities, "t_min_amount": rule.min_amount,
            "t_min_approvals": rule.min_approvals}


def check_thresholds(con: duckdb.DuckDBPyConnection, filters: Filters, rules: Sequence[ThresholdRule]) -> pd.DataFrame:
    """Return one row per rule and case at or above the amount with too few approvals: rule, case_id, amount,
    approvals (counted events), approvers and roles (of every event of the approval activities)."""
    selection, params = case_selection(filters)
    frames = []
    for rule in rules:
        found = con.execute(_threshold_sql(selection), params | _threshold_params(rule)).df()
        frames.append(found.assign(rule=rule.name))
    return _stack(frames, THRESHOLD_COLUMNS)


def _order_sql(selection: str) -> str:
    return f"""
        WITH selected AS ({selection}),
        {_EVENTS_SQL},
        firsts AS (
            SELECT case_id, min(position) AS position, arg_min(end_time, position) AS required_time
            FROM ev WHERE activity = $t_before GROUP BY case_id
        )
        SELECT e.case_id, arg_min(e.resource, e.position) AS resource, min(e.end_time) AS time,
               any_value(f.required_time) AS required_time
        FROM ev e LEFT JOIN firsts f USING (case_id)
        WHERE e.activity = $t_after AND (f.position IS NULL OR e.position < f.position)
        GROUP BY e.case_id
        ORDER BY e.case_id
    """


def check_orders(con: duckdb.DuckDBPyConnection, filters: Filters, rules: Sequence[OrderRule]) -> pd.DataFrame:
    """Return one row per rule and case where `after` occurs before the first `before` (or without one): rule,
    case_id, resource and time (end) of the first offending `after` event, required_time (end of the first
    `before` event, null when the case has none)."""
    selection, params = case_selection(filters)
    frames = []
    for rule in rules:
        found = con.execute(_order_sql(selection), params | {"t_before": rule.before, "t_after": rule.after}).df()
        frames.append(found.assign(rule=rule.name))
    return _stack(frames, ORDER_COLUMNS)


def check(con: duckdb.DuckDBPyConnection, filters: Filters, rule: Rule,
          systems: Iterable[str] | None = None) -> pd.DataFrame:
    """Return the violations of one rule of any kind (the columns of its check)."""
    if isinstance(rule, SoDRule):
        return check_sod(con, filters, [rule], systems)
    if isinstance(rule, ThresholdRule):
        return check_thresholds(con, filters, [rule])
    return check_orders(con, filters, [rule])


def _checked(con: duckdb.DuckDBPyConnection, filters: Filters, rule: Rule) -> int:
    """Return how many selected cases the rule applies to."""
    selection, params = case_selection(filters)
    if isinstance(rule, ThresholdRule):
        sql = f"""WITH selected AS ({selection}), {_AMOUNTS_SQL}
                  SELECT count(*) FROM amounts WHERE amount >= $t_min_amount"""
        params |= {"t_min_amount": rule.min_amount}
    else:
        needed = [rule.first_activity, rule.second_activity] if isinstance(rule, SoDRule) else [rule.after]
        sql = f"""WITH selected AS ({selection}), {_EVENTS_SQL}
                  SELECT count(*) FROM (SELECT case_id FROM ev GROUP BY case_id
                                        HAVING list_has_all(list(activity), $t_needed::VARCHAR[]))"""
        params |= {"t_needed": needed}
    return int(con.execute(sql, params).fetchall()[0][0])


def compliance_summary(con: duckdb.DuckDBPyConnection, filters: Filters, rules: Sequence[Rule],
                       systems: Iterable[str] | None = None) -> pd.DataFrame:
    """Return one row per rule: rule, kind (sod, threshold, order), description, cases_checked (cases it applies
    to), violations (violating cases) and rate (violations / cases_checked, null when none checked)."""
    kinds = {SoDRule: "sod", ThresholdRule: "threshold", OrderRule: "order"}
    rows = []
    for rule in rules:
        checked = _checked(con, filters, rule)
        violations = check(con, filters, rule, systems)["case_id"].nunique()
        rows.append({"rule": rule.name, "kind": kinds[type(rule)], "description": rule.describe(),
                     "cases_checked": checked, "violations": int(violations),
                     "rate": violations / checked if checked else None})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _stack(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns].sort_values(["rule", "case_id"], ignore_index=True)
