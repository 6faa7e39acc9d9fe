"""Choices of the twin validated on the training cases alone: their own last share is an inner test period, and
each candidate's twin is measured on it as the validation measures the twin on the real test period."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from simulation.discovery.state import StartEstimation
from simulation.holdout import (
    _STARTS_SQL,
    Split,
    discover_training,
    drain_days,
    measurement_zone,
    opened,
    real_events,
    split_by_start,
    twin_logs,
)
from simulation.log_distances import distances_per_replication
from simulation.progress import Progress
from simulation.spec import Model

# The training window: the candidates (days of case starts before the cut; None = all of them) backtested on the
# training cases' own last share, as the validation does on the whole log, each with this many replications;
# a window needs this many training cases in that backtest.
WINDOW_CANDIDATES: tuple[float | None, ...] = (None, 180.0, 90.0, 45.0)
WINDOW_REPLICATIONS = 2
WINDOW_MIN_CASES = 50


@dataclass(frozen=True)
class WindowChoice:
    """The training window chosen by `choose_window`: its days (None = all), the score of each candidate tried
    (geometric mean of the six distances relative to all cases'; lower is better) and a sentence for the notes."""

    days: float | None
    scores: dict[float | None, float]
    note: str
    # The inner backtest's model and mean distances (measure -> value) per window tried, for a later choice on the
    # same inner split to start from.
    models: dict[float | None, Model] = field(default_factory=dict, repr=False)
    distances: dict[float | None, pd.Series] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class DelayCheckChoice:
    """Whether the hidden delays are checked by simulation (discovery's wait_calibration), chosen by
    `choose_delay_check`: the score of the checked twin (geometric mean of its six distances relative to the
    plain twin's; None when nothing was compared) and a sentence for the notes."""

    check: bool
    score: float | None
    note: str

    @classmethod
    def given(cls, check: bool) -> DelayCheckChoice:
        """Return the choice made by the caller, not by a backtest."""
        return cls(check, None, f"hidden delays {'checked by simulation' if check else 'not checked'} (given)")


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
    real = real_events(con, process, inner.cut, test=True, before=split.cut)
    models: dict[float | None, Model] = {}
    distances_of: dict[float | None, pd.Series] = {}
    drain = drain_days(con, process, inner.cut)
    for w in candidates:
        try:
            models[w] = discover_training(con, process, inner, w, timezone)
        except ValueError:
            continue
        distances_of[w] = _inner_distances(models[w], inner, real, drain, seed)
    if None not in distances_of:
        return WindowChoice(None, {}, "all training cases (the backtest on all of them failed)")
    scores = {w: _relative(d, distances_of[None]) for w, d in distances_of.items()}
    best = min(scores, key=lambda w: (scores[w], candidates.index(w)))  # a tie keeps the longer window
    listed = ", ".join(f"{_window_label(w)} {v:.3f}" for w, v in scores.items())
    what = "all training cases" if best is None else f"the training cases of the last {best:g} days before the cut"
    return WindowChoice(best, scores, f"{what}, the best of {len(scores)} windows backtested on the training "
                                      f"cases' own last {test_share:.0%} (distances relative to all: {listed})",
                        models, distances_of)


def choose_delay_check(con: duckdb.DuckDBPyConnection, process: str, split: Split | None = None,
                       window: float | None = None, *, test_share: float = 0.2, seed: int = 0,
                       timezone: str | None = None, window_choice: WindowChoice | None = None,
                       start_estimation: StartEstimation = "auto") -> DelayCheckChoice:
    """Return whether the model discovered on the training window validates better on the training cases alone
    with its hidden delays checked by simulation than without (`window_choice`: the window backtest on the same
    inner split, whose unchecked model and distances of `window` are reused). Without a split, the whole log's
    cases are the training cases (the choice for a model discovered on all of them)."""
    # The check scales delays up where a performer's work on other waiting cases was counted as a queue the
    # twin's people do not form; where the queue was real, it doubles the wait. Only the training cases can tell
    # which (measured across logs, it helps some and hurts others: see the README).
    before = split.cut if split is not None else None
    whose = "the training cases' own" if split is not None else "the log's"
    try:
        inner = split_by_start(con, process, test_share, before=before)
        unchecked = (window_choice.models[window] if window_choice is not None and window in window_choice.models
                     else discover_training(con, process, inner, window, timezone, start_estimation=start_estimation))
        checked = discover_training(con, process, inner, window, timezone, check_delays=True,
                                    start_estimation=start_estimation)
    except ValueError as exc:
        return DelayCheckChoice(False, None, f"hidden delays not checked (too few cases to backtest the check: "
                                             f"{exc})")
    if checked.activities == unchecked.activities:
        # The calibration's note ends with what it found: "no wait falls short", "no activity has a hidden delay".
        found = checked.notes.get("delay calibration", "nothing to check").rsplit(": ", 1)[-1].rstrip(".")
        return DelayCheckChoice(False, None, f"hidden delays not checked: on {whose} first "
                                             f"{1 - test_share:.0%} the check changes nothing ({found})")
    real = real_events(con, process, inner.cut, test=True, before=before)
    drain = drain_days(con, process, inner.cut)
    plain = (window_choice.distances.get(window) if window_choice is not None else None)
    if plain is None:
        plain = _inner_distances(unchecked, inner, real, drain, seed)
    score = _relative(_inner_distances(checked, inner, real, drain, seed), plain)
    verdict = "checked by simulation" if score < 1 else "not checked"
    return DelayCheckChoice(score < 1, score, f"hidden delays {verdict}: backtested on {whose} "
                                              f"last {test_share:.0%}, the checked twin's distances are "
                                              f"{score:.3f} times the unchecked twin's (geometric mean)")


def _inner_distances(model: Model, inner: Split, real: pd.DataFrame, drain: float, seed: int) -> pd.Series:
    """Return the twin's mean distance per measure on the inner test period (WINDOW_REPLICATIONS runs)."""
    # Only the twin's distances count here: no naive reference, no charts.
    twins, _ = twin_logs(model, inner, inner.n_test, WINDOW_REPLICATIONS, seed, drain=drain)
    per_rep = distances_per_replication(real, twins, measurement_zone(model))
    return per_rep.groupby("measure", sort=False)["value"].mean()


def _relative(distances: pd.Series, base: pd.Series) -> float:
    """Return the geometric mean of the distances relative to the base's (measures where either is 0 or
    undefined left out; inf when none is left)."""
    ratio = (distances / base).replace([np.inf, -np.inf], np.nan).dropna()
    ratio = ratio[ratio > 0]
    return float(np.exp(np.log(ratio).mean())) if len(ratio) else math.inf


def discover_with_delay_check(source: str | os.PathLike | duckdb.DuckDBPyConnection, process: str,
                              delay_check: bool | Literal["auto"] = "auto", *, timezone: str | None = None,
                              start_estimation: StartEstimation = "auto",
                              progress: Progress | None = None) -> Model:
    """Return the model discovered from all the process's cases, its hidden delays checked by simulation when
    `delay_check` is True, or for "auto" when the log's own last fifth validates better with the check
    (`choose_delay_check`); the verdict is in the model's notes ("delay check")."""
    from simulation.discovery import discover

    if delay_check not in (True, False, "auto"):
        raise ValueError(f"delay_check must be True, False or 'auto', not {delay_check!r}")
    report = progress or (lambda fraction, message: None)
    with opened(source) as con:
        done = 0.0  # the share of the progress the backtest takes
        if delay_check == "auto":
            report(0.0, "backtesting the check of hidden delays")
            choice = choose_delay_check(con, process, timezone=timezone, start_estimation=start_estimation)
            done = 0.6
        else:
            choice = DelayCheckChoice.given(delay_check)
        model = discover(con, process, timezone=timezone, start_estimation=start_estimation,
                         calibrate_delays=choice.check, progress=lambda f, m: report(done + (1 - done) * f, m))
    return model.model_copy(update={"notes": {**model.notes, "delay check": f"{choice.note}."}})
