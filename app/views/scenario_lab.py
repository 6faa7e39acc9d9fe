"""Scenario lab page: the as-is model discovered from the log, scenarios built from the catalogue of design
changes, an experiment run with a progress bar, and its results as pictures: KPIs with confidence intervals,
cycle-time distributions, waiting per activity and a one-paragraph executive summary."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
import yaml
from pydantic import ValidationError

from app import state
from app.experiment_view import COLORS, show
from app.model_editor import review_and_edit, undo
from mining.kpis import default_config
from simulation.designs import apply
from simulation.experiments import (
    AS_IS,
    Experiment,
    ExperimentResult,
    run_experiment,
)
from simulation.spec import (
    END,
    START,
    WEEKDAYS,
    AiTriage,
    ApprovalBand,
    ApprovalMatrix,
    Automation,
    Change,
    Delegation,
    Distribution,
    Escalation,
    Model,
    Scenario,
    ScheduledAction,
    Staffing,
    Volume,
    fixed,
)
from simulation.store import (
    list_models,
    list_results,
    list_scenarios,
    load_model,
    load_result,
    load_scenario,
    save_model,
    save_result,
    save_scenario,
)
from simulation.training_backtest import discover_with_delay_check

# Session state: {process: [Scenario]} being edited, {process: ExperimentResult} of the last run, and
# {process: ExperimentResult} of the saved run chosen for comparison.
SCENARIOS_KEY = "scenario_lab_scenarios"
RESULTS_KEY = "scenario_lab_results"
SAVED_KEY = "scenario_lab_saved"

CATALOGUE: dict[str, str] = {
    "staffing": "Staffing and shifts",
    "volume": "Volume growth or a new site",
    "automation": "Automate an activity",
    "ai_triage": "AI triage",
    "approval_matrix": "Approval matrix",
    "delegation": "Delegation when an approver is absent",
    "escalation": "Escalation timers",
    "schedule": "Scheduled action (batches)",
}
EXECUTORS = {"processes": "Processes on this machine (parallel)", "threads": "Threads in this app",
             "dask": "Dask cluster"}


def one_line(exc: Exception) -> str:
    """Return an error as one line: pydantic's field errors joined, other messages' lines joined."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'model'}: {e['msg']}" for e in exc.errors())
    return " ".join(str(exc).split())


DISCOVERED = "discovered from the log"  # the lab's as-is when no kept model is chosen
# How the as-is model's hidden delays are taken: the lab's choice -> discover_with_delay_check's.
DELAY_CHECKS: dict[str, bool | str] = {"as discovered": False, "a backtest decides": "auto",
                                       "checked by simulation": True}


@st.cache_data(show_spinner=False, max_entries=16)
def discovered(path: str, version: tuple[int, int], process: str, timezone: str | None,
               delay_check: bool | str = False) -> Model:
    """Return the model discovered from the process, cached per workspace version, time zone and delay check."""
    with state.connection(Path(path)) as con:
        return discover_with_delay_check(con, process, delay_check, timezone=timezone)


def describe(change: Change) -> str:
    """Return the change's one-line description as Markdown, its label in bold."""
    text = change.describe()
    return f"**{change.label}**{text[len(change.label):]}"


# ----------------------------------------------------------------------------------------------------------
# 1. The as-is

chosen = state.page_process("Scenario lab")
st.caption("Start from the as-is model discovered from the log, add scenarios built from design changes, run them "
           "with common random numbers and compare: every KPI with its 95% confidence interval, and the paired "
           "difference with the as-is.")
path = state.current_workspace()

st.header("1. As-is model", divider="gray")
kept = list_models(path, chosen)
top = st.columns([3, 2, 2], vertical_alignment="bottom")
source = top[0].selectbox(
    "Start from", [DISCOVERED, *kept["name"]], key="lab_model_source",
    format_func=lambda n: n if n == DISCOVERED else f"{n} (kept in the workspace)",
    help="The model discovered from the log now, or one kept in the workspace (saved below, or by `twinflow "
         "discover --save`), edits included.")
timezone = top[1].text_input("Time zone of the log", key="lab_timezone", placeholder="e.g. Europe/Amsterdam",
                             disabled=source != DISCOVERED,
                             help="Local time zone for calendars and arrivals; empty: the log's own or UTC.")
