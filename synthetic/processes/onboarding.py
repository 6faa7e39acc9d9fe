"""Employee onboarding: documents, credential verification, IT access, badge, training and the first day.

Case flow (activity names as in the log; resource in brackets):

    Offer accepted (recruitment-portal) -> Create employee record (HR officer), then in parallel:
      documents:  Request documents (HR) -> Documents received (recruitment-portal) -> Check documents (HR)
                  [incomplete: Request missing documents (HR), again] -> Order badge (HR)
                  -> Produce badge (facilities agent of the site)
      credential (clinical positions): Request credential verification (HR)
                  -> Credential verification received (credential-registry; the planted long tail)
                  -> Record credential verification (HR)
      IT access:  Request IT access (HR) -> Approve IT access (hiring manager = department head)
                  -> Provision IT accounts (IT service desk agent)
                  -> then, not blocking the start: Assign mandatory training (HR)
                     -> Complete mandatory training (lms)
    On the Thursday before the planned start (a Monday), if documents, badge, credential or IT access are not done:
    Postpone start date (HR) by a week, as often as needed. Then First working day (hiring manager; their
    deputy or an HR officer when the manager is absent).
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import date, timedelta

import numpy as np
import simpy

from synthetic.engine import Simulation, shared
from synthetic.names import CLINICAL_POSITIONS, FIRST_NAMES, LAST_NAMES, SUPPORT_POSITIONS
from synthetic.organisation import Person
from synthetic.params import GeneratorParams, OnboardingParams
from synthetic.processes.base import ProcessModel

EMPLOYEE = "hr.employee"
REGISTRY = "credential-registry"


class Onboarding(ProcessModel):
    """Employee onboarding (~400 hires a year at volume 1)."""

    name = "onboarding"
    prefix = "ON"
    timing_notes = {
        "Offer accepted": "instantaneous (the arrival)",
        "Documents received": "instantaneous, after the 'documents from candidate' delay",
        "Credential verification received": "instantaneous, after planted.credential_tail.delay (+ inquiry_extra "
                                            "for manual inquiries)",
        "Complete mandatory training": "instantaneous, after the 'training completed' delay",
        "First working day": "instantaneous: the hiring manager's first working instant on or after 08:00 of "
                             "the (possibly postponed) start date",
    }
    documents = {EMPLOYEE: "employee_number"}

    def __init__(self, sim: Simulation, params: GeneratorParams) -> None:
        super().__init__(sim, params.onboarding, params.system_latency)
        self.tail = params.planted.credential_tail

    def plan(self, arrivals: np.ndarray, rng: np.random.Generator) -> None:
        """Draw hires (name, position, site, department), notice periods, document rework and all times."""
        p: OnboardingParams = self.params
        n = len(arrivals)
        d = self.new_cases(n, rng)
        c = self.cases
        sites = self.sites_for(rng, n)
        depts = self.departments_for(rng, sites, weight="hire_weight")
        clinical = (rng.random(n) < p.p_clinical_in_clinical_department) & np.array([x.clinical for x in depts])
        u_pos = rng.random(n)
        first = rng.integers(len(FIRST_NAMES), size=n)
        last = rng.integers(len(LAST_NAMES), size=n)
        notice = p.notice.sample(rng, n)
        u_docs = rng.random((n, 2))
        incomplete = (u_docs[:, 0] < p.p_documents_incomplete).astype(int) * (
            1 + (u_docs[:, 1] < p.p_documents_incomplete))
        inquiry = rng.random(n) < self.tail.p_manual_inquiry
        d.times("credential", self.tail.delay)
        d.times("inquiry", self.tail.inquiry_extra)
        d.uniforms("head")
        for key, dist in p.durations.items():
            d.times(key, dist, 3 if key in ("Check documents", "Request missing documents") else 1)
        for key, dist in p.delays.items():
            d.times(key, dist, 3)
        clock = self.sim.clock
        offered = clock.local_dates(arrivals)
        planned = [_next_monday(day + timedelta(days=int(x // 1440))) for day, x in zip(offered, notice, strict=True)]
        self.site, self.dept, self.clinical = sites, depts, clinical.tolist()
        self.incomplete, self.inquiry, self.planned = incomplete.tolist(), inquiry.tolist(), planned
        self.base_columns(sites, depts)
        c["employee_number"] = [f"EMP-{day.year}-{i + 1:05d}" for i, day in enumerate(offered)]
        c["employee_name"] = [f"{FIRST_NAMES[a]} {LAST_NAMES[b]}" for a, b in zip(first, last, strict=True)]
        c["position"] = [_position(cl, u) for cl, u in zip(self.clinical, u_pos, strict=True)]
        c["clinical"] = self.clinical
        c["credential_check"] = self.clinical
        c["offer_date"] = [day.isoformat() for day in offered]
        c["planned_start_date"] = [day.isoformat() for day in planned]
        c.column("start_date")
        c.column("postponements", 0)
        c.column("hiring_manager")
        c.column("credential_days")

    def case(self, i: int) -> Generator:
        """Run the onboarding of hire `i`."""
        sim, rec, d, c = self.sim, self.rec, self.draws, self.cases
        env, clock = sim.env, sim.clock
        hr = sim.pool("HR officer")
        manager = self.head(self.dept[i], d("head", i))
        c["hiring_manager"][i] = manager.name
        rec.add(i, "Offer accepted", None, env.now, "recruitment-portal", EMPLOYEE,
                extra=shared(position=c["position"][i]))
        person, s, e = yield sim.work(hr, d("Create employee record", i))
        rec.add(i, "Create employee record", s, e, person, EMPLOYEE, None, "onboarding")
        pending = {"documents and badge": env.process(self._documents(i)),
                   "IT access": env.process(self._it_access(i, manager))}
        if self.clinical[i]:
            pending["credential verification"] = env.process(self._credential(i))
        # A process, not env.all_of: simpy detaches a nested condition when the outer one fires, so an AllOf
        # inside `ready | timeout` would never fire after the first timeout.
        ready = env.process(_all_done(list(pending.values())))
        start = self.planned[i]
        while True:
            check = clock.at(start - timedelta(days=4), "12:00")  # the Thursday before
            if check > env.now:
                yield ready | env.timeout(check - env.now)
            if ready.triggered:
                break
            waiting = [k for k, proc in pending.items() if not proc.triggered]
            new_start = start + timedelta(days=self.params.postpone_days)
            person, s, e = yield sim.work(hr, d("Postpone start date", i))
            rec.add(i, "Postpone start date", s, e, person, EMPLOYEE,
                    extra={"from": start.isoformat(), "to": new_start.isoformat(), "waiting_for": waiting})
            sim.plant("onboarding_postponed", {"case_id": c.ids[i], "from": start.isoformat(),
                                               "waiting_for": waiting})
            c["postponements"][i] += 1
            start = new_start
        first_day = max(clock.at(start, "08:00"), env.now)
        welcomer = self._welcomer(manager, first_day)
        at = welcomer.calendar.next_working_instant(first_day)
        yield env.timeout(at - env.now)
        c["start_date"][i] = clock.local_date(at).isoformat()
        rec.add(i, "First working day", None, env.now, welcomer, EMPLOYEE, "onboarding", "active")
        training = pending["IT access"].value
        if not training.triggered:
            yield training

    def _welcomer(self, manager: Person, t: float) -> Person:
        """Return who receives the new hire: the manager, else their deputy, else the first HR officer at work."""
        for person in (manager, manager.deputy):
            if person is not None and not person.absent(t):
                return person
        hr = self.org.staff("HR officer")
        return min(hr, key=lambda p: p.calendar.next_working_instant(t))

    def _documents(self, i: int) -> Generator:
        sim, rec, d = self.sim, self.rec, self.draws
        env = sim.env
        hr = sim.pool("HR officer")
        person, s, e = yield sim.work(hr, d("Request documents", i))
        rec.add(i, "Request documents", s, e, person, EMPLOYEE)
        for attempt in range(self.incomplete[i] + 1):
            yield env.timeout(d("documents from candidate", i, attempt))
            rec.add(i, "Documents received", None, env.now, "recruitment-portal", EMPLOYEE)
            complete = attempt == self.incomplete[i]
            person, s, e = yield sim.work(hr, d("Check documents", i, attempt))
            rec.add(i, "Check documents", s, e, person, EMPLOYEE, extra=shared(complete=complete))
            if not complete:
                person, s, e = yield sim.work(hr, d("Request missing documents", i, attempt))
                rec.add(i, "Request missing documents", s, e, person, EMPLOYEE)
        person, s, e = yield sim.work(hr, d("Order badge", i))
        rec.add(i, "Order badge", s, e, person, EMPLOYEE)
        person, s, e = yield sim.work(sim.pool("facilities agent", self.site[i]), d("Produce badge", i))
        rec.add(i, "Produce badge", s, e, person, EMPLOYEE)

    def _credential(self, i: int) -> Generator:
        sim, rec, d, c = self.sim, self.rec, self.draws, self.cases
        env = sim.env
        hr = sim.pool("HR officer")
        person, s, e = yield sim.work(hr, d("Request credential verification", i))
        rec.add(i, "Request credential verification", s, e, person, EMPLOYEE)
        delay = d("credential", i) + (d("inquiry", i) if self.inquiry[i] else 0.0)
        yield env.timeout(delay)
        rec.add(i, "Credential verification received", None, env.now, REGISTRY, EMPLOYEE,
                extra=shared(result="registered", manual_inquiry=self.inquiry[i]))
        c["credential_days"][i] = round(delay / 1440, 3)
        sim.plant("credential_verification", {"case_id": c.ids[i], "days": round(delay / 1440, 3),
                                              "manual_inquiry": self.inquiry[i]})
        person, s, e = yield sim.work(hr, d("Record credential verification", i))
        rec.add(i, "Record credential verification", s, e, person, EMPLOYEE)

    def _it_access(self, i: int, manager: Person) -> Generator:
        sim, rec, d = self.sim, self.rec, self.draws
        hr = sim.pool("HR officer")
        person, s, e = yield sim.work(hr, d("Request IT access", i))
        rec.add(i, "Request IT access", s, e, person, EMPLOYEE)
        person, s, e = yield sim.work(manager, d("Approve IT access", i))
        rec.add(i, "Approve IT access", s, e, person, EMPLOYEE, extra=shared(review="approved"))
        person, s, e = yield sim.work(sim.pool("IT service desk agent"), d("Provision IT accounts", i))
        rec.add(i, "Provision IT accounts", s, e, person, EMPLOYEE)
        return sim.env.process(self._training(i))

    def _training(self, i: int) -> Generator[simpy.Event, object, None]:
        sim, rec, d = self.sim, self.rec, self.draws
        env = sim.env
        person, s, e = yield sim.work(sim.pool("HR officer"), d("Assign mandatory training", i))
        rec.add(i, "Assign mandatory training", s, e, person, EMPLOYEE)
        yield env.timeout(d("training completed", i))
        rec.add(i, "Complete mandatory training", None, env.now, "lms", EMPLOYEE)


def _all_done(events: list[simpy.Event]) -> Generator:
    """Wait until every event has fired."""
    for event in events:
        if not event.processed:
            yield event


def _next_monday(day: date) -> date:
    """Return `day` if it is a Monday, else the next Monday."""
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _position(clinical: bool, u: float) -> str:
    """Return a job title: clinical for clinical hires, else a support role."""
    titles = CLINICAL_POSITIONS if clinical else SUPPORT_POSITIONS
    return titles[int(u * len(titles))]
