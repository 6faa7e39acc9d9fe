"""Validation of the digital twin against reality on a held-out period, with the measures of published
simulation-discovery research (the PyPI package `log-distance-measures`), next to a naive reference.

The split: the cases of the process are ordered by their start (earliest start time, else end time, of their
events) and then case id; the cut is the start of the first case of the last `test_share` of them. Training
cases started before the cut, test cases at or after it. Cases that start exactly at the cut all go to the test
side, so the test set is the last `test_share` exactly unless start times tie across the cut (then it is the
smallest set of whole ties holding them); the training cases are then exactly `Filters(time_to=cut,
time_mode="started")`, which the discovery uses.

The training window: by default (`window="auto"`) the training cases are first split the same way (their own
last `test_share` is an inner test period) and the twin is validated on that inner split once per candidate window
of WINDOW_CANDIDATES (all the training cases, or those started in the last 180, 90 or 45 days before the inner
cut); the candidate whose six distances are lowest relative to all's (geometric mean) is then the window of the
model discovered for the real test period. A process that drifts is forecast better from its recent past, a stable
one from all of it, and only the training cases decide which.

The twin: the model discovered on the training cases is moved to the test period. It starts `warmup_days` (the
discovered warm-up) before the cut, so that the queues and the people are busy when the test period begins; the
cases arriving before the cut are warm-up cases and dropped. As in the published protocol, the twin then
simulates exactly as many cases as the test period has, from the cut on: the engine has no case limit, so the
arrivals of each replication are drawn first (the engine's own arrival stream, which does not depend on the
horizon, only stops at it) to find when the n-th case after the cut arrives, the horizon ends just after it, and
the simulated log keeps the first n cases arriving at or after the cut (a safeguard should the stream change).
Each replication draws other random numbers; the measures are computed per replication and reported as mean and
standard deviation (5 replications by default, the protocol's).

The naive reference: the last training cases, as many as the test period has, replayed with every timestamp
shifted by the fewest whole weeks that bring the first of them to the cut or after (the "same as last period"
forecast; whole weeks keep each event's weekday and hour, UTC). On bpic2012_W this reproduces the published naive
figures (AED 250, CED 0.77, case arrival 157 against 248, 0.77 and 155).

The measures (all distances: 0 = identical, lower = better), called with the package's defaults unless noted:
n-gram distribution distance with n=3 (normalised to 0..1), absolute, circadian and relative event distribution
distances (start and end instants, Wasserstein distance of hourly bins: absolute hours since the first instant of
both logs, hours of the day per weekday, hours since the case's start), case arrival distribution distance
(Wasserstein of hourly bins) and cycle time distribution distance (Wasserstein, 1-hour bins: the package has no
default bin size; one hour is the bin of the other time measures). Events without a start time count as instant
(start = end). Circadian hours are local to the model's arrival time zone; the other measures do not depend on
the zone.

The like-for-like view (`censor=True`; not the published protocol, which is the default): the real test log is
cut off where the log was extracted, so a test case still open then shows only its first events, while the twin's
cases and the naive reference's run to their end. With `censor`, each simulated log compared (every replication of
the twin and the naive reference) is cut at the same moment: the extraction moment, the latest end of any event of
the process (of the whole log, training cases too: that is when the log was taken, whichever case the last event
belongs to). An event ending after it is dropped whole, even when it started before (the real log records an event
when it ends), and a case left without events disappears. The model, the simulations and the naive reference are
the same as in the default view for the same seed: only what is measured changes. The training window backtest
(`choose_window`) is not censored: it measures inner test cases that had until the extraction to run on, and
keeping it the same keeps the twin the same in both views, so the two views differ by the censoring alone.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
from log_distance_measures.absolute_event_distribution import absolute_event_distribution_distance
from log_distance_measures.case_arrival_distribution import case_arrival_distribution_distance
from log_distance_measures.circadian_event_distribution import circadian_event_distribution_distance
from log_distance_measures.config import EventLogIDs
from log_distance_measures.cycle_time_distribution import cycle_time_distribution_distance
from log_distance_measures.n_gram_distribution import n_gram_distribution_distance
from log_distance_measures.relative_event_distribution import relative_event_distribution_distance

from simulation.case_draws import draw_cases
from simulation.engine import simulate
from simulation.progress import Progress
from simulation.spec import Model

# Column names of the logs handed to the package (its EventLogIDs defaults).
IDS = EventLogIDs()
LOG_COLUMNS = [IDS.case, IDS.activity, IDS.start_time, IDS.end_time, IDS.resource]
CYCLE_TIME_BIN = timedelta(hours=1)
WEEK = pd.Timedelta(days=7)
N_GRAM = 3
MIN_CASES = 2  # each side of the split needs at least this many cases

# measure key -> (label, unit)
MEASURES: dict[str, tuple[str, str]] = {
    "ngram_3": ("n-gram distance (n=3)", "0..1"),
    "absolute_event": ("absolute event distribution distance", "hours"),
    "circadian_event": ("circadian event distribution distance", "hours of day"),
    "relative_event": ("relative event distribution distance", "hours"),
    "case_arrival": ("case arrival distribution distance", "hours"),
    "cycle_time": ("cycle time distribution distance", "hours"),
}

# The cases started before $before (all of them when it is NULL): an inner split of the training cases.
_STARTS_SQL = """
    SELECT case_id, min(coalesce(start_time, end_time)) AS case_start
    FROM events WHERE process = $process GROUP BY case_id
    HAVING $before::TIMESTAMPTZ IS NULL OR min(coalesce(start_time, end_time)) < $before::TIMESTAMPTZ
