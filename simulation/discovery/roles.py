"""Roles: their headcounts, working calendars read from when their people work, absences and hourly costs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulation.discovery.hours import (
    CALENDAR_COVERAGE,
    CALENDAR_SHARES,
    calendar_evidence,
    shifts_from_hours,
    working_hours,
)
from simulation.discovery.shared_accounts import (
    PERSON_WEEK_HOURS,
    SHARED_MIN_WEEKS,
    SHARED_WEEK_HOURS,
    find_shared_accounts,
)
from simulation.discovery.sql import fetchall, frame
from simulation.discovery.state import Discovery
from simulation.spec import Calendar, Role

# The end of work that stayed open longer than this (hours: more than a working day, so over a night or a weekend)
# does not show when its performer worked: such work is often closed by a system's clean-up at a fixed early hour
# (in bpic2012, work items left open are ended at 05:15 on weekdays), which would read as a shift there; its start
# still counts.
OPEN_WORK_H = 12
# Headcount: the people active in the last part of the log (at least this many days) staff the role.
STAFF_WINDOW_DAYS = 90


def find_roles(state: Discovery) -> tuple[list[Role], list[Calendar]]:
    """Return the roles (headcount, calendar, absence, cost) and the calendars of their working hours."""
    last = fetchall(state.con, f"SELECT max(end_time), min(end_time) FROM {state.ev}")[0]
    window_start = max(last[1], last[0] - pd.Timedelta(days=STAFF_WINDOW_DAYS).to_pytimedelta())
    people = frame(state.con, f"""
        SELECT grp, resource, count(*) AS n, max(end_time) >= $since AS recent
        FROM {state.ev} WHERE NOT sys AND grp IS NOT NULL AND resource IS NOT NULL
        GROUP BY ALL ORDER BY grp, resource
    """, {"since": window_start})
    _person_hours(state)
    hours = frame(state.con, f"""
        SELECT grp, isodow(day) - 1 AS dow, h, count(*) AS n FROM {state.ph}
        GROUP BY ALL ORDER BY grp, dow, h
    """)
    shared = find_shared_accounts(state)
    state.work_hours = {}
    roles: list[Role] = []
    calendars: list[Calendar] = []
    for grp in sorted(people.grp.unique()):
        mine = people[people.grp == grp]
        recent = mine[mine.recent]
        staff = recent if len(recent) else mine
        h = hours[hours.grp == grp]
        cal_name = None
        note = f"{len(staff)} {'person' if len(staff) == 1 else 'people'}"
        if len(staff) < len(mine):
            note += f" active in the last {STAFF_WINDOW_DAYS} days of the log ({len(mine)} seen over the log)"
        if h.n.sum() >= 50:
            wh, share, covered = working_hours(h)
            gain, penalty = calendar_evidence(h, wh)
            shifts = shifts_from_hours(wh)
            if covered < CALENDAR_COVERAGE:
                note += (f"; work too spread out over the week to read a calendar (the best hours hold "
                         f"{covered:.0%} of its person-hours): always available")
            elif shifts and sum(len(v) for v in wh.values()) < 168 and gain <= penalty:
                note += (f"; works around the clock: its {int(h.n.sum())} person-hours do not tell working hours "
                         f"apart (a calendar of {len(shifts)} shifts explains them {gain:.0f} nats better than "
                         f"any hour of the week, under the {penalty:.0f} its boundaries cost)")
                wh = {d: list(range(24)) for d in range(7)}
            elif shifts and sum(len(v) for v in wh.values()) < 168:
                cal_name = f"{grp} hours"
                calendars.append(Calendar(name=cal_name, timezone=state.tz, shifts=shifts))
                note += (f"; calendar {cal_name}: "
                         + "; ".join(f"{','.join(s.days)} {s.start}-{s.end}" for s in shifts)
                         + f" (hours worked on at least {share:.0%} as many days as the busiest hour; they hold "
                           f"{covered:.0%} of the role's person-hours)")
            else:
                note += "; works around the clock (no calendar)"
            state.work_hours[grp] = wh
        else:
            note += "; under 50 person-hours of work recorded: too few for a calendar (always available)"
        absence = _absence(state, grp)
        if absence is not None:
            note += f"; absent on about {absence:.0%} of their working days"
        headcount = len(staff)
        for account in sorted(set(staff.resource) & set(shared)):
            week, in_role = shared[account].week, shared[account].roles.get(grp, 0.0)
            behind = max(1, math.ceil(in_role / PERSON_WEEK_HOURS))
            headcount += behind - 1
            who = "person" if behind == 1 else "people"
            note += (f"; {account} is an account shared by several people (work recorded in {week:.0f} hours "
                     f"of its busy weeks, more than one person works): it counts as {behind} {who}, the "
                     f"fewest who work its {in_role:.0f} hours a week in this role at {PERSON_WEEK_HOURS} each")
        # The rate the mining KPIs charge for the role's work, so that the twin's cost per case and the log's
        # are of one cost model: the role's configured rate, else the configuration's default.
        rates = state.kpi_config.rate_per_role_hour
        cost = float(rates.get(grp, rates.get(state.split_from.get(grp, grp), state.kpi_config.default_rate)))
        roles.append(Role(name=str(grp), headcount=headcount, calendar=cal_name, hourly_cost=cost,
                          absence_share=absence or 0.0, people=[str(r) for r in staff.resource]))
        state.notes[f"role {grp}"] = note
    state.notes["calendars"] = (
        f"from when people actually work, in {state.tz}: a person works in an hour of a day when they started or "
        f"ended work in it (not the end of work left open over {OPEN_WORK_H} hours, often closed by a system's "
        "clean-up), or it lies between two such moments at most 3 hours apart (idle but present; a split "
        "shift's long break stays a break); a role's working hours per weekday are the hours worked on at least "
        f"a share of as many days as its busiest hour of the week (and on 3 days or more) — the largest share of "
        f"{', '.join(f'{x:.0%}' for x in CALENDAR_SHARES)} whose hours hold {CALENDAR_COVERAGE:.0%} of the role's "
        "person-hours; no calendar when none does, with under 50 person-hours, or when the calendar does not "
        "explain where in the week its person-hours fall better than any hour would by more than its shift "
        "boundaries cost (the Bayesian information criterion) —, gaps of up to 2 hours in a "
        "day filled, consecutive hours merged into shifts and weekdays with equal shifts grouped. No holidays "
        "are detected.")
    state.notes["roles"] = (
        f"headcount = the distinct people of a role who worked in the last {STAFF_WINDOW_DAYS} days of the log "
        "(all seen when none did); absence share = per person, the share of the weekdays of the role's "
        "calendar on which the role worked but the person recorded nothing, between their first and last "
        "event, median over people averaging at least 5 events per day worked (rough: a light workload reads "
        "as absence, so roles with less work per day get 0); an account that records work in more than "
        f"{SHARED_WEEK_HOURS} hours a week in its busy weeks (the 90th percentile, over {SHARED_MIN_WEEKS} weeks "
        "or more) stands for several people, as many in a role as work its busy weeks' hours there at "
        f"{PERSON_WEEK_HOURS} hours each; hourly cost = the KPI configuration's rate for the role, else its "
        f"default rate ({state.kpi_config.default_rate:g} per hour), as the mining KPIs charge it: edit it "
        "for real costs.")
    return roles, calendars


def _person_hours(state: Discovery) -> None:
    """Create the table state.ph: one row per role, person, local day and hour in which they worked."""
    # Person-hours, not events: a person counts as working in an hour of a local day when they started or
    # ended work in it (not the end of work open over OPEN_WORK_H), or in an hour between two such moments at
    # most 3 hours apart (idle between two pieces of work, but present; a split shift's long break stays a
    # break). A batch recorded once per case is one hour of one person.
    state.con.execute(f"""
        CREATE TEMP TABLE {state.ph} AS
        WITH t AS (
            SELECT grp, resource, timezone($tz, end_time) AS t FROM {state.ev}
            WHERE NOT sys AND grp IS NOT NULL
                  AND (start_time IS NULL OR epoch(end_time - start_time) <= $open_s)
            UNION ALL
            SELECT grp, resource, timezone($tz, start_time) FROM {state.ev}
            WHERE NOT sys AND grp IS NOT NULL AND start_time IS NOT NULL),
        p AS (SELECT grp, resource, t::DATE AS day, hour(t) AS h,
                     lag(hour(t)) OVER (PARTITION BY grp, resource, t::DATE ORDER BY t) AS prev_h
              FROM t)
        SELECT DISTINCT grp, resource, day,
               unnest(CASE WHEN h - prev_h <= 3 THEN range(prev_h, h + 1) ELSE [h] END) AS h FROM p
    """, {"tz": state.tz, "open_s": OPEN_WORK_H * 3600}).fetchall()


def _absence(state: Discovery, grp: str) -> float | None:
    wh = state.work_hours.get(grp)
    if not wh:
        return None
    df = frame(state.con, f"""
        WITH d AS (
            SELECT DISTINCT resource, timezone($tz, end_time)::DATE AS day FROM {state.ev}
            WHERE grp = $g AND NOT sys AND resource IS NOT NULL),
        role_days AS (SELECT DISTINCT day FROM d WHERE list_contains($dows, isodow(day) - 1)),
        span AS (SELECT resource, min(day) AS a, max(day) AS b, count(*) AS worked FROM d GROUP BY resource),
        per AS (
            SELECT s.resource, s.worked,
                   (SELECT count(*) FROM role_days r WHERE r.day BETWEEN s.a AND s.b) AS possible,
                   count(DISTINCT d.day) FILTER (WHERE list_contains($dows, isodow(d.day) - 1)) AS present
            FROM span s JOIN d USING (resource) GROUP BY s.resource, s.worked, s.a, s.b),
        events AS (SELECT resource, count(*) AS n FROM {state.ev} WHERE grp = $g AND NOT sys GROUP BY resource)
        SELECT per.*, events.n FROM per JOIN events USING (resource) ORDER BY resource
    """, {"tz": state.tz, "g": grp, "dows": sorted(wh)})
    df = df[(df.possible >= 20) & (df.n >= 5 * df.worked)]
    if df.empty:
        return None
    share = float(np.median(1 - df.present / df.possible))
    return round(min(max(share, 0.0), 0.5), 3)
