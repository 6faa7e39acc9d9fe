"""Hidden delays checked by simulation: the twin of the discovered model runs over the log's own span, and where
the waits before an activity with a hidden delay come out clearly shorter than in the log, its delay grows to
make up the difference."""

from __future__ import annotations

from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from simulation.discovery.sql import fetchall, frame
from simulation.discovery.state import Discovery
from simulation.progress import DAY_S
from simulation.spec import START, Activity, Model

# A hidden delay is the part of a wait in which its performer did no older work (delays.py). Where the performer
# was busy with work of cases that themselves waited for something outside (a shared account whose estimated
# work fills its days), that part counts as a queue the twin does not form with the people it has. A pair of
# steps seen this often in the log and in the twin, whose mean wait in the twin is below the log's by more than
# this ratio, has its delay scaled up by the ratio (at most MAX_FACTOR).
MIN_PAIRS = 30
RATIO = 1.25
MAX_FACTOR = 2.0


def calibrate_hidden_delays(state: Discovery, model: Model) -> Model:
    """Return the model with the hidden delays scaled where its twin's waits fall clearly short of the log's."""
    hidden = sorted(a for a, k in state.wait_kind.items() if k == "hidden")
    if not hidden:
        state.notes["delay calibration"] = "none: no activity has a hidden delay."
        return model
    # The twin runs until the moment the log was extracted and is cut there, so that a long wait the log cannot
    # show yet is missing from both.
    extracted = fetchall(state.con, f"SELECT max(end_time) FROM {state.ev}")[0][0]
    real = _mean_waits(state.con, state.ev, hidden, extracted)
    table = real.join(_twin_waits(state, model, extracted, hidden), how="inner", lsuffix="_real", rsuffix="_twin")
    table = table[(table.n_real >= MIN_PAIRS) & (table.n_twin >= MIN_PAIRS) & (table.mean_twin > 0)]
    factors = {(str(a), str(p)): float(min(r.mean_real / r.mean_twin, MAX_FACTOR))
               for (a, p), r in table.iterrows() if r.mean_real > RATIO * r.mean_twin}
    changed = _scale(model, factors)
    lines: list[str] = []
    if changed:
        model = changed[0]
        for (a, p), f in changed[1].items():
            row = table.loc[(a, p)]
            lines.append(f"{a} after {p} (mean wait {row.mean_twin / 3600:,.1f} h in the twin, "
                         f"{row.mean_real / 3600:,.1f} h in the log; ×{f:.2f})")
    state.notes["delay calibration"] = (
        f"the twin of the model ran over the log's span (seed 0, until the log's last event); for each activity "
        f"with a hidden delay and each step before it seen {MIN_PAIRS} times or more in both, the mean wait from "
        f"the step's end to the activity's end was compared: where the log's is more than {RATIO:g} times the "
        f"twin's, the queue the delay left out is not formed by the twin's people, and the delay is scaled by the "
        f"ratio (at most {MAX_FACTOR:g}): "
        + ("; ".join(lines) if lines else "no wait falls short") + ".")
    return model


def _mean_waits(con: duckdb.DuckDBPyConnection, events: str, activities: list[str], cut: datetime) -> pd.DataFrame:
    """Return the count and mean wait (seconds, from the previous step's end to the activity's end) per activity
    and previous step (index activity, prev) in the table `events` (case_id, activity, end_time), up to `cut`."""
    # One definition for the log and the twin: the step before is the case's previous event by end.
    return frame(con, f"""
        SELECT activity, prev, count(*) AS n, avg(epoch(end_time - prev_end)) AS mean FROM (
            SELECT activity, end_time, lag(activity) OVER w AS prev, lag(end_time) OVER w AS prev_end
            FROM {events} WINDOW w AS (PARTITION BY case_id ORDER BY end_time))
        WHERE prev IS NOT NULL AND end_time <= $cut AND list_contains($acts, activity)
        GROUP BY ALL
    """, {"cut": cut, "acts": activities}).set_index(["activity", "prev"])


def _twin_waits(state: Discovery, model: Model, extracted: datetime, activities: list[str]) -> pd.DataFrame:
    """Return what _mean_waits returns for one run of the model, cut at `extracted`."""
    from simulation.engine import simulate

    span_days = (pd.Timestamp(extracted) - pd.Timestamp(model.start)).total_seconds() / DAY_S
    run = simulate(model, seed=0, drain_days=max(span_days - model.horizon_days, 1.0))
    state.con.register("_disc_twin", run.events[["case_id", "activity", "end_time"]])
    try:
        return _mean_waits(state.con, "_disc_twin", activities, extracted)
    finally:
        state.con.unregister("_disc_twin")


def _scale(model: Model, factors: dict[tuple[str, str], float]
           ) -> tuple[Model, dict[tuple[str, str], float]] | None:
    """Return the model with each (activity, previous step)'s delay scaled by its factor, and the factors applied
    (a step without a delay of its own scales the activity's shared delay by the mean of its steps' factors);
    None when nothing changes."""
    if not factors:
        return None
    applied: dict[tuple[str, str], float] = {}
    activities: list[Activity] = []
    for act in model.activities:
        mine = {p: f for (a, p), f in factors.items() if a == act.name}
        if not mine:
            activities.append(act)
            continue
        after = dict(act.delay_after or {})
        shared = [f for p, f in mine.items() if p not in after and p != START]
        for p, f in mine.items():
            if p in after and after[p].mean_value() > 0:
                after[p] = after[p].scaled(f)
                applied[(act.name, p)] = f
        delay = act.delay
        if shared and delay is not None and delay.mean_value() > 0:
            f = float(np.mean(shared))
            delay = delay.scaled(f)
            applied.update({(act.name, p): f for p in mine if p not in after})
        activities.append(act.model_copy(update={"delay": delay, "delay_after": after or act.delay_after}))
    if not applied:
        return None
    return model.model_copy(update={"activities": activities}), applied