check = top[2].selectbox(
    "Hidden delays", list(DELAY_CHECKS), key="lab_delay_check", disabled=source != DISCOVERED,
    help="Waits of people's steps that no queue explains. Checked by simulation: the model's twin runs over the "
         "log's span and a delay whose waits come out clearly shorter than the log's is scaled up (at most twice). "
         "A backtest decides: the check is kept when the log's last fifth of cases validates better with it (takes "
         "longer).")
upload = st.file_uploader("Or use a model file (YAML)", type=["yaml", "yml"], key="lab_model_upload",
                          help="A model downloaded below and edited elsewhere; it replaces the one above.")

model: Model | None = None
discovery_error = ""
if source == DISCOVERED:
    try:
        with st.spinner("Discovering the as-is model…"):
            model = discovered(str(path), state.workspace_version(path), chosen, timezone.strip() or None,
                               DELAY_CHECKS[check])
    except (ValueError, KeyError) as exc:
        discovery_error = one_line(exc)
else:
    try:
        model = load_model(path, source, chosen)
    except (KeyError, ValueError, ValidationError) as exc:
        discovery_error = f"the kept model {source!r} cannot be read: {one_line(exc)}"
if upload is not None:
    try:
        uploaded = Model.from_yaml(upload.getvalue().decode("utf-8"))
    except (ValidationError, yaml.YAMLError, UnicodeDecodeError, TypeError, AttributeError) as exc:
        st.error(f"The uploaded model is not valid, so it is not used: {one_line(exc)}", icon=":material/error:")
    else:
        model = uploaded
        st.success(f"Using the uploaded model {model.name!r}.", icon=":material/upload_file:")
if model is None:
    st.error(f"The process {chosen!r} cannot be modelled: {discovery_error}", icon=":material/error:")
    st.stop()

edit_key = f"lab_model_{chosen}"
metrics = st.container()
model, edits, edit_error = review_and_edit(model, edit_key, COLORS)
if edit_error:
    st.error(f"This edit cannot be taken, so the model is used without the edits: {edit_error}",
             icon=":material/error:")
elif edits:
    with st.container(border=True):
        c = st.columns([5, 1], vertical_alignment="center")
        c[0].markdown(f"**The as-is model with {len(edits)} edit{'s' if len(edits) != 1 else ''}** (the "
                      "scenarios and the run use it; its notes keep the list):\n"
                      + "\n".join(f"- {e}" for e in edits))
        c[1].button("Undo the edits", icon=":material/undo:", key="lab_undo_edits", on_click=undo, args=(edit_key,))

manual = [a for a in model.activities if not a.automated and a.role is not None]
with metrics:
    cols = st.columns(5)
    cols[0].metric("Cases per week", f"{model.arrivals.cases_per_week:,.1f}")
    cols[1].metric("Activities", len(model.activities), help="All activities; manual ones have a role.")
    cols[2].metric("Manual activities", len(manual))
    cols[3].metric("People", sum(r.headcount for r in model.roles), help=f"In {len(model.roles)} roles.")
    cols[4].metric("Horizon", f"{model.horizon_days:,.0f} days", help=f"Warm-up: {model.warmup_days:g} days.")

default_rate = default_config(chosen).default_rate
if model.roles and all(r.hourly_cost == default_rate for r in model.roles):
    st.caption(f"Every role costs the default rate of {default_rate:,.2f} per hour (as the KPIs page charges), "
               "not real wages: cost per case compares the scenarios, its level is only as real as the rates. Set "
               "them under Roles above (or in the downloaded model's hourly_cost).")
with st.expander("How discovery found each part"):
    st.markdown("\n".join(f"- **{k}**: {v}" for k, v in model.notes.items()) or "No notes.")
c = st.columns([3, 2, 2], vertical_alignment="bottom")
keep_as = c[0].text_input("Keep this model in the workspace as", key="lab_keep_name",
                          placeholder="e.g. as-is with the new shifts",
                          help="Saved with its edits; choose it under Start from, here or in a later session.")
