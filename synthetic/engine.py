"""The simpy machinery: people as worker processes that pull tasks from queues, and the event recorder.

Why workers pull instead of cases seizing a `simpy.Resource`: a person can only work inside their calendar and
a task must fit one working interval, so the natural model is a person who, when at work and free, takes the
most urgent task they are allowed to take (their own queue first, then their role's shared queue). Queueing
and waiting arise from this: a task waits while everyone who could do it is busy, off shift or absent.

A task carries its work content in minutes; the person's speed factor multiplies it (the planted bottleneck
approver is slower). `Simulation.work` returns a simpy event whose value is (person, start, end) in
simulation minutes.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Generator
from heapq import heappop, heappush
from itertools import count
from math import nan

import simpy

from synthetic.calendar import Clock, WorkCalendar
from synthetic.organisation import Organisation, Person, Site

Done = tuple[Person, float, float]  # who did it, start and end in simulation minutes


class Task:
    """Work waiting for a person: minutes of work (before the speed factor), priority (1 = most urgent)."""

    __slots__ = ("work", "priority", "seq", "exclude", "done", "start")

    def __init__(self, work: float, priority: int, seq: int, exclude: Person | None, done: simpy.Event) -> None:
        self.work = work
        self.priority = priority
        self.seq = seq
        self.exclude = exclude  # a person who must not do this task (segregation of duties)
        self.done = done
        self.start: float | None = None  # set when a person takes the task (reminder timers look at it)


class Pool:
    """The shared queue of one role (at one site, or network-wide) and the workers who serve it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.workers: list[Worker] = []
        self.queue: list[tuple[int, int, Task]] = []  # heap by (priority, seq)
        self.idle: list[Worker] = []  # waiting for work, longest-waiting first
        self.deputy: Pool | None = None  # takes new work while every worker of this pool is absent

    def all_absent(self, t: float) -> bool:
        """Return whether every worker of the pool is on leave or sick at minute `t`."""
        return all(w.person.absent(t) for w in self.workers)


class Worker:
    """A person as a simpy process: takes tasks (own queue first, then the pool's) and does them on shift."""

    def __init__(self, env: simpy.Environment, person: Person, pool: Pool) -> None:
        self.env = env
        self.person = person
        self.calendar: WorkCalendar = person.calendar
        self.speed = person.speed
        self.pool = pool
        self.own: list[tuple[int, int, Task]] = []
        self.wake: simpy.Event | None = None
        self.busy_minutes = 0.0
        self.tasks = 0
        pool.workers.append(self)
        env.process(self._run())

    def offer(self, task: Task) -> None:
        """Hand a task to this idle worker (the caller has removed it from the pool's idle list)."""
        wake, self.wake = self.wake, None
        wake.succeed(task)

    def _take(self, now: float, shift: tuple[float, float]) -> Task | None:
        """Return the most urgent task this person may take now, removed from its queue (None if none).

        Their own queue is theirs whatever the time; from the shared queue they take a task only if it fits
        the rest of their shift (or the shift is just starting), so nobody sits on a task overnight that a
        colleague on a later shift could do.
        """
        shared = self.pool.queue
        skipped, candidate = [], None
        while shared:
            item = heappop(shared)
            if item[2].exclude is self.person:
                skipped.append(item)
            else:
                candidate = item
                break
        if candidate is not None and now > shift[0] and now + candidate[2].work * self.speed > shift[1]:
            skipped.append(candidate)
            candidate = None
        for item in skipped:
            heappush(shared, item)
        own = self.own
        if own and (candidate is None or own[0][:2] < candidate[:2]):
            if candidate is not None:
                heappush(shared, candidate)
            return heappop(own)[2]
        return candidate[2] if candidate is not None else None

    def _run(self) -> Generator[simpy.Event, object, None]:
        env, calendar = self.env, self.calendar
        while True:
            now = env.now
            shift = calendar.interval(now)
            if shift is None:
                # Off shift: sleep until the next shift starts, then look at the queues again.
                next_start = calendar.next_shift_start(now)
                if next_start is None:
                    return
                yield env.timeout(next_start - now)
                continue
            task = self._take(now, shift)
            if task is None:
                # On shift and free: wait to be offered a task, until the shift ends. Only people on shift
                # wait in the idle list, so handing out work does not scan people who are not at work.
                wake = self.wake = env.event()
                self.pool.idle.append(self)
                yield wake | env.timeout(shift[1] - now)
                if not wake.triggered:
                    self.pool.idle.remove(self)
                    self.wake = None
                    continue
                task = wake.value
            minutes = task.work * self.speed
            start = task.start = calendar.next_slot(env.now, minutes)
            yield env.timeout(start + minutes - env.now)
            self.busy_minutes += minutes
            self.tasks += 1
            task.done.succeed((self.person, start, start + minutes))


