"""Inventory exceptions: stock below threshold, review, urgent purchase approval, expedite, receive.

Case flow (activity names as in the log; resource in brackets):

    Stock below threshold (odoo-bot, when the reordering scheduler runs) -> Review stock exception (store keeper)
      false alarm: Close exception (odoo-bot)
      standard replenishment: Create replenishment order (store keeper) -> delivery -> Receive goods (store keeper)
          -> Close exception (odoo-bot)
      urgent purchase: Request urgent purchase (store keeper) -> Approve urgent purchase (head of the consuming
          department) [-> Approve urgent purchase (finance controller) above the threshold]
          -> Expedite order (buyer) -> express delivery -> Receive goods (store keeper) -> Close exception
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from synthetic.engine import Simulation, shared
from synthetic.names import STOCK_ITEMS
from synthetic.params import GeneratorParams, InventoryParams
from synthetic.processes.base import ProcessModel

ORDERPOINT = "stock.warehouse.orderpoint"


class InventoryExceptions(ProcessModel):
    """Inventory exceptions (~2,000 a year at volume 1)."""

    name = "inventory_exceptions"
    prefix = "IE"
    timing_notes = {
        "Stock below threshold": "instantaneous (the arrival)",
        "Close exception": "instantaneous, system_latency after the last step",
    }
    documents = {ORDERPOINT: "orderpoint", "purchase.order": "po_number", "stock.picking": "receipt_number"}

    def __init__(self, sim: Simulation, params: GeneratorParams) -> None:
        super().__init__(sim, params.inventory_exceptions, params.system_latency)

    def plan(self, arrivals: np.ndarray, rng: np.random.Generator) -> None:
        """Draw site, item, consuming department, outcome, quantities and all times."""
        p: InventoryParams = self.params
        n = len(arrivals)
        d = self.new_cases(n, rng)
        c = self.cases
        sites = self.sites_for(rng, n)
        depts = self.departments_for(rng, sites)
        u_item = rng.random(n)
        outcomes = list(p.outcomes)
        w = np.array(list(p.outcomes.values()))
        outcome = rng.choice(len(outcomes), size=n, p=w / w.sum())
        value = p.order_value.sample(rng, n)
        d.uniforms("head")
        for key, dist in p.durations.items():
            d.times(key, dist)
        for key, dist in p.delays.items():
            d.times(key, dist)
        items = [_stocked(site.kind) for site in sites]
        item = [opts[int(u * len(opts))] for opts, u in zip(items, u_item, strict=True)]
        qty = [max(1, int(np.ceil(v / it[2]))) for v, it in zip(value, item, strict=True)]
        self.site, self.dept = sites, depts
        self.outcome = [outcomes[k] for k in outcome]
        self.base_columns(sites, depts)
        c["orderpoint"] = [f"OP/{s.code}/{STOCK_ITEMS.index(it) + 1:03d}" for s, it in zip(sites, item, strict=True)]
        c["item"] = [it[0] for it in item]
        c["item_category"] = [it[1] for it in item]
        c["store"] = [f"{s.code}/Stock" for s in sites]
        c["quantity"] = qty
        urgent = [o == "urgent purchase" for o in self.outcome]
        c["amount"] = [round(q * it[2], 2) if u else None for q, it, u in zip(qty, item, urgent, strict=True)]
        c["currency"] = ["EUR" if u else None for u in urgent]
        c["outcome"] = self.outcome
        c["po_number"] = [f"PU{i + 1:05d}" if o != "false alarm" else None for i, o in enumerate(self.outcome)]
        c["receipt_number"] = [f"{s.code}/IN/PU{i + 1:05d}" if o != "false alarm" else None
                               for i, (s, o) in enumerate(zip(sites, self.outcome, strict=True))]

    def case(self, i: int) -> Generator:
        """Run inventory exception `i`."""
        sim, rec, d, c = self.sim, self.rec, self.draws, self.cases
        env = sim.env
        p: InventoryParams = self.params
        store = sim.pool("store keeper", self.site[i])
        outcome = self.outcome[i]
        rec.add(i, "Stock below threshold", None, env.now, "odoo-bot", ORDERPOINT,
                extra={"item": c["item"][i], "quantity": c["quantity"][i]})
        person, s, e = yield sim.work(store, d("Review stock exception", i))
        rec.add(i, "Review stock exception", s, e, person, ORDERPOINT, extra=shared(decision=outcome))
        if outcome == "standard replenishment":
            person, s, e = yield sim.work(store, d("Create replenishment order", i))
            rec.add(i, "Create replenishment order", s, e, person, "purchase.order", None, "purchase")
            yield env.timeout(d("standard delivery", i))
        elif outcome == "urgent purchase":
            person, s, e = yield sim.work(store, d("Request urgent purchase", i))
            rec.add(i, "Request urgent purchase", s, e, person, "purchase.order", None, "to approve")
            head = self.head(self.dept[i], d("head", i))
            person, s, e = yield sim.work(head, d("Approve urgent purchase", i))
            rec.add(i, "Approve urgent purchase", s, e, person, "purchase.order",
                    extra=shared(tier=1, review="approved"))
            if c["amount"][i] > p.fc_above:
                person, s, e = yield sim.work(sim.pool("finance controller"),
                                              d("Approve urgent purchase (finance controller)", i))
                rec.add(i, "Approve urgent purchase (finance controller)", s, e, person, "purchase.order",
                        extra=shared(tier=2, review="approved"))
            person, s, e = yield sim.work(sim.pool("buyer"), d("Expedite order", i), priority=2)
            rec.add(i, "Expedite order", s, e, person, "purchase.order", "to approve", "purchase")
            yield env.timeout(d("expedited delivery", i))
        if outcome != "false alarm":
            person, s, e = yield sim.work(store, d("Receive goods", i), priority=2)
            rec.add(i, "Receive goods", s, e, person, "stock.picking", "assigned", "done")
        yield env.timeout(self.latency)
        rec.add(i, "Close exception", None, env.now, "odoo-bot", ORDERPOINT, extra=shared(outcome=outcome))


def _stocked(kind: str) -> list[tuple]:
    """Return the stock items a site of this kind keeps."""
    return [it for it in STOCK_ITEMS if kind in it[3]] or list(STOCK_ITEMS)
