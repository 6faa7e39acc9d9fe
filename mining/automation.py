"""Automation candidates of the filtered cases of one process: one ranked row per activity with the value of
automating it, how feasible that is, and whether a control keeps a human in the loop.

Value is what the manual work of the activity costs: its manual events, the processing and waiting time it
causes and its rework. Feasibility is how rule-like the work is: how well its outcome (an outcome attribute of its
events, else the next activity of the case) is predicted from what is known before it (case attributes and the
attributes of earlier events of the case), how stable its duration is and how rarely its cases hit exceptions.
The control class comes from keyword rules on the activity name and role: financial, contractual, compliance and
access decisions keep a human approval, so such activities are "assist" candidates, never "automate" ones.

Per-event aggregation runs in DuckDB with bound parameters only; the rule learning runs on a seeded sample of at
most `sample_size` events per activity. Within a case events follow (end_time, start_time, event_id).
"""

from __future__ import annotations

import json
import math
import re

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.tree import DecisionTreeClassifier

from mining.cases import EVENT_ORDER
from mining.filters import Filters, case_selection
from mining.kpis import SYSTEM_ROLE, default_config

CONTROL_CLASSES = ("financial", "contractual", "compliance", "access")
# Tiers in ranking order: automate candidates first, then the control-bound ones a tool can only assist.
RECOMMENDATIONS = ("automate", "assist", "external", "automated")
NEXT_OUTCOME = "next activity"
END_OF_CASE = "(end of case)"

COLUMNS = ["rank", "activity", "recommendation", "control_class", "value", "feasibility", "score", "reason",
           "events", "cases", "manual_events", "manual_share", "processing_h_total", "waiting_h_total",
           "variability", "rework_rate", "exception_rate", "outcome", "determinism", "baseline", "predictors",
           "rule", "role"]

DEFINITIONS: dict[str, str] = {
    "rank": "Position in the list: automate candidates by score, then assist (control-bound), then activities "
            "done by external parties, then those already automated.",
    "recommendation": "automate: a candidate to automate; assist: control-bound, a human keeps the decision and "
                      "a tool may only prepare it; external: done by parties outside the organisation; "
                      "automated: no manual events left.",
    "control_class": "financial, contractual, compliance or access when a control rule matches the activity name "
                     "or its usual role (those keep a human approval), else none.",
    "value": "0-1: weighted mix of its manual events, of the hours it causes (processing plus the waiting before "
             "it) - both relative to the largest activity of the selection - and of its rework rate.",
    "feasibility": "0-1: weighted mix of determinism, stability (1 - variability / 2, floored at 0) and "
                   "1 - exception rate.",
    "score": "value x feasibility; ranks the candidates within their tier.",
    "events": "Events of the activity in the selected cases; cases: the cases holding it.",
    "manual_share": "Share of its events done by a human: a known resource that is not a system (role 'system' "
                    "or a configured system resource), as for the manual touches of the KPIs.",
    "processing_h_total": "Hours of processing (end - start, where the start is known) of its events.",
    "waiting_h_total": "Hours of waiting before its events: from the end of the previous event of the case to its "
                       "start, or to its end without a start.",
    "variability": "Coefficient of variation (standard deviation / mean) of its processing time, or of the "
                   "waiting before it when fewer than two processing times are known.",
    "rework_rate": "Share of its cases in which it repeats after other activities (A B A, not A A).",
    "exception_rate": "Share of its cases holding an exception activity.",
    "outcome": "What the activity decides: the least predictable outcome attribute of its events (2 to "
               "max_outcome_classes values), else the next activity of the case.",
    "determinism": "Accuracy on held-out events of the best of a shallow decision tree and of a one-attribute "
                   "lookup table predicting the outcome from the case attributes and the attributes of earlier "
                   "events; baseline: the accuracy of always predicting the most frequent outcome. A constant "
                   "outcome is deterministic without any rule (no decision to make).",
    "rule": "The learned rule in words: the tree's leaves (condition -> outcome, share of the sample) or the "
            "lookup table (attribute value -> outcome).",
}