"""
# The training window: the candidates (days of case starts before the cut; None = all of them) backtested on the
# training cases' own last share, as the validation does on the whole log, each with this many replications;
# a window needs this many training cases in that backtest.
WINDOW_CANDIDATES: tuple[float | None, ...] = (None, 180.0, 90.0, 45.0)
# The twin's cases run on after the test period until done, at most this many times the longest training case (at
# least DRAIN_MIN_DAYS): a hospital's bills stay open for years, and a twin stopped weeks after its last arrival
# would cut them short where the real test cases go on.
DRAIN_FACTOR = 1.5
DRAIN_MIN_DAYS = 30.0
WINDOW_REPLICATIONS = 2
WINDOW_MIN_CASES = 50


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


@dataclass
class Validation:
    """The outcome of `validate`: the measures table, the values per replication, data for charts, the model."""

    split: Split
    measures: pd.DataFrame  # measure, label, unit, twin_mean, twin_sd, naive, twin_better
    replications: pd.DataFrame  # measure, replication, value
    logs: pd.DataFrame  # log, cases, events (twin: per replication, mean)
    charts: dict[str, pd.DataFrame]  # hourly, arrivals, cycle_times
    model: Model = field(repr=False)
    timezone: str = "UTC"
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    window_days: float | None = None  # the training window the model was discovered on (None = all)
    # The extraction moment every simulated log was cut at before measuring (the like-for-like view); None: the
    # logs were compared whole (the published protocol).
    censored_at: datetime | None = None

    @property
    def view(self) -> str:
        """Return the name of the comparison the measures are of: the published protocol or like-for-like."""
        if self.censored_at is None:
            return "published protocol (simulated cases run to their end)"
        return f"like-for-like (simulated logs cut at the extraction moment, {self.censored_at:%Y-%m-%d %H:%M} UTC)"


def _connection(source: str | os.PathLike | duckdb.DuckDBPyConnection) -> tuple[duckdb.DuckDBPyConnection, bool]:
    if isinstance(source, duckdb.DuckDBPyConnection):
        return source, False
    from ingest import connect

    return connect(Path(source), read_only=True), True


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


def _package_log(events: pd.DataFrame) -> pd.DataFrame:
    """Return events (case_id, activity, start_time, end_time, resource) in the package's column names, UTC."""
    end = pd.to_datetime(events["end_time"], utc=True).reset_index(drop=True)
    start = pd.to_datetime(events["start_time"], utc=True).reset_index(drop=True).fillna(end)
    return pd.DataFrame({IDS.case: events["case_id"].astype(str).reset_index(drop=True),
                         IDS.activity: events["activity"].astype(str).reset_index(drop=True),
                         IDS.start_time: start, IDS.end_time: end,
                         IDS.resource: events["resource"].reset_index(drop=True)}, columns=LOG_COLUMNS)


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
    return _package_log(events)


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
    return _package_log(ev).reset_index(drop=True)


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


