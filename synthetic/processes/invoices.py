"""Supplier invoices: e-mail intake, capture, three-way match, coding, approval matrix, posting, payment runs.

Case flow (activity names as they appear in the log; resource in brackets):

    Receive invoice (n8n) -> Capture invoice (OCR) (ocr-service) [-> Capture invoice manually (AP clerk)]
    -> Create bill (AP clerk) -> Check duplicate (odoo-bot) [-> Reject duplicate (AP clerk): end]
    with a PO: Three-way match (odoo-bot) [price mismatch: Resolve price mismatch (AP clerk), supplier
        delay, Confirm price with supplier (buyer), Three-way match; quantity mismatch: goods arrive,
        Post goods receipt (store keeper), Three-way match]
    -> Code to cost centre (AP clerk) -> Approve invoice (department head) [(finance controller) above
       10,000 EUR] [(CFO) above 50,000 EUR] -> Post invoice (AP clerk, never the bill's creator except the
       planted one) [rework: dispute noticed, Reset to draft (AP clerk), back to Code to cost centre]
    -> Release payment (finance controller, in a payment run) -> Pay invoice (bank-interface)

While an approval waits: Send approval reminder (n8n) after reminder_after_hours, Escalate approval (n8n, to the
finance controller) after escalation_after_hours more (timers racing the approval; see ProcessModel.chase).
"""

from __future__ import annotations

import heapq
from collections.abc import Generator
from datetime import date, timedelta

import numpy as np
import simpy

from synthetic.engine import Simulation, shared
from synthetic.organisation import Person
from synthetic.params import WEEKDAYS, GeneratorParams, InvoiceParams
from synthetic.processes.base import ProcessModel

MOVE = "account.move"
APPROVALS = (("department head", "Approve invoice (department head)"),
             ("finance controller", "Approve invoice (finance controller)"),
             ("CFO", "Approve invoice (CFO)"))


