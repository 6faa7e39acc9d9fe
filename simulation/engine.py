"""The simulation engine: a model (plus a scenario's design changes) run with simpy into simulated events in the
canonical event schema, and KPIs over them.

Time is a float number of **seconds** since `Model.start` (UTC). People pull work (see _Pool):
each role has one first-come-first-served queue; a person takes the oldest task whenever they are on shift and
not absent, and a task once started runs to its end even past the end of the shift (overtime), unless its
duration counts working time (`Activity.duration_in_working_time`): then work left at the end of a shift goes on at
the person's next one, after their absence days. Activities without a role, or marked automated, are done by a
system at once (no queue).

Randomness is split so that scenarios are compared on common random numbers: the arrivals and the attributes
of the cases come from one stream that depends only on (seed, replication); every case then draws its routing
and durations from its own stream derived from (seed, replication, case number), and every person's absence
days from a hash of (seed, replication, their name). A design change that alters one case's path therefore leaves
the draws of every other case untouched, and the same cases (ids, arrival times, attributes) arrive in every scenario.
Volume growth keeps that property: the as-is cases all still arrive (a factor below one drops a fixed share of
them by a per-case draw) and the growth arrives as extra cases from separate streams.
"""

from __future__ import annotations

import gc
import json
import random
import re
import tempfile
import time
import zlib
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from heapq import heappop, heappush
from math import inf
from operator import itemgetter
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import simpy
from simpy.core import NORMAL, URGENT

from simulation.calendars import LocalClock, PersonTime, WorkingTime, absences, weekly_slots
from simulation.spec import (
    END,
    START,
    Activity,
    AiTriage,
    ApprovalMatrix,
    Arrivals,
    Automation,
    Decision,
    Delegation,
    Distribution,
    Escalation,
    Model,
    Role,
    Scenario,
    ScheduledAction,
    Staffing,
    Volume,
)

if TYPE_CHECKING:
    from ingest.loader import ImportResult

SOURCE = "simulation"  # events.source of simulated events written into a workspace
SYSTEM = "system"  # role and resource of every system event (as mining/kpis.py expects)
REVIEW_PREFIX = "Review: "  # manual review of an AI decision below the threshold: "Review: <activity>"
EXCEPTION_PREFIX = "Handle exception: "
APPROVAL_PREFIX = "Approve"
EVENT_COLUMNS = ["case_id", "activity", "start_time", "end_time", "resource", "role", "site", "amount",
                 "attributes", "kind"]
# Event kinds: manual work, system steps, and the policy events the KPIs count. "opening": a step done at the
# arrival (Activity.at_arrival), manual work recorded without duration.
MANUAL_KINDS = ("manual", "opening", "exception", "review", "rework")
EXCEPTION_KINDS = ("exception", "dead_letter")
_DAY = 86400.0
_SEARCH_SHIFTS = 2000  # working intervals to look through for one at which a free person is at work

Progress = Callable[[float, str], None]

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


@dataclass
class SimulationRun:
    """One replication of one scenario: simulated events (canonical columns plus `kind`) and cases."""

    events: pd.DataFrame
    cases: pd.DataFrame
    scenario: str
    seed: int
    replication: int
    wall_time_s: float
    model: Model = field(repr=False)  # the model with the scenario's changes in force


# ----------------------------------------------------------------------------------------------------------
# Scenarios


def _check(model: Model, change: Any, where: str) -> None:
    """Raise ValueError when `change` names an activity, role, calendar or site the model does not have."""
    activities = {a.name for a in model.activities}
    roles = {r.name for r in model.roles}

    def need(name: str | None, known: set[str], what: str, extra: tuple[str, ...] = ()) -> None:
        if name is not None and name not in known and name not in extra:
            raise ValueError(f"{where}: unknown {what} {name!r} (known: {', '.join(sorted(known)) or 'none'})")

    if isinstance(change, ApprovalMatrix):
        need(change.after, activities, "activity", (START,))
        need(change.then, activities, "activity", (END,))
        for band in change.bands:
            for name in band.approvals:
                need(name, activities, "activity")
    elif isinstance(change, Delegation):
        need(change.role, roles, "role")
        need(change.delegate, roles, "role")
    elif isinstance(change, Escalation):
        need(change.activity, activities, "activity")
        need(change.escalate_to, roles, "role")
        if change.business_hours and model.activity(change.activity).role is None:
            raise ValueError(f"{where}: business hours need a role on activity {change.activity!r}")
    elif isinstance(change, ScheduledAction):
        need(change.activity, activities, "activity")
        ZoneInfo(change.timezone)
    elif isinstance(change, Automation):
        need(change.activity, activities, "activity")
        need(change.exception_role, roles, "role")
    elif isinstance(change, AiTriage):
        need(change.activity, activities, "activity")
        need(change.review_role, roles, "role")
        need(change.misroute_role, roles, "role")
    elif isinstance(change, Staffing):
        need(change.role, roles, "role")
        need(change.calendar, {c.name for c in model.calendars}, "calendar")
    elif isinstance(change, Volume):
        sites = set(model.arrivals.sites)
        if change.site is not None:
            need(change.site, sites, "site")
        if change.new_site is not None and change.new_site in sites:
            raise ValueError(f"{where}: site {change.new_site!r} exists already")


def apply(model: Model, scenario: Scenario | None) -> Model:
    """Return the model with the scenario's changes in force: Staffing and Volume change the roles and arrivals,
    every other change is appended to `policies`; raise ValueError naming an unknown activity, role or site.

    Staffing and Volume already among the model's own policies are put in force first (and leave `policies`).
    """
    own = [(p, f"model {model.name!r}, policy {i} ({p.kind})") for i, p in enumerate(model.policies, 1)]
    changes = [(c, f"scenario {scenario.name!r}, change {i} ({c.kind})")
               for i, c in enumerate(scenario.changes if scenario else [], 1)]
    for change, where in own + changes:
        _check(model, change, where)
    if not changes and not any(isinstance(p, Staffing | Volume) for p in model.policies):
        return model
    roles = {r.name: r for r in model.roles}
    arrivals = model.arrivals
    policies = [p for p in model.policies if not isinstance(p, Staffing | Volume)]
    for change, _ in [o for o in own if isinstance(o[0], Staffing | Volume)] + changes:
        if isinstance(change, Staffing):
            update = {k: getattr(change, k) for k in ("headcount", "calendar", "hourly_cost")
                      if getattr(change, k) is not None}
            roles[change.role] = roles[change.role].model_copy(update=update)
        elif isinstance(change, Volume):
            arrivals = _scaled(arrivals, change)
        else:
            policies.append(change)
    changed = model.model_copy(update={"roles": list(roles.values()), "arrivals": arrivals, "policies": policies})
    return Model.model_validate(changed.model_dump())


