"""generate(): build the organisation, run the five processes in one simpy world, return tables and manifest.

Random numbers: one `SeedSequence(seed)` spawns a child per stream (the organisation, each process, the
payment runs), and each process splits its child into an arrival stream and a case stream, all PCG64. A
process draws everything its cases need before the simulation starts, so changing one process (its volume,
its parameters) leaves every other process's random numbers unchanged; the processes still interact through
the people they share (department heads, buyers, AP clerks, ...), as they do in a real organisation.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from synthetic.arrivals import add_months, hour_grid, hourly_rates, rate_constant, sample_arrivals
from synthetic.calendar import CalendarFactory, Clock
from synthetic.engine import Simulation
from synthetic.manifest import arrivals_summary, build_manifest
from synthetic.organisation import PROCESSES, Organisation, build_organisation
from synthetic.params import GeneratorParams
from synthetic.processes import InventoryExceptions, Onboarding, PurchaseRequests, ServiceRequests, SupplierInvoices
from synthetic.processes.base import ProcessModel
from synthetic.tables import case_table, event_table

# Order matters for reproducibility: append new streams at the end, never insert.
STREAMS = ("organisation", *PROCESSES, "payments")


@dataclass
class GeneratedOrg:
    """A generated clinic network: parameters, organisation, events and cases per process, and the manifest."""

    seed: int
    params: GeneratorParams
    organisation: Organisation
    clock: Clock
    event_tables: dict[str, pa.Table]
    case_tables: dict[str, pa.Table]
    manifest: dict

    @property
    def processes(self) -> list[str]:
        """Return the process names, in a fixed order."""
        return list(self.event_tables)

    @property
    def events(self) -> pa.Table:
        """Return all events (canonical columns, see `synthetic.tables`), process by process."""
        return pa.concat_tables(list(self.event_tables.values()))

    @property
    def cases(self) -> pa.Table:
        """Return all cases: process, case_id, common columns, and every process's own attributes (null elsewhere)."""
        return pa.concat_tables(list(self.case_tables.values()), promote_options="permissive")

    def events_frame(self, process: str | None = None) -> pd.DataFrame:
        """Return the events (of one process, or all) as a pandas DataFrame."""
        table = self.event_tables[process] if process else self.events
        return table.to_pandas()

    def cases_frame(self, process: str | None = None) -> pd.DataFrame:
        """Return the cases (of one process, or all) as a pandas DataFrame."""
        table = self.case_tables[process] if process else self.cases
        return table.to_pandas()


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Collect cyclic garbage rarely while simulating.

    Millions of live event records make every full collection walk them all, which made a 10-million-event
    run superlinear; the simulation creates little cyclic garbage, so rare collections cost no memory.
    """
    before = gc.get_threshold()
    gc.set_threshold(200_000, 20, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _rng(seq: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seq))


def generate(seed: int = 7, months: int = 12, sites: int = 3, volume: float = 1.0, start: str = "2025-01-01",
             params: GeneratorParams | None = None) -> GeneratedOrg:
    """Return a generated clinic network for `seed` (same arguments, same data, byte for byte).

    `months` of arrivals from local day `start`; `sites` sites (hospital, clinic, lab, hospital, ...); `volume`
    multiplies arrivals and headcounts. `params` overrides any other true parameter (the arguments win).
    """
    base = (params or GeneratorParams()).model_dump()
    params = GeneratorParams.model_validate({**base, "months": months, "sites": sites, "volume": volume,
                                             "start": start})
    seqs = dict(zip(STREAMS, np.random.SeedSequence(seed).spawn(len(STREAMS)), strict=True))
    first = date.fromisoformat(params.start)
    end = add_months(first, params.months)
    clock = Clock(first, params.timezone)
    calendars = CalendarFactory(clock, params.organisation.shift_patterns, first,
                                end + timedelta(days=params.calendar_margin_days))
    org = build_organisation(_rng(seqs["organisation"]), params, calendars)
    sim = Simulation(clock, org)
    grid = hour_grid(clock, params.months, calendars.holidays)
    year = grid if params.months == 12 else hour_grid(clock, 12, calendars.holidays)
    models: dict[str, ProcessModel] = {
        "supplier_invoices": SupplierInvoices(sim, params, _rng(seqs["payments"])),
        "purchase_requests": PurchaseRequests(sim, params),
        "onboarding": Onboarding(sim, params),
        "service_requests": ServiceRequests(sim, params),
        "inventory_exceptions": InventoryExceptions(sim, params),
    }
    arrivals = {}
    for name, model in models.items():
        arrival_seq, case_seq = seqs[name].spawn(2)
        scale = params.volume * sum(s.weight.get(name, 0.0) for s in org.sites)
        spec = getattr(params, name).arrivals
        constant = rate_constant(year, spec, scale)
        rates = hourly_rates(grid, spec, constant)
        times = sample_arrivals(_rng(arrival_seq), rates)
        model.plan(times, _rng(case_seq))
        sim.launch(times.tolist(), model.case)
        arrivals[name] = arrivals_summary(model, params, grid, rates, scale, constant)
    with _fewer_gc_passes():
        sim.run()
    event_tables = {name: event_table(m, clock, org) for name, m in models.items()}
    case_tables = {name: case_table(m) for name, m in models.items()}
    manifest = build_manifest(seed=seed, params=params, sim=sim, models=models, arrivals=arrivals,
                              events=sum(t.num_rows for t in event_tables.values()))
    return GeneratedOrg(seed=seed, params=params, organisation=org, clock=clock, event_tables=event_tables,
                        case_tables=case_tables, manifest=manifest)
