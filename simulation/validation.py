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

The check of hidden delays: by default (`delay_check="auto"`) the same inner split then decides, on the chosen
window, whether discovery checks the hidden delays by simulation (discovery's wait_calibration, which scales up a
delay whose twin waits fall clearly short of the log's): the checked model is used when its six distances are
lower, relative to the unchecked model's (geometric mean), and the check changes something.

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

The twin against itself: each measure between consecutive replications of the twin (1 and 2, 2 and 3, ...), mean
over the pairs: how far two samples of the same model lie from each other. A twin cannot be expected to come
much closer to the real test period than that; a measure near it is the simulation's own sampling noise (NaN
with one replication).
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
from datetime import datetime
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from simulation.holdout import (
    DRAIN_FACTOR,
    Split,
    censor_log,
    discover_training,
    drain_days,
    extraction_moment,
    for_test_period,
    measurement_zone,
    naive_log,
    opened,
    real_events,
    split_by_start,
    twin_log,
    twin_logs,
)
from simulation.log_distances import (
    IDS,
    MEASURES,
    chart_data,
    distances,
    distances_between_replications,
    distances_per_replication,
)
from simulation.progress import Progress
from simulation.spec import Model
from simulation.training_backtest import (
    WINDOW_CANDIDATES,
    DelayCheckChoice,
    WindowChoice,
    choose_delay_check,
    choose_window,
)

__all__ = [
    "IDS", "MEASURES", "WINDOW_CANDIDATES", "DelayCheckChoice", "Split", "Validation", "WindowChoice", "censor_log",
    "chart_data", "choose_delay_check", "choose_window", "distances", "drain_days", "extraction_moment",
    "for_test_period", "measurement_zone", "naive_log", "real_events", "split_by_start", "twin_log", "validate",
]


@dataclass
class Validation:
    """The outcome of `validate`: the measures table, the values per replication, data for charts, the model."""

    split: Split
    measures: pd.DataFrame  # measure, label, unit, twin_mean, twin_sd, naive, twin_better, between_twins
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
    delays_checked: bool = False  # whether discovery checked the model's hidden delays by simulation

    @property
    def view(self) -> str:
        """Return the name of the comparison the measures are of: the published protocol or like-for-like."""
        if self.censored_at is None:
            return "published protocol (simulated cases run to their end)"
        return f"like-for-like (simulated logs cut at the extraction moment, {self.censored_at:%Y-%m-%d %H:%M} UTC)"


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


def validate(source: str | os.PathLike | duckdb.DuckDBPyConnection, process: str, *, test_share: float = 0.2,
             replications: int = 5, seed: int = 0, timezone: str | None = None,
             progress: Progress | None = None, match_test_cases: bool = True,
             window: float | Literal["auto"] | None = "auto", censor: bool = False,
             delay_check: bool | Literal["auto"] = "auto") -> Validation:
    """Return the validation of the twin discovered on the training cases against the held-out test period.

    With `match_test_cases` (the protocol), each replication simulates exactly as many cases as the test period
    has, from the cut on; without it, cases arrive from the model until the last test case's start. `window`:
    the days of training cases (by start, before the cut) the model is discovered on; None for all of them;
    "auto" for the candidate of WINDOW_CANDIDATES that validates best on the training cases themselves
    (`choose_window`). `delay_check`: whether discovery checks the hidden delays by simulation; "auto" for
    what validates better on the training cases themselves (`choose_delay_check`). With `censor` (like-for-like,
    not the protocol), the twin's and the naive reference's logs are cut at the log's extraction moment before
    measuring (`censor_log`, `extraction_moment`)."""
    if replications < 1:
        raise ValueError(f"replications must be at least 1, not {replications}")
    if window is not None and window != "auto" and not float(window) > 0:
        raise ValueError(f"window must be a positive number of days, None or 'auto', not {window!r}")
    if delay_check not in (True, False, "auto"):
        raise ValueError(f"delay_check must be True, False or 'auto', not {delay_check!r}")
    report = progress or (lambda fraction, message: None)
    timings: dict[str, float] = {}
    with opened(source) as con:
        clock = time.perf_counter()
        report(0.0, "splitting the log")
        split = split_by_start(con, process, test_share)
        real = real_events(con, process, split.cut, test=True)
        training = real_events(con, process, split.cut, test=False)
        timings["split_s"] = time.perf_counter() - clock

        window_note = "all training cases"
        choice: WindowChoice | None = None
        if window == "auto":
            clock = time.perf_counter()
            report(0.01, "choosing the training window")
            choice = choose_window(con, process, split, test_share=test_share, seed=seed, timezone=timezone)
            window, window_note = choice.days, choice.note
            timings["window_s"] = time.perf_counter() - clock
        elif window is not None:
            window = float(window)
            window_note = f"the training cases of the last {window:g} days before the cut (given)"

        if delay_check == "auto":
            clock = time.perf_counter()
            report(0.015, "backtesting the check of hidden delays")
            checked = choose_delay_check(con, process, split, window, test_share=test_share, seed=seed,
                                         timezone=timezone, window_choice=choice)
            timings["delay_check_s"] = time.perf_counter() - clock
        else:
            checked = DelayCheckChoice.given(delay_check)

        clock = time.perf_counter()
        report(0.02, "discovering the model on the training cases")
        model = discover_training(con, process, split, window, timezone,
                                  lambda f, m: report(0.02 + 0.18 * f, f"discovery: {m}"), checked.check)
        timings["discovery_s"] = time.perf_counter() - clock
        drain = drain_days(con, process, split.cut)
        censored_at = extraction_moment(con, process) if censor else None

    tz = measurement_zone(model)
    n_twin = split.n_test if match_test_cases else None
    moved = for_test_period(model, split)
    clock = time.perf_counter()
    twins, simulated_events = twin_logs(model, split, n_twin, replications, seed,
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
    # The measuring's share of the progress, in units of one comparison: each twin against the real log, the
    # naive reference, then each pair of consecutive twins (the twin against itself).
    units = 2 * replications

    def measuring(done: int, count: int) -> Progress:
        return lambda f, m: report(0.7 + 0.25 * (done + f * count) / units, m)

    reps = distances_per_replication(real, twins, tz, measuring(0, replications))
    report(0.7 + 0.25 * replications / units, "measuring the naive reference")
    naive_values = distances(real, naive, tz)
    among = distances_between_replications(twins, tz, measuring(replications + 1, replications - 1))
    floor = among.groupby("measure", sort=False)["value"].mean()
    stats = reps.groupby("measure", sort=False)["value"].agg(["mean", "std"])
    rows = []
    for key, (label, unit) in MEASURES.items():
        mean = float(stats.loc[key, "mean"]) if key in stats.index else math.nan
        sd = float(stats.loc[key, "std"]) if replications > 1 and key in stats.index else math.nan
        rows.append({"measure": key, "label": label, "unit": unit, "twin_mean": mean, "twin_sd": sd,
                     "naive": naive_values[key], "twin_better": bool(mean < naive_values[key]),
                     "between_twins": float(floor.get(key, math.nan))})
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
        f"{checked.note}.",
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
                      notes=notes, window_days=window, censored_at=censored_at, delays_checked=checked.check)


def _shift_text(training: pd.DataFrame, naive: pd.DataFrame) -> str:
    if naive.empty:
        return "0 days"
    some = naive[IDS.case].iloc[0]
    before = training.loc[training[IDS.case] == some, IDS.start_time].min()
    after = naive.loc[naive[IDS.case] == some, IDS.start_time].min()
    return f"{(after - before).total_seconds() / 86400:.1f} days"