if c[1].button("Keep the model", icon=":material/save:", key="lab_keep_model", disabled=not keep_as.strip()):
    st.session_state["lab_kept"] = save_model(path, model.model_copy(update={"name": keep_as.strip()}))
    st.rerun()  # so that Start from offers it at once
if "lab_kept" in st.session_state:
    st.toast(f"Kept the model as {st.session_state.pop('lab_kept')!r}.", icon=":material/save:")
c[2].download_button("Download the model (YAML)", model.to_yaml(), file_name=f"{chosen}-model.yaml",
                     mime="application/yaml", icon=":material/download:", key="lab_model_download")

activities = [a.name for a in model.activities]
role_names = [r.name for r in model.roles]
calendars = [c.name for c in model.calendars]
numeric = [a.name for a in model.attributes if a.number is not None] or ["amount"]

# ----------------------------------------------------------------------------------------------------------
# 2. Scenarios

st.header("2. Scenarios", divider="gray")
scenarios: list[Scenario] = st.session_state.setdefault(SCENARIOS_KEY, {}).setdefault(chosen, [])


def _remove_change(index: int, position: int) -> None:
    s = scenarios[index]
    scenarios[index] = s.model_copy(update={"changes": [c for i, c in enumerate(s.changes) if i != position]})


def _remove_scenario(index: int) -> None:
    scenarios.pop(index)


cols = st.columns(2)
with cols[0].form("lab_new_scenario", clear_on_submit=True, border=True):
    st.markdown("**New scenario**")
    name = st.text_input("Name", key="lab_new_name", placeholder="e.g. two more approvers")
    description = st.text_input("Description", key="lab_new_description")
    if st.form_submit_button("Create", icon=":material/add:"):
        name = name.strip()
        if not name or name == AS_IS or name in [s.name for s in scenarios]:
            st.error(f"Give the scenario a new name (not {AS_IS!r} nor one in use).")
        else:
            scenarios.append(Scenario(name=name, description=description.strip()))
            st.session_state["lab_edit"] = name
with cols[1].container(border=True):
    st.markdown("**Saved scenarios of this process**")
    stored = list_scenarios(path, chosen)
    if stored.empty:
        st.caption("None saved in this workspace yet.")
    else:
        by_name = stored.set_index("name")
        pick = st.selectbox("Scenario", stored["name"].tolist(), key="lab_load_pick",
                            format_func=lambda n: f"{n} ({int(by_name.loc[n, 'changes'])} changes)")
        picked = by_name.loc[pick]
        saved = pd.Timestamp(picked["saved_at"]).tz_convert("UTC")
        st.caption(" ".join(filter(None, [picked["description"], picked["what"] and f"Changes: {picked['what']}.",
                                           f"Saved {saved:%Y-%m-%d %H:%M} UTC."])))
        if st.button("Load", icon=":material/folder_open:", key="lab_load"):
            loaded = load_scenario(path, pick, chosen)
            scenarios[:] = [s for s in scenarios if s.name != loaded.name] + [loaded]
            st.session_state["lab_edit"] = loaded.name
            try:
                apply(model, loaded)
            except ValueError as exc:
                st.warning(f"Loaded, but it does not fit this model: {one_line(exc)}", icon=":material/warning:")

if not scenarios:
    st.info("No scenario yet: create one above or load a saved one. You can still run the as-is alone.",
            icon=":material/science:")
