"""The people of every role as the engine runs them. People pull work (see Pool): each role has one
first-come-first-served queue; a person takes the oldest task whenever they are on shift and not absent, and a task
once started runs to its end even past the end of the shift (overtime), unless its duration counts working time
(`Activity.duration_in_working_time`): then work left at the end of a shift goes on at the person's next one, after
their absence days. Activities without a role, or marked automated, are done by a system (SYSTEM) at once, with no
queue."""

from __future__ import annotations

from collections import deque
from datetime import date
from heapq import heappop, heappush
from math import inf

from simpy.core import NORMAL

from simulation.calendars import PersonTime, WorkingTime
from simulation.case_draws import Case
from simulation.kernel import Call, Environment
from simulation.spec import Role

SYSTEM = "system"  # role and resource of every system event (as mining/kpis.py expects)
_SEARCH_SHIFTS = 2000  # working intervals to look through for one at which a free person is at work


class Task:
    """Work waiting in a role's queue: seconds of work, and the event that fires when a person has done it."""

    __slots__ = ("case", "activity", "duration", "done", "attributes", "pool", "taken", "ready", "delegating",
                 "in_working_time")

    def __init__(self, case: Case, activity: str, duration: float, done: Call,
                 attributes: dict | None, in_working_time: bool = False) -> None:
        self.case = case
        self.activity = activity
        self.duration = duration
        self.done = done
        self.attributes = attributes
        self.pool: Pool | None = None
        self.taken = False
        self.ready = 0.0
        self.delegating = False  # a delegation timer runs for it
        self.in_working_time = in_working_time  # its seconds of work count only its performer's working time


class Pool:
    """The first-come-first-served queue of one role and its free people (longest free first).

    Free people are no processes and have no events of their own: waking every person at every shift start
    (145 in one role of academic_credentials, half of them absent on a given day) cost more than the work itself.
    A task put in the pool goes at once to the longest-free person at work (on shift, not absent); else it waits,
    and the pool sets one alarm at the next shift start at which a free person is at work, or a person at work
    takes it when they finish their task. The whole role shares one calendar (people differ by absences only), so
    the shift is looked up once per role.
    """

    def __init__(self, env: Environment, role: Role, working: WorkingTime) -> None:
        self.env = env
        self.role = role
        self.working = working  # everybody's calendar (PersonTime.working of each person)
        self.queue: deque[Task] = deque()
        # The free people: a heap of (free since, order, person); those found absent on `today` wait in `away`.
        self.free: list[tuple[float, int, Worker]] = []
        self.away: list[tuple[float, int, Worker]] = []
        self.today: date | None = None
        self.alarm = inf  # the time of the pending alarm (inf: none)
        self.workers: list[Worker] = []
        self._order = 0

    def rest(self, worker: Worker) -> None:
        """Make the person free from now on."""
        self._order += 1
        heappush(self.free, (self.env._now, self._order, worker))

    def present(self, day: date) -> tuple[float, int, Worker] | None:
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

    def put(self, task: Task) -> None:
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

    def alarmed(self, _event: Call) -> None:
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

    def take(self) -> Task | None:
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


class Worker:
    """A person who, at work, does the oldest task of their role to its end (past the shift's end if need be).

    A free person waits in their role's Pool, which hands them the next task.
    """

    __slots__ = ("env", "pool", "name", "time", "task", "started")

    def __init__(self, env: Environment, pool: Pool, name: str, time: PersonTime) -> None:
        self.env = env
        self.pool = pool
        self.name = name
        self.time = time
        self.task: Task | None = None
        self.started = 0.0
        pool.workers.append(self)
        pool.rest(self)

    def work(self, task: Task) -> None:
        """Start the task now; its end is set by its seconds of work (in working time where they count only that)."""
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
        heappush(env._queue, (end, NORMAL, next(env._eid), Call([self.finish])))

    def finish(self, _event: Call) -> None:
        """End the task: take the next one waiting (while on shift) or rest, then let the task's case go on."""
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


def people(role: Role) -> list[str]:
    """Return the names of the role's `headcount` people: the known names first, then '<role> <n>'."""
    names = list(role.people[:role.headcount])
    n = len(names)
    while len(names) < role.headcount:
        n += 1
        names.append(f"{role.name} {n}")
    return names
