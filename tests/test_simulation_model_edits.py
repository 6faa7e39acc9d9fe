"""Reviewing and editing a model as tables: what each table shows, edits applied and recorded, bad edits refused
with a message naming the row, and the pictures' data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulation import simulate
from simulation.model_edits import (
    ALWAYS,
    EDITS_NOTE,
    activities_table,
    arrivals_grid,
    categories_table,
    edit_model,
    monthly_rates,
    numbers_table,
    roles_table,
    routing_dot,
    routing_table,
    shifts_table,
    sla_table,
    staffing_grid,
)
from simulation.spec import (
    END,
    START,
    Activity,
    Branch,
    CaseAttribute,
    Condition,
    Decision,
    Distribution,
    Model,
    SlaTarget,
)
from tests.test_simulation_spec import small_model


def model_with_a_choice() -> Model:
    """Return the small model with a probabilistic choice after B (rework or end) and a hidden delay before B."""
    m = small_model(policies=[])
    acts = [m.activities[0], m.activities[1].model_copy(update={
        "delay": Distribution(kind="exponential", mean=7200.0)})]
    decisions = m.decisions[:2] + [Decision(after="B", branches=[Branch(to="A", probability=0.2),
                                                                 Branch(to=END, probability=0.8)])]
    return m.model_copy(update={"activities": acts, "decisions": decisions})


def test_unedited_tables_give_back_the_same_model():
    m = model_with_a_choice()
    same, changes = edit_model(m, roles=roles_table(m), shifts=shifts_table(m), activities=activities_table(m),
                               routing=routing_table(m), cases_per_week=m.arrivals.cases_per_week)
    assert changes == [] and same == m
    assert roles_table(m).to_dict("records")[0] == {"role": "clerk", "headcount": 2, "calendar": "office",
                                                   "hourly_cost": 0.0, "absence_share": 0.0}
    assert activities_table(m).set_index("activity").loc["B", ["processing_min", "delay_h"]].tolist() == [10.0, 2.0]
    rows = routing_table(m)
    assert rows[rows.after == "A"].rule.tolist() == ["amount >= 1000", ""]
    assert rows[rows.after == "A"].probability.isna().tolist() == [True, False]


def test_edits_are_applied_recorded_and_the_model_stays_valid():
    m = model_with_a_choice()
    roles = roles_table(m)
    roles.loc[roles.role == "boss", ["headcount", "hourly_cost"]] = [3, 80.0]
    shifts = shifts_table(m)
    shifts.loc[len(shifts)] = {"calendar": "late", "days": "mon, TUE wed", "start": "12:00", "end": "20:00"}
    roles.loc[roles.role == "clerk", "calendar"] = "late"
    acts = activities_table(m)
    acts.loc[acts.activity == "B", ["processing_min", "delay_h"]] = [5.0, 0.0]
    acts.loc[acts.activity == "A", "processing_min"] = 20.0
    routing = routing_table(m)
    routing.loc[(routing.after == "B") & (routing.to == "A"), "probability"] = 0.5
    routing.loc[(routing.after == "B") & (routing.to == END), "probability"] = 0.5
    edited, changes = edit_model(m, roles=roles, shifts=shifts, activities=acts, routing=routing,
                                 cases_per_week=150)
    assert edited.role("boss").headcount == 3 and edited.role("boss").hourly_cost == 80.0
    late = next(c for c in edited.calendars if c.name == "late")
    assert late.shifts[0].days == ["Mon", "Tue", "Wed"] and late.timezone == "Europe/Amsterdam"
    assert edited.role("clerk").calendar == "late"
    # Scaled, not replaced: A keeps its exponential, B its gamma shape.
    assert edited.activity("A").duration == Distribution(kind="exponential", mean=1200.0)
    b = edited.activity("B").duration
    assert (b.kind, b.shape, b.mean_value()) == ("gamma", 2, pytest.approx(300.0))
    assert edited.activity("B").delay is None
    after_b = next(d for d in edited.decisions if d.after == "B")
    assert [br.probability for br in after_b.branches] == [0.5, 0.5]
    assert edited.arrivals.cases_per_week == 150
    assert len(changes) == 9, changes
    assert "role boss: headcount 1 → 3" in changes and "calendar late: new, Mon,Tue,Wed 12:00-20:00" in changes
    assert edited.notes[EDITS_NOTE] == "; ".join(changes)
    # The note grows with a second round of edits, and the YAML keeps them all.
    again, more = edit_model(edited, cases_per_week=120)
    assert again.notes[EDITS_NOTE].endswith("; " + more[0]) and Model.from_yaml(again.to_yaml()) == again
    # The edited model runs as edited: B takes half as long, the clerks work from noon.
    before, after = (simulate(x, seed=1).events for x in (m, edited))
    work = [(e.end_time - e.start_time).dt.total_seconds()[e.activity == "B"].mean() for e in (before, after)]
    assert work[1] == pytest.approx(work[0] / 2, rel=0.2)
    clerk_starts = after[after.role == "clerk"].start_time.dt.tz_convert("Europe/Amsterdam").dt.hour
    assert clerk_starts.min() >= 12 and (before[before.role == "clerk"].start_time.dt.tz_convert(
        "Europe/Amsterdam").dt.hour < 12).any()


def test_a_role_can_be_made_always_available_and_a_step_given_a_time():
    m = model_with_a_choice()
    roles = roles_table(m)
    roles.loc[:, "calendar"] = ALWAYS
    shifts = shifts_table(m).iloc[0:0]  # the office calendar is used by no one now: it can go
    m2 = m.model_copy(update={"activities": [*m.activities, Activity(name="C", role="clerk")]})
    acts = activities_table(m2)
    acts.loc[acts.activity == "C", "processing_min"] = 3.0
    edited, changes = edit_model(m2, roles=roles, shifts=shifts, activities=acts)
    assert all(r.calendar is None for r in edited.roles) and edited.calendars == []
    assert edited.activity("C").duration == Distribution(kind="exponential", mean=180.0)
    assert "calendar office: removed" in changes


def test_a_step_reached_by_a_rule_and_by_chance_keeps_both_branches_apart():
    # Large amounts always go to B; the others go to B one time in four (a decision the demo's approvals have).
    m = model_with_a_choice()
    both = Decision(after="A", branches=[Branch(to="B", when=Condition(attribute="amount", op=">=", value=1000)),
                                         Branch(to="B", probability=0.25), Branch(to=END, probability=0.75)])
    m = m.model_copy(update={"decisions": [m.decisions[0], both, m.decisions[2]]})
    routing = routing_table(m)
    assert routing[routing.after == "A"][["branch", "to"]].values.tolist() == [[0, "B"], [1, "B"], [2, END]]
    same, none = edit_model(m, routing=routing)
    assert none == [] and same == m
    routing.loc[(routing.after == "A") & (routing.branch == 1), "probability"] = 0.5
    routing.loc[(routing.after == "A") & (routing.branch == 2), "probability"] = 0.5
    edited, changes = edit_model(m, routing=routing)
    after_a = next(d for d in edited.decisions if d.after == "A")
    assert after_a.branches[0].when is not None and [b.probability for b in after_a.branches[1:]] == [0.5, 0.5]
    assert changes == [f"routing after A: B 0.25 → 0.50, {END} 0.75 → 0.50"]
    # The graph keeps both ways to B on one arrow.
    assert '"A" -> "B" [label="amount >= 1000 or 25%"' in routing_dot(m)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t["roles"].loc.__setitem__((0, "headcount"), 1.5), "role clerk: the headcount must be a whole"),
    (lambda t: t["roles"].loc.__setitem__((0, "calendar"), "night"), "role clerk: unknown calendar 'night'"),
    (lambda t: t["roles"].loc.__setitem__((1, "absence_share"), 1.0), "role boss: the absence share"),
    (lambda t: t["roles"].loc.__setitem__((1, "hourly_cost"), "lots"), "role boss: hourly cost: give a number"),
    (lambda t: t["shifts"].loc.__setitem__((0, "days"), "Mon,Funday"), "shift row 1: 'Funday' is not a weekday"),
    (lambda t: t["shifts"].loc.__setitem__((0, "end"), "07:00"), "shift row 1 (office): a shift must end after"),
    (lambda t: t["shifts"].drop(index=0, inplace=True), "calendar office has no shifts left, but clerk, boss"),
    (lambda t: t["activities"].loc.__setitem__((0, "processing_min"), -1), "activity A: processing minutes cannot"),
    (lambda t: t["activities"].loc.__setitem__((1, "role"), "intern"), "activity B: unknown role 'intern'"),
    (lambda t: t["routing"].loc.__setitem__((t["routing"].index[-1], "probability"), 0.7),
     "after B: the probabilities now sum to 0.90, not 1"),
    (lambda t: t["routing"].loc.__setitem__((1, "probability"), 0.5),
     "after A, to B: this branch is taken by its rule (amount >= 1000); a probability is not used"),
])
def test_bad_edits_are_refused_with_the_row_named(edit, message):
    m = model_with_a_choice()
    tables = {"roles": roles_table(m), "shifts": shifts_table(m), "activities": activities_table(m),
              "routing": routing_table(m)}
    tables = {k: t.astype(object) for k, t in tables.items()}  # a cell may be edited to any text
    edit(tables)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        edit_model(m, **tables)
    with pytest.raises(ValueError, match="cases per week must be positive"):
        edit_model(m, cases_per_week=0)


def model_with_cases() -> Model:
    """Return the small model with a priority drawn per site and SLA targets by priority."""
    m = model_with_a_choice()
    priority = CaseAttribute(name="priority", categories={"high": 0.2, "low": 0.8},
                             per_site={"South": {"high": 0.5, "low": 0.5}})
    return m.model_copy(update={"attributes": [*m.attributes, priority],
                                "sla": SlaTarget(attribute="priority", targets_h={"high": 8, "low": 48})})


def test_case_attributes_and_sla_targets_are_edited():
    m = model_with_cases()
    cats, nums, sla = categories_table(m), numbers_table(m), sla_table(m)
    assert cats.to_dict("records")[:3] == [
        {"attribute": "priority", "site": "", "value": "high", "share": 0.2},
        {"attribute": "priority", "site": "", "value": "low", "share": 0.8},
        {"attribute": "priority", "site": "South", "value": "high", "share": 0.5}]
    assert nums.to_dict("records") == [{"attribute": "amount", "distribution": "lognormal",
                                        "mean": round(m.attributes[0].number.mean_value(), 3)}]
    assert sla.to_dict("records")[:2] == [{"value": "high", "target_h": 8}, {"value": "low", "target_h": 48}]
    assert sla.loc[2, "value"] == "" and pd.isna(sla.loc[2, "target_h"])
    same, none = edit_model(m, categories=cats, numbers=nums, sla=sla)
    assert none == [] and same == m
    # Shares are weights: 3 to 1 becomes 0.75 and 0.25; South keeps its own.
    cats.loc[0, "share"], cats.loc[1, "share"] = 3, 1
    nums.loc[0, "mean"] = 2 * float(nums.loc[0, "mean"])
    sla.loc[0, "target_h"] = 4
    sla.loc[2, "target_h"] = 24
    edited, changes = edit_model(m, categories=cats, numbers=nums, sla=sla)
    priority = edited.attributes[1]
    assert priority.categories == {"high": 0.75, "low": 0.25} and priority.per_site == m.attributes[1].per_site
    amount = edited.attributes[0].number
    assert amount.kind == "lognormal" and amount.sigma == 1.2 and amount.mean_value() == pytest.approx(
        2 * m.attributes[0].number.mean_value(), rel=1e-3)
    assert edited.sla.targets_h == {"high": 4, "low": 48} and edited.sla.default_h == 24
    assert changes == ["attribute amount: mean 1,643.55 → 3,287.09", "attribute priority: high 0.20 → 0.75, "
                       "low 0.80 → 0.25", "SLA target high: 8 h → 4 h", "SLA target of the other cases: none → 24 h"]
    # The engine draws the edited shares: high three times in four at North.
    run = simulate(edited, seed=2)
    north = run.cases[run.cases.site == "North"]
    assert (north["priority"] == "high").mean() == pytest.approx(0.75, abs=0.06)


@pytest.mark.parametrize(("table", "row", "change", "message"), [
    ("categories", 0, {"share": -1}, "attribute priority: shares are weights of 0 or more"),
    ("categories", 2, {"share": 0}, None),  # South's low keeps the weight
    ("numbers", 0, {"mean": 0}, "attribute amount: the mean must be positive"),
    ("sla", 0, {"target_h": -2}, "SLA target high: give a positive number of hours"),
    ("sla", 0, {"value": "urgent"}, "SLA target for 'urgent': priority has no such value"),
])
def test_bad_case_edits_are_refused(table, row, change, message):
    m = model_with_cases()
    tables = {"categories": categories_table(m), "numbers": numbers_table(m), "sla": sla_table(m)}
    tables = {k: t.astype(object) for k, t in tables.items()}
    for column, value in change.items():
        tables[table].loc[row, column] = value
    if message is None:
        edited, _ = edit_model(m, **tables)
        assert edited.attributes[1].per_site["South"] == {"high": 0.0, "low": 1.0}
        return
    with pytest.raises(ValueError, match=message):
        edit_model(m, **tables)


def test_pictures_data():
    m = model_with_a_choice()
    staff = staffing_grid(m)
    clerks = staff[staff.role == "clerk"].set_index(["day", "hour"]).people
    assert clerks[("Mon", 8)] == 2 and clerks[("Mon", 17)] == 0 and clerks[("Sat", 10)] == 0
    assert staff[staff.role == "clerk"].people.sum() == 2 * 5 * 9  # two people, five nine-hour days
    arrivals = arrivals_grid(m)
    assert len(arrivals) == 168 and arrivals.cases.sum() == pytest.approx(100)
    shaped = m.model_copy(update={"arrivals": m.arrivals.model_copy(update={
        "hour_of_week": list(np.r_[np.full(24, 3.0), np.ones(144)])})})
    grid = arrivals_grid(shaped)
    assert grid[grid.day == "Mon"].cases.sum() == pytest.approx(100 * 72 / 216)
    seasonal = m.model_copy(update={"arrivals": m.arrivals.model_copy(update={"month": [2.0] + [1.0] * 11})})
    months = monthly_rates(seasonal).set_index("month")
    assert months["factor"].mean() == pytest.approx(1) and months.loc["Jan", "factor"] == pytest.approx(24 / 13)
    assert months.loc["Feb", "cases_per_week"] == pytest.approx(100 * 12 / 13)
    dot = routing_dot(m)
    assert dot.startswith("digraph routing") and '"B" -> "A" [label="20%"' in dot
    assert '"A" -> "B" [label="amount >= 1000"' in dot and f'"{START}" -> "A"' in dot


def test_every_demo_process_comes_back_unchanged_through_its_tables(demo_org):
    from ingest import connect
    from simulation.discovery import discover

    path, _ = demo_org
    con = connect(path, read_only=True)
    try:
        processes = [r[0] for r in con.execute("SELECT DISTINCT process FROM events ORDER BY 1").fetchall()]
        models = [discover(con, p) for p in processes]
    finally:
        con.close()
    assert len(models) == 5
    for m in models:
        tables = dict(roles=roles_table(m), shifts=shifts_table(m), activities=activities_table(m),
                      routing=routing_table(m), categories=categories_table(m), numbers=numbers_table(m),
                      sla=sla_table(m))
        same, changes = edit_model(m, cases_per_week=m.arrivals.cases_per_week, **tables)
        assert changes == [] and same == m, (m.process, changes)
        # A doubled headcount everywhere is one edit per role, and nothing else moves.
        roles = tables["roles"].assign(headcount=tables["roles"]["headcount"] * 2)
        doubled, changes = edit_model(m, **{**tables, "roles": roles})
        assert len(changes) == len(m.roles) and doubled.activities == m.activities, m.process