else:
    names = [s.name for s in scenarios]
    if st.session_state.get("lab_edit") not in names:
        st.session_state["lab_edit"] = names[0]
    editing = st.segmented_control("Scenario to edit", names, key="lab_edit", required=True)
    index = names.index(editing)
    scenario = scenarios[index]
    with st.container(border=True):
        st.markdown(f"#### {scenario.name}")
        if scenario.description:
            st.caption(scenario.description)
        if not scenario.changes:
            st.caption("No changes yet: it behaves as the as-is. Add a change below.")
        for position, change in enumerate(scenario.changes):
            line = st.columns([12, 1], vertical_alignment="center")
            line[0].markdown(describe(change))
            line[1].button("", icon=":material/delete:", key=f"lab_remove_{index}_{position}", help="Remove",
                           on_click=_remove_change, args=(index, position))
        try:
            apply(model, scenario)
        except ValueError as exc:
            st.error(f"This scenario does not fit the model: {one_line(exc)}", icon=":material/error:")

        kind = st.selectbox("Add a change", list(CATALOGUE), format_func=CATALOGUE.get, key="lab_change_kind")
        with st.form(f"lab_form_{kind}", border=True):
            build: Callable[[], Any]
            if kind == "staffing":
                c = st.columns(4)
                role = c[0].selectbox("Role", role_names, key="lab_staffing_role")
                delta = c[1].number_input("Headcount change (people, + or −)", -100, 1000, 1, 1,
                                          key="lab_staffing_delta")
                calendar = c[2].selectbox("Calendar", ["unchanged", *calendars], key="lab_staffing_calendar")
                cost = c[3].number_input("Hourly cost (per hour; empty = unchanged)", 0.0, value=None,
                                         key="lab_staffing_cost")

                def build() -> Any:
                    return Staffing(role=role, headcount=model.role(role).headcount + int(delta),
                                    calendar=None if calendar == "unchanged" else calendar, hourly_cost=cost)
            elif kind == "volume":
                c = st.columns(4)
                growth = c[0].number_input("Volume change (%)", -90.0, 1000.0, 20.0, 5.0, key="lab_volume_growth")
                site = c[1].selectbox("Of site", ["all sites", *model.arrivals.sites], key="lab_volume_site")
                new_site = c[2].text_input("New site (name; optional)", key="lab_volume_new_site")
                share = c[3].number_input("New site's share of cases (%)", 0.0, 99.0, 0.0, 5.0,
                                          key="lab_volume_share")

                def build() -> Any:
                    return Volume(factor=1 + growth / 100, site=None if site == "all sites" else site,
                                  new_site=new_site.strip() or None, new_site_share=share / 100)
            elif kind == "automation":
                c = st.columns(3)
                activity = c[0].selectbox("Activity", activities, key="lab_automation_activity")
                seconds = c[1].number_input("System duration (seconds)", 0.0, value=5.0, key="lab_automation_s")
                failure = c[2].number_input("Failure rate (%)", 0.0, 100.0, 5.0, 1.0, key="lab_automation_fail")
                c = st.columns(4)
                retries = c[0].number_input("Retries", 0, 20, 2, 1, key="lab_automation_retries")
                backoff = c[1].number_input("First back-off (seconds, doubles)", 0.0, value=60.0,
                                            key="lab_automation_backoff")
                handler = c[2].selectbox("Exception queue worked by", ["dead letter (nobody)", *role_names],
                                         key="lab_automation_role")
                handling = c[3].number_input("Exception handling (minutes)", 0.0, value=10.0,
                                             key="lab_automation_handling")

                def build() -> Any:
                    return Automation(activity=activity, duration=fixed(seconds), failure_rate=failure / 100,
                                      retries=int(retries), backoff_s=backoff,
                                      exception_role=None if handler.startswith("dead letter") else handler,
                                      exception_duration=fixed(handling * 60))
            elif kind == "ai_triage":
                c = st.columns(4)
                activity = c[0].selectbox("Activity", activities, key="lab_triage_activity")
                mean = c[1].number_input("Mean model confidence (%)", 1.0, 99.0, 84.0, 1.0, key="lab_triage_mean")
                spread = c[2].number_input("Confidence concentration (a + b)", 0.5, 200.0, 9.5, 0.5,
                                           key="lab_triage_concentration",
                                           help="Of the beta distribution: higher = confidences closer to the mean.")
                threshold = c[3].number_input("Review below confidence (%)", 0.0, 100.0, 80.0, 1.0,
                                              key="lab_triage_threshold")
                c = st.columns(4)
                reviewer = c[0].selectbox("Review role", role_names, key="lab_triage_role")
                review = c[1].number_input("Review (minutes)", 0.0, value=3.0, key="lab_triage_review")
                misroute = c[2].selectbox("Misroute rework by", ["the review role", *role_names],
                                          key="lab_triage_misroute_role")
                rework = c[3].number_input("Misroute rework (minutes)", 0.0, value=5.0, key="lab_triage_rework")

                def build() -> Any:
                    a, b = spread * mean / 100, spread * (1 - mean / 100)
                    return AiTriage(activity=activity, confidence=Distribution(kind="beta", a=a, b=b),
                                    threshold=threshold / 100, review_role=reviewer,
                                    review_duration=fixed(review * 60),
                                    misroute_role=None if misroute == "the review role" else misroute,
                                    misroute_duration=fixed(rework * 60))
            elif kind == "approval_matrix":
                c = st.columns(4)
                after = c[0].selectbox("After", [START, *activities], key="lab_matrix_after")
                then = c[1].selectbox("Then continue with", [*activities, END], key="lab_matrix_then")
                attribute = c[2].selectbox("On attribute", numeric, key="lab_matrix_attribute")
                auto = c[3].number_input("Auto-approve below (amount; empty = never)", 0.0, value=None,
                                         key="lab_matrix_auto")
                bands = []
                for band in range(3):
                    c = st.columns([1, 3])
                    low = c[0].number_input(f"Band {band + 1} from (amount)", value=0.0 if band == 0 else None,
                                            key=f"lab_matrix_min_{band}")
                    approvers = c[1].multiselect(f"Band {band + 1} approvals, in order", activities,
                                                 key=f"lab_matrix_approvals_{band}")
                    bands.append((low, approvers))

                def build() -> Any:
                    return ApprovalMatrix(after=after, then=then, attribute=attribute, auto_below=auto,
                                          bands=[ApprovalBand(min_value=lo, approvals=ap) for lo, ap in bands
                                                 if lo is not None and ap])
            elif kind == "delegation":
                c = st.columns(3)
                role = c[0].selectbox("Role (approver)", role_names, key="lab_delegation_role")
                delegate = c[1].selectbox("Delegate to", role_names, key="lab_delegation_delegate")
                after_h = c[2].number_input("When all are away longer than (hours)", 0.0, value=4.0,
                                            key="lab_delegation_after")

                def build() -> Any:
                    return Delegation(role=role, delegate=delegate, after_h=after_h)
            elif kind == "escalation":
                c = st.columns(5)
                activity = c[0].selectbox("Activity", [a.name for a in manual] or activities,
                                          key="lab_escalation_activity")
                remind = c[1].number_input("Remind after (hours; empty = never)", 0.0, value=24.0,
                                           key="lab_escalation_remind")
                escalate = c[2].number_input("Escalate after (hours; empty = never)", 0.0, value=48.0,
                                             key="lab_escalation_after")
                to = c[3].selectbox("Escalate to", ["notify only", *role_names], key="lab_escalation_to")
                business = c[4].checkbox("Count business hours only", key="lab_escalation_business")

                def build() -> Any:
                    return Escalation(activity=activity, remind_after_h=remind or None,
                                      escalate_after_h=escalate or None,
                                      escalate_to=None if to == "notify only" else to, business_hours=business)
            else:
                c = st.columns(4)
                activity = c[0].selectbox("Activity", activities, key="lab_schedule_activity")
                days = c[1].multiselect("Days", list(WEEKDAYS), default=list(WEEKDAYS[:5]), key="lab_schedule_days")
                times = c[2].text_input("Times (HH:MM, comma separated)", "02:00", key="lab_schedule_times")
                zone = c[3].text_input("Time zone", model.arrivals.timezone, key="lab_schedule_timezone")

                def build() -> Any:
                    return ScheduledAction(activity=activity, days=days, timezone=zone.strip(),
                                           times=[t.strip() for t in times.split(",") if t.strip()])
            if st.form_submit_button("Add to scenario", icon=":material/add:", type="primary"):
                try:
                    change = build()
                    apply(model, Scenario(name=scenario.name, changes=[change]))
                except (ValidationError, ValueError, KeyError) as exc:
                    st.error(f"Not added: {one_line(exc)}", icon=":material/error:")
                else:
                    scenarios[index] = scenario.model_copy(update={"changes": [*scenario.changes, change]})
                    st.rerun()

        c = st.columns([3, 3, 3, 4])
        if c[0].button("Save to workspace", icon=":material/save:", key="lab_save_scenario"):
            save_scenario(path, scenario, chosen)
            st.toast(f"Saved scenario {scenario.name!r}.", icon=":material/save:")
        c[1].download_button("Download YAML", scenario.to_yaml(), file_name=f"{scenario.name}.yaml",
                             mime="application/yaml", icon=":material/download:", key="lab_scenario_download")
        c[2].button("Remove scenario", icon=":material/delete:", key="lab_remove_scenario",
                    on_click=_remove_scenario, args=(index,))
        with st.expander("YAML"):
            st.code(scenario.to_yaml(), language="yaml")

