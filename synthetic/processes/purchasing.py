"""Purchase requests: request, budget check, approval chain by amount and category, RFQ, PO, receipt.

Case flow (activity names as in the log; resource in brackets):

    Submit purchase request (department secretary) -> Check budget (odoo-bot)
    [-> Approve budget exception (finance controller)]
    -> Approve request (department head) [or Reject purchase request (department head): end]
    [-> Approve request (finance controller)] [-> Approve request (CFO)]   (thresholds depend on the category)
    [RFQ: Send RFQ (buyer) -> Receive quotations (supplier) -> Select supplier (same buyer)]
    -> Create purchase order (buyer) [-> Approve purchase order (another buyer; the planted buyer sometimes
       approves their own)] -> Send purchase order (the creating buyer) -> Confirm purchase order (supplier)
    -> Receive goods (store keeper of the site) -> Close purchase request (odoo-bot)

While a request approval waits: Send approval reminder and Escalate approval (n8n), as for invoices.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from synthetic.engine import Simulation, shared
from synthetic.organisation import Person
from synthetic.params import GeneratorParams, PurchasingParams
from synthetic.processes.base import ProcessModel

REQUEST = "purchase.request"
ORDER = "purchase.order"


class PurchaseRequests(ProcessModel):
    """Purchase requests (~6,000 a year at volume 1)."""

    name = "purchase_requests"
    prefix = "PR"
    timing_notes = {
        "Submit purchase request": "instantaneous (the arrival)",
        "Reject purchase request": "takes the 'Approve request (department head)' time",
        "Receive quotations": "instantaneous, after the 'quotations' delay",
        "Confirm purchase order": "instantaneous, after the 'supplier confirmation' delay",
        "Send approval reminder": "instantaneous, reminder_after_hours after a request approval became due",
        "Escalate approval": "instantaneous, escalation_after_hours after the reminder",
    }
    documents = {REQUEST: "pr_number", ORDER: "po_number", "stock.picking": "receipt_number"}

    def __init__(self, sim: Simulation, params: GeneratorParams) -> None:
        super().__init__(sim, params.purchase_requests, params.system_latency)
        self.planted = params.planted
        self.reminders = params.reminders
        self._po_counter = 0
        self._site_secretaries = {s.index: [p for d in sim.org.departments_of(s) for p in d.secretaries]
                                  for s in sim.org.sites}
        self._all_secretaries = [p for d in sim.org.departments for p in d.secretaries]

    def plan(self, arrivals: np.ndarray, rng: np.random.Generator) -> None:
        """Draw categories, amounts, budget and approval outcomes, RFQ need, suppliers and all times."""
        p: PurchasingParams = self.params
        n = len(arrivals)
        d = self.new_cases(n, rng)
        c = self.cases
        sites = self.sites_for(rng, n)
        depts = self.departments_for(rng, sites)
        medical = (rng.random(n) < p.p_medical) & np.array([dp.clinical for dp in depts])
        amount = np.round(p.amount.sample(rng, n), 2)
        over_budget = rng.random(n) < p.p_over_budget
        rejected = rng.random(n) < p.p_rejected
        rfq = (amount > p.rfq_above) & (rng.random(n) >= p.p_on_contract)
        by_category = {cat: [v for v in self.org.vendors if v.category == cat] for cat in ("medical", "non-medical")}
        u_vendor = rng.random(n)
        d.uniforms("head")
        d.uniforms("requester")
        d.uniforms("self approval")
        for key, dist in p.durations.items():
            d.times(key, dist)
        for key, dist in p.delays.items():
            d.times(key, dist)
        categories = np.where(medical, "medical", "non-medical")
        vendors = [by_category[cat][int(u * len(by_category[cat]))] for cat, u in zip(categories, u_vendor,
                                                                                      strict=True)]
        self.site, self.dept, self.vendor = sites, depts, vendors
        self.over_budget, self.rejected, self.rfq = over_budget.tolist(), rejected.tolist(), rfq.tolist()
        self.base_columns(sites, depts)
        c["amount"] = amount.tolist()
        c["currency"] = ["EUR"] * n
        c["category"] = categories.tolist()
        c["vendor"] = [v.name for v in vendors]
        c["pr_number"] = [f"PR/{day.year}/{i + 1:05d}" for i, day in enumerate(self.sim.clock.local_dates(arrivals))]
        c["needs_rfq"] = self.rfq
        c["over_budget"] = self.over_budget
        c.column("po_number")
        c.column("receipt_number")
        c.column("requester")
        c.column("status", "open")

    def case(self, i: int) -> Generator:
        """Run purchase request `i`."""
        sim, rec, d, c = self.sim, self.rec, self.draws, self.cases
        env = sim.env
        p: PurchasingParams = self.params
        amount, category = c["amount"][i], c["category"][i]
        requester = self._requester(i)
        c["requester"][i] = requester if isinstance(requester, str) else requester.name
        rec.add(i, "Submit purchase request", None, env.now, requester, REQUEST, "draft", "to_approve",
                shared(category=category))
        yield env.timeout(self.latency)
        rec.add(i, "Check budget", None, env.now, "odoo-bot", REQUEST,
                extra=shared(result="exceeded" if self.over_budget[i] else "within budget"))
        if self.over_budget[i]:
            person, s, e = yield sim.work(sim.pool("finance controller"), d("Approve budget exception", i))
            rec.add(i, "Approve budget exception", s, e, person, REQUEST)
        chain = [("department head", "Approve request (department head)")]
        if amount > p.fc_above[category]:
            chain.append(("finance controller", "Approve request (finance controller)"))
        if amount > p.cfo_above[category]:
            chain.append(("CFO", "Approve request (CFO)"))
        for tier, (role, activity) in enumerate(chain, start=1):
            target = self.head(self.dept[i], d("head", i)) if role == "department head" else sim.pool(role)
            waiting = sim.work(target, d(activity, i))
            self.chase(i, waiting, REQUEST, tier, role)
            person, s, e = yield waiting
            if tier == 1 and self.rejected[i]:
                rec.add(i, "Reject purchase request", s, e, person, REQUEST, "to_approve", "rejected", shared(tier=1))
                c["status"][i] = "rejected"
                return
            final = tier == len(chain)
            rec.add(i, activity, s, e, person, REQUEST, "to_approve" if final else None,
                    "approved" if final else None, shared(tier=tier, review="approved"))
        buyers = sim.pool("buyer")
        creator = None
        state = None
        if self.rfq[i]:
            creator, s, e = yield sim.work(buyers, d("Send RFQ", i))
            c["po_number"][i] = self._po_number()
            rec.add(i, "Send RFQ", s, e, creator, ORDER, "draft", "sent")
            yield env.timeout(d("quotations", i))
            rec.add(i, "Receive quotations", None, env.now, self.vendor[i].name, ORDER)
            person, s, e = yield sim.work(creator, d("Select supplier", i))
            rec.add(i, "Select supplier", s, e, person, ORDER, extra=shared(vendor=self.vendor[i].name))
            state = "sent"
        needs_approval = amount > p.po_approval_above
        creator, s, e = yield sim.work(creator or buyers, d("Create purchase order", i))
        if c["po_number"][i] is None:
            c["po_number"][i] = self._po_number()
        rec.add(i, "Create purchase order", s, e, creator, ORDER, state,
                "to approve" if needs_approval else "purchase", shared(vendor=self.vendor[i].name))
        if needs_approval:
            rogue = sim.org.planted["self_approver"]
            if creator is rogue and d("self approval", i) < self.planted.self_approval.rate:
                person, s, e = yield sim.work(creator, d("Approve purchase order", i))
                sim.plant("self_approved_po", {"case_id": c.ids[i], "po_number": c["po_number"][i],
                                               "user": creator.name})
            else:
                person, s, e = yield sim.work(buyers, d("Approve purchase order", i), exclude=creator)
            rec.add(i, "Approve purchase order", s, e, person, ORDER, "to approve", "purchase",
                    shared(tier=1, review="approved"))
        person, s, e = yield sim.work(creator, d("Send purchase order", i))
        rec.add(i, "Send purchase order", s, e, person, ORDER, extra=shared(sent_to=self.vendor[i].email))
        yield env.timeout(d("supplier confirmation", i))
        rec.add(i, "Confirm purchase order", None, env.now, self.vendor[i].name, ORDER,
                extra=shared(acknowledged=True))
        yield env.timeout(d("delivery", i))
        keeper, s, e = yield sim.work(sim.pool("store keeper", self.site[i]), d("Receive goods", i))
        c["receipt_number"][i] = f"{self.site[i].code}/IN/{c['po_number'][i]}"
        rec.add(i, "Receive goods", s, e, keeper, "stock.picking", "assigned", "done")
        yield env.timeout(self.latency)
        rec.add(i, "Close purchase request", None, env.now, "odoo-bot", REQUEST, "approved", "done")
        c["status"][i] = "done"

    def _po_number(self) -> str:
        """Return the next PO number (Odoo numbers RFQs and POs from one sequence, in creation order)."""
        self._po_counter += 1
        return f"P{self._po_counter:05d}"

    def _requester(self, i: int) -> Person | str:
        """Return who submits the request now: a secretary at work (own department, site, network) or the portal."""
        now = self.sim.env.now
        u = self.draws("requester", i)
        dept = self.dept[i]
        for group in (dept.secretaries, self._site_secretaries[self.site[i].index], self._all_secretaries):
            working = [p for p in group if p.calendar.is_working(now)]
            if working:
                return working[int(u * len(working))]
        self.sim.plant("requests_via_portal", {"case_id": self.cases.ids[i]})
        return "odoo-portal"
