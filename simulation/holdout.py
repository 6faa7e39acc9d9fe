"""The held-out test period of a process: the split of its cases by start, the real logs of either side, the
naive reference (the last training cases replayed whole weeks later), and the twin's logs of the test period
from a model discovered on the training cases. The protocol is described in simulation/validation.py."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from simulation.case_draws import draw_cases
from simulation.discovery.state import StartEstimation
from simulation.engine import simulate
from simulation.log_distances import IDS, package_log
from simulation.progress import Progress
from simulation.spec import Model

WEEK = pd.Timedelta(days=7)
MIN_CASES = 2  # each side of the split needs at least this many cases

# The cases started before $before (all of them when it is NULL): an inner split of the training cases.
_STARTS_SQL = """
    SELECT case_id, min(coalesce(start_time, end_time)) AS case_start
    FROM events WHERE process = $process GROUP BY case_id
    HAVING $before::TIMESTAMPTZ IS NULL OR min(coalesce(start_time, end_time)) < $before::TIMESTAMPTZ
"""# The twin's cases run on after the test period until done, at most this many times the longest training case (at
# least DRAIN_MIN_DAYS): a hospital's bills stay open for years, and a twin stopped weeks after its last arrival
# would cut them short where the real test cases go on.
DRAIN_FACTOR = 1.5
DRAIN_MIN_DAYS = 30.0


@dataclass(frozen=True)
class Split:
    """A split of a process's cases by their start: training before `cut`, test from `cut` on."""

    process: str
    cut: datetime
    n_cases: int
    n_train: int
    n_test: int
    first_start: datetime
    last_start: datetime

    @property
    def test_days(self) -> float:
        """Return the days from the cut to the last test case's start (the period the test cases arrive in)."""
        return (self.last_start - self.cut).total_seconds() / 86400


