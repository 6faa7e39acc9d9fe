"""The as-is model to review and edit in the Scenario lab: tabs of editable tables (roles, working hours,
activities, routing, arrivals, cases) with a picture each, returning the model with the edits applied."""

from __future__ import annotations

import hashlib

import altair as alt
import pandas as pd
import streamlit as st

from simulation.model_edits import (
    ALWAYS,
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
from simulation.spec import WEEKDAYS, Model

TABS = ["Roles", "Working hours", "Activities", "Routing", "Arrivals", "Cases"]
# Session state: {model key: int}, bumped by "Undo the edits" so that every editor starts again from the model.
ROUND_KEY = "model_editor_round"


def fingerprint(model: Model) -> str:
    """Return a short key of the model's content: the editors start afresh when the model they edit changes."""
    return hashlib.sha1(model.to_yaml().encode()).hexdigest()[:10]


def review_and_edit(model: Model, key: str, colors: str = "tableau10") -> tuple[Model, list[str], str]:
    """Return the model with the edits made in the tabs, the list of edits, and the error that kept them out
    ("" when none): an edit the model cannot take leaves the model as it was."""
    base = f"{key}_{fingerprint(model)}_{st.session_state.get(ROUND_KEY, {}).get(key, 0)}"
    st.session_state[f"{key}_editors"] = base  # the editors' key prefix, for who needs to find them
    tabs = dict(zip(TABS, st.tabs(TABS), strict=True))
    # Each tab's picture sits above its table but is drawn last, from the model with the edits made below it.
    pictures = {name: tabs[name].container() for name in ("Working hours", "Activities", "Routing", "Arrivals",
                                                           "Cases")}

    # Working hours first: a calendar added there is one the roles can take.
    with tabs["Working hours"]:
        st.caption("Shifts of each calendar, local time. Add a row with a new calendar name to make a calendar, "
                   "then give it to a role under Roles; days as Mon,Tue,…; a shift may end at 24:00.")
        shifts = st.data_editor(shifts_table(model), key=f"{base}_shifts", num_rows="dynamic", hide_index=True,
                                width="stretch", column_config={
                                    "calendar": st.column_config.TextColumn("calendar", required=True),
                                    "days": st.column_config.TextColumn("days", required=True),
                                    "start": st.column_config.TextColumn("start", help="HH:MM", required=True),
                                    "end": st.column_config.TextColumn("end", help="HH:MM", required=True)})
    calendars = sorted({str(c) for c in shifts["calendar"].dropna() if str(c).strip()}
                       | {c.name for c in model.calendars})
    with tabs["Roles"]:
        st.caption("People per role, the calendar they keep to (always: available at any hour), what an hour of "
                   "their work costs and the share of working days a person is absent.")
        roles = st.data_editor(roles_table(model), key=f"{base}_roles", hide_index=True, width="stretch",
                               column_config={
                                   "role": st.column_config.TextColumn("role", disabled=True, width="medium"),
                                   "headcount": st.column_config.NumberColumn("people", min_value=0, step=1,
                                                                              width="small"),
                                   "calendar": st.column_config.SelectboxColumn(
                                       "calendar", options=[ALWAYS, *calendars], width="medium"),
                                   "hourly_cost": st.column_config.NumberColumn("hourly cost", min_value=0,
                                                                                format="%.2f", width="small"),
                                   "absence_share": st.column_config.NumberColumn(
                                       "absent", min_value=0.0, max_value=0.99, step=0.01, format="%.2f",
                                       width="small",
                                       help="Share of working days a person is absent (0.1: one day in ten).")})
    with tabs["Activities"]:
        st.caption("Who does each step, its mean processing time and the mean hidden delay before it (waiting "
                   "no person explains: a supplier, a due date). A new mean scales every draw, so the shape "
                   "the log showed stays. Automating a step is a scenario's change, not an edit.")
        activities = st.data_editor(activities_table(model), key=f"{base}_activities", hide_index=True,
                                    width="stretch", column_config={
                                        "activity": st.column_config.TextColumn("activity", disabled=True),
                                        "role": st.column_config.SelectboxColumn(
                                            "role", options=[r.name for r in model.roles]),
                                        "automated": st.column_config.CheckboxColumn("system", disabled=True),
                                        "processing_min": st.column_config.NumberColumn(
                                            "processing (min)", min_value=0.0, format="%.2f"),
                                        "delay_h": st.column_config.NumberColumn(
                                            "hidden delay (h)", min_value=0.0, format="%.2f")})
    with tabs["Routing"]:
        st.caption("What follows each step: a branch with a rule is taken whenever its rule holds; otherwise one "
                   "is drawn by probability. The probabilities of a decision must still sum to 1.")
        routing = st.data_editor(routing_table(model), key=f"{base}_routing", hide_index=True, width="stretch",
                                 column_config={
                                     "decision": None,
                                     "branch": None,
                                     "after": st.column_config.TextColumn("after", disabled=True),
                                     "holds": st.column_config.TextColumn("holds", disabled=True),
                                     "to": st.column_config.TextColumn("to", disabled=True),
                                     "probability": st.column_config.NumberColumn(
                                         "probability", min_value=0.0, max_value=1.0, step=0.01, format="%.3f"),
                                     "rule": st.column_config.TextColumn("rule", disabled=True)})
    with tabs["Arrivals"]:
        per_week = st.number_input("Cases per week", min_value=0.001, value=float(model.arrivals.cases_per_week),
                                   key=f"{base}_per_week", format="%.1f",
                                   help="The mean rate; the month factors and the hours below shape it. A "
                                        "scenario's volume change grows it on top.")
    with tabs["Cases"]:
        categories, numbers, sla = _cases(model, base)
    try:
        edited, changes = edit_model(model, roles=roles, shifts=shifts, activities=activities, routing=routing,
                                     cases_per_week=per_week, categories=categories, numbers=numbers, sla=sla)
        error = ""
    except ValueError as exc:
        edited, changes, error = model, [], str(exc)
    with pictures["Working hours"]:
        _staffing_picture(edited)
    with pictures["Activities"]:
        _processing_picture(edited, colors)
    with pictures["Routing"]:
        st.graphviz_chart(routing_dot(edited), width="content")
    with pictures["Arrivals"]:
        _arrivals_picture(edited)
    with pictures["Cases"]:
        _shares_picture(edited, colors)
    return edited, changes, error


def _cases(model: Model, base: str) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    """Show the case attributes (category shares as a picture and a table, numeric means) and the SLA targets as
    editors; return the three tables as edited (None for one the model has nothing in)."""
    categories = categories_table(model)
    if categories.empty:
        st.caption("No categorical case attributes.")
        categories = None
    else:
        st.caption("What each case draws when it arrives (a site with shares of its own has its own rows). Shares "
                   "are weights: they are normalised to sum to 1 per attribute and site.")
        categories = st.data_editor(categories, key=f"{base}_categories", hide_index=True, width="stretch",
                                    column_config={
                                        "attribute": st.column_config.TextColumn("attribute", disabled=True),
                                        "site": st.column_config.TextColumn(
                                            "site", disabled=True, help="Empty: every site without its own."),
                                        "value": st.column_config.TextColumn("value", disabled=True),
                                        "share": st.column_config.NumberColumn("share", min_value=0.0,
                                                                               format="%.4f")})
    numbers = numbers_table(model)
    if numbers.empty:
        numbers = None
    else:
        st.caption("Numeric attributes (an invoice's amount): a new mean scales every draw, so the fitted shape "
                   "stays; approval thresholds read the scaled amounts.")
        numbers = st.data_editor(numbers, key=f"{base}_numbers", hide_index=True, width="stretch", column_config={
            "attribute": st.column_config.TextColumn("attribute", disabled=True),
            "distribution": st.column_config.TextColumn("distribution", disabled=True),
            "mean": st.column_config.NumberColumn("mean", min_value=0.0, format="%.2f")})
    if model.sla is None:
        st.caption("No SLA targets: the KPI configuration of the process sets none.")
        return categories, numbers, None
    st.caption(f"SLA targets in hours of cycle time, by {model.sla.attribute or 'case'}; the empty value is the "
               "target of every other case (leave it empty for none).")
    sla = st.data_editor(sla_table(model), key=f"{base}_sla", hide_index=True, width="stretch", column_config={
        "value": st.column_config.TextColumn(model.sla.attribute or "value", disabled=True),
        "target_h": st.column_config.NumberColumn("target (h)", min_value=0.0, format="%.1f")})
    return categories, numbers, sla


def undo(key: str) -> None:
    """Start every editor of `key` again from the model (the edits are dropped)."""
    rounds = st.session_state.setdefault(ROUND_KEY, {})
    rounds[key] = rounds.get(key, 0) + 1


def _shares_picture(model: Model, colors: str) -> None:
    """Show the shares of each categorical case attribute (every site without its own) as stacked bars."""
    shown = categories_table(model).query("site == ''")
    if shown.empty:
        return
    st.altair_chart(alt.Chart(shown, height=alt.Step(24)).mark_bar().encode(
        x=alt.X("share:Q", stack="normalize", title="share of the cases", axis=alt.Axis(format="%")),
        y=alt.Y("attribute:N", title=None),
        color=alt.Color("value:N", scale=alt.Scale(scheme=colors), legend=None),
        tooltip=["attribute", "value", alt.Tooltip("share:Q", format=".1%")]), width="stretch")


def _staffing_picture(model: Model) -> None:
    """Show the people of each role at work per hour of the week, as a heatmap."""
    grid = staffing_grid(model)
    if grid.empty:
        st.caption("No roles: every step is done by a system.")
        return
    grid["when"] = grid["day"] + " " + grid["hour"].map("{:02d}:00".format)
    order = [f"{d} {h:02d}:00" for d in WEEKDAYS for h in range(24)]
    roles = list(dict.fromkeys(grid["role"]))
    grid = grid[grid["people"] > 0]  # hours off stay blank
    height = alt.Step(18) if len(roles) <= 40 else alt.Step(12)
    chart = alt.Chart(grid, height=height).mark_rect().encode(
        x=alt.X("when:O", scale=alt.Scale(domain=order), title=None,
                axis=alt.Axis(values=[f"{d} 00:00" for d in WEEKDAYS], labelExpr="slice(datum.value, 0, 3)",
                              labelAngle=0)),
        y=alt.Y("role:N", title=None, scale=alt.Scale(domain=roles),
                axis=alt.Axis(labelLimit=320, labelOverlap=False)),
        color=alt.Color("people:Q", title="people at work", scale=alt.Scale(scheme="blues", domainMin=0)),
        tooltip=["role", "day", alt.Tooltip("hour:Q", title="hour"), alt.Tooltip("people:Q", format=".1f")])
    st.altair_chart(chart, width="stretch")


def _processing_picture(model: Model, colors: str) -> None:
    """Show the mean processing time of each manual step as bars, coloured by the role doing it."""
    manual = [a for a in model.activities if not a.automated and a.role is not None]
    # A role with a processing time of its own (discovery found it works at another speed) gets a bar of its own.
    work = pd.DataFrame([{"role": "its other roles" if a.role in (a.duration_by_role or {}) else a.role,
                          "activity": a.name, "minutes": a.duration.mean_value() / 60} for a in manual]
                        + [{"role": r, "activity": f"{a.name}, by {r}", "minutes": d.mean_value() / 60}
                           for a in manual for r, d in (a.duration_by_role or {}).items()])
    if work.empty:
        return
    # Full width: activity names are long, and a side column cut them off.
    st.altair_chart(alt.Chart(work, height=alt.Step(22)).mark_bar().encode(
        x=alt.X("minutes:Q", title="mean processing (minutes)"),
        y=alt.Y("activity:N", title=None, sort="-x", axis=alt.Axis(labelLimit=360, labelOverlap=False)),
        color=alt.Color("role:N", scale=alt.Scale(scheme=colors), legend=alt.Legend(labelLimit=360)),
        tooltip=["activity", "role", alt.Tooltip("minutes:Q", format=".1f")]), width="stretch")


def _arrivals_picture(model: Model) -> None:
    """Show the cases arriving per hour of the week, as a heatmap of weekday by hour."""
    grid = arrivals_grid(model)
    chart = alt.Chart(grid, height=alt.Step(22)).mark_rect().encode(
        x=alt.X("hour:O", title="hour of the day"),
        y=alt.Y("day:N", sort=list(WEEKDAYS), title=None),
        color=alt.Color("cases:Q", title="cases per hour", scale=alt.Scale(scheme="oranges")),
        tooltip=["day", "hour", alt.Tooltip("cases:Q", format=".2f")])
    st.altair_chart(chart, width="stretch")
    st.caption(f"An average week of {model.arrivals.cases_per_week:,.1f} cases, in {model.arrivals.timezone}.")
    months = monthly_rates(model)
    st.altair_chart(alt.Chart(months, height=160).mark_bar(color="#f28e2b").encode(
        x=alt.X("month:N", sort=list(months["month"]), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cases_per_week:Q", title="cases per week"),
        tooltip=["month", alt.Tooltip("cases_per_week:Q", format=",.1f"), alt.Tooltip("factor:Q", format=".2f")]),
        width="stretch")
    a = model.arrivals
    after = (f" After the log ({a.forecast_from:%Y-%m-%d}) every month arrives at the forecast level, "
             f"{a.forecast_per_week:,.1f} cases per week." if a.forecast_from and a.forecast_per_week else "")
    st.caption("Cases per week by month during the log's span (months it did not cover at the level forecast "
               "for after it)." + after)
