"""The simulation engine (`simulate`): one replication of a model, with a scenario's designs in force, run with simpy
into simulated events in the canonical event schema. Time is a float number of **seconds** since `Model.start`
(UTC). Every case is a generator process that routes itself from START to END on its own random stream (see
case_draws.py), waiting for its delays, schedules and the people who do its work (staff.py); the designs' own
steps are in design_steps.py."""

from __future__ import annotations

import gc
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import timedelta
from math import inf
from typing import Any

import pandas as pd
import simpy

from simulation.calendars import LocalClock, PersonTime, WorkingTime, absences, weekly_slots
from simulation.case_draws import Case, case_stream, draw_cases
from simulation.design_steps import DesignSteps
from simulation.designs import apply
from simulation.kernel import Call, Environment
from simulation.progress import DAY_S, Progress
from simulation.run_output import frames
from simulation.spec import (
    END,
    START,
    Activity,
    AiTriage,
    ApprovalMatrix,
    Automation,
    Decision,
    Delegation,
    Distribution,
    Escalation,
    Model,
    Scenario,
    ScheduledAction,
    Volume,
)
from simulation.staff import SYSTEM, Pool, Task, Worker, people


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

    def role_for(self, case: Case) -> str | None:
        """Return the role that does the activity for `case`: its one role, or the one its case attributes choose."""
        return self.activity.role_for(case.attributes, case.site) if self.by_case else self.role


class _Simulation(DesignSteps):
    """One replication: the cases' generator processes over the people of every role (the designs' steps: see
    DesignSteps)."""

    def __init__(self, model: Model, cases: list[Case], seed: int, replication: int, days: float) -> None:
        self.model = model
        self.env = env = Environment()
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
        self.pools: dict[str, Pool] = {}
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
            pool = self.pools[role.name] = Pool(env, role, working)
            for name in names:
                Worker(env, pool, name, PersonTime(working, next(absent)))
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

    def record(self, case: Case, activity: str, start: float, end: float, resource: str | None,
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

    def run_case(self, case: Case) -> Generator[simpy.Event, Any, None]:
        """Route the case from START to END, performing each activity."""
        rng = case_stream(case.stream)
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

    def visit(self, case: Case, activity: str, visits: dict[str, int]) -> bool:
        """Count a visit of `activity`; return False (and stop the case) beyond the model's max_visits."""
        visits[activity] = visits.get(activity, 0) + 1
        if visits[activity] > self.model.max_visits:
            case.stopped = "loop guard"
            return False
        return True

    def perform(self, case: Case, rng: random.Random, name: str) -> Generator[simpy.Event, Any, bool]:
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

    def manual(self, case: Case, name: str, role: str, duration: float, attributes: dict | None,
               kind: str, in_working_time: bool = False) -> Call:
        """Queue the work for the role's people; return the event to wait on, which happens when one of them has
        done it, and which records the event first (as a process resumed by it would, before anything else)."""
        env = self.env
        task = Task(case, name, duration, Call([]), attributes, in_working_time)

        def record(done: Call) -> None:
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

    # -- running

    def run(self, until: float, progress: Progress | None) -> None:
        """Run day by day until every case is done or `until` seconds have passed."""
        self.env.process(self.arrive())
        for delegation in self.policies["delegation"].values():
            self.env.process(self.watch(self.pools[delegation.role], delegation))
        t = 0.0
        while t < until:
            t = min(t + DAY_S, until)
            self.env.run(until=t)
            if progress is not None:
                progress(min(t / until, 1.0), f"simulated day {int(t // DAY_S)}")
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
    cases = draw_cases(model, volume, seed, replication)
    drain = max(model.horizon_days, 30.0) if drain_days is None else drain_days
    # A run allocates millions of small objects that die young or stay (the records) and makes next to no reference
    # cycles: the cycle collector's passes over the growing heap cost about a sixth of the run.
    collecting = gc.isenabled()
    gc.disable()
    try:
        sim = _Simulation(applied, cases, seed, replication, model.horizon_days + drain)
        sim.run((model.horizon_days + drain) * DAY_S, progress)
        events, frame = frames(model, sim.records, cases)
    finally:
        if collecting:
            gc.enable()
    return SimulationRun(events=events, cases=frame, scenario=scenario.name if scenario else "as-is", seed=seed,
                         replication=replication, wall_time_s=time.perf_counter() - started, model=applied)
