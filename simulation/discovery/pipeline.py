"""The order of discovery: each step reads the events and what the steps before it found, and the model is
assembled from their findings."""

from __future__ import annotations

from mining.filters import is_unfiltered
from simulation.discovery.activities import assemble_activities
from simulation.discovery.arrivals import find_arrivals
from simulation.discovery.attributes import find_attributes
from simulation.discovery.batches import find_batches
from simulation.discovery.delays import find_delays
from simulation.discovery.durations import fit_durations
from simulation.discovery.events import create_tables, read_timezone
from simulation.discovery.partition import split_roles
from simulation.discovery.pools import find_pools
from simulation.discovery.roles import find_roles
from simulation.discovery.routing import find_routing
from simulation.discovery.sla import find_sla
from simulation.discovery.sql import fetchall
from simulation.discovery.starts import estimate_starts
from simulation.discovery.state import Discovery
from simulation.discovery.system_calendars import find_system_calendars
from simulation.discovery.timers import find_timers
from simulation.discovery.wait_calibration import calibrate_hidden_delays
from simulation.discovery.warmup import find_warmup
from simulation.spec import Model


def run(state: Discovery) -> Model:
    """Return the model discovered by running every step in order; the temporary tables are dropped after."""
    try:
        return _steps(state)
    finally:
        for t in (state.ev, state.cs, state.wt, state.ph):
            state.con.execute(f"DROP TABLE IF EXISTS {t}").fetchall()


def _steps(state: Discovery) -> Model:
    state.progress(0.0, "reading the events")
    create_tables(state)
    n_cases, n_events = fetchall(state.con, f"SELECT count(DISTINCT case_id), count(*) FROM {state.ev}")[0]
    if n_cases == 0:
        raise ValueError(f"no events of process {state.process!r} (after the filters)")
    state.tz = read_timezone(state)
    state.notes["source"] = (f"{n_cases:,} cases and {n_events:,} events of process {state.process}"
                             f"{'' if is_unfiltered(state.filters) else ' (filtered)'}; times read in {state.tz} "
                             f"({state.tz_source}).")
    state.progress(0.1, "arrivals")
    start, horizon_days, arrivals = find_arrivals(state, n_cases)
    state.progress(0.2, "case attributes")
    attributes = find_attributes(state)
    state.progress(0.3, "performers, roles and calendars")
    find_timers(state)
    find_pools(state)
    split_roles(state, attributes, arrivals.sites)
    roles, calendars = find_roles(state)
    by_name = {c.name: c for c in calendars}
    state.role_calendars = {r.name: by_name.get(r.calendar) for r in roles if r.calendar}
    state.role_names = {r.name for r in roles}
    state.progress(0.45, "processing times")
    estimate_starts(state)
    calendars += find_system_calendars(state)
    policies = find_batches(state)
    durations = fit_durations(state)
    state.progress(0.65, "waiting no resource explains")
    delays = find_delays(state)
    state.progress(0.8, "routing")
    decisions = find_routing(state)
    activities = assemble_activities(state, durations, delays)
    sla = find_sla(state)
    warmup, max_visits = find_warmup(state, horizon_days)
    model = Model(name=f"{state.process} (discovered)", process=state.process, start=start,
                  horizon_days=horizon_days, warmup_days=warmup, arrivals=arrivals, attributes=attributes,
                  activities=activities, decisions=decisions, roles=roles, calendars=calendars, sla=sla,
                  max_visits=max_visits, policies=policies, notes=state.notes)
    if state.calibrate:
        state.progress(0.9, "hidden delays checked by simulation")
        model = calibrate_hidden_delays(state, model)
        model = model.model_copy(update={"notes": dict(state.notes)})
    state.progress(1.0, "model discovered")
    return model