def _censor_note(at: datetime, twins: list[pd.DataFrame], kept_twins: list[pd.DataFrame], naive: pd.DataFrame,
                 kept_naive: pd.DataFrame) -> str:
    """Return the note of the like-for-like view: the extraction moment and what the cut dropped."""
    def dropped(whole: pd.DataFrame, kept: pd.DataFrame) -> tuple[float, float]:
        share = 1 - len(kept) / len(whole) if len(whole) else 0.0
        return share, float(whole[IDS.case].nunique() - kept[IDS.case].nunique())

    twin = np.mean([dropped(w, k) for w, k in zip(twins, kept_twins, strict=True)], axis=0)
    naive_share, naive_cases = dropped(naive, kept_naive)
    return (f"like-for-like view (not the published protocol): every simulated log cut at the log's extraction "
            f"moment {at:%Y-%m-%d %H:%M:%S} UTC (the latest end of any event of the process), as the real test log "
            f"is; events ending after it dropped whole, and cases left without events. Dropped: twin "
            f"{twin[0]:.1%} of its events and {twin[1]:,.1f} cases (mean over the replications), naive "
            f"{naive_share:.1%} of its events and {naive_cases:,.0f} cases.")


def _local(log: pd.DataFrame, tz: str) -> pd.DataFrame:
    return log.assign(**{IDS.start_time: log[IDS.start_time].dt.tz_convert(tz),
                         IDS.end_time: log[IDS.end_time].dt.tz_convert(tz)})


def distances(real: pd.DataFrame, other: pd.DataFrame, timezone: str = "UTC") -> dict[str, float]:
    """Return each measure of MEASURES between two package-format logs (0 = identical, lower = closer)."""
    if real.empty or other.empty:
        return {key: math.nan for key in MEASURES}
    return {
        "ngram_3": float(n_gram_distribution_distance(real, IDS, other, IDS, n=N_GRAM)),
        "absolute_event": float(absolute_event_distribution_distance(real, IDS, other, IDS)),
        "circadian_event": float(circadian_event_distribution_distance(_local(real, timezone), IDS,
                                                                       _local(other, timezone), IDS)),
        "relative_event": float(relative_event_distribution_distance(real, IDS, other, IDS)),
        "case_arrival": float(case_arrival_distribution_distance(real, IDS, other, IDS)),
        "cycle_time": float(cycle_time_distribution_distance(real, IDS, other, IDS, bin_size=CYCLE_TIME_BIN)),
    }


def _hourly(log: pd.DataFrame, name: str, tz: str, weight: float) -> pd.DataFrame:
    hours = log[IDS.start_time].dt.tz_convert(tz).dt.hour
    counts = hours.value_counts().reindex(range(24), fill_value=0)
    return pd.DataFrame({"log": name, "hour": range(24), "events": counts.to_numpy() * weight})


def _arrivals(log: pd.DataFrame, name: str, tz: str, weight: float) -> pd.DataFrame:
    first = log.groupby(IDS.case)[IDS.start_time].min().dt.tz_convert(tz)
    days = first.dt.tz_localize(None).dt.normalize().value_counts()
    return pd.DataFrame({"log": name, "day": days.index, "cases": days.to_numpy() * weight})


def _cycle_times(log: pd.DataFrame, name: str) -> pd.DataFrame:
    per_case = log.groupby(IDS.case).agg(start=(IDS.start_time, "min"), end=(IDS.end_time, "max"))
    hours = (per_case["end"] - per_case["start"]).dt.total_seconds() / 3600
    return pd.DataFrame({"log": name, "case_id": per_case.index, "cycle_time_h": hours.to_numpy()})