def _scaled(arrivals: Arrivals, change: Volume) -> Arrivals:
    """Return the arrivals with a volume change: the rate scaled (overall or one site's) and a new site added."""
    rate, sites = arrivals.cases_per_week, dict(arrivals.sites)
    if change.site is None:
        rate *= change.factor
    else:
        total = sum(sites.values())
        weighted = {s: v * (change.factor if s == change.site else 1.0) for s, v in sites.items()}
        rate *= sum(weighted.values()) / total
        sites = {s: v / sum(weighted.values()) for s, v in weighted.items()}
    if change.new_site is not None and change.new_site_share > 0:
        total = sum(sites.values()) or 1.0
        sites = {s: v / total * (1 - change.new_site_share) for s, v in sites.items()}
        sites[change.new_site] = change.new_site_share
        rate /= 1 - change.new_site_share
    return arrivals.model_copy(update={"cases_per_week": rate, "sites": sites})


# ----------------------------------------------------------------------------------------------------------
# Arrivals


@dataclass
class _Case:
    """A case as it arrives: id, arrival (seconds), site, attributes, and its own random stream key."""

    index: int
    case_id: str
    arrival: float
    site: str | None
    attributes: dict[str, Any]
    stream: list[int]
    completed: bool = False
    stopped: str | None = None  # "dead letter" or "loop guard"
    end: float | None = None
    last: str = START  # the activity performed last, which keys the delay before the next


class _Arrivals:
    """The arrival process of a model: a Poisson process whose rate is the weekly rate shaped by hour of week and
    month (both normalised to mean 1; from the arrivals' forecast_from on, the forecast level in place of the
    month), in the arrivals' zone, constant over each 15 minutes of UTC (zone offsets are multiples of 15
    minutes)."""

    def __init__(self, model: Model) -> None:
        a = model.arrivals
        self.model = model
        self.clock = LocalClock(model.start, a.timezone)
        week = np.asarray(a.hour_of_week, dtype=float)
        month = np.asarray(a.month, dtype=float)
        self.week = week / week.mean()
        self.month = month / month.mean()
        self.per_second = a.cases_per_week / (7 * _DAY)
        # After the log: the forecast level, as a factor of the weekly rate, in place of the month factor.
        self.forecast_from = inf
        self.forecast = 1.0
        if a.forecast_from is not None and a.forecast_per_week is not None:
            until = a.forecast_from if a.forecast_from.tzinfo else a.forecast_from.replace(tzinfo=UTC)
            self.forecast_from = until.timestamp() - self.clock.origin_epoch
            self.forecast = a.forecast_per_week / a.cases_per_week
        total = sum(a.sites.values())
        self.sites = {s: v / total for s, v in a.sites.items()} if total > 0 else {}
        self._grid: tuple[float, np.ndarray, np.ndarray] | None = None

    def buckets(self, horizon: float) -> tuple[np.ndarray, np.ndarray]:
        """Return the bucket edges (seconds, from 0 to `horizon`) and the relative rate (mean 1) within each."""
        if self._grid is None or self._grid[0] != horizon:
            origin = self.clock.origin_epoch
            first = (np.floor(origin / 900) + 1) * 900 - origin
            inner = np.arange(first, horizon, 900.0)
            edges = np.concatenate([[0.0], inner[inner > 0], [horizon]])
            local = pd.DatetimeIndex(pd.to_datetime(origin + edges[:-1], unit="s", utc=True)).tz_convert(
                self.clock.tz)
            month = np.where(edges[:-1] >= self.forecast_from, self.forecast, self.month[local.month.to_numpy() - 1])
            shapes = self.week[local.weekday.to_numpy() * 24 + local.hour.to_numpy()] * month
            self._grid = (horizon, edges, shapes)
        return self._grid[1], self._grid[2]

    def times(self, rng: np.random.Generator, scale: float, horizon: float) -> np.ndarray:
        """Return the arrival moments (seconds, ascending) before `horizon` at `scale` times the model's rate."""
        rate = self.per_second * scale
        if rate <= 0 or horizon <= 0:
            return np.empty(0)
        edges, shapes = self.buckets(horizon)
        # The expected number of arrivals by each edge: a unit-rate process over it, mapped back, is the process.
        expected = np.concatenate([[0.0], np.cumsum(shapes * np.diff(edges))]) * rate
        total = float(expected[-1])
        units = np.cumsum(rng.exponential(1.0, int(total + 10 * np.sqrt(total) + 20)))
        while units[-1] < total:
            more = np.cumsum(rng.exponential(1.0, max(int(0.1 * total), 20))) + units[-1]
            units = np.concatenate([units, more])
        units = units[units < total]
        i = np.searchsorted(expected, units, side="right") - 1
        # `side="right"` lands past the buckets without arrivals (rate 0), so every divisor is positive.
        return edges[i] + (units - expected[i]) / (rate * shapes[i])

    def sites_of(self, u: np.ndarray, sites: dict[str, float]) -> list[str | None]:
        """Return the site chosen by each uniform draw in `u` among `sites` (shares summing to 1)."""
        if not sites:
            return [None] * len(u)
        names = list(sites)
        i = np.searchsorted(np.cumsum(list(sites.values())), u, side="right")
        return [names[j] for j in np.minimum(i, len(names) - 1).tolist()]

    def draw(self, rng: np.random.Generator, sites: list[str | None]) -> list[dict[str, Any]]:
        """Return the attributes of cases arriving at `sites` (one per case), drawn attribute by attribute."""
        n = len(sites)
        found: list[dict[str, Any]] = [{} for _ in range(n)]
        # The cases of each site, found once for every categorical attribute.
        if len(set(sites)) > 1:
            site_array = np.array(sites, dtype=object)
            groups = {site: np.flatnonzero(site_array == site) for site in dict.fromkeys(sites)}
        else:
            groups = {site: np.arange(n) for site in sites[:1]}
        for attr in self.model.attributes:
            if attr.number is not None:
                values: list[Any] = np.round(attr.number.sample(rng, n), 2).tolist()
            else:
                u = rng.random(n)
                values = [None] * n
                for site, at in groups.items():
                    options = attr.per_site.get(site, attr.categories) if site is not None else attr.categories
                    options = options or attr.categories
                    names, shares = list(options), np.asarray(list(options.values()), dtype=float)
                    bounds = np.cumsum(shares / shares.sum())
                    chosen = np.minimum(np.searchsorted(bounds, u[at], side="right"), len(names) - 1)
                    for j, c in zip(at.tolist(), chosen.tolist(), strict=True):
                        values[j] = names[c]
            for case, value in zip(found, values, strict=True):
                case[attr.name] = value
        return found