_SHARED: dict[tuple, dict] = {}


def shared(**values: object) -> dict:
    """Return one shared, read-only dict per distinct set of values (event attributes repeat a lot: sharing
    them saves memory at the 10-million-event scale). Never mutate the result.

    An attribute must keep one type: True and 1 are the same key here.
    """
    key = tuple(values.items())
    found = _SHARED.get(key)
    if found is None:
        found = _SHARED[key] = values
    return found


class Vocab:
    """Interns strings as small integer codes (activity names, resources, states, object models); None is -1."""

    def __init__(self) -> None:
        self.index: dict[str | None, int] = {None: -1}
        self.values: list[str] = []

    def code(self, value: str | None) -> int:
        """Return the code of `value` (-1 for None), adding it if it is new."""
        c = self.index.get(value)
        if c is None:
            c = self.index[value] = len(self.values)
            self.values.append(value)
        return c


class Recorder:
    """The events of one process as columns (compact arrays; strings as codes of a shared vocabulary).

    Per event: case index, activity, start (NaN when instantaneous) and end in simulation minutes, resource,
    the Odoo model of the document it touches, the document state before and after, and a dict of extra
    attributes (or None). Site, department, amount and business keys live in the case table.
    """

    def __init__(self, process: str, vocab: Vocab) -> None:
        self.process = process
        self.vocab = vocab
        self.case = array("i")
        self.activity = array("i")
        self.start = array("d")
        self.end = array("d")
        self.resource = array("i")
        self.object = array("i")
        self.state_from = array("i")
        self.state_to = array("i")
        self.extra: list[dict | None] = []

    def __len__(self) -> int:
        return len(self.case)

    def add(self, case: int, activity: str, start: float | None, end: float, resource: str | Person,
            obj: str | None = None, state_from: str | None = None, state_to: str | None = None,
            extra: dict | None = None) -> None:
        """Record one event (times in simulation minutes; `start` None for an instantaneous event)."""
        # This runs once per event: look codes up inline and only call Vocab.code for new strings.
        vocab = self.vocab
        get = vocab.index.get
        if not isinstance(resource, str):
            resource = resource.name
        codes = [get(activity), get(resource), get(obj), get(state_from), get(state_to)]
        if None in codes:
            codes = [vocab.code(v) for v in (activity, resource, obj, state_from, state_to)]
        self.case.append(case)
        self.activity.append(codes[0])
        self.start.append(nan if start is None else start)
        self.end.append(end)
        self.resource.append(codes[1])
        self.object.append(codes[2])
        self.state_from.append(codes[3])
        self.state_to.append(codes[4])
        self.extra.append(extra)


