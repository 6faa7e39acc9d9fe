"""What every process model shares: pre-drawn samples, the case table, and site/department/approver choice."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Sequence
from typing import ClassVar

import numpy as np
import simpy

from synthetic.engine import Recorder, Simulation, shared
from synthetic.organisation import Department, Person, Site
from synthetic.params import Duration, ReminderParams

REMINDER = "Send approval reminder"
ESCALATION = "Escalate approval"


class Draws:
    """Samples drawn before the simulation starts, a row per case, in a fixed order.

    Drawing everything a case needs up front (processing times, routing choices) makes a case's numbers depend
    only on the seed, its process and its arrival rank, not on the order in which the simulation happened to
    ask for them; so a change in one process leaves the random numbers of every other process as they were.
    """

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng = rng
        self.n = n
        self._rows: dict[str, np.ndarray] = {}

    def times(self, key: str, dist: Duration, slots: int = 1) -> None:
        """Draw `slots` samples (minutes) of `dist` per case under `key`."""
        self._rows[key] = dist.sample(self.rng, self.n * slots).reshape(self.n, slots)

    def uniforms(self, key: str, slots: int = 1) -> None:
        """Draw `slots` uniform numbers in [0, 1) per case under `key`."""
        self._rows[key] = self.rng.random((self.n, slots))

    def __call__(self, key: str, case: int, slot: int = 0) -> float:
        """Return sample `slot` of `key` for `case`."""
        return self._rows[key].item(case, slot)


class Cases:
    """The case table of one process: a list per attribute, filled when planning and while simulating."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.columns: dict[str, list] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __setitem__(self, name: str, values: Sequence) -> None:
        self.columns[name] = list(values)

    def __getitem__(self, name: str) -> list:
        return self.columns[name]

    def column(self, name: str, default: object = None) -> list:
        """Return the column `name`, creating it filled with `default` if it does not exist yet."""
        if name not in self.columns:
            self.columns[name] = [default] * len(self.ids)
        return self.columns[name]


class ProcessModel(ABC):
    """One process: `plan` draws the cases, `case(i)` is the simpy generator that runs case i.

    Subclasses set `name` (the process name in the workspace), `prefix` (of case ids), `documents` (Odoo
    model -> case column holding that document's number, for the event's `document` column) and
    `timing_notes`. Every human processing time is multiplied by the performer's speed factor (1 except for
    the planted bottleneck approver); system steps follow their trigger after `system_latency` minutes.
    """

    name: ClassVar[str]
    prefix: ClassVar[str]
    documents: ClassVar[dict[str, str]] = {}
    # Activities whose processing time is not the parameter of the same name (for the manifest).
    timing_notes: ClassVar[dict[str, str]] = {}

    def __init__(self, sim: Simulation, params, system_latency: float) -> None:
        self.sim = sim
        self.params = params
        self.org = sim.org
        self.rec: Recorder = sim.recorder(self.name)
        self.latency = system_latency
        self.cases = Cases([])
        self.draws: Draws | None = None
        self.reminders: ReminderParams | None = None  # set by processes whose approvals are chased

    @abstractmethod
    def plan(self, arrivals: np.ndarray, rng: np.random.Generator) -> None:
        """Draw every case's attributes, routing and times; `arrivals` are sorted simulation minutes."""

    @abstractmethod
    def case(self, i: int) -> Generator:
        """Return the simpy generator that runs case `i`."""

    # ---- helpers shared by the processes

    def new_cases(self, n: int, rng: np.random.Generator) -> Draws:
        """Create the case table with ids PREFIX-000001... and return a fresh `Draws` (also self.draws)."""
        self.cases = Cases([f"{self.prefix}-{i + 1:06d}" for i in range(n)])
        self.draws = Draws(rng, n)
        return self.draws

    def sites_for(self, rng: np.random.Generator, n: int) -> list[Site]:
        """Return a site per case, drawn with the sites' weights for this process."""
        sites = self.org.sites
        w = np.array([s.weight.get(self.name, 0.0) for s in sites])
        return [sites[k] for k in rng.choice(len(sites), size=n, p=w / w.sum())]

    def departments_for(self, rng: np.random.Generator, sites: list[Site], weight: str = "spend_weight",
                        ) -> list[Department]:
        """Return a department per case within its site, drawn with the departments' `weight`."""
        u = rng.random(len(sites))
        options: dict[int, tuple[list[Department], np.ndarray]] = {}
        for s in self.org.sites:
            depts = self.org.departments_of(s)
            w = np.cumsum([getattr(d, weight) for d in depts])
            options[s.index] = (depts, w / w[-1])
        out = []
        for site, x in zip(sites, u, strict=True):
            depts, cum = options[site.index]
            out.append(depts[min(int(np.searchsorted(cum, x, side="right")), len(depts) - 1)])
        return out

    @staticmethod
    def head(department: Department, u: float) -> Person:
        """Return the department head who handles a case (cases are spread evenly over the heads)."""
        return department.heads[int(u * len(department.heads))]

    def chase(self, i: int, done: simpy.Event, obj: str, tier: int, role: str) -> None:
        """Start the reminder timer of an approval of case `i` that became due now (`done`: its work event).

        A separate simpy process races the approval: after `reminder_after_hours` elapsed hours, if nobody has
        started the approval, n8n records 'Send approval reminder'; `escalation_after_hours` later, still not
        started, 'Escalate approval' to the finance controller (the CFO when the finance controller is awaited).
        The timer draws nothing and the case does not wait for it, so every other event stays as it was.
        """
        self.sim.env.process(self._chase(i, done, obj, tier, role))

    def _chase(self, i: int, done: simpy.Event, obj: str, tier: int, role: str) -> Generator:
        env, p, task = self.sim.env, self.reminders, done.task
        upward = "CFO" if role == "finance controller" else "finance controller"
        boss = next(iter(self.org.staff(upward)), None)
        steps = ((REMINDER, p.reminder_after_hours, shared(tier=tier, approver_role=role)),
                 (ESCALATION, p.escalation_after_hours,
                  shared(tier=tier, approver_role=role, escalated_to=boss.name if boss else upward)))
        for activity, hours, extra in steps:
            yield env.timeout(hours * 60.0)
            if done.triggered or (task.start is not None and task.start <= env.now):
                return  # the approval has started: the timer is cancelled
            self.rec.add(i, activity, None, env.now, "n8n", obj, extra=extra)
            self.sim.plant("approval_reminders", {"case_id": self.cases.ids[i], "process": self.name,
                                                  "activity": activity, "approver_role": role})

    def base_columns(self, sites: list[Site], departments: list[Department]) -> None:
        """Set the common case columns: site, department and cost centre."""
        self.cases["site"] = [s.name for s in sites]
        self.cases["department"] = [d.name for d in departments]
        self.cases["cost_centre"] = [d.cost_centre for d in departments]

    def local_date(self, minute: float) -> str:
        """Return the ISO local date of a simulation minute."""
        return self.sim.clock.local_date(minute).isoformat()
