"""System calendars: the hours of the week in which a step done by a system runs, when it runs in some only."""

from __future__ import annotations

from simulation.discovery.hours import CALENDAR_COVERAGE, shifts_from_hours, working_hours
from simulation.discovery.sql import frame
from simulation.discovery.state import Discovery
from simulation.spec import Calendar

# A step done by a system gets the calendar of the hours it ran in from this many events on.
SYSTEM_CALENDAR_MIN_EVENTS = 50


def find_system_calendars(state: Discovery) -> list[Calendar]:
    """Return the calendars of the steps done by a system that runs in some hours of the week only."""
    # A system often works some hours only (a job started in office hours, a payment run on two afternoons a
    # week): drawn at any hour, its steps would land at night and at weekends. Days, not events, decide the
    # hours: a run's many events at one moment are one run. Timers keep the time of day they were set.
    acts = sorted(a for a, auto in state.automated.items() if auto and a not in state.timers)
    if not acts:
        return []
    hours = frame(state.con, f"""
        SELECT activity, isodow(timezone($tz, end_time)) - 1 AS dow, hour(timezone($tz, end_time)) AS h,
               count(DISTINCT timezone($tz, end_time)::DATE) AS days, count(*) AS n,
               count(*) FILTER (WHERE prev_end IS NULL) AS firsts
        FROM {state.ev} WHERE list_contains($acts, activity)
        GROUP BY ALL ORDER BY ALL
    """, {"tz": state.tz, "acts": acts})
    found = []
    for a, h in hours.groupby("activity", sort=True):
        # A step that starts cases comes when the arrivals bring it, whose rate by hour of the week has its hours.
        if h.n.sum() < SYSTEM_CALENDAR_MIN_EVENTS or h.firsts.sum() > 0.5 * h.n.sum():
            continue
        wh, share, covered = working_hours(h, weight="days")
        n_hours = sum(len(v) for v in wh.values())
        shifts = shifts_from_hours(wh)
        if covered < CALENDAR_COVERAGE or not shifts or n_hours >= 168:
            continue
        state.system_calendars[str(a)] = Calendar(name=f"{a} (system) hours", timezone=state.tz, shifts=shifts)
        found.append(f"{a}: " + "; ".join(f"{','.join(x.days)} {x.start}-{x.end}" for x in shifts)
                     + f" ({n_hours} hours of the week, run on at least {share:.0%} as many days as its busiest "
                       f"hour, hold {covered:.0%} of its {int(h.n.sum()):,} events)")
    state.notes["system calendars"] = (
        f"steps done by a system ({SYSTEM_CALENDAR_MIN_EVENTS} events or more; not timers, nor steps that mostly "
        "start cases, which come with the arrivals) keep to the hours "
        "of the week it ran in, read as a role's calendar is (by days run rather than person-hours); their delay "
        "counts those hours: " + ("; ".join(found) if found else "none keeps to some hours") + ".")
    return list(state.system_calendars.values())