def _cases(model: Model, volume: list[Volume], seed: int, replication: int) -> list[_Case]:
    """Return the cases of one replication in arrival order: the as-is stream (thinned where a factor is below 1)
    and extra streams for growth and new sites."""
    arrivals = _Arrivals(model)
    horizon = model.horizon_days * _DAY
    sites = arrivals.sites
    factor = {s: 1.0 for s in sites} if sites else {None: 1.0}
    new_sites: list[tuple[str, float]] = []
    for change in volume:
        for s in factor:
            if change.site is None or change.site == s:
                factor[s] *= change.factor
        if change.new_site is not None and change.new_site_share > 0:
            new_sites.append((change.new_site, change.new_site_share))
    found: list[_Case] = []
    rng = np.random.default_rng([seed, replication, 0])
    times = arrivals.times(rng, 1.0, horizon)
    at_sites = arrivals.sites_of(rng.random(len(times)), sites)
    keep = rng.random(len(times)).tolist()
    drawn = arrivals.draw(rng, at_sites)
    for k, (t, site, attributes) in enumerate(zip(times.tolist(), at_sites, drawn, strict=True), 1):
        if keep[k - 1] < factor[site]:
            found.append(_Case(0, f"C{k:06d}", t, site, attributes, [seed, replication, 1, k]))
    base_shares = sites or {None: 1.0}
    extra: list[tuple[str, str | None, float]] = [
        (f"V-{s}-" if s is not None else "V-", s, (f - 1) * base_shares[s]) for s, f in factor.items() if f > 1]
    grown = sum(base_shares[s] * f for s, f in factor.items())
    extra += [(f"N-{name}-", name, share / (1 - share) * grown) for name, share in new_sites]
    for prefix, site, scale in extra:
        key = zlib.crc32(prefix.encode())
        rng = np.random.default_rng([seed, replication, 3, key])
        times = arrivals.times(rng, scale, horizon)
        drawn = arrivals.draw(rng, [site] * len(times))
        for k, (t, attributes) in enumerate(zip(times.tolist(), drawn, strict=True), 1):
            found.append(_Case(0, f"{prefix}{k:06d}", t, site, attributes, [seed, replication, 4, key, k]))
    found.sort(key=lambda c: (c.arrival, c.case_id))
    for i, case in enumerate(found):
        case.index = i
    return found


# ----------------------------------------------------------------------------------------------------------
# People and queues


class _Task:
    """Work waiting in a role's queue: seconds of work, and the event that fires when a person has done it."""

    __slots__ = ("case", "activity", "duration", "done", "attributes", "pool", "taken", "ready", "delegating",
                 "in_working_time")

    def __init__(self, case: _Case, activity: str, duration: float, done: _Call,
                 attributes: dict | None, in_working_time: bool = False) -> None:
        self.case = case
        self.activity = activity
        self.duration = duration
        self.done = done
        self.attributes = attributes
        self.pool: _Pool | None = None
        self.taken = False
        self.ready = 0.0
        self.delegating = False  # a delegation timer runs for it
        self.in_working_time = in_working_time  # its seconds of work count only its performer's working time


class _Call:
    """An event as the run loop sees it: the callbacks to run in its place in the event order, and its value.

    Lighter than a simpy.Event (no environment, no scheduling method, no property lookups): it is triggered by
    pushing it with its key onto the environment's queue. Processes wait on it as on any event (not in simpy's
    conditions, all_of/any_of, which the engine does not use).
    """

    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, callbacks: list[Callable[[Any], None]], value: Any = None) -> None:
        self.callbacks: list[Callable[[Any], None]] | None = callbacks
        self._ok = True
        self._value = value


class _Process(simpy.Event):
    """A generator run as simpy's Process runs it (started by an urgent event now, resumed by the events it yields),
    with less bookkeeping: its end is an event only when something waits for it.

    The events it yields are all triggered normally (the engine fails none), so there is nothing to throw in.
    """

    def __init__(self, env: _Environment, generator: Generator[Any, Any, Any]) -> None:
        self.env = env
        self.callbacks = []
        self._value = simpy.events.PENDING
        self._generator = generator
        self._send = generator.send
        self._resume_it = self._resume
        # simpy's Initialize: urgent, so the process starts before this moment's normal events.
        heappush(env._queue, (env._now, URGENT, next(env._eid), _Call([self._resume_it])))

    def _resume(self, event: Any) -> None:
        send = self._send
        try:
            while True:
                event = send(event._value)
                callbacks = event.callbacks
                if callbacks is not None:
                    callbacks.append(self._resume_it)
                    return
        except StopIteration as stop:
            self._ok, self._value = True, stop.value
            # simpy schedules every process's end; an end nobody waits for changes nothing, so it is left out
            # (leaving out a sequence number keeps the order of all the others).
            if self.callbacks:
                self.env.schedule(self)
            else:
                self.callbacks = None


class _Environment(simpy.Environment):
    """A simpy environment whose `run(until=seconds)` is simpy's loop written out, for processes (_Process),
    timeouts and the engine's own events (_Call) lighter than simpy's: about a third of a run was simpy's per-event
    overhead. The events run in simpy's order (time, priority, sequence number)."""

    def process(self, generator: Generator[Any, Any, Any]) -> _Process:  # type: ignore[override]
        """Start `generator` as a process now (as simpy.Environment.process)."""
        return _Process(self, generator)

    def timeout(self, delay: float = 0, value: Any = None) -> _Call:  # type: ignore[override]
        """Return an event that happens `delay` seconds from now (as simpy.Environment.timeout)."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        event = _Call([], value)
        heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), event))
        return event

    def call_at(self, at: float, callback: Callable[[Any], None], value: Any = None) -> None:
        """Run `callback` at second `at` exactly (not now plus a delay, whose float sum may miss `at`)."""
        heappush(self._queue, (at, NORMAL, next(self._eid), _Call([callback], value)))

    def run(self, until: float | simpy.Event | None = None) -> Any:
        """Process the events before second `until` in order, then stand at `until`; anything but a number of
        seconds runs simpy's own loop."""
        if until is None or isinstance(until, simpy.Event):
            return super().run(until)
        at = float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        queue = self._queue
        # simpy's until event is urgent: events at `until` itself are left for the next run.
        while queue and queue[0][0] < at:
            now, _, _, event = heappop(queue)
            self._now = now
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
        self._now = at
        return None


