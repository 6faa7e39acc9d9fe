"""The KPIs of a simulated run over its cases arriving after the warm-up (`kpis`; what each measures:
KPI_DEFINITIONS), measured as mining/kpis.py measures them on a log where the two overlap."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from simulation.spec import Model

if TYPE_CHECKING:
    from simulation.engine import SimulationRun

APPROVAL_PREFIX = "Approve"
# Event kinds: manual work, system steps, and the policy events the KPIs count. "opening": a step done at the
# arrival (Activity.at_arrival), manual work recorded without duration.
MANUAL_KINDS = ("manual", "opening", "exception", "review", "rework")
EXCEPTION_KINDS = ("exception", "dead_letter")

KPI_DEFINITIONS: dict[str, str] = {
    "cases": "Number of reported cases: those arriving after the warm-up period.",
    "completed_share": "Share of the reported cases that reached END before the simulation stopped (dead letters, "
                       "loop-guard stops and unfinished cases are not completed).",
    "cycle_time_median_h": "Completed cases: hours from the first known time of the case (earliest start, else "
                           "earliest end) to the end of its last event — as in mining/kpis.py; median.",
    "cycle_time_mean_h": "As cycle_time_median_h, the mean.",
    "cycle_time_p90_h": "As cycle_time_median_h, the 90th percentile.",
    "touchless_rate": "Share of cases without a manual event (an event with a resource whose role is not "
                      "'system'), as in mining/kpis.py.",
    "exception_rate": "Share of cases with an exception-handling event (automation retries exhausted) or a dead "
                      "letter.",
    "rework_rate": "Share of cases in which some activity is repeated after other activities (A B A is rework, "
                   "A A is not), as in mining/kpis.py.",
    "manual_touches_per_case": "Mean number of manual events per case, as in mining/kpis.py.",
    "waiting_h_per_case": "Mean over the cases of the hours their events waited: for each event, its start minus "
                          "the end of the case's previous event (or the arrival), never negative.",
    "sla_adherence": "Share of the completed cases with an SLA target (Model.sla) whose cycle time is within it.",
    "cost_per_case": "Mean over the cases of processing hours of their manual events times the hourly cost of the "
                     "role that did them (simulated work time, not the standard minutes mining/kpis.py assumes; a "
                     "step done at the arrival counts its mean processing time).",
    "approval_turnaround_median_h": "Events whose activity starts with 'Approve': hours from the end of the "
                                    "case's previous event (when the approval became ready) to the approval's "
                                    "end, as in mining/kpis.py; median.",
    "approval_turnaround_mean_h": "As approval_turnaround_median_h, the mean.",
}


def kpis(run: SimulationRun, model: Model | None = None) -> dict[str, float | int | None]:
    """Return the KPIs of the run's non-warm-up cases (see KPI_DEFINITIONS; hours, shares, money per case).

    The SLA targets come from `model` (default: the run's model); role costs from the run's model, so that a
    staffing change of cost counts.
    """
    model = model or run.model
    cases = run.cases[~run.cases["warmup"]]
    n = len(cases)
    ids = pd.Index(cases["case_id"])
    ev = run.events[run.events["case_id"].isin(ids)].sort_values(["case_id", "end_time", "start_time"],
                                                                  kind="stable")
    cost_of = {r.name: r.hourly_cost for r in run.model.roles}
    manual = ev["kind"].isin(MANUAL_KINDS)
    by_case = ev.groupby("case_id", sort=False)
    touches = manual.groupby(ev["case_id"]).sum().reindex(ids, fill_value=0)
    exception = ev["kind"].isin(EXCEPTION_KINDS).groupby(ev["case_id"]).any().reindex(ids, fill_value=False)
    position = by_case.cumcount()
    span = position.groupby([ev["case_id"], ev["activity"]]).agg(["min", "max", "count"])
    reworked = (span["max"] - span["min"] + 1 > span["count"]).groupby(level=0).any().reindex(ids, fill_value=False)
    hours = (ev["end_time"] - ev["start_time"]).dt.total_seconds() / 3600
    hours = hours.add(_opening_work_h(run.model, ev), fill_value=0.0)
    arrival = cases.set_index("case_id")["arrival"]
    cost = (hours * ev["role"].map(cost_of).fillna(0.0)).where(manual, 0.0).groupby(ev["case_id"]).sum()
    cost = cost.reindex(ids, fill_value=0.0)
    previous = by_case["end_time"].shift(1).fillna(ev["case_id"].map(arrival))
    waiting = ((ev["start_time"] - previous).dt.total_seconds().clip(lower=0) / 3600).groupby(ev["case_id"]).sum()
    waiting = waiting.reindex(ids, fill_value=0.0)
    first = ev["start_time"].fillna(ev["end_time"]).groupby(ev["case_id"]).min()
    last = by_case["end_time"].max()
    done = cases.loc[cases["completed"], "case_id"]
    cycle = ((last - first).dt.total_seconds() / 3600).reindex(done).dropna()
    sla = _sla(model, cases.set_index("case_id").loc[cycle.index], cycle) if len(cycle) else None
    approvals = ev["activity"].str.startswith(APPROVAL_PREFIX) & by_case["end_time"].shift(1).notna()
    turnaround = (ev["end_time"] - by_case["end_time"].shift(1))[approvals].dt.total_seconds() / 3600

    def stat(series: pd.Series, how: str) -> float | None:
        if not len(series):
            return None
        return float({"median": series.median, "mean": series.mean, "p90": lambda: series.quantile(0.9)}[how]())

    return {
        "cases": n,
        "completed_share": float(cases["completed"].mean()) if n else None,
        "cycle_time_median_h": stat(cycle, "median"),
        "cycle_time_mean_h": stat(cycle, "mean"),
        "cycle_time_p90_h": stat(cycle, "p90"),
        "touchless_rate": float((touches == 0).mean()) if n else None,
        "exception_rate": float(exception.mean()) if n else None,
        "rework_rate": float(reworked.mean()) if n else None,
        "manual_touches_per_case": float(touches.mean()) if n else None,
        "waiting_h_per_case": float(waiting.mean()) if n else None,
        "sla_adherence": sla,
        "cost_per_case": float(cost.mean()) if n else None,
        "approval_turnaround_median_h": stat(turnaround, "median"),
        "approval_turnaround_mean_h": stat(turnaround, "mean"),
    }


def _opening_work_h(model: Model, ev: pd.DataFrame) -> pd.Series:
    """Return, for the events of steps done at the arrival (kind "opening"), the mean hours of their work."""
    # The twin records such a step at the arrival, taking no time (the log read the arrival from its end), but a
    # person did its work before: the cost counts it at the step's mean processing time for that person's role.
    at = ev["kind"] == "opening"
    pairs = list(ev.loc[at, ["activity", "role"]].itertuples(index=False, name=None))
    means = {(a, r): model.activity(a).duration_for(r).mean_value() / 3600 for a, r in set(pairs)}
    work = [means[pair] for pair in pairs]
    return pd.Series(work, index=ev.index[at], dtype=float).reindex(ev.index, fill_value=0.0)


def _sla(model: Model, cases: pd.DataFrame, cycle: pd.Series) -> float | None:
    """Return the share of completed cases with a target whose cycle time (hours) is within it."""
    if model.sla is None:
        return None
    sla = model.sla
    if sla.attribute is None or sla.attribute not in cases.columns:
        target = pd.Series(sla.default_h, index=cycle.index, dtype=float)
    else:
        values = cases[sla.attribute].astype(str)
        target = values.map(lambda v: sla.targets_h.get(v, sla.default_h)).astype(float)
    known = target.notna()
    return float((cycle[known] <= target[known]).mean()) if known.any() else None