class SupplierInvoices(ProcessModel):
    """Supplier invoices (~15,000 a year at volume 1)."""

    name = "supplier_invoices"
    prefix = "SI"
    timing_notes = {
        "Receive invoice": "instantaneous (the arrival)",
        "Check duplicate": "instantaneous, system_latency after Create bill",
        "Three-way match": "instantaneous, system_latency after its trigger",
        "Release payment": "one 'Release payment' duration per payment run, shared by every invoice in the run",
        "Pay invoice": "instantaneous at bank_execution_time on the next business day after the release",
        "Send approval reminder": "instantaneous, reminder_after_hours after an approval became due",
        "Escalate approval": "instantaneous, escalation_after_hours after the reminder",
    }
    documents = {MOVE: "bill_number", "purchase.order": "po_number", "stock.picking": "receipt_number",
                 "mail.message": "message_id"}

    def __init__(self, sim: Simulation, params: GeneratorParams, payments_rng: np.random.Generator) -> None:
        super().__init__(sim, params.supplier_invoices, params.system_latency)
        self.planted = params.planted
        self.payments = PaymentRuns(sim, params.supplier_invoices, payments_rng)
        self.reminders = params.reminders

    def plan(self, arrivals: np.ndarray, rng: np.random.Generator) -> None:
        """Draw vendors, amounts, PO/no PO, match results, duplicates, rework loops and all times."""
        p: InvoiceParams = self.params
        n = len(arrivals)
        d = self.new_cases(n, rng)
        c = self.cases
        sites = self.sites_for(rng, n)
        depts = self.departments_for(rng, sites)
        vendors = self.org.vendors
        popularity = 1.0 / np.arange(1, len(vendors) + 1) ** 0.9  # a few suppliers send most invoices
        vendor = rng.choice(len(vendors), size=n, p=popularity / popularity.sum())
        amount = np.round(p.amount.sample(rng, n), 2)
        has_po = rng.random(n) >= p.p_no_po
        unreadable = rng.random(n) < p.p_ocr_unreadable
        u_match = rng.random(n)
        match = np.where(~has_po, "", np.where(u_match < p.p_price_mismatch, "price mismatch",
                         np.where(u_match < p.p_price_mismatch + p.p_quantity_mismatch, "quantity mismatch",
                                  "matched")))
        duplicate = (rng.random(n) < p.p_duplicate) & (np.arange(n) > 0)
        back = rng.integers(1, 200, n)
        detected = rng.random(n) < p.p_duplicate_detected
        terms_keys = list(p.payment_terms_days)
        terms = rng.choice(terms_keys, size=n, p=np.array(list(p.payment_terms_days.values())))
        lag = rng.integers(0, p.invoice_date_lag_days + 1, n)
        ref = rng.integers(10_000, 1_000_000, n)
        po = rng.integers(10_000, 100_000, n)
        head_u = rng.random(n)
        plant = self.planted.rework
        loop_p = np.where(has_po, plant.p_with_po, plant.p_no_po)
        below = rng.random((n, plant.max_loops)) < loop_p[:, None]
        loops = np.where(below.all(axis=1), plant.max_loops, below.argmin(axis=1))
        d.uniforms("self post")
        slots = plant.max_loops + 1
        for key, dist in p.durations.items():
            d.times(key, dist, slots if key in ("Code to cost centre", "Post invoice", "Reset to draft")
                    or key.startswith("Approve") else 1)
        for key, dist in p.delays.items():
            d.times(key, dist, slots)

        # A duplicate is the same supplier invoice sent again: copy the original's business data.
        dup_of = [None] * n
        for i in np.flatnonzero(duplicate):
            j = max(0, int(i - back[i]))
            for arr in (vendor, amount, has_po, match, terms, ref, po, head_u, loops):
                arr[i] = arr[j]
            sites[i], depts[i] = sites[j], depts[j]
            match[i] = "matched" if has_po[i] else ""
            dup_of[i] = j

        self.site, self.dept, self.vendor = sites, depts, [vendors[k] for k in vendor]
        self.has_po, self.match, self.loops = has_po.tolist(), match.tolist(), loops.tolist()
        self.duplicate_of, self.detected, self.head_u = dup_of, detected.tolist(), head_u.tolist()
        self.unreadable = unreadable.tolist()
        self.base_columns(sites, depts)
        c["amount"] = amount.tolist()
        c["currency"] = ["EUR"] * n
        c["vendor"] = [v.name for v in self.vendor]
        c["vendor_email"] = [v.email for v in self.vendor]
        received = self.sim.clock.local_dates(arrivals)
        c["vendor_invoice_ref"] = [f"F{day.year}-{r}" for day, r in zip(received, ref, strict=True)]
        c["po_number"] = [f"BPO{k}" if h else None for k, h in zip(po, has_po, strict=True)]
        c["receipt_number"] = [f"{s.code}/IN/{k}" if h else None for s, k, h in zip(sites, po, has_po, strict=True)]
        c["bill_number"] = _bill_numbers(received)
        c["message_id"] = [f"<{cid.lower()}@mail.{v.email.split('@')[1]}>" for cid, v in zip(c.ids, self.vendor,
                                                                                         strict=True)]
        invoice_date = [r - timedelta(days=int(x)) for r, x in zip(received, lag, strict=True)]
        c["invoice_date"] = [x.isoformat() for x in invoice_date]
        c["payment_terms_days"] = terms.tolist()
        c["due_date"] = [(x + timedelta(days=int(t))).isoformat() for x, t in zip(invoice_date, terms, strict=True)]
        c["has_po"] = self.has_po
        c["match_result"] = [m or None for m in self.match]
        c["duplicate_of"] = [c.ids[j] if j is not None else None for j in dup_of]
        c["rework_loops"] = self.loops

    def case(self, i: int) -> Generator:
        """Run supplier invoice `i`."""
        sim, rec, d, c = self.sim, self.rec, self.draws, self.cases
        env = sim.env
        ap = sim.pool("AP clerk")
        rec.add(i, "Receive invoice", None, env.now, "n8n", "mail.message", extra=shared(channel="e-mail"))
        ocr = d("Capture invoice (OCR)", i)
        unreadable = self.unreadable[i]
        yield env.timeout(self.latency + ocr)
        rec.add(i, "Capture invoice (OCR)", env.now - ocr, env.now, "ocr-service",
                extra=shared(result="unreadable" if unreadable else "fields extracted"))
        if unreadable:
            person, s, e = yield sim.work(ap, d("Capture invoice manually", i))
            rec.add(i, "Capture invoice manually", s, e, person)
        creator, s, e = yield sim.work(ap, d("Create bill", i))
        rec.add(i, "Create bill", s, e, creator, MOVE, None, "draft")
        yield env.timeout(self.latency)
        j = self.duplicate_of[i]
        caught = j is not None and self.detected[i]
        rec.add(i, "Check duplicate", None, env.now, "odoo-bot", MOVE, extra=shared(duplicate_found=caught))
        if j is not None:
            sim.plant("duplicate_invoices", {"case_id": c.ids[i], "duplicate_of": c.ids[j], "detected": caught})
        if caught:
            person, s, e = yield sim.work(ap, d("Reject duplicate", i))
            rec.add(i, "Reject duplicate", s, e, person, MOVE, "draft", "cancel", {"duplicate_of": c.ids[j]})
            return
        if self.has_po[i]:
            yield from self._match(i)
        yield from self._code_approve_post(i, creator)
        yield from self._pay(i)

    def _match(self, i: int) -> Generator:
        sim, rec, d = self.sim, self.rec, self.draws
        env = sim.env
        yield env.timeout(self.latency)
        result = self.match[i]
        rec.add(i, "Three-way match", None, env.now, "odoo-bot", MOVE, extra=shared(result=result))
        if result == "matched":
            return
        if result == "price mismatch":
            person, s, e = yield sim.work(sim.pool("AP clerk"), d("Resolve price mismatch", i))
            rec.add(i, "Resolve price mismatch", s, e, person, MOVE)
            yield env.timeout(d("supplier price confirmation", i))
            person, s, e = yield sim.work(sim.pool("buyer"), d("Confirm price with supplier", i))
            rec.add(i, "Confirm price with supplier", s, e, person, "purchase.order")
        else:
            yield env.timeout(d("goods arrival", i))
            person, s, e = yield sim.work(sim.pool("store keeper", self.site[i]), d("Post goods receipt", i))
            rec.add(i, "Post goods receipt", s, e, person, "stock.picking", "assigned", "done")
        yield env.timeout(self.latency)
        rec.add(i, "Three-way match", None, env.now, "odoo-bot", MOVE, extra=shared(result="matched"))

    def _code_approve_post(self, i: int, creator: Person) -> Generator:
        sim, rec, d, c = self.sim, self.rec, self.draws, self.cases
        env = sim.env
        ap = sim.pool("AP clerk")
        p: InvoiceParams = self.params
        amount = c["amount"][i]
        rogue = self.sim.org.planted["self_poster"]
        self_post = creator is rogue and d("self post", i) < self.planted.self_posting.rate
        loops = self.loops[i]
        for k in range(loops + 1):
            person, s, e = yield sim.work(ap, d("Code to cost centre", i, k))
            rec.add(i, "Code to cost centre", s, e, person, MOVE,
                    extra=shared(cost_centre_code=c["cost_centre"][i],
                                 source="purchase order" if self.has_po[i] else "manual"))
            tier = 0
            for role, activity in APPROVALS:
                if role == "finance controller" and amount <= p.finance_controller_above:
                    continue
                if role == "CFO" and amount <= p.cfo_above:
                    continue
                tier += 1
                target = self.head(self.dept[i], self.head_u[i]) if role == "department head" else sim.pool(role)
                waiting = sim.work(target, d(activity, i, k))
                self.chase(i, waiting, MOVE, tier, role)
                person, s, e = yield waiting
                rec.add(i, activity, s, e, person, MOVE, extra=shared(tier=tier, review="approved"))
            if self_post:
                person, s, e = yield sim.work(creator, d("Post invoice", i, k))
            else:
                person, s, e = yield sim.work(ap, d("Post invoice", i, k), exclude=creator)
            rec.add(i, "Post invoice", s, e, person, MOVE, "draft", "posted")
            if k < loops:
                yield env.timeout(d("coding dispute noticed", i, k))
                person, s, e = yield sim.work(ap, d("Reset to draft", i, k))
                rec.add(i, "Reset to draft", s, e, person, MOVE, "posted", "draft",
                        shared(reset_reason="cost centre disputed by the budget holder"))
        if self_post:
            sim.plant("self_posted_bills", {"case_id": c.ids[i], "user": creator.name})
        if loops:
            sim.plant("invoice_rework", {"case_id": c.ids[i], "has_po": self.has_po[i], "resets": loops})

    def _pay(self, i: int) -> Generator:
        sim, rec = self.sim, self.rec
        env = sim.env
        due = sim.clock.at(date.fromisoformat(self.cases["due_date"][i]), "00:00")
        paid = env.event()
        self.payments.add(due, i, paid)
        person, s, e, run, pay_at = yield paid
        rec.add(i, "Release payment", s, e, person, MOVE, "not_paid", "in_payment", shared(payment_run=run))
        yield env.timeout(pay_at - env.now)
        rec.add(i, "Pay invoice", None, env.now, "bank-interface", MOVE, "in_payment", "paid", shared(payment_run=run))