# ----------------------------------------------------------------------------------------------------------
# 3. Run

st.header("3. Run", divider="gray")
c = st.columns([1, 1, 3, 2], vertical_alignment="bottom")
replications = int(c[0].number_input("Replications", 1, 100, 5, 1, key="lab_replications",
                                     help="Independent runs per scenario; more give narrower intervals."))
seed = int(c[1].number_input("Seed", 0, 10**9, 0, 1, key="lab_seed"))
where = c[2].selectbox("Run on", list(EXECUTORS), format_func=EXECUTORS.get, key="lab_executor",
                       help="Processes use every core; threads avoid starting processes (small runs); a Dask "
                            "cluster needs twinflow on its workers.")
address = ""
if where == "dask":
    address = st.text_input("Dask scheduler address", key="lab_dask", placeholder="tcp://host:8786")
run = c[3].button("Run", type="primary", icon=":material/play_arrow:", key="lab_run",
                  disabled=where == "dask" and not address.strip())
st.caption(f"The as-is and {len(scenarios)} scenario{'s' if len(scenarios) != 1 else ''}, "
           f"{replications} replication{'s' if replications != 1 else ''} each: "
           f"{(1 + len(scenarios)) * replications} simulations.")

results: dict[str, ExperimentResult] = st.session_state.setdefault(RESULTS_KEY, {})
if run:
    with st.status("Simulating…", expanded=True) as status:
        bar = st.progress(0.0, text="starting")

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(done / total, text=message)

        try:
            experiment = Experiment(model=model, scenarios=list(scenarios), replications=replications, seed=seed)
            if where == "threads":
                # Simulations hold the GIL: more threads than two only add switching.
                with ThreadPoolExecutor(max_workers=2) as pool:
                    results[chosen] = run_experiment(experiment, executor=pool, progress=progress)
            elif where == "dask":
                results[chosen] = run_experiment(experiment, address=address.strip(), progress=progress)
            else:
                results[chosen] = run_experiment(experiment, progress=progress)
        except (ValidationError, ValueError, OSError, TimeoutError) as exc:
            status.update(label="The run failed", state="error")
            st.error(one_line(exc), icon=":material/error:")
        else:
            status.update(label=f"Done in {results[chosen].wall_time_s:,.1f} s", state="complete", expanded=False)


