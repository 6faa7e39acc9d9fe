"""Warm-up and loop guard: how long the simulation runs before it counts, and the most visits of one activity."""

from __future__ import annotations

from simulation.discovery.sql import fetchall
from simulation.discovery.state import Discovery
from simulation.fitting import human

WARMUP_CAP_DAYS = 30.0


def find_warmup(state: Discovery, horizon_days: float) -> tuple[float, int]:
    """Return the warm-up in days and the most times one activity occurs in a case."""
    median_days, visits = fetchall(state.con, f"""
        SELECT (SELECT median(epoch(case_end - arrival)) / 86400 FROM {state.cs}),
               (SELECT max(n) FROM (SELECT count(*) AS n FROM {state.ev} GROUP BY case_id, activity))
    """)[0]
    warmup = round(min(2 * float(median_days or 0), WARMUP_CAP_DAYS, horizon_days / 4), 2)
    state.notes["warmup"] = (f"twice the median cycle time ({human(float(median_days or 0) * 86400)}), at most "
                             f"{WARMUP_CAP_DAYS:g} days and a quarter of the horizon: {warmup:g} days.")
    state.notes["max_visits"] = f"the most times one activity occurs in a case: {int(visits)}."
    return warmup, max(int(visits), 1)