class _Pool:
    """The first-come-first-served queue of one role and its free people (longest free first).

    Free people are no processes and have no events of their own: waking every person at every shift start
    (145 in one role of academic_credentials, half of them absent on a given day) cost more than the work itself.
    A task put in the pool goes at once to the longest-free person at work (on shift, not absent); else it waits,
    and the pool sets one alarm at the next shift start at which a free person is at work, or a person at work
    takes it when they finish their task. The whole role shares one calendar (people differ by absences only), so
    the shift is looked up once per role.
    """

    def __init__(self, env: _Environment, role: Role, working: WorkingTime) -> None:
        self.env = env
        self.role = role
        self.working = working  # everybody's calendar (PersonTime.working of each person)
        self.queue: deque[_Task] = deque()
        # The free people: a heap of (free since, order, person); those found absent on `today` wait in `away`.
        self.free: list[tuple[float, int, _Worker]] = []
        self.away: list[tuple[float, int, _Worker]] = []
        self.today: date | None = None
        self.alarm = inf  # the time of the pending alarm (inf: none)
        self.workers: list[_Worker] = []
        self._order = 0

    def rest(self, worker: _Worker) -> None:
        """Make the person free from now on."""
        self._order += 1
        heappush(self.free, (self.env._now, self._order, worker))

    def present(self, day: date) -> tuple[float, int, _Worker] | None:
        """Return (and take out of `free`) the entry of the longest-free person not absent on `day`, or None."""
        free = self.free
        if day != self.today:
            # Those away on the previous day may be back.
            for entry in self.away:
                heappush(free, entry)
            self.away.clear()
            self.today = day
        while free:
            entry = heappop(free)
            if day not in entry[2].time.absent:
                return entry
            self.away.append(entry)
        return None

    def put(self, task: _Task) -> None:
        """Hand the task to the longest-free person at work, else queue it (it may have moved from another pool)."""
        task.pool = self
        day, shift_end = self.working.shift(self.env._now)
        if shift_end is not None:
            entry = self.present(day)
            if entry is not None:
                task.taken = True
                entry[2].work(task)
                return
        self.queue.append(task)
        self.call_in()

    def call_in(self) -> None:
        """Set the alarm at the first shift start (from now) at which a free person is at work, while work waits."""
        if not self.queue or not (self.free or self.away):
            return
        working = self.working
        start, end = working.next_shift(self.env._now)
        if self.alarm <= start:  # none can be earlier
            return
        people = [e[2] for e in self.free] + [e[2] for e in self.away]
        for _ in range(_SEARCH_SHIFTS):
            if start == inf:
                return
            day = working.shift(start)[0]
            if any(day not in p.time.absent for p in people):
                if start < self.alarm:
                    self.alarm = start
                    self.env.call_at(start, self.alarmed)
                return
            start, end = working.next_shift(end)

    def alarmed(self, _event: _Call) -> None:
        """Hand the waiting work to the free people at work now (the alarm of call_in)."""
        env = self.env
        if env._now != self.alarm:  # superseded by an earlier alarm, which has run
            return
        self.alarm = inf
        day, shift_end = self.working.shift(env._now)
        while shift_end is not None and self.queue:
            entry = self.present(day)
            if entry is None:
                break
            task = self.take()
            if task is None:  # only tasks that moved on were left: the person stays free as before
                heappush(self.free, entry)
                break
            entry[2].work(task)
        self.call_in()

    def take(self) -> _Task | None:
        """Return the oldest task still waiting here (tasks moved to another pool are skipped), or None."""
        queue = self.queue
        while queue:
            task = queue.popleft()
            if task.pool is self and not task.taken:
                task.taken = True
                return task
        return None

    def anyone_at_work(self, t: float) -> bool:
        """Return whether some person of the role is on shift and not absent at second `t`."""
        return any(w.time.shift_end(t) is not None for w in self.workers)


class _Worker:
    """A person: at work, takes the oldest task of their role and does it to the end (past the shift's end if need
    be); else free (see _Pool)."""

    __slots__ = ("env", "pool", "name", "time", "task", "started")

    def __init__(self, env: _Environment, pool: _Pool, name: str, time: PersonTime) -> None:
        self.env = env
        self.pool = pool
        self.name = name
        self.time = time
        self.task: _Task | None = None
        self.started = 0.0
        pool.workers.append(self)
        pool.rest(self)

    def work(self, task: _Task) -> None:
        env = self.env
        now = self.started = env._now
        self.task = task
        end = now + task.duration
        if task.in_working_time and task.duration > 0:
            # Work measured in working time left at the end of a shift goes on at the person's next one, after any
            # absence days (a calendar with no working time ahead leaves it in wall-clock time).
            carried = self.time.add_working(now, task.duration)
            if carried < inf:
                end = carried
        heappush(env._queue, (end, NORMAL, next(env._eid), _Call([self.finish])))

    def finish(self, _event: _Call) -> None:
        task, self.task = self.task, None
        env, pool = self.env, self.pool
        now = env._now
        done = task.done
        done._value = (self.name, pool.role.name, self.started, now)
        if pool.queue and self.time.shift_end(now) is not None:
            following = pool.take()
            if following is not None:
                self.work(following)
        if self.task is None:
            pool.rest(self)
            pool.call_in()
        # The case waits on `done`: it goes on now, once the person has moved on (an event of its own would only
        # repeat this moment).
        callbacks, done.callbacks = done.callbacks, None
        for callback in callbacks:
            callback(done)


def _chooser(decision: Decision) -> Callable[[dict[str, Any], float], str]:
    """Return decision.choose (attributes, uniform draw -> next activity) with the cumulative probabilities of the
    unconditioned branches summed once, in branch order as choose sums them (so the same floats)."""
    conditioned = [(b.when.holds, b.to) for b in decision.branches if b.when is not None]
    free = [b for b in decision.branches if b.when is None]
    bounds, targets, acc = [], [b.to for b in free], 0.0
    for branch in free:
        acc += branch.probability
        bounds.append(acc)
    fallback = targets[-1]  # u beyond the rounded sum

    def choose(attributes: dict[str, Any], u: float) -> str:
        for holds, to in conditioned:
            if holds(attributes):
                return to
        # The first branch with u < its bound (the bounds never decrease).
        i = bisect_right(bounds, u)
        return targets[i] if i < len(targets) else fallback

    return choose


def _stream(key: list[int]) -> random.Random:
    """Return the random stream of a case's stream key: a Mersenne Twister seeded with the key's numbers, each in
    64 bits of one integer (seeding a numpy generator cost a fifth of a small run)."""
    if all(0 <= k < 2 ** 64 for k in key):
        return random.Random(sum(k << (64 * i) for i, k in enumerate(key)) | (len(key) << (64 * len(key))))
    return random.Random(repr(key))