class ControlRule(BaseModel):
    """Activities whose name contains one of the keywords, or whose usual role is one of the roles, belong to a
    control class and keep a human approval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    control_class: str
    keywords: list[str] = Field(default_factory=list, description="whole words or phrases, case-insensitive")
    roles: list[str] = Field(default_factory=list, description="roles, case-insensitive")

    def match(self, activity: str, role: str | None) -> str | None:
        """Return what matched ("'keyword'" or "role X"), or None."""
        for keyword in self.keywords:
            if re.search(rf"\b{re.escape(keyword)}\b", activity, flags=re.IGNORECASE):
                return f"'{keyword}'"
        if role and role.casefold() in {r.casefold() for r in self.roles}:
            return f"role {role}"
        return None


# First matching rule wins: the specific classes before the catch-all for any other approval or rejection.
DEFAULT_CONTROL_RULES: list[ControlRule] = [
    ControlRule(control_class="financial", keywords=[
        "release payment", "payment", "payments", "pay", "approve invoice", "budget exception", "refund",
        "write-off", "write off"], roles=["CFO"]),
    ControlRule(control_class="contractual", keywords=[
        "contract", "approve purchase order", "purchase order approval", "approve purchase", "approve request",
        "approve urgent purchase", "select supplier", "award", "sign"]),
    ControlRule(control_class="access", keywords=[
        "access", "credentials", "permission", "permissions", "privilege", "privileges"]),
    ControlRule(control_class="compliance", keywords=[
        "credential", "verification", "verify", "compliance", "audit", "sanction", "approve", "approval",
        "authorise", "authorize", "reject"]),
]

# Case attributes the demo generator writes as results of the process (known only afterwards): learning from
# them would "predict" an outcome from its own record.
_OUTCOME_ATTRIBUTES: dict[str, list[str]] = {
    "supplier_invoices": ["match_result", "rework_loops", "status"],
    "service_requests": ["triage_team", "misrouted", "reopened", "resolution_hours", "sla_met"],
    "purchase_requests": ["status"],
    "onboarding": ["start_date", "postponements"],
    "inventory_exceptions": ["outcome"],
}


class AutomationConfig(BaseModel):
    """Systems, exceptions and control rules, the weights of value and feasibility, and the rule learning."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system_resources: list[str] = Field(default_factory=list,
                                        description="resources that are systems, besides every role 'system'")
    external_roles: list[str] = Field(["external"], description="roles of parties outside the organisation")
    exception_activities: list[str] = Field(default_factory=list)
    control_rules: list[ControlRule] = Field(default_factory=lambda: list(DEFAULT_CONTROL_RULES))
    excluded_attributes: list[str] = Field(
        default_factory=list, description="attributes never used to predict (results recorded after the fact)")
    ignored_event_keys: list[str] = Field(
        ["object", "document", "state_from", "state_to"],
        description="event attribute keys that are bookkeeping, neither outcomes nor predictors")
    weight_volume: float = Field(0.5, ge=0)
    weight_time: float = Field(0.35, ge=0)
    weight_rework: float = Field(0.15, ge=0)
    weight_determinism: float = Field(0.6, ge=0)
    weight_stability: float = Field(0.2, ge=0)
    weight_exceptions: float = Field(0.2, ge=0)
    tree_depth: int = Field(3, ge=1, le=3)
    sample_size: int = Field(2000, ge=20, description="events per activity the rules are learned on")
    min_events: int = Field(20, ge=4, description="fewer sampled events: no rule is learned")
    max_outcome_classes: int = Field(30, ge=2, description="outcome attributes with more values are identifiers")
    max_feature_levels: int = Field(40, ge=2, description="categorical predictors with more values are dropped")
    test_share: float = Field(0.3, gt=0, lt=1)
    seed: int = 7


def default_automation_config(process: str) -> AutomationConfig:
    """Return the demo organisation's defaults for `process`: its systems and exceptions as for the KPIs."""
    kpi = default_config(process)
    return AutomationConfig(system_resources=list(kpi.system_resources),
                            exception_activities=list(kpi.exception_activities),
                            excluded_attributes=_OUTCOME_ATTRIBUTES.get(process, []))


def control_class(activity: str, role: str | None, rules: list[ControlRule]) -> tuple[str, str]:
    """Return (control class or "none", what matched) of an activity with its usual role."""
    for rule in rules:
        if (matched := rule.match(activity, role)) is not None:
            return rule.control_class, matched
    return "none", ""


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    # DuckDB rejects unused named parameters: bind only those the statement names.
    used = set(re.findall(r"\$(\w+)", sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used}).df()