# ----------------------------------------------------------------------------------------------------------
# 4. Results


st.header("4. Results", divider="gray")
result = results.get(chosen)
if result is None:
    st.info("Press **Run** to simulate the as-is and the scenarios.", icon=":material/play_arrow:")
else:
    if st.button("Save this result to the workspace", icon=":material/save:", key="lab_save_result"):
        run_id = save_result(path, result)
        st.success(f"Saved as {run_id}.", icon=":material/save:")
    show(result, "this run")

st.header("Compare saved results", divider="gray")
saved = list_results(path, chosen)
if saved.empty:
    st.caption("No saved results of this process yet: save a run above.")
else:
    labels = {r["id"]: f"{r['created_at']:%Y-%m-%d %H:%M} · {r['scenarios'] or 'as-is only'} · "
                       f"{r['replications']} replications" for _, r in saved.iterrows()}
    c = st.columns([4, 1], vertical_alignment="bottom")
    pick = c[0].selectbox("Saved result", list(labels), format_func=labels.get, key="lab_saved_pick")
    if c[1].button("Show", icon=":material/compare_arrows:", key="lab_saved_show"):
        st.session_state.setdefault(SAVED_KEY, {})[chosen] = load_result(path, pick)
    shown = st.session_state.get(SAVED_KEY, {}).get(chosen)
    if shown is not None:
        show(shown, "saved result")