class _Plan:
    """What performing one activity takes, looked up once per run rather than at every visit: the drawers of its
    delays and duration (Distribution._drawer), who does it, and the policies that change how."""

    __slots__ = ("name", "activity", "delay", "delays", "duration", "durations", "role", "by_case", "in_working_time",
                 "system", "next_slot", "automation", "triage", "hours", "at_arrival",
                 "duration_in_working_time")

    def __init__(self, activity: Activity, policies: dict[str, dict[str, Any]]) -> None:
        name = self.name = activity.name
        self.activity = activity
        # Activity.delay_for(last) is delays.get(last, delay).
        self.delay = activity.delay._drawer() if activity.delay is not None else None
        self.delays = {k: d._drawer() for k, d in (activity.delay_after or {}).items()}
        self.duration = activity.duration._drawer()
        # Activity.duration_for(role) is durations.get(role, duration).
        self.durations = {r: d._drawer() for r, d in (activity.duration_by_role or {}).items()}
        self.role = activity.role
        self.by_case = bool(activity.roles)  # the case's attributes choose the role
        self.in_working_time = activity.delay_in_working_time
        self.system = activity.automated
        self.next_slot: Callable[[float], float] | None = policies["schedule"].get(name)
        self.automation: Automation | None = policies["automation"].get(name)
        self.triage: AiTriage | None = policies["triage"].get(name)
        self.hours: WorkingTime | None = None  # the working time of the step's own calendar (a system's hours)
        self.at_arrival = activity.at_arrival
        self.duration_in_working_time = activity.duration_in_working_time

    def role_for(self, case: _Case) -> str | None:
        """Return the role that does the activity for `case`: its one role, or the one its case attributes choose."""
        return self.activity.role_for(case.attributes, case.site) if self.by_case else self.role


def people(role: Role) -> list[str]:
    """Return the names of the role's `headcount` people: the known names first, then '<role> <n>'."""
    names = list(role.people[:role.headcount])
    n = len(names)
    while len(names) < role.headcount:
        n += 1
        names.append(f"{role.name} {n}")
    return names


# ----------------------------------------------------------------------------------------------------------
# The simulation