# Events of the selected cases in case order with their position, waiting, processing and whether they are a
# manual touch; needs `selected`.
_EVENTS_SQL = f"""
    ev AS (
        SELECT e.case_id, e.event_id, e.activity, e.role, e.attributes,
               row_number() OVER w AS position,
               lead(e.activity) OVER w AS next_activity,
               epoch(coalesce(e.start_time, e.end_time) - lag(e.end_time) OVER w) AS waiting_s,
               epoch(e.end_time - e.start_time) AS processing_s,
               (e.resource IS NOT NULL AND coalesce(e.role, '') <> $a_system_role
                AND NOT list_contains($a_systems::VARCHAR[], e.resource)) AS manual
        FROM events e JOIN selected USING (case_id)
        WHERE e.process = $f_process
        WINDOW w AS (PARTITION BY e.case_id ORDER BY {EVENT_ORDER})
    )
"""


def _activity_stats(con: duckdb.DuckDBPyConnection, selection: str, params: dict) -> pd.DataFrame:
    return _run(con, f"""
        WITH selected AS ({selection}),
        {_EVENTS_SQL},
        reworked AS (
            SELECT activity, count(*) AS cases
            FROM (SELECT case_id, activity FROM ev GROUP BY ALL HAVING max(position) - min(position) + 1 > count(*))
            GROUP BY activity
        ),
        excepted AS (
            SELECT DISTINCT case_id FROM ev WHERE list_contains($a_exceptions::VARCHAR[], activity)
        ),
        per_activity AS (
            SELECT activity, count(*) AS events, count(DISTINCT case_id) AS cases,
                   count(*) FILTER (WHERE manual) AS manual_events,
                   count(*) FILTER (WHERE list_contains($a_external::VARCHAR[], role)) AS external_events,
                   mode(role) AS role,
                   coalesce(sum(processing_s), 0) / 3600.0 AS processing_h_total,
                   coalesce(sum(waiting_s), 0) / 3600.0 AS waiting_h_total,
                   count(processing_s) AS n_processing,
                   stddev_samp(processing_s) / nullif(avg(processing_s), 0) AS cv_processing,
                   stddev_samp(waiting_s) / nullif(avg(waiting_s), 0) AS cv_waiting,
                   count(DISTINCT case_id) FILTER (WHERE case_id IN (SELECT case_id FROM excepted)) AS excepted
            FROM ev GROUP BY activity
        )
        SELECT p.*, coalesce(r.cases, 0) AS reworked
        FROM per_activity p LEFT JOIN reworked r USING (activity)
        ORDER BY p.activity
    """, params)