def chart_data(real: pd.DataFrame, twins: list[pd.DataFrame], naive: pd.DataFrame,
               tz: str = "UTC") -> dict[str, pd.DataFrame]:
    """Return chart data real vs twin vs naive: events per hour of day, case arrivals per day, cycle times.

    Twin counts are means over the replications; twin cycle times pool every replication."""
    weight = 1 / max(len(twins), 1)
    hourly = pd.concat([_hourly(real, "real", tz, 1.0), *[_hourly(t, "twin", tz, weight) for t in twins],
                        _hourly(naive, "naive", tz, 1.0)]).groupby(["log", "hour"], as_index=False)["events"].sum()
    arrivals = pd.concat([_arrivals(real, "real", tz, 1.0), *[_arrivals(t, "twin", tz, weight) for t in twins],
                          _arrivals(naive, "naive", tz, 1.0)]).groupby(["log", "day"], as_index=False)["cases"].sum()
    # Days without arrivals count as zero, so that the lines of the three logs cover the same days.
    if not arrivals.empty:
        days = pd.date_range(arrivals["day"].min(), arrivals["day"].max(), freq="D")
        full = pd.MultiIndex.from_product([["real", "twin", "naive"], days], names=["log", "day"])
        arrivals = arrivals.set_index(["log", "day"]).reindex(full, fill_value=0.0).reset_index()
    cycles = pd.concat([_cycle_times(real, "real"), *[_cycle_times(t, "twin") for t in twins],
                        _cycle_times(naive, "naive")], ignore_index=True)
    order = {"real": 0, "twin": 1, "naive": 2}
    hourly = hourly.sort_values(["log", "hour"], key=lambda s: s.map(order) if s.name == "log" else s)
    return {"hourly": hourly.reset_index(drop=True), "arrivals": arrivals, "cycle_times": cycles}


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


@dataclass(frozen=True)
class WindowChoice:
    """The training window chosen by `choose_window`: its days (None = all), the score of each candidate tried
    (geometric mean of the six distances relative to all cases'; lower is better) and a sentence for the notes."""

    days: float | None
    scores: dict[float | None, float]
    note: str


def _window_label(days: float | None) -> str:
    return "all" if days is None else f"last {days:g} days"


def choose_window(con: duckdb.DuckDBPyConnection, process: str, split: Split, *, test_share: float = 0.2,
                  seed: int = 0, timezone: str | None = None) -> WindowChoice:
    """Return the training window of WINDOW_CANDIDATES whose twin validates best on the training cases alone: their
    own last `test_share` is the test period of an inner validation per candidate."""
    # A process that drifts (waits that grow, a changing mix of variants) is forecast better from its recent
    # past, a stable one from all of it; only the training cases can tell which, without peeking at the test.
    try:
        inner = split_by_start(con, process, test_share, before=split.cut)
    except ValueError as exc:
        return WindowChoice(None, {}, f"all training cases (too few to backtest a window: {exc})")
    span = (inner.cut - inner.first_start).total_seconds() / 86400
    starts = con.execute(f"{_STARTS_SQL}", {"process": process, "before": inner.cut}).df()["case_start"]
    candidates = [w for w in WINDOW_CANDIDATES if w is None or (
        w < span and int((starts >= pd.Timestamp(inner.cut) - pd.Timedelta(days=w)).sum()) >= WINDOW_MIN_CASES)]
    if len(candidates) < 2:
        return WindowChoice(None, {}, "all training cases (no shorter window with enough cases to backtest)")
    # Only the twin's distances count here: no naive reference, no charts.
    real = real_events(con, process, inner.cut, test=True, before=split.cut)
    distances_of: dict[float | None, pd.Series] = {}
    drain = drain_days(con, process, inner.cut)
    for w in candidates:
        try:
            model = _discover_training(con, process, inner, w, timezone)
        except ValueError:
            continue
        twins, _ = _twin_logs(model, inner, inner.n_test, WINDOW_REPLICATIONS, seed, drain=drain)
        per_rep = _distances_per_replication(real, twins, measurement_zone(model))
        distances_of[w] = per_rep.groupby("measure", sort=False)["value"].mean()
    if None not in distances_of:
        return WindowChoice(None, {}, "all training cases (the backtest on all of them failed)")
    base = distances_of[None]
    scores: dict[float | None, float] = {}
    for w, d in distances_of.items():
        ratio = (d / base).replace([np.inf, -np.inf], np.nan).dropna()
        ratio = ratio[ratio > 0]
        scores[w] = float(np.exp(np.log(ratio).mean())) if len(ratio) else math.inf
    best = min(scores, key=lambda w: (scores[w], candidates.index(w)))  # a tie keeps the longer window
    listed = ", ".join(f"{_window_label(w)} {v:.3f}" for w, v in scores.items())
    what = "all training cases" if best is None else f"the training cases of the last {best:g} days before the cut"
    return WindowChoice(best, scores, f"{what}, the best of {len(scores)} windows backtested on the training "
                                      f"cases' own last {test_share:.0%} (distances relative to all: {listed})")