class _Simulation:
    """One replication: the cases' generator processes over the people of every role."""

    def __init__(self, model: Model, cases: list[_Case], seed: int, replication: int, days: float) -> None:
        self.model = model
        self.env = env = _Environment()
        self.cases = cases
        self.activities = {a.name: a for a in model.activities}
        self.decisions = {d.after: d for d in model.decisions if d.visit is None and d.before is None}
        # Decisions that hold after a given preceding activity.
        self.by_before = {(d.after, d.before): d for d in model.decisions if d.before is not None}
        # Decisions that hold from a given visit of their activity on, the latest visit first.
        self.by_visit: dict[str, list[Decision]] = {}
        for d in sorted((d for d in model.decisions if d.visit is not None), key=lambda d: -d.visit):
            self.by_visit.setdefault(d.after, []).append(d)
        self.choosers = {id(d): _chooser(d) for d in model.decisions}  # Decision.choose of each, by id
        self.calendars = {c.name: c for c in model.calendars}
        self.records: list[tuple] = []
        self.active = 0
        self.arrived = False
        policies: dict[str, dict[str, Any]] = {k: {} for k in ("matrix", "delegation", "escalation", "schedule",
                                                                 "automation", "triage")}
        for p in model.policies:
            if isinstance(p, ApprovalMatrix):
                policies["matrix"][p.after] = p
            elif isinstance(p, Delegation):
                policies["delegation"][p.role] = p
            elif isinstance(p, Escalation):
                policies["escalation"][p.activity] = p
            elif isinstance(p, ScheduledAction):
                policies["schedule"][p.activity] = weekly_slots(p.days, p.times, LocalClock(model.start, p.timezone))
            elif isinstance(p, Automation):
                policies["automation"][p.activity] = p
            elif isinstance(p, AiTriage):
                policies["triage"][p.activity] = p
        self.policies = policies
        self.slot_clock = {p.activity: LocalClock(model.start, p.timezone) for p in model.policies
                           if isinstance(p, ScheduledAction)}
        self.plans = {a.name: _Plan(a, policies) for a in model.activities}
        self.drawers: dict[int, Callable[[random.Random], float]] = {}  # of the policies' distributions, by id
        first = model.start.date() - timedelta(days=2)
        last = model.start.date() + timedelta(days=int(days) + 2)
        self.working: dict[str, WorkingTime] = {}
        self.pools: dict[str, _Pool] = {}
        # Roles and system steps of one calendar (or of none) share its working time, so add_working indexes its days
        # once a run.
        by_calendar: dict[str | None, WorkingTime] = {}

        def working_of(calendar: str | None) -> WorkingTime:
            found = by_calendar.get(calendar)
            if found is None:
                found = by_calendar[calendar] = WorkingTime(self.calendars[calendar] if calendar else None,
                                                            model.start)
            return found

        staff = [(role, people(role)) for role in model.roles]
        self.names = {role.name: names for role, names in staff}
        # Everybody's absences in one draw (each person's still depend only on their name, see `absences`).
        absent = iter(absences([(name, role.absence_share) for role, names in staff for name in names], first, last,
                               seed, replication))
        for role, names in staff:
            working = self.working[role.name] = working_of(role.calendar)
            pool = self.pools[role.name] = _Pool(env, role, working)
            for name in names:
                _Worker(env, pool, name, PersonTime(working, next(absent)))
        for a in model.activities:
            if a.calendar is not None:
                self.plans[a.name].hours = working_of(a.calendar)

    def draw(self, distribution: Distribution, rng: random.Random) -> float:
        """Return one draw from the distribution on the case's stream (its drawer built once per run)."""
        drawer = self.drawers.get(id(distribution))
        if drawer is None:
            drawer = self.drawers[id(distribution)] = distribution._drawer()
        return drawer(rng)

    # -- recording

    def record(self, case: _Case, activity: str, start: float, end: float, resource: str | None,
               role: str | None, attributes: dict | None, kind: str) -> None:
        """Keep one simulated event (times in seconds)."""
        self.records.append((case.index, len(self.records), activity, start, end, resource, role,
                             attributes, kind))

    # -- processes

    def arrive(self) -> Generator[simpy.Event, Any, None]:
        """Start every case's process at its arrival."""
        env = self.env
        for case in self.cases:
            if case.arrival > env.now:
                yield env.timeout(case.arrival - env.now)
            self.active += 1
            env.process(self.run_case(case))
        self.arrived = True

    def run_case(self, case: _Case) -> Generator[simpy.Event, Any, None]:
        """Route the case from START to END, performing each activity."""
        rng = _stream(case.stream)
        random, attributes = rng.random, case.attributes
        at, before, visits = START, START, {}
        matrices, decisions = self.policies["matrix"], self.decisions
        routed = set(self.by_visit) | {after for after, _ in self.by_before}
        max_visits, perform, choosers = self.model.max_visits, self.perform, self.choosers
        while True:
            matrix = matrices.get(at)
            u = random()
            if matrix is not None:
                if not (yield from self.approvals(case, rng, matrix, visits)):
                    break
                nxt = matrix.then
            else:
                # self.decision(at, visits, before), without the call for the activities routed by nothing else.
                decision = self.decision(at, visits, before) if at in routed else decisions.get(at)
                nxt = choosers[id(decision)](attributes, u) if decision is not None else END
            if nxt == END:
                case.completed = True
                break
            # self.visit(case, nxt, visits), written out.
            count = visits[nxt] = visits.get(nxt, 0) + 1
            if count > max_visits:
                case.stopped = "loop guard"
                break
            if not (yield from perform(case, rng, nxt)):
                break
            before, at = at, nxt
        case.end = self.env._now
        self.active -= 1

    def decision(self, at: str, visits: dict[str, int], before: str = START) -> Decision | None:
        """Return the decision after `at` (done after `before`) for a case that has now done it `visits[at]` times
        (None: the end)."""
        found = self.by_before.get((at, before))
        if found is not None:
            return found
        staged = self.by_visit.get(at)
        if staged:
            done = visits.get(at, 0)
            for d in staged:
                if done >= d.visit:
                    return d
        return self.decisions.get(at)

    def visit(self, case: _Case, activity: str, visits: dict[str, int]) -> bool:
        """Count a visit of `activity`; return False (and stop the case) beyond the model's max_visits."""
        visits[activity] = visits.get(activity, 0) + 1
        if visits[activity] > self.model.max_visits:
            case.stopped = "loop guard"
            return False
        return True

    def approvals(self, case: _Case, rng: random.Random, matrix: ApprovalMatrix,
                  visits: dict[str, int]) -> Generator[simpy.Event, Any, bool]:
        """Approve by the matrix: a system approval below the threshold, else the band's approvals in turn."""
        value = case.attributes.get(matrix.attribute)
        if matrix.auto_below is not None and value is not None and value < matrix.auto_below:
            now = self.env.now
            self.record(case, matrix.auto_activity, now, now, SYSTEM, SYSTEM,
                        {"rule": f"{matrix.attribute} < {matrix.auto_below:g}"}, "system")
            return True
        bands = sorted(matrix.bands, key=lambda b: b.min_value)
        # A value below every band takes the lowest; a missing value the highest (the strictest).
        band = bands[-1] if value is None else next((b for b in reversed(bands) if b.min_value <= value), bands[0])
        for activity in band.approvals:
            if not self.visit(case, activity, visits):
                return False
            if not (yield from self.perform(case, rng, activity)):
                return False
            # The routing draw the activity's own decision would have taken: a matrix that keeps the as-is
            # approvals then leaves the case's later draws (durations, delays) where they were, so common random
            # numbers pair the rest of the case exactly.
            rng.random()
        return True

    def perform(self, case: _Case, rng: random.Random, name: str) -> Generator[simpy.Event, Any, bool]:
        """Do one activity of the case (its delay, schedule and policy included); return False to stop the case."""
        env, plan = self.env, self.plans[name]
        draw_delay = plan.delays.get(case.last, plan.delay)
        opens = case.last == START
        case.last = name
        delay = draw_delay(rng) if draw_delay is not None else 0.0
        duration = (plan.durations.get(plan.role_for(case), plan.duration) if plan.durations else plan.duration)(rng)
        if plan.hours is not None:
            # A system working some hours only: the delay counts them, and even no delay waits for the next.
            now = env._now
            ready = plan.hours.add_working(now, delay)
            if ready == inf:
                return False
            if ready > now:
                yield env.timeout(ready - now)
        elif delay > 0:
            role = plan.role_for(case) if plan.in_working_time else None
            now = env._now
            ready = self.working[role].add_working(now, delay) if role is not None else now + delay
            if ready == inf:
                return False
            yield env.timeout(ready - now)
        attributes = None
        if plan.next_slot is not None:
            slot = plan.next_slot(env.now)
            if slot == inf:
                return False
            if slot > env.now:
                yield env.timeout(slot - env.now)
            attributes = {"batch": self.slot_clock[name].local(slot).isoformat(timespec="minutes")}
        if plan.automation is not None:
            return (yield from self.automated(case, rng, name, plan.automation, attributes))
        if plan.triage is not None:
            yield from self.triaged(case, rng, name, plan.triage, attributes)
            return True
        role = plan.role_for(case)
        if plan.system or role is None:
            start = env.now
            if duration > 0:
                yield env.timeout(duration)
            self.record(case, name, start, env.now, SYSTEM, SYSTEM, attributes, "system")
            return True
        if plan.at_arrival and opens and self.names[role]:
            # The arrival is when this step was done (read from its end): it neither queues nor takes time. The
            # case's index picks the person, so no draw shifts the case's random stream.
            names = self.names[role]
            self.record(case, name, env._now, env._now, names[case.index % len(names)], role, attributes, "opening")
            return True
        yield self.manual(case, name, role, duration, attributes, "manual", plan.duration_in_working_time)
        return True

    def manual(self, case: _Case, name: str, role: str, duration: float, attributes: dict | None,
               kind: str, in_working_time: bool = False) -> _Call:
        """Queue the work for the role's people; return the event to wait on, which happens when one of them has
        done it, and which records the event first (as a process resumed by it would, before anything else)."""
        env = self.env
        task = _Task(case, name, duration, _Call([]), attributes, in_working_time)

        def record(done: _Call) -> None:
            resource, role_done, start, end = done._value
            self.record(case, name, start, end, resource, role_done, task.attributes, kind)

        task.done.callbacks.append(record)
        task.ready = env._now
        self.pools[role].put(task)
        if not task.taken:
            escalation = self.policies["escalation"].get(name)
            if escalation is not None and kind == "manual":
                env.process(self.escalate(task, escalation))
            self.maybe_delegate(task)
        return task.done

    def watch(self, pool: _Pool, delegation: Delegation) -> Generator[simpy.Event, Any, None]:
        """Whenever the whole role goes away (off shift or absent) for longer than `after_h`, hand the tasks
        already waiting to the delegate `after_h` after the role went away (new tasks: see maybe_delegate)."""
        env, wait = self.env, delegation.after_h * 3600
        while True:
            now = env.now
            ends = [e for e in (w.time.shift_end(now) for w in pool.workers) if e is not None]
            if ends:
                # Someone is at work: look again when the last of them leaves (others may arrive meanwhile).
                yield env.timeout(max(ends) - now)
                continue
            back = min((w.time.next_working(now) for w in pool.workers), default=inf)
            if back - now > wait:
                for task in pool.queue:
                    if task.pool is pool and not task.taken and not task.delegating:
                        task.delegating = True
                        env.process(self.delegate(task, pool, delegation, wait))
            if back == inf:
                return
            yield env.timeout(back - now)

    def maybe_delegate(self, task: _Task) -> None:
        """Hand the task to the delegate role after `after_h` when nobody of its role works before then."""
        pool = task.pool
        delegation = self.policies["delegation"].get(pool.role.name)
        if delegation is None:
            return
        now = self.env.now
        if pool.anyone_at_work(now):
            return
        back = min((w.time.next_working(now) for w in pool.workers), default=inf)
        wait = delegation.after_h * 3600
        if back - now > wait and not task.delegating:
            task.delegating = True
            self.env.process(self.delegate(task, pool, delegation, wait))

    def delegate(self, task: _Task, pool: _Pool, delegation: Delegation,
                 wait: float) -> Generator[simpy.Event, Any, None]:
        """After `wait` seconds, move the task (if still waiting in `pool`) to the delegate's queue."""
        if wait > 0:
            yield self.env.timeout(wait)
        task.delegating = False
        if task.taken or task.pool is not pool:
            return
        task.attributes = (task.attributes or {}) | {"delegated_from": pool.role.name}
        self.pools[delegation.delegate].put(task)

    def escalate(self, task: _Task, escalation: Escalation) -> Generator[simpy.Event, Any, None]:
        """Send a reminder and then escalate (and reassign) the task while it keeps waiting."""
        env, case = self.env, task.case
        working = self.working[task.pool.role.name] if escalation.business_hours else None

        def due(hours: float) -> float:
            return working.add_working(task.ready, hours * 3600) if working else task.ready + hours * 3600

        timers = [(due(h), k) for h, k in ((escalation.remind_after_h, "reminder"),
                                           (escalation.escalate_after_h, "escalation")) if h is not None]
        for at, kind in sorted(timers):
            if at == inf:
                return
            if at > env.now:
                yield env.timeout(at - env.now)
            if task.taken:
                return
            now = env.now
            if kind == "reminder":
                self.record(case, escalation.reminder_activity, now, now, SYSTEM, SYSTEM,
                            {"waiting_for": task.activity}, "reminder")
                continue
            target = escalation.escalate_to
            self.record(case, escalation.escalation_activity, now, now, SYSTEM, SYSTEM,
                        {"waiting_for": task.activity} | ({"to": target} if target else {}), "escalation")
            if target is not None and target != task.pool.role.name:
                task.attributes = (task.attributes or {}) | {"reassigned_from": task.pool.role.name}
                self.pools[target].put(task)
                self.maybe_delegate(task)

    def automated(self, case: _Case, rng: random.Random, name: str, automation: Automation,
                  attributes: dict | None) -> Generator[simpy.Event, Any, bool]:
        """Run the system step with retries and doubling back-off; exhausted: exception queue or dead letter."""
        env = self.env
        for attempt in range(automation.retries + 1):
            duration = self.draw(automation.duration, rng)
            failed = rng.random() < automation.failure_rate
            start = env.now
            if duration > 0:
                yield env.timeout(duration)
            self.record(case, name, start, env.now, SYSTEM, SYSTEM,
                        (attributes or {}) | {"attempt": attempt + 1, "outcome": "failed" if failed else "ok"},
                        "system")
            if not failed:
                return True
            if attempt < automation.retries and automation.backoff_s > 0:
                yield env.timeout(automation.backoff_s * 2 ** attempt)
        if automation.exception_role is not None:
            activity = automation.exception_activity or f"{EXCEPTION_PREFIX}{name}"
            yield self.manual(case, activity, automation.exception_role,
                              self.draw(automation.exception_duration, rng), None, "exception")
            return True
        now = env.now
        self.record(case, automation.dead_letter_activity, now, now, SYSTEM, SYSTEM, {"failed": name}, "dead_letter")
        case.stopped = "dead letter"
        return False

    def triaged(self, case: _Case, rng: random.Random, name: str, triage: AiTriage,
                attributes: dict | None) -> Generator[simpy.Event, Any, None]:
        """Let the AI decide; below the threshold a person reviews, a wrong automatic decision is reworked."""
        env = self.env
        confidence = self.draw(triage.confidence, rng)
        duration = self.draw(triage.duration, rng)
        right = rng.random() < confidence  # calibrated: right with probability = confidence
        start = env.now
        if duration > 0:
            yield env.timeout(duration)
        review = confidence < triage.threshold
        self.record(case, name, start, env.now, SYSTEM, SYSTEM,
                    (attributes or {}) | {"confidence": round(confidence, 4),
                                          "routed": "review" if review else "automatic"}, "system")
        if review:
            yield self.manual(case, f"{REVIEW_PREFIX}{name}", triage.review_role,
                              self.draw(triage.review_duration, rng), None, "review")
        elif not right:
            yield self.manual(case, triage.misroute_activity, triage.misroute_role or triage.review_role,
                              self.draw(triage.misroute_duration, rng), None, "rework")

    # -- running

    def run(self, until: float, progress: Progress | None) -> None:
        """Run day by day until every case is done or `until` seconds have passed."""
        self.env.process(self.arrive())
        for delegation in self.policies["delegation"].values():
            self.env.process(self.watch(self.pools[delegation.role], delegation))
        t = 0.0
        while t < until:
            t = min(t + _DAY, until)
            self.env.run(until=t)
            if progress is not None:
                progress(min(t / until, 1.0), f"simulated day {int(t // _DAY)}")
            if self.arrived and self.active == 0:
                break


