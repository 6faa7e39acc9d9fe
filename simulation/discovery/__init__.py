"""Discovery of a simulation `Model` from the event log of a workspace: arrivals, case attributes, processing
times, routing (with amount thresholds where they explain a choice), roles with their working calendars,
absences and headcounts, waiting that no resource explains, and SLA targets. Every finding is explained in
`Model.notes` so that a reviewer can check and edit it.

All work over the events is DuckDB SQL on a temporary table of the selected events; Python only sees small
results (counts per hour, subsampled durations, per-decision amounts) and fits distributions with scipy. The
steps, in the order `pipeline` runs them, each have a module of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from mining.filters import Filters
from simulation.discovery.amount_rules import learn_threshold
from simulation.discovery.hours import shifts_from_hours, working_hours
from simulation.discovery.level_forecast import LEVEL_FORECASTS, backtest_level_forecasts, forecast_level
from simulation.discovery.pipeline import run
from simulation.discovery.roles import OPEN_WORK_H
from simulation.discovery.rounding import round_probabilities, round_threshold
from simulation.discovery.state import Discovery, Progress, StartEstimation
from simulation.spec import Model


def discover(source: str | os.PathLike | duckdb.DuckDBPyConnection, process: str, *, timezone: str | None = None,
             filters: Filters | None = None, start_estimation: StartEstimation = "auto",
             progress: Progress | None = None, calibrate_delays: bool = False) -> Model:
    """Return the simulation model discovered from the events of `process` in a workspace (path, opened read-only,
    or an open DuckDB connection); same log, same model. Durations in seconds, rates in cases per week.
    `calibrate_delays`: check the hidden delays by simulating the model over the log's span and scale up those
    whose twin waits fall clearly short of the log's (wait_calibration; off by default, see the README)."""
    if start_estimation not in ("auto", "none", "always"):
        raise ValueError(f"start_estimation must be auto, none or always, not {start_estimation!r}")
    if filters is not None and filters.process != process:
        raise ValueError(f"the filters are for process {filters.process!r}, not {process!r}")
    own = not isinstance(source, duckdb.DuckDBPyConnection)
    if own:
        from ingest import connect

        con = connect(Path(source), read_only=True)
    else:
        con = source
    try:
        return run(Discovery(con, process, timezone, filters or Filters(process=process), start_estimation,
                             progress or (lambda fraction, message: None), calibrate_delays))
    finally:
        if own:
            con.close()


__all__ = [
    "LEVEL_FORECASTS", "OPEN_WORK_H", "Progress", "StartEstimation", "backtest_level_forecasts", "discover",
    "forecast_level", "learn_threshold", "round_probabilities", "round_threshold", "shifts_from_hours",
    "working_hours",
]
