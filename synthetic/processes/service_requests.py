"""Internal service requests (IT, facilities, HR, procurement): triage, assignment, resolution, closure.

Case flow (activity names as in the log; resource in brackets):

    Submit ticket (helpdesk-portal) -> Triage ticket (IT service desk agent; sets the team)
    [misrouted: Reassign ticket (an agent of the wrong team; sets the right team)]
    -> Assign ticket (agent of the team, when they pick it up) -> Resolve ticket (same agent)
    [reopened by the requester within the auto-close window: Reopen ticket (helpdesk-portal), then Assign
     ticket and Resolve ticket again; at most twice]
    -> Close ticket (odoo-bot, a fixed time after the last resolution)

Teams: IT -> IT service desk agents, Facilities -> facilities agents of the ticket's site, HR -> HR officers,
Procurement -> buyers. Queues are ordered by priority (P1 first). The planted misrouting: triage picks a
wrong team with a per-category rate, multiplied for one novice agent.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from synthetic.engine import Pool, Simulation, shared
from synthetic.params import GeneratorParams, ServiceParams
from synthetic.processes.base import ProcessModel

TICKET = "helpdesk.ticket"
TEAM_ROLES = {"IT": "IT service desk agent", "Facilities": "facilities agent", "HR": "HR officer",
              "Procurement": "buyer"}


class ServiceRequests(ProcessModel):
    """Internal service requests (~12,000 a year at volume 1)."""

    name = "service_requests"
    prefix = "SR"
    timing_notes = {
        "Submit ticket": "instantaneous (the arrival)",
        "Assign ticket": "instantaneous, when the resolving agent picks the ticket up (start of Resolve ticket)",
        "Resolve ticket": "takes 'Resolve ticket (<category>)'",
        "Reopen ticket": "instantaneous, after the 'reopen' delay",
        "Close ticket": "instantaneous, auto_close_after minutes after the last resolution",
    }
    documents = {TICKET: "ticket_number"}

    def __init__(self, sim: Simulation, params: GeneratorParams) -> None:
        super().__init__(sim, params.service_requests, params.system_latency)
        self.plant = params.planted.misrouting

    def plan(self, arrivals: np.ndarray, rng: np.random.Generator) -> None:
        """Draw category, priority, requester site, misrouting, reopening and all times."""
        p: ServiceParams = self.params
        n = len(arrivals)
        d = self.new_cases(n, rng)
        c = self.cases
        sites = self.sites_for(rng, n)
        depts = self.departments_for(rng, sites, weight="hire_weight")
        cats = list(p.categories)
        category = rng.choice(len(cats), size=n, p=_probs(p.categories))
        prios = list(p.priorities)
        priority = rng.choice(len(prios), size=n, p=_probs(p.priorities))
        u_reopen = rng.random((n, 2))
        reopens = (u_reopen[:, 0] < p.p_reopen).astype(int) * (1 + (u_reopen[:, 1] < p.p_reopen))
        d.uniforms("misroute", 2)
        for key, dist in p.durations.items():
            d.times(key, dist, 3 if key.startswith("Resolve") else 1)
        for key, dist in p.delays.items():
            d.times(key, dist, 2)
        self.site = sites
        self.category = [cats[k] for k in category]
        self.priority = (priority + 1).tolist()
        self.reopens = reopens.tolist()
        self.base_columns(sites, depts)
        c["ticket_number"] = [f"HD{i + 1:06d}" for i in range(n)]
        c["category"] = self.category
        c["priority"] = [prios[k] for k in priority]
        c["sla_target_hours"] = [p.sla_hours[prios[k]] for k in priority]
        c["requester_employee"] = [f"E{int(x):05d}" for x in rng.integers(1, 40_000, n)]
        c.column("triage_team")
        c.column("misrouted", False)
        c.column("reopened", 0)
        c.column("resolution_hours")
        c.column("sla_met")

    def team(self, name: str, i: int) -> Pool:
        """Return the queue of a team (facilities per site)."""
        return self.sim.pool(TEAM_ROLES[name], self.site[i])

    def case(self, i: int) -> Generator:
        """Run service request `i`."""
        sim, rec, d, c = self.sim, self.rec, self.draws, self.cases
        env = sim.env
        p: ServiceParams = self.params
        category, priority = self.category[i], self.priority[i]
        submitted = env.now
        rec.add(i, "Submit ticket", None, env.now, "helpdesk-portal", TICKET, None, "New",
                shared(category=category, priority=c["priority"][i]))
        agent, s, e = yield sim.work(sim.pool("IT service desk agent"), d("Triage ticket", i), priority)
        rate = self.plant.rate_by_category[category]
        if agent is sim.org.planted["novice_triage"]:
            rate *= self.plant.novice_factor
        team = category
        if d("misroute", i, 0) < rate:
            team = _pick(self.plant.wrong_team[category], d("misroute", i, 1))
        c["triage_team"][i] = team
        rec.add(i, "Triage ticket", s, e, agent, TICKET, "New", "Triaged", shared(assigned_team=team))
        if team != category:
            c["misrouted"][i] = True
            sim.plant("misrouted_tickets", {"case_id": c.ids[i], "category": category, "sent_to": team,
                                            "triaged_by": agent.name})
            person, s, e = yield sim.work(self.team(team, i), d("Reassign ticket", i), priority)
            rec.add(i, "Reassign ticket", s, e, person, TICKET, "Triaged", "Triaged",
                    shared(team_from=team, team_to=category))
        for attempt in range(self.reopens[i] + 1):
            if attempt:
                yield env.timeout(d("reopen", i, attempt - 1))
                rec.add(i, "Reopen ticket", None, env.now, "helpdesk-portal", TICKET, "Solved", "In Progress")
            person, s, e = yield sim.work(self.team(category, i), d(f"Resolve ticket ({category})", i, attempt),
                                          priority)
            rec.add(i, "Assign ticket", None, s, person, TICKET, None, "In Progress", shared(assigned_team=category))
            rec.add(i, "Resolve ticket", s, e, person, TICKET, "In Progress", "Solved")
            if attempt == 0:
                hours = (e - submitted) / 60.0
                c["resolution_hours"][i] = round(hours, 3)
                c["sla_met"][i] = hours <= p.sla_hours[c["priority"][i]]
        c["reopened"][i] = self.reopens[i]
        yield env.timeout(p.auto_close_after)
        rec.add(i, "Close ticket", None, env.now, "odoo-bot", TICKET, "Solved", "Closed")


def _probs(weights: dict[str, float]) -> np.ndarray:
    w = np.array(list(weights.values()), dtype=float)
    return w / w.sum()


def _pick(weights: dict[str, float], u: float) -> str:
    """Return the key whose cumulative share first exceeds `u`."""
    total = sum(weights.values())
    acc = 0.0
    for key, w in weights.items():
        acc += w / total
        if u < acc:
            return key
    return key