def simulate(model: Model, scenario: Scenario | None = None, seed: int = 0, replication: int = 0,
             progress: Progress | None = None, drain_days: float | None = None) -> SimulationRun:
    """Return one simulated replication of the model under the scenario (None: as-is).

    Cases arrive during `horizon_days`; the run goes on until every case is done, at most `drain_days` (default:
    the horizon, at least 30 days) after the horizon — cases still open then are not completed.
    """
    started = time.perf_counter()
    applied = apply(model, scenario)
    volume = [c for c in (scenario.changes if scenario else []) if isinstance(c, Volume)]
    volume += [p for p in model.policies if isinstance(p, Volume)]
    # The arrivals come from the base model plus the volume changes, so the as-is cases arrive in every scenario.
    cases = _cases(model, volume, seed, replication)
    drain = max(model.horizon_days, 30.0) if drain_days is None else drain_days
    # A run allocates millions of small objects that die young or stay (the records) and makes next to no reference
    # cycles: the cycle collector's passes over the growing heap cost about a sixth of the run.
    collecting = gc.isenabled()
    gc.disable()
    try:
        sim = _Simulation(applied, cases, seed, replication, model.horizon_days + drain)
        sim.run((model.horizon_days + drain) * _DAY, progress)
        events, frame = _frames(model, sim, cases)
    finally:
        if collecting:
            gc.enable()
    return SimulationRun(events=events, cases=frame, scenario=scenario.name if scenario else "as-is", seed=seed,
                         replication=replication, wall_time_s=time.perf_counter() - started, model=applied)


