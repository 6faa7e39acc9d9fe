"""Reviewing and editing a model as tables: what each table shows, edits applied and recorded, bad edits refused
with a message naming the row, and the pictures' data."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import simulate
from simulation.model_edits import (
    ALWAYS,
    EDITS_NOTE,
    activities_table,
    arrivals_grid,
    edit_model,
    roles_table,
    routing_dot,
    routing_table,
    shifts_table,
    staffing_grid,
)
from simulation.spec import END, START, Activity, Branch, Decision, Distribution, Model
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
    dot = routing_dot(m)
    assert dot.startswith("digraph routing") and '"B" -> "A" [label="20%"' in dot
    assert '"A" -> "B" [label="amount >= 1000"' in dot and f'"{START}" -> "A"' in dot
