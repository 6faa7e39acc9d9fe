"""Delays: waiting before an activity that no resource explains (a system, an outside party, a schedule, or work
for people whose performer was free meanwhile), per preceding activity where it differs."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from mining.bottlenecks import default_config as bottleneck_config
from mining.bottlenecks import wait_kinds
from simulation.discovery.sql import fetchall, frame
from simulation.discovery.state import Discovery
from simulation.fitting import MAX_SAMPLE, Fit, fit_distribution, human
from simulation.spec import START
from simulation.worktime import WorkingClock

WAIT_KINDS_WITH_DELAY = ("system", "external", "scheduled")
# Work for people waits for something no queue explains (see find_delays) when at least this share of its waiting is
# not a queue and that part lasts this long on average (working hours of its role); shorter waits are left to the
# queues and calendars. A preceding activity seen this often has a delay of its own.
HIDDEN_DELAY_SHARE = 0.5
HIDDEN_DELAY_MIN_H = 1.0
PAIR_MIN_EVENTS = 30
# When an activity starts (seconds): its estimated start, its recorded start, or its end (instantaneous); parameters
# from _start_rules.
STARTED = """coalesce(CASE WHEN list_contains($est, activity) THEN est_start END,
                      CASE WHEN list_contains($rec, activity) THEN start_time END, end_time)"""


def find_delays(state: Discovery) -> dict[str, Fit]:
    """Return the delay fitted per activity whose waiting no resource explains."""
    state.con.execute(f"""
        CREATE TEMP TABLE {state.wt} AS
        SELECT case_id, event_id, activity, prev_activity, resource, role, grp, end_time, prev_end AS ready, sys,
               s AS started, greatest(epoch(s - prev_end), 0) / 3600.0 AS wait_h
        FROM (SELECT *, {STARTED} AS s FROM {state.ev} WHERE prev_end IS NOT NULL)
    """, _start_rules(state)).fetchall()
    config = bottleneck_config(state.process, state.tz).model_copy(update={"system_resources": state.systems})
    kinds = wait_kinds(state.con, state.wt, state.process, config)
    # An activity this model automates (also one done by a resource called 'system' or by nobody known, which
    # mining's wait kinds count as people) waits for no person: its wait is a delay, or it would be lost.
    machine = kinds.activity.map(lambda a: bool(state.automated.get(a))) & (kinds.wait_kind == "people")
    kinds.loc[machine, ["wait_kind", "why"]] = ["system", "automated here (a system or nobody known does it)"]
    state.wait_kind = dict(zip(kinds.activity, kinds.wait_kind, strict=True))
    delayed = kinds[kinds.wait_kind.isin(WAIT_KINDS_WITH_DELAY)]
    why_of = dict(zip(delayed.activity, kinds.loc[delayed.index, "why"], strict=True))
    # Work for people that waits for something no queue explains (a customer's answer, a supplier's, a dispute
    # noticed days later) shows as working time in which its performer was free or did newer work: that part
    # of each wait is a delay, measured in the working time of the performer's role so that the nights and
    # weekends the calendar adds anyway are not counted twice. Such a wait often depends on the step before (a
    # call waits days for the customer after a call, but not after a form), so each preceding activity seen
    # often enough has its own delay.
    people = sorted(a for a, k in state.wait_kind.items() if k == "people" and not state.automated.get(a))
    hidden = _hidden_waits(state, people)
    firsts = dict(fetchall(state.con, f"SELECT activity, count(*) FROM {state.ev} WHERE prev_end IS NULL GROUP BY ALL"))
    hidden_fits: dict[str, np.ndarray] = {}
    per_pair: dict[str, dict[str, np.ndarray | None]] = {}
    for a, g in hidden.groupby("activity", sort=True):
        found = _delays_by_predecessor(g, int(firsts.get(a, 0)))
        if found is None:
            continue
        default, after = found
        state.wait_kind[a] = "hidden"
        state.working_time_delay.add(a)
        means = [f"after {p}: mean {human(float(v.mean()))}" for p, v in (after or {}).items() if v is not None]
        why_of[a] = ("done by people, but not a queue: its performer was free or did newer work for most of the "
                     f"wait (in working time; {'; '.join(means) or 'over all its predecessors'})")
        if default is not None:
            hidden_fits[a] = default
        if after is not None:
            per_pair[a] = after
    # An activity run in batches waits for its run as well, which the run schedule reproduces: the case became
    # due somewhere between the run before its own and its own run, so the delay runs to the middle of that
    # interval and the schedule adds the rest (on average the same total wait, without counting it twice).
    scheduled = sorted(a for a in why_of if a in state.scheduled)
    if scheduled:
        runs = frame(state.con, f"""
            WITH r AS (SELECT activity, started, lag(started) OVER (PARTITION BY activity ORDER BY started)
                              AS previous
                       FROM (SELECT DISTINCT activity, started FROM {state.wt}
                             WHERE list_contains($acts, activity)))
            SELECT t.activity, greatest((epoch(r.previous) + epoch(r.started)) / 2 - epoch(t.ready), 0) AS s
            FROM {state.wt} t JOIN r USING (activity, started)
            WHERE r.previous IS NOT NULL
            ORDER BY t.activity, s
        """, {"acts": scheduled})
        for a, g in runs.groupby("activity", sort=True):
            hidden_fits[a] = g.s.to_numpy()
            why_of[a] += ("; up to halfway between the run before its own and its run, the run schedule adds "
                          "the rest")
    # A system working some hours: its delay is the working time of its calendar from ready to done, which the
    # engine adds in the same hours (in calendar time, a wait over a weekend would be drawn on a Tuesday).
    for a in sorted(set(why_of) & set(state.system_calendars) - set(hidden_fits) - set(per_pair)):
        w = frame(state.con, f"SELECT epoch(ready) AS r, epoch(started) AS s FROM {state.wt} WHERE activity = $a",
                  {"a": a})
        origin = datetime.fromtimestamp(float(w.r.min()), UTC)
        clock = WorkingClock(state.system_calendars[a], origin, origin,
                             datetime.fromtimestamp(float(w.s.max()), UTC))
        hidden_fits[a] = np.sort(clock.between(w.r.to_numpy() - origin.timestamp(),
                                               w.s.to_numpy() - origin.timestamp()))
        why_of[a] += "; in the working time of the hours it runs in"
    out: dict[str, Fit] = {}
    lines = []
    if why_of:
        df = frame(state.con, f"""
            WITH r AS (SELECT activity, wait_h * 3600 AS s, row_number() OVER (PARTITION BY activity
                              ORDER BY wait_h) AS i, count(*) OVER (PARTITION BY activity) AS n
                       FROM {state.wt} WHERE list_contains($acts, activity))
            SELECT activity, s, n FROM r WHERE (i - 1) % greatest(1, n // $m) = 0 ORDER BY activity, s
        """, {"acts": sorted(a for a in why_of if a not in hidden_fits and a not in per_pair), "m": MAX_SAMPLE})
        for a, why in sorted(why_of.items()):
            if a in per_pair:
                state.delay_after[a] = {p: _fit_delay(v) for p, v in per_pair[a].items()}
            measured = a in hidden_fits or a in per_pair
            fit = _fit_delay(hidden_fits.get(a) if measured else df[df.activity == a].s.to_numpy())
            if fit is not None:
                if not measured:
                    fit.n = int(df[df.activity == a].n.max())
                if a in state.whole_day_timers:
                    # It fires at the time of day it was set (helpdesk's tickets close at office hours, 15 or
                    # 30 days after they were resolved); interpolated quantiles would spread it over the night.
                    fit.distribution = fit.distribution.model_copy(update={"step": 86400.0})
                    fit.note += "; drawn in whole days, so it fires at the time of day it was set"
                    why_of[a] += "; a timer of whole days"
                out[a] = fit
            if fit is not None or a in per_pair:
                lines.append(f"{a} ({state.wait_kind[a]}: {why})")
    state.notes["delays"] = (
        "waiting before an activity that is not a queue for people (wait kinds of mining.bottlenecks: "
        "system, external or scheduled) is fitted as its delay, from the end of the case's previous event to "
        "the start of the activity. For an activity done by people, the part of each wait that is not a queue "
        "is its working time (of the performer's role) less the time the performer spent meanwhile on work "
        "that was ready before it; it "
        f"becomes a delay in that working time when it is at least {HIDDEN_DELAY_SHARE:.0%} of the waiting and "
        f"{HIDDEN_DELAY_MIN_H:g} working hour(s) or more on average, with a delay of its own after each "
        f"preceding activity seen {PAIR_MIN_EVENTS} times or more (a case's first event waits for nothing): "
        + ("; ".join(lines) if lines else "none found")
        + ". Other waiting before activities done by people is left to the simulated queues and calendars.")
    return out


def _start_rules(state: Discovery) -> dict[str, list[str]]:
    """Return the parameters of STARTED: the activities whose starts are estimated, and recorded."""
    return {"est": [a for a, r in state.start_rule.items() if r == "estimated"],
            "rec": [a for a, r in state.start_rule.items() if r == "recorded"]}


def _hidden_waits(state: Discovery, activities: list[str]) -> pd.DataFrame:
    """Return, per event of `activities` done by a known person, its preceding activity, its wait and the part
    of it that is no queue (both in working seconds of the event's role)."""
    # The queue part of a wait is the time its performer spent meanwhile on work that was ready before it
    # (older work, first come first served); the rest of the working time in between they were free, or took
    # newer work first, or the case waited for someone outside the process.
    raw = frame(state.con, f"""
        WITH work AS (SELECT event_id, resource, {STARTED} AS started, end_time,
                             coalesce(prev_end, {STARTED}) AS ready
                      FROM {state.ev} WHERE resource IS NOT NULL AND NOT sys),
        cand AS (SELECT event_id, prev_activity, activity, grp, resource, ready, started
                 FROM {state.wt} WHERE resource IS NOT NULL AND NOT sys AND list_contains($acts, activity)),
        busy AS (SELECT c.event_id, sum(epoch(least(o.end_time, c.started)) - epoch(greatest(o.started, c.ready)))
                                    AS busy_s
                 FROM cand c JOIN work o ON o.resource = c.resource AND o.started < c.started
                                         AND o.end_time > c.ready AND o.ready <= c.ready
                                         AND o.event_id <> c.event_id
                 GROUP BY c.event_id)
        SELECT c.event_id, c.prev_activity, c.activity, c.grp, epoch(c.ready) AS ready,
               epoch(c.started) AS started, coalesce(busy.busy_s, 0) AS busy_s
        FROM cand c LEFT JOIN busy USING (event_id)
        ORDER BY c.activity, c.prev_activity, c.event_id
    """, {"acts": activities, **_start_rules(state)})
    if raw.empty:
        return raw.assign(wait_s=[], hidden_s=[])
    origin = datetime.fromtimestamp(float(raw.ready.min()), UTC)
    last = datetime.fromtimestamp(float(raw.started.max()), UTC)
    rel = raw[["ready", "started"]].to_numpy(dtype=float) - origin.timestamp()
    wait = np.zeros(len(raw))
    for grp, idx in raw.groupby("grp", dropna=False).indices.items():
        clock = WorkingClock(state.role_calendars.get(grp) if isinstance(grp, str) else None, origin, origin, last)
        wait[idx] = clock.between(rel[idx, 0], rel[idx, 1])
    hidden = np.clip(wait - raw.busy_s.to_numpy(dtype=float), 0.0, None)
    return raw[["prev_activity", "activity"]].assign(wait_s=wait, hidden_s=hidden)


def _delays_by_predecessor(waits: pd.DataFrame, firsts: int
                           ) -> tuple[np.ndarray | None, dict[str, np.ndarray | None] | None] | None:
    """Return the no-queue parts (seconds) of one activity's waits that are delays: (the delay after any other
    activity, or None; the delay per preceding activity seen PAIR_MIN_EVENTS times, None where it has none, or None
    when one delay serves all), or None when no part is a delay. `firsts`: how often the activity starts a case."""
    often = waits.prev_activity.map(waits.prev_activity.value_counts()).to_numpy() >= PAIR_MIN_EVENTS
    after = {str(p): _hidden_delay(x) for p, x in waits[often].groupby("prev_activity", sort=True)}
    rest = waits[~often]
    default = _hidden_delay(rest) if len(rest) else None
    if default is None and all(v is None for v in after.values()):
        return None
    if len(after) + bool(len(rest)) == 1:
        # One preceding activity, or too few of each: one delay, with the case's first events as no delay.
        values = default if default is not None else next(iter(after.values()))
        return np.concatenate([values, np.zeros(firsts)]), None
    # A case's first event waits for nothing: its start is the case's arrival.
    return default, after | ({START: None} if default is not None and firsts else {})


def _hidden_delay(waits: pd.DataFrame) -> np.ndarray | None:
    """Return the no-queue parts (seconds) of these waits when they are a delay (most of the waiting, and long
    enough on average), else None."""
    total, hidden = float(waits.wait_s.sum()), float(waits.hidden_s.sum())
    if total <= 0 or hidden < HIDDEN_DELAY_SHARE * total or hidden / len(waits) < HIDDEN_DELAY_MIN_H * 3600:
        return None
    return waits.hidden_s.to_numpy()


def _fit_delay(values: np.ndarray | None) -> Fit | None:
    """Return the fitted delay (seconds) of these waits, or None when there are none or nearly all are under a
    second."""
    if values is None or not len(values) or float(np.quantile(values, 0.9)) < 1.0:
        return None
    return fit_distribution(values)