def measurement_zone(model: Model) -> str:
    """Return the zone the measures read the timestamps in: the model's, unless discovery detected it (then UTC)."""
    # A detected zone serves the twin's calendars; published figures are measured on the timestamps as given, and
    # a zone guessed from the log must not change what the twin is measured against.
    return "UTC" if model.arrivals.timezone_detected else model.arrivals.timezone


def _discover_training(con: duckdb.DuckDBPyConnection, process: str, split: Split, window: float | None,
                       timezone: str | None, progress: Progress | None = None) -> Model:
    """Return the model discovered on the split's training cases started in the last `window` days before the cut
    (all of them for None)."""
    from mining.filters import Filters
    from simulation.discovery import discover

    since = split.cut - timedelta(days=window) if window is not None else None
    filters = Filters(process=process, time_from=since, time_to=split.cut, time_mode="started")
    return discover(con, process, timezone=timezone, filters=filters, progress=progress)


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


def _twin_logs(model: Model, split: Split, n_twin: int | None, replications: int, seed: int,
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


def _distances_per_replication(real: pd.DataFrame, twins: list[pd.DataFrame], tz: str,
                               progress: Progress | None = None) -> pd.DataFrame:
    """Return each measure between the real log and each twin log (columns measure, replication, value)."""
    rows = []
    for r, twin in enumerate(twins):
        if progress:
            progress(r / len(twins), f"measuring replication {r + 1}/{len(twins)}")
        rows += [{"measure": k, "replication": r, "value": v} for k, v in distances(real, twin, tz).items()]
    return pd.DataFrame(rows, columns=["measure", "replication", "value"])


def validate(source: str | os.PathLike | duckdb.DuckDBPyConnection, process: str, *, test_share: float = 0.2,
             replications: int = 5, seed: int = 0, timezone: str | None = None,
             progress: Progress | None = None, match_test_cases: bool = True,
             window: float | Literal["auto"] | None = "auto", censor: bool = False) -> Validation:
    """Return the validation of the twin discovered on the training cases against the held-out test period.

    With `match_test_cases` (the protocol), each replication simulates exactly as many cases as the test period
    has, from the cut on; without it, cases arrive from the model until the last test case's start. `window`:
    the days of training cases (by start, before the cut) the model is discovered on; None for all of them;
    "auto" for the candidate of WINDOW_CANDIDATES that validates best on the training cases themselves
    (`choose_window`). With `censor` (like-for-like, not the protocol), the twin's and the naive reference's logs
    are cut at the log's extraction moment before measuring (`censor_log`, `extraction_moment`)."""
    if replications < 1:
        raise ValueError(f"replications must be at least 1, not {replications}")
    if window is not None and window != "auto" and not float(window) > 0:
        raise ValueError(f"window must be a positive number of days, None or 'auto', not {window!r}")
    report = progress or (lambda fraction, message: None)
    timings: dict[str, float] = {}
    con, own = _connection(source)
    try:
        clock = time.perf_counter()
        report(0.0, "splitting the log")
        split = split_by_start(con, process, test_share)
        real = real_events(con, process, split.cut, test=True)
        training = real_events(con, process, split.cut, test=False)
        timings["split_s"] = time.perf_counter() - clock

        window_note = "all training cases"
        if window == "auto":
            clock = time.perf_counter()
            report(0.01, "choosing the training window")
            choice = choose_window(con, process, split, test_share=test_share, seed=seed, timezone=timezone)
            window, window_note = choice.days, choice.note
            timings["window_s"] = time.perf_counter() - clock
        elif window is not None:
            window = float(window)
            window_note = f"the training cases of the last {window:g} days before the cut (given)"

        clock = time.perf_counter()
        report(0.02, "discovering the model on the training cases")
        model = _discover_training(con, process, split, window, timezone,
                                   lambda f, m: report(0.02 + 0.18 * f, f"discovery: {m}"))
        timings["discovery_s"] = time.perf_counter() - clock
        drain = drain_days(con, process, split.cut)
        censored_at = extraction_moment(con, process) if censor else None
    finally:
        if own:
            con.close()

    tz = measurement_zone(model)
    n_twin = split.n_test if match_test_cases else None
    moved = for_test_period(model, split)
    clock = time.perf_counter()
    twins, simulated_events = _twin_logs(model, split, n_twin, replications, seed,
                                         lambda f, m: report(0.2 + 0.5 * f, m), drain)
    timings["simulation_s"] = time.perf_counter() - clock
    timings["simulated_events"] = float(simulated_events)

    clock = time.perf_counter()
    naive = naive_log(training, split.n_test, split.cut)
    replayed = naive  # the whole replay, for the notes: censoring may drop some of its cases
    censor_note = None
    if censored_at is not None:
        cut_twins, cut_naive = [censor_log(t, censored_at) for t in twins], censor_log(naive, censored_at)
        censor_note = _censor_note(censored_at, twins, cut_twins, naive, cut_naive)
        twins, naive = cut_twins, cut_naive
    share = replications / (replications + 1)  # of the measuring time: the twins, then the naive reference
    reps = _distances_per_replication(real, twins, tz, lambda f, m: report(0.7 + 0.25 * share * f, m))
    report(0.7 + 0.25 * share, "measuring the naive reference")
    naive_values = distances(real, naive, tz)
    stats = reps.groupby("measure", sort=False)["value"].agg(["mean", "std"])
    rows = []
    for key, (label, unit) in MEASURES.items():
        mean = float(stats.loc[key, "mean"]) if key in stats.index else math.nan
        sd = float(stats.loc[key, "std"]) if replications > 1 and key in stats.index else math.nan
        rows.append({"measure": key, "label": label, "unit": unit, "twin_mean": mean, "twin_sd": sd,
                     "naive": naive_values[key], "twin_better": bool(mean < naive_values[key])})
    measures = pd.DataFrame(rows)
    timings["measures_s"] = time.perf_counter() - clock

    logs = pd.DataFrame([
        {"log": "real", "cases": real[IDS.case].nunique(), "events": len(real)},
        {"log": "twin", "cases": float(np.mean([t[IDS.case].nunique() for t in twins])),
         "events": float(np.mean([len(t) for t in twins]))},
        {"log": "naive", "cases": naive[IDS.case].nunique(), "events": len(naive)},
    ])
    notes = [
        f"cut {split.cut:%Y-%m-%d %H:%M} UTC: {split.n_train:,} training cases before it, {split.n_test:,} test "
        f"cases from it on, arriving over {split.test_days:.1f} days.",
        f"twin: discovered on {window_note}; starts {moved.warmup_days:g} days (the discovered warm-up) before "
        f"the cut, cases arriving before the cut dropped; "
        + (f"the first {split.n_test:,} cases arriving from the cut on kept (as many as the test period has); "
           if match_test_cases else "cases arriving until the last test case's start; ")
        + f"cases run on until done, at most {drain:,.0f} days after the last arrival ({DRAIN_FACTOR:g} times the "
        f"longest training case); {replications} replication(s), seed {seed}.",
        f"naive: the last {replayed[IDS.case].nunique():,} training cases shifted by "
        f"{_shift_text(training, replayed)} (whole weeks: weekdays and hours kept), the first at or after the cut.",
    ]
    if censor_note:
        notes.append(censor_note)
    if model.arrivals.timezone_detected:
        notes.append(f"times of day measured in {tz}, the timestamps as given: the twin's calendars are in "
                     f"{model.arrivals.timezone}, detected from the log's working day, not given.")
    report(1.0, "done")
    return Validation(split=split, measures=measures, replications=reps, logs=logs,
                      charts=chart_data(real, twins, naive, tz), model=moved, timezone=tz, timings=timings,
                      notes=notes, window_days=window, censored_at=censored_at)


def _shift_text(training: pd.DataFrame, naive: pd.DataFrame) -> str:
    if naive.empty:
        return "0 days"
    some = naive[IDS.case].iloc[0]
    before = training.loc[training[IDS.case] == some, IDS.start_time].min()
    after = naive.loc[naive[IDS.case] == some, IDS.start_time].min()
    return f"{(after - before).total_seconds() / 86400:.1f} days"