@contextmanager
def opened(source: str | os.PathLike | duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to the workspace: a path is opened read-only and closed after, an open connection is
    used as it is and left open."""
    if isinstance(source, duckdb.DuckDBPyConnection):
        yield source
        return
    from ingest import connect

    con = connect(Path(source), read_only=True)
    try:
        yield con
    finally:
        con.close()


def split_by_start(con: duckdb.DuckDBPyConnection, process: str, test_share: float = 0.2,
                   before: datetime | None = None) -> Split:
    """Return the split whose test cases are the last `test_share` of the process's cases by start (of those
    started before `before`, when given)."""
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must be between 0 and 1, not {test_share}")
    starts = con.execute(f"{_STARTS_SQL} ORDER BY case_start, case_id", {"process": process, "before": before}).df()
    n = len(starts)
    if n == 0:
        raise ValueError(f"no cases of process {process!r}")
    n_test = min(max(round(n * test_share), 1), n - 1) if n > 1 else 1
    cut = starts["case_start"].iloc[n - n_test]
    n_train = int((starts["case_start"] < cut).sum())
    if n_train < MIN_CASES or n - n_train < MIN_CASES:
        raise ValueError(f"process {process!r} has {n_train} training and {n - n_train} test cases; "
                         f"each side needs at least {MIN_CASES}")
    return Split(process=process, cut=cut.to_pydatetime(), n_cases=n, n_train=n_train, n_test=n - n_train,
                 first_start=starts["case_start"].iloc[0].to_pydatetime(),
                 last_start=starts["case_start"].iloc[-1].to_pydatetime())


def real_events(con: duckdb.DuckDBPyConnection, process: str, cut: datetime, test: bool,
                before: datetime | None = None) -> pd.DataFrame:
    """Return the package-format log of the test cases (started at or after `cut`, and before `before` when
    given) or of the training cases."""
    side = ">=" if test else "<"
    events = con.execute(f"""
        WITH starts AS ({_STARTS_SQL})
        SELECT e.case_id, e.activity, e.start_time, e.end_time, e.resource
        FROM events e JOIN starts s USING (case_id)
        WHERE e.process = $process AND s.case_start {side} $cut
        ORDER BY e.end_time, e.start_time, e.event_id
    """, {"process": process, "cut": cut, "before": before}).df()
    return package_log(events)


def naive_log(training: pd.DataFrame, n_cases: int, cut: datetime) -> pd.DataFrame:
    """Return the last `n_cases` training cases by start, shifted by the fewest whole weeks (at least one) that
    bring the first of them to `cut` or after."""
    starts = (training.groupby(IDS.case, sort=False)[IDS.start_time].min().rename("case_start").reset_index()
              .sort_values(["case_start", IDS.case], kind="mergesort"))
    chosen = starts.tail(n_cases)
    if chosen.empty:
        return training.iloc[0:0].copy()
    # Whole weeks keep every event on its weekday and hour: a shift by the exact gap to the cut would move the
    # replayed work to other hours and days, and the naive circadian distance would measure that, not the past.
    gap = pd.Timestamp(cut) - chosen["case_start"].iloc[0]
    shift = WEEK * max(math.ceil(gap / WEEK), 1)
    naive = training[training[IDS.case].isin(set(chosen[IDS.case]))].copy()
    naive[IDS.start_time] = naive[IDS.start_time] + shift
    naive[IDS.end_time] = naive[IDS.end_time] + shift
    return naive.reset_index(drop=True)


def twin_log(events: pd.DataFrame, cases: pd.DataFrame, n_cases: int | None = None) -> pd.DataFrame:
    """Return the package-format log of a simulation run's events, without its warm-up cases, in event order;
    with `n_cases`, only the first that many cases arriving after the warm-up."""
    after = cases[~cases["warmup"].astype(bool)]
    if n_cases is not None:
        after = after.sort_values(["arrival", "case_id"], kind="mergesort").head(n_cases)
    kept = set(after["case_id"])
    ev = events[events["case_id"].isin(kept)]
    # The engine's row order breaks ties of (end, start), standing in for the workspace's event_id.
    ev = ev.assign(_row=np.arange(len(ev))).sort_values(["end_time", "start_time", "_row"], kind="mergesort")
    return package_log(ev).reset_index(drop=True)


def extraction_moment(con: duckdb.DuckDBPyConnection, process: str) -> datetime:
    """Return the moment the process's log was extracted: the latest end of any of its events (UTC)."""
    at = con.execute("SELECT max(end_time) AS at FROM events WHERE process = $process",
                     {"process": process}).df()["at"].iloc[0]
    if pd.isna(at):
        raise ValueError(f"no events of process {process!r}")
    return pd.Timestamp(at).tz_convert("UTC").to_pydatetime()


def censor_log(log: pd.DataFrame, at: datetime) -> pd.DataFrame:
    """Return the package-format log as a log extracted at `at` would hold it: only the events ending by then."""
    # An event still running at `at` is dropped whole: a log records an event once it has ended, so the real log
    # cannot hold it either. A case whose events all end later vanishes with them.
    return log[log[IDS.end_time] <= pd.Timestamp(at)].reset_index(drop=True)


def for_test_period(model: Model, split: Split, n_cases: int | None = None, seed: int = 0,
                    replication: int = 0) -> Model:
    """Return the model moved to the test period: it starts one warm-up before the cut and the cases arriving
    before the cut are warm-up. Without `n_cases`, cases arrive until the last test case's start; with it, until
    just after the `n_cases`-th case arriving at or after the cut in this seed and replication (when the
    arrival stream reaches that many within a generous bound)."""
    warmup = float(model.warmup_days)
    start = split.cut - timedelta(days=warmup)
    # A test period of one instant (all test cases start together) still needs a positive horizon.
    horizon = warmup + max(split.test_days, 1 / 24)
    moved = model.model_copy(update={"start": start, "horizon_days": horizon, "warmup_days": warmup})
    if n_cases is None or n_cases < 1:
        return moved
    at = _nth_arrival_days(moved, n_cases, seed, replication)
    if at is not None:
        moved = moved.model_copy(update={"horizon_days": max(at + _EPSILON_DAYS, warmup + _EPSILON_DAYS)})
    return moved