def _sample(con: duckdb.DuckDBPyConnection, selection: str, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (sampled events: activity, event_id, case_id, next_activity, attributes; their predictors: event_id,
    key, value) where the predictors are the case's typed columns and JSON attributes and the latest value of
    each attribute of the earlier events of the case."""
    sampled_sql = f"""
        WITH selected AS ({selection}),
        {_EVENTS_SQL},
        sampled AS (
            SELECT * FROM ev
            QUALIFY row_number() OVER (PARTITION BY activity ORDER BY hash(event_id, $a_seed), event_id)
                    <= $a_sample
        )
    """
    events = _run(con, sampled_sql + """
        SELECT activity, event_id, case_id, coalesce(next_activity, $a_end) AS next_activity,
               attributes::VARCHAR AS attributes
        FROM sampled
    """, params)
    predictors = _run(con, sampled_sql + """,
        earlier AS (
            SELECT s.event_id, k.key, json_extract_string(p.attributes, '$."' || replace(k.key, '"', '\\"') || '"')
                   AS value, p.position
            FROM sampled s JOIN ev p ON p.case_id = s.case_id AND p.position < s.position,
                 LATERAL (SELECT unnest(json_keys(p.attributes)) AS key) k
            WHERE p.attributes IS NOT NULL AND json_type(p.attributes) = 'OBJECT'
        ),
        -- An empty value says nothing: it must not hide the value an earlier event recorded.
        from_events AS (
            SELECT event_id, key, arg_max(value, position) AS value
            FROM earlier WHERE value <> '' GROUP BY event_id, key
        ),
        case_json AS (
            SELECT s.event_id, k.key,
                   json_extract_string(c.attributes, '$."' || replace(k.key, '"', '\\"') || '"') AS value
            FROM sampled s JOIN cases c ON c.process = $f_process AND c.case_id = s.case_id,
                 LATERAL (SELECT unnest(json_keys(c.attributes)) AS key) k
            WHERE c.attributes IS NOT NULL AND json_type(c.attributes) = 'OBJECT'
        ),
        case_typed AS (
            SELECT s.event_id, t.key, t.value
            FROM sampled s JOIN cases c ON c.process = $f_process AND c.case_id = s.case_id,
                 LATERAL (SELECT unnest(['site', 'department', 'currency', 'amount']) AS key,
                                 unnest([c.site, c.department, c.currency, c.amount::VARCHAR]) AS value) t
        ),
        -- The case's own record wins over an event attribute of the same name.
        combined AS (
            SELECT event_id, key, value, 1 AS priority FROM case_typed
            UNION ALL SELECT event_id, key, value, 2 FROM case_json
            UNION ALL SELECT event_id, key, value, 3 FROM from_events
        )
        SELECT event_id, key, arg_min(value, priority) AS value
        FROM combined WHERE value IS NOT NULL AND value <> ''
        GROUP BY event_id, key
    """, params)
    return events, predictors


def _json(text: object) -> dict:
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _encode(features: pd.DataFrame, max_levels: int) -> tuple[pd.DataFrame, dict[str, tuple[str, str | None]]]:
    """Return (numeric matrix, column -> (attribute, value or None for a number)) for the tree."""
    columns: dict[str, pd.Series] = {}
    meaning: dict[str, tuple[str, str | None]] = {}
    for name in features.columns:
        raw = features[name]
        numbers = pd.to_numeric(raw, errors="coerce")
        if raw.notna().sum() and numbers.notna().sum() == raw.notna().sum() and raw.nunique() > max_levels:
            col = f"{name}#num"
            columns[col] = numbers.fillna(numbers.median())
            meaning[col] = (name, None)
            continue
        if raw.nunique() > max_levels or raw.nunique() < 1:
            continue
        for value in sorted(raw.dropna().unique()):
            col = f"{name}={value}"
            columns[col] = (raw == value).astype(float)
            meaning[col] = (name, str(value))
    matrix = pd.DataFrame(columns, index=features.index) if columns else pd.DataFrame(index=features.index)
    return matrix, meaning


def _condition(meaning: tuple[str, str | None], right: bool, threshold: float) -> str:
    name, value = meaning
    if value is None:
        return f"{name} {'>' if right else '<='} {threshold:,.2f}"
    return f"{name} {'=' if right else '≠'} {value}"


def _tree_rule(tree: DecisionTreeClassifier, columns: list[str], meaning: dict, outcome: str) -> tuple[str, list]:
    """Return (the tree's leaves as text, biggest first, the attributes it uses)."""
    t = tree.tree_
    leaves: list[tuple[float, str]] = []
    used: list[str] = []

    def walk(node: int, path: list[str]) -> None:
        if t.children_left[node] == t.children_right[node]:
            counts = t.value[node][0]
            label = tree.classes_[int(np.argmax(counts))]
            share = t.weighted_n_node_samples[node] / t.weighted_n_node_samples[0]
            text = (" and ".join(path) or "always") + f" -> {_label(outcome, label)}"
            leaves.append((share, f"{text} ({share:.0%} of events)"))
            return
        info = meaning[columns[t.feature[node]]]
        if info[0] not in used:
            used.append(info[0])
        walk(t.children_left[node], path + [_condition(info, False, t.threshold[node])])
        walk(t.children_right[node], path + [_condition(info, True, t.threshold[node])])

    walk(0, [])
    return "; ".join(text for _, text in sorted(leaves, key=lambda x: -x[0])), used


def _label(outcome: str, value: object) -> str:
    return f"next: {value}" if outcome == NEXT_OUTCOME else f"{outcome} = {value}"


def _learn(features: pd.DataFrame, target: pd.Series, outcome: str, config: AutomationConfig) -> dict:
    """Return determinism, baseline, predictors and rule of one outcome on the sampled events."""
    target = target.astype(str)
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(target))
    n_test = max(1, int(round(len(target) * config.test_share)))
    test, train = order[:n_test], order[n_test:]
    majority = target.iloc[train].mode().iloc[0]
    baseline = float((target.iloc[test] == majority).mean())
    if target.nunique() == 1:
        return {"determinism": 1.0, "baseline": 1.0, "predictors": [],
                "rule": f"no decision: always {_label(outcome, majority)}"}
    best = {"determinism": baseline, "baseline": baseline, "predictors": [],
            "rule": f"no rule beats always {_label(outcome, majority)}"}
    # One-attribute lookup table: catches a value copied or mapped from one attribute, however many values.
    for name in features.columns:
        raw = features[name].astype("string").fillna("(missing)")
        if raw.nunique() > config.max_feature_levels:
            continue
        table = pd.DataFrame({"x": raw.iloc[train].to_numpy(), "y": target.iloc[train].to_numpy()})
        mapping = table.groupby("x")["y"].agg(lambda x: x.mode().iloc[0])
        predicted = raw.iloc[test].map(mapping).fillna(majority)
        accuracy = float((predicted.to_numpy() == target.iloc[test].to_numpy()).mean())
        if accuracy > best["determinism"] + 1e-9:
            counts = table.groupby("x").size().sort_values(ascending=False)
            shown = [f"{name} = {x} -> {_label(outcome, mapping[x])}" for x in counts.index[:6]]
            more = f"; ... ({len(counts) - 6} more values)" if len(counts) > 6 else ""
            best = {"determinism": accuracy, "baseline": baseline, "predictors": [name],
                    "rule": "; ".join(shown) + more}
    matrix, meaning = _encode(features, config.max_feature_levels)
    if matrix.shape[1]:
        tree = DecisionTreeClassifier(max_depth=config.tree_depth, random_state=config.seed)
        tree.fit(matrix.iloc[train], target.iloc[train])
        accuracy = float((tree.predict(matrix.iloc[test]) == target.iloc[test].to_numpy()).mean())
        # The tree must beat the lookup clearly: a table on one attribute is the simpler rule to explain.
        if accuracy > best["determinism"] + 0.005:
            rule, used = _tree_rule(tree, list(matrix.columns), meaning, outcome)
            best = {"determinism": accuracy, "baseline": baseline, "predictors": used, "rule": rule}
    return best


def _determinism(events: pd.DataFrame, predictors: pd.DataFrame, config: AutomationConfig) -> dict[str, dict]:
    """Return per activity: outcome, determinism, baseline, predictors and rule (determinism None: too few)."""
    excluded = set(config.excluded_attributes) | set(config.ignored_event_keys)
    wide = (predictors[~predictors["key"].isin(excluded)]
            .pivot(index="event_id", columns="key", values="value") if len(predictors) else pd.DataFrame())
    found: dict[str, dict] = {}
    for activity, group in events.groupby("activity", sort=True):
        if len(group) < config.min_events:
            found[activity] = {"outcome": None, "determinism": None, "baseline": None, "predictors": [],
                               "rule": f"too few events ({len(group)}) to learn a rule"}
            continue
        group = group.sort_values("event_id")
        features = wide.reindex(group["event_id"]).reset_index(drop=True)
        attrs = pd.DataFrame([_json(a) for a in group["attributes"]]).astype("string").replace("", pd.NA)
        outcomes = []
        for key in attrs.columns:
            values = attrs[key]
            if key in excluded or values.isna().mean() > 0.5:
                continue
            if 2 <= values.nunique() <= config.max_outcome_classes:
                outcomes.append((key, values.fillna("(missing)")))
        if not outcomes:
            outcomes = [(NEXT_OUTCOME, group["next_activity"].reset_index(drop=True))]
        results = []
        for key, target in outcomes:
            usable = features.drop(columns=[key], errors="ignore")
            results.append({"outcome": key, **_learn(usable, target.reset_index(drop=True), key, config)})
        # An activity is as rule-like as its least predictable decision.
        found[activity] = min(results, key=lambda r: r["determinism"])
    return found


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    return (part / whole.where(whole > 0)).fillna(0.0)


def _hours(value: float) -> str:
    return f"{value:,.0f} h" if value >= 10 else f"{value:,.1f} h"


def _reason(row: pd.Series) -> str:
    effort = (f"{row.manual_events:,} manual events ({row.manual_share:.0%} of {row.events:,}), "
              f"{_hours(row.processing_h_total)} processing + {_hours(row.waiting_h_total)} waiting")
    if row.determinism is None or (isinstance(row.determinism, float) and math.isnan(row.determinism)):
        rule = "too few events to learn a rule"
    elif row.predictors:
        rule = (f"{row.outcome} {row.determinism:.0%} predictable from {', '.join(row.predictors)} "
                f"(baseline {row.baseline:.0%})")
    elif row.baseline >= 1.0:
        rule = f"no decision: {row.outcome} always the same"
    else:
        rule = f"{row.outcome} not predictable beyond the most frequent value ({row.baseline:.0%})"
    extra = []
    if row.rework_rate >= 0.05:
        extra.append(f"rework in {row.rework_rate:.0%} of its cases")
    if row.exception_rate >= 0.1:
        extra.append(f"exceptions in {row.exception_rate:.0%} of its cases")
    tail = "; " + ", ".join(extra) if extra else ""
    if row.recommendation == "automated":
        return f"Already automated: no manual events among its {row.events:,}."
    if row.recommendation == "external":
        return f"Done by an external party (role {row.role}): not the organisation's work to automate; {effort}."
    if row.recommendation == "assist":
        return (f"Control-bound ({row.control_class}, matched {row.control_match}): a human keeps the decision, "
                f"automate only its preparation; {effort}; {rule}{tail}.")
    return f"{effort}; {rule}{tail}; no control function."


def automation_candidates(con: duckdb.DuckDBPyConnection, filters: Filters,
                          config: AutomationConfig | None = None) -> pd.DataFrame:
    """Return one row per activity of the filtered cases, ranked (COLUMNS): automate candidates by value x
    feasibility, then control-bound (assist), external and already automated activities, each with its reason."""
    config = config or default_automation_config(filters.process)
    selection, params = case_selection(filters)
    params |= {"a_system_role": SYSTEM_ROLE, "a_systems": list(config.system_resources),
               "a_external": list(config.external_roles), "a_exceptions": list(config.exception_activities),
               "a_seed": config.seed, "a_sample": config.sample_size, "a_end": END_OF_CASE}
    stats = _activity_stats(con, selection, params)
    if stats.empty:
        return pd.DataFrame(columns=COLUMNS)
    events, predictors = _sample(con, selection, params)
    learned = _determinism(events, predictors, config)

    out = stats.copy()
    for column in ("events", "cases", "manual_events", "external_events", "reworked", "excepted"):
        out[column] = out[column].astype("int64")
    out["manual_share"] = _share(out["manual_events"], out["events"])
    out["rework_rate"] = _share(out["reworked"], out["cases"])
    out["exception_rate"] = _share(out["excepted"], out["cases"])
    out["variability"] = out["cv_processing"].where(out["n_processing"] >= 2, out["cv_waiting"]).astype(float)
    for key in ("outcome", "determinism", "baseline", "predictors", "rule"):
        out[key] = [learned.get(a, {}).get(key) for a in out["activity"]]
    out["determinism"] = out["determinism"].astype(float)
    out["baseline"] = out["baseline"].astype(float)
    out["predictors"] = [list(p or []) for p in out["predictors"]]
    controls = [control_class(a, r, config.control_rules) for a, r in zip(out["activity"], out["role"], strict=True)]
    out["control_class"] = [c for c, _ in controls]
    out["control_match"] = [m for _, m in controls]

    hours = out["processing_h_total"] + out["waiting_h_total"]
    volume = out["manual_events"] / max(out["manual_events"].max(), 1)
    time = hours / hours.max() if hours.max() > 0 else hours * 0.0
    weights = config.weight_volume + config.weight_time + config.weight_rework
    value = (config.weight_volume * volume + config.weight_time * time
             + config.weight_rework * out["rework_rate"]) / (weights or 1.0)
    # Only the manual part of the time is saved by automating: scale by the manual share.
    out["value"] = (value * out["manual_share"]).astype(float)
    stability = (1 - out["variability"].fillna(1.0) / 2).clip(lower=0.0)
    weights = config.weight_determinism + config.weight_stability + config.weight_exceptions
    out["feasibility"] = ((config.weight_determinism * out["determinism"].fillna(0.0)
                           + config.weight_stability * stability
                           + config.weight_exceptions * (1 - out["exception_rate"])) / (weights or 1.0)).astype(float)
    out["score"] = out["value"] * out["feasibility"]

    external = out["external_events"] > out["events"] / 2
    out["recommendation"] = np.select(
        [out["manual_events"] == 0, external, out["control_class"] != "none"],
        ["automated", "external", "assist"], "automate")
    tier = out["recommendation"].map({r: i for i, r in enumerate(RECOMMENDATIONS)})
    out = (out.assign(_tier=tier).sort_values(["_tier", "score", "manual_events", "activity"],
                                              ascending=[True, False, False, True]).reset_index(drop=True))
    out["rank"] = np.arange(1, len(out) + 1)
    out["reason"] = [_reason(row) for _, row in out.iterrows()]
    return out[COLUMNS]