class PaymentRuns:
    """Payment runs on fixed weekdays: one person releases every posted invoice due within a few days.

    The finance controller releases the run; when no finance controller works that day, the CFO does. The bank
    executes released payments the next business day. A run's release time is drawn once per run day from the
    payments stream, whether or not the run has anything to pay, so the draws never depend on timing.
    """

    def __init__(self, sim: Simulation, params: InvoiceParams, rng: np.random.Generator) -> None:
        self.sim = sim
        self.params = params
        self.rng = rng
        self.pending: list[tuple[float, int, int, simpy.Event]] = []
        self._seq = 0
        business = sim.org.calendars.business_days()
        self.business_days = business
        weekdays = {WEEKDAYS.index(w) for w in params.payment_run_weekdays}
        self.run_days = [day for day in business if day.weekday() in weekdays]
        self.runs = 0
        sim.env.process(self._run())

    def add(self, due: float, case: int, event: simpy.Event) -> None:
        """Wait for payment of `case`, due at minute `due`; `event` fires with (person, start, end, run, pay_at)."""
        heapq.heappush(self.pending, (due, self._seq, case, event))
        self._seq += 1

    def _run(self) -> Generator:
        sim, p = self.sim, self.params
        env, clock = sim.env, sim.clock
        durations = p.durations["Release payment"]
        for day in self.run_days:
            minutes = float(durations.sample(self.rng, 1)[0])
            at = clock.at(day, p.payment_run_time)
            if at < env.now:
                continue
            yield env.timeout(at - env.now)
            horizon = clock.at(day + timedelta(days=p.pay_ahead_days), "00:00")
            batch = []
            while self.pending and self.pending[0][0] <= horizon:
                batch.append(heapq.heappop(self.pending))
            if not batch:
                continue
            self.runs += 1
            run = f"PAY/{day.isoformat()}"
            controllers = sim.org.staff("finance controller")
            end_of_day = clock.at(day + timedelta(days=1), "00:00")
            present = any(p_.calendar.next_working_instant(env.now) < end_of_day for p_ in controllers)
            target = sim.pool("finance controller" if present else "CFO")
            person, s, e = yield sim.work(target, minutes, priority=2)
            pay_day = next(b for b in self.business_days if b > clock.local_date(e))
            pay_at = clock.at(pay_day, p.bank_execution_time)
            for _, _, _, event in batch:
                event.succeed((person, s, e, run, pay_at))


def _bill_numbers(received: list[date]) -> list[str]:
    """Return Odoo-style bill numbers BILL/YYYY/MM/NNNN, numbered per month in order of arrival."""
    out, counters = [], {}
    for day in received:
        key = (day.year, day.month)
        counters[key] = counters.get(key, 0) + 1
        out.append(f"BILL/{day.year}/{day.month:02d}/{counters[key]:04d}")
    return out