_EPSILON_DAYS = 1e-6  # about 0.1 s: the horizon ends just after the n-th arrival


def _nth_arrival_days(model: Model, n_cases: int, seed: int, replication: int) -> float | None:
    """Return the day (since the model's start) on which the `n_cases`-th case arriving after the warm-up
    arrives in this seed and replication, or None when it does not arrive within a generous bound."""
    # The engine draws a replication's arrivals up front from their own random stream; the horizon only stops
    # it, so drawing them once with a long horizon tells when the n-th case after the warm-up arrives.
    from simulation.spec import Volume

    volume = [p for p in model.policies if isinstance(p, Volume)]
    days = float(model.warmup_days) + max(float(model.horizon_days) - float(model.warmup_days), 1.0)
    for _ in range(6):
        bound = model.model_copy(update={"horizon_days": days})
        arrivals = sorted(c.arrival for c in draw_cases(bound, volume, seed, replication))
        after = [t for t in arrivals if t >= float(model.warmup_days) * 86400]
        if len(after) >= n_cases:
            return after[n_cases - 1] / 86400
        days = float(model.warmup_days) + 2 * (days - float(model.warmup_days))
    return None


def measurement_zone(model: Model) -> str:
    """Return the zone the measures read the timestamps in: the model's, unless discovery detected it (then UTC)."""
    # A detected zone serves the twin's calendars; published figures are measured on the timestamps as given, and
    # a zone guessed from the log must not change what the twin is measured against.
    return "UTC" if model.arrivals.timezone_detected else model.arrivals.timezone


def discover_training(con: duckdb.DuckDBPyConnection, process: str, split: Split, window: float | None,
                       timezone: str | None, progress: Progress | None = None, check_delays: bool = False,
                       start_estimation: StartEstimation = "auto") -> Model:
    """Return the model discovered on the split's training cases started in the last `window` days before the cut
    (all of them for None), its hidden delays checked by simulation with `check_delays`."""
    from mining.filters import Filters
    from simulation.discovery import discover

    since = split.cut - timedelta(days=window) if window is not None else None
    filters = Filters(process=process, time_from=since, time_to=split.cut, time_mode="started")
    return discover(con, process, timezone=timezone, filters=filters, progress=progress,
                    calibrate_delays=check_delays, start_estimation=start_estimation)


def drain_days(con: duckdb.DuckDBPyConnection, process: str, cut: datetime) -> float:
    """Return the days a twin of the test period runs on after its last arrival: DRAIN_FACTOR times the longest
    cycle time among the cases started before `cut`, at least DRAIN_MIN_DAYS."""
    longest = con.execute("""
        SELECT max(epoch(finish - start)) / 86400 FROM (
            SELECT min(coalesce(start_time, end_time)) AS start, max(end_time) AS finish
            FROM events WHERE process = $process GROUP BY case_id)
        WHERE start < $cut
    """, {"process": process, "cut": cut}).fetchone()[0]
    return max(DRAIN_MIN_DAYS, DRAIN_FACTOR * float(longest or 0.0))


def twin_logs(model: Model, split: Split, n_twin: int | None, replications: int, seed: int,
               progress: Progress | None = None, drain: float | None = None) -> tuple[list[pd.DataFrame], int]:
    """Return the package-format log of each replication of the model in the split's test period (cases running
    on for at most `drain` days after the last arrival; None: simulate's default), and the number of events
    simulated."""
    report = progress or (lambda fraction, message: None)
    twins: list[pd.DataFrame] = []
    simulated = 0
    for r in range(replications):
        def step(f: float, m: str, r: int = r) -> None:
            report((r + f) / replications, f"replication {r + 1}/{replications}: {m}")

        run = simulate(for_test_period(model, split, n_twin, seed, r), seed=seed, replication=r, progress=step,
                       drain_days=drain)
        simulated += len(run.events)
        twins.append(twin_log(run.events, run.cases, n_twin))
    return twins, simulated