class Simulation:
    """The shared simpy world: clock, organisation, workers and pools, recorders, and the planted-truth log."""

    def __init__(self, clock: Clock, org: Organisation) -> None:
        self.env = simpy.Environment()
        self.clock = clock
        self.org = org
        self.vocab = Vocab()
        self.recorders: dict[str, Recorder] = {}
        self.truths: dict[str, list] = {}
        self.pools: dict[tuple[str, int | None], Pool] = {}
        self.workers: dict[str, Worker] = {}
        self._seq = count()
        self.delegated = 0  # approvals sent to a deputy because the approver was absent
        self._open = 0
        self._launching = 0
        self.finished = self.env.event()
        for person in org.people:
            if person.role == "department secretary":
                continue  # secretaries only raise requests (instantaneous events): no queue needed
            if person.role == "department head":
                key = (f"head:{person.name}", None)
            elif person.role in org.site_roles:
                key = (person.role, person.site.index)
            else:
                key = (person.role, None)
            pool = self.pools.get(key) or self.pools.setdefault(key, Pool(f"{key[0]}@{key[1]}"))
            self.workers[person.name] = Worker(self.env, person, pool)
        # The finance controller(s) and the CFO(s) stand in for each other during absences.
        controllers, cfo = self.pools.get(("finance controller", None)), self.pools.get(("CFO", None))
        if controllers and cfo:
            controllers.deputy, cfo.deputy = cfo, controllers

    @property
    def now(self) -> float:
        """Return the current simulation minute."""
        return self.env.now

    def pool(self, role: str, site: Site | None = None) -> Pool:
        """Return the shared queue of a role: per site for site roles, else network-wide."""
        return self.pools.get((role, site.index if site else None)) or self.pools[(role, None)]

    def recorder(self, process: str) -> Recorder:
        """Return the event recorder of a process."""
        return self.recorders.setdefault(process, Recorder(process, self.vocab))

    def work(self, target: Pool | Person, minutes: float, priority: int = 3,
             exclude: Person | None = None) -> simpy.Event:
        """Queue `minutes` of work for a pool or one person; return an event with value (person, start, end).

        Work for a person who is absent goes to their deputy, if they have one who is not absent too.
        """
        done = self.env.event()
        task = Task(minutes, priority, next(self._seq), exclude, done)
        done.task = task  # lets a timer see whether the work has started (see ProcessModel.chase)
        now = self.env.now
        if isinstance(target, Pool):
            if target.deputy is not None and target.all_absent(now) and not target.deputy.all_absent(now):
                self.delegated += 1
                target = target.deputy
            # The longest-idle colleague at work for whom the task fits the rest of the shift takes it.
            for k, w in enumerate(target.idle):
                if w.person is not exclude:
                    end = w.calendar.current_end(now)
                    if end is not None and now + minutes * w.speed <= end:
                        del target.idle[k]
                        w.offer(task)
                        return done
            heappush(target.queue, (priority, task.seq, task))
        else:
            if target.deputy is not None and target.absent(now) and not target.deputy.absent(now):
                self.delegated += 1
                target = target.deputy
            worker = self.workers[target.name]
            if worker.wake is not None and worker.calendar.is_working(now):
                worker.pool.idle.remove(worker)
                worker.offer(task)
            else:
                heappush(worker.own, (priority, task.seq, task))
        return done

    def plant(self, truth: str, record: object) -> None:
        """Note one realisation of a planted truth (a case id with details) for the manifest."""
        self.truths.setdefault(truth, []).append(record)

    def launch(self, arrivals: list[float], case: Callable[[int], Generator]) -> None:
        """Start case `i` at minute `arrivals[i]` for every i, counting open cases until all have finished."""
        self._launching += 1
        self.env.process(self._arrive(arrivals, case))

    def _arrive(self, arrivals: list[float], case: Callable[[int], Generator]) -> Generator:
        env = self.env
        for i, t in enumerate(arrivals):
            if t > env.now:
                yield env.timeout(t - env.now)
            self._open += 1
            env.process(case(i)).callbacks.append(self._case_done)
        self._launching -= 1
        self._check_finished()

    def _case_done(self, _event: simpy.Event) -> None:
        self._open -= 1
        self._check_finished()

    def _check_finished(self) -> None:
        if self._open == 0 and self._launching == 0 and not self.finished.triggered:
            self.finished.succeed()

    def run(self) -> None:
        """Run until every launched case has finished."""
        if self._launching == 0:
            return
        self.env.run(until=self.finished)