def _utc(moment: datetime) -> datetime:
    """Return the moment as an aware UTC datetime (a naive one is read as UTC, like Model.start's description)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stamps(origin: pd.Timestamp, seconds: list[float] | np.ndarray) -> pd.Series:
    """Return UTC timestamps (microseconds) of simulation seconds."""
    # Float microseconds stay exact below 2**53 (285 years); NaN (a case still open) becomes NaT. Whole
    # microseconds times 1000 are the nanoseconds pd.to_timedelta(micros, unit="us") gives, without its slow
    # float path (a tenth of a run's frames).
    micros = np.round(np.asarray(seconds, dtype=float) * 1e6)
    missing = np.isnan(micros)
    nanos = np.where(missing, 0.0, micros).astype(np.int64) * 1000
    nanos[missing] = np.iinfo(np.int64).min  # NaT
    return pd.Series(origin + pd.TimedeltaIndex(nanos.view("m8[ns]")))


def _objects(values: list | tuple) -> pd.Series:
    """Return the values as a Series of dtype object (np.fromiter does not look into them for nested sequences
    as pandas does with a list: several times faster)."""
    return pd.Series(np.fromiter(values, dtype=object, count=len(values)), dtype=object)


def _frames(model: Model, sim: _Simulation, cases: list[_Case]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the events and cases DataFrames of a finished simulation."""
    origin = pd.Timestamp(_utc(model.start))
    warmup = model.warmup_days * _DAY
    # By case, start, end, then the order recorded (itemgetter: the same key as a lambda, built in C).
    records = sorted(sim.records, key=itemgetter(0, 3, 4, 1))
    columns = list(zip(*records, strict=True)) if records else [() for _ in range(9)]
    index = np.asarray(columns[0], dtype="int64")
    amounts = np.array([c.attributes.get("amount") for c in cases], dtype=object)
    events = pd.DataFrame({
        "case_id": _objects([cases[i].case_id for i in columns[0]]),
        "activity": _objects(columns[2]),
        "start_time": _stamps(origin, columns[3]),
        "end_time": _stamps(origin, columns[4]),
        "resource": _objects(columns[5]),
        "role": _objects(columns[6]),
        "site": _objects([cases[i].site for i in columns[0]]),
        "amount": pd.to_numeric(pd.Series(amounts[index] if len(index) else [], dtype=object),
                                errors="coerce").astype(float),
        "attributes": _objects([json.dumps(a, sort_keys=True) if a else None for a in columns[7]]),
        "kind": _objects(columns[8]),
    }, columns=EVENT_COLUMNS)
    names = [a.name for a in model.attributes]
    frame = pd.DataFrame({
        "case_id": [c.case_id for c in cases],
        "arrival": _stamps(origin, [c.arrival for c in cases]),
        "site": pd.Series([c.site for c in cases], dtype=object),
        **{n: pd.Series([c.attributes.get(n) for c in cases], dtype=object) for n in names if n not in ("site",)},
        "warmup": np.array([c.arrival < warmup for c in cases], dtype=bool),
        "completed": np.array([c.completed for c in cases], dtype=bool),
        "stopped": pd.Series([c.stopped for c in cases], dtype=object),
        "end_time": _stamps(origin, [c.end if c.end is not None else np.nan for c in cases]),
    })
    return events, frame


# ----------------------------------------------------------------------------------------------------------
# KPIs


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


# ----------------------------------------------------------------------------------------------------------
# Writing a run into a workspace


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "run"


def write_run(run: SimulationRun, workspace: str | PathLike | duckdb.DuckDBPyConnection | None,
              process_label: str, include_warmup: bool = False) -> ImportResult:
    """Import the run's events into a workspace as process `process_label` through the one loader and return its
    ImportResult; scenario, replication and seed become case attributes; re-writing the same run adds nothing.

    Warm-up cases are left out unless `include_warmup` (they carry the case attribute warmup then).
    """
    # Imported here so that reading and running models does not load the ingest package.
    from ingest.loader import ImportOptions, import_file
    from ingest.workspace import connect
    cases = run.cases if include_warmup else run.cases[~run.cases["warmup"]]
    ev = run.events[run.events["case_id"].isin(cases["case_id"])].reset_index(drop=True)

    def iso(stamps: pd.Series) -> pd.Series:
        return stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

    frame = pd.DataFrame({
        "case_id": ev["case_id"], "activity": ev["activity"], "start_time": iso(ev["start_time"]),
        "end_time": iso(ev["end_time"]), "resource": ev["resource"], "role": ev["role"], "site": ev["site"],
        "amount": ev["amount"].map(lambda x: None if pd.isna(x) else repr(float(x))), "kind": ev["kind"],
    })
    parsed = [json.loads(a) if isinstance(a, str) else (a or {}) for a in ev["attributes"]]
    for key in sorted({k for a in parsed for k in a}):
        frame[key] = [None if key not in a else str(a[key]) for a in parsed]
    by_case = cases.set_index("case_id")
    case_columns = {"scenario": run.scenario, "replication": str(run.replication), "seed": str(run.seed)}
    for name, value in case_columns.items():
        frame[f"case:{name}"] = value
    if include_warmup:
        frame["case:warmup"] = ev["case_id"].map(by_case["warmup"]).map(str)
    for name in [a.name for a in run.model.attributes if a.name not in ("amount", "site")]:
        frame[f"case:{name}"] = ev["case_id"].map(by_case[name]).map(lambda v: None if v is None else str(v))
    frame = frame.astype("string")
    mapping = {f: f for f in ("case_id", "activity", "start_time", "end_time", "resource", "role", "site", "amount")}
    options = ImportOptions(process=process_label, mapping=mapping, timezone="UTC")
    with tempfile.TemporaryDirectory(prefix="twinflow-sim-") as tmp:
        path = Path(tmp) / f"simulation-{_slug(run.scenario)}-s{run.seed}-r{run.replication}.parquet"
        frame.to_parquet(path, index=False)
        own = not isinstance(workspace, duckdb.DuckDBPyConnection)
        con = connect(workspace) if own else workspace
        try:
            # Marked as simulated inside the import's one transaction: an interrupted write leaves nothing.
            return import_file(path, options, con=con, source=SOURCE)
        finally:
            if own:
                con.close()
