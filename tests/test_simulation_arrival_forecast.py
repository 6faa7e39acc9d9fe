"""The arrival level after the log is the forecast that a backtest on the log's own end chooses: on generated
arrivals whose rate is known, a step up in the last weeks is followed, a stationary rate keeps its mean, and the
discovered model carries the chosen level into the months after the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest import ImportOptions, connect, import_file
from simulation.discovery import LEVEL_FORECASTS, backtest_level_forecasts, discover, forecast_level

WEEKS = 26
BEFORE, AFTER = 100.0, 160.0  # cases per week
STEP_WEEKS = 8  # the last weeks at the higher rate
# Forecasts that follow the recent level rather than the whole log's.
RECENT = {"last 4 weeks", "last 8 weeks", "damped trend"}
# Weekday weights of the rate (mean 1): weekly seasonality, which the level forecasts must see through.
WEEKDAY = np.array([1.2, 1.1, 1.0, 1.0, 0.9, 0.4, 0.4]) / (6.0 / 7)


def daily_counts(seed: int, step_weeks: int, after: float = AFTER) -> np.ndarray:
    """Return Poisson cases per day over WEEKS weeks: BEFORE per week, then `after` per week for `step_weeks`."""
    days = WEEKS * 7
    per_week = np.where(np.arange(days) >= days - step_weeks * 7, after, BEFORE)
    return np.random.default_rng(seed).poisson(per_week / 7 * np.tile(WEEKDAY, WEEKS)).astype(float)


@pytest.mark.parametrize("seed", range(5))
def test_step_up_picks_a_recent_level(seed):
    level, name, scores = forecast_level(daily_counts(seed, STEP_WEEKS))
    assert name in RECENT, scores
    assert scores[name] == min(scores.values())
    assert level * 7 == pytest.approx(AFTER, rel=0.15)
    # The trend through the whole log, the forecast before the backtest, was judged worse on the log's end.
    assert scores["trend"] > scores[name]


@pytest.mark.parametrize("seed", range(5))
def test_stationary_keeps_the_mean(seed):
    counts = daily_counts(seed, 0)
    level, _, scores = forecast_level(counts)
    assert set(scores) == set(LEVEL_FORECASTS)
    assert level == pytest.approx(counts.mean(), rel=0.10)
    assert level * 7 == pytest.approx(BEFORE, rel=0.10)


def test_backtest_scores_are_errors_of_the_held_out_end():
    # 26 weeks that double for the last five: the held-out 35 days end at the log's end and 18 and 36 days before it,
    # where they hold 35, 17 and no days at the higher rate; every forecast sees only the flat start, so it says 10.
    counts = np.r_[np.full(21 * 7, 10.0), np.full(5 * 7, 20.0)]
    half = 0.5 / 35
    actual = [20.0, (18 * 10 + 17 * 20) / 35, 10.0]
    expected = np.mean([abs(np.log((10 + half) / (a + half))) for a in actual])
    scores = backtest_level_forecasts(counts)
    assert set(scores) == set(LEVEL_FORECASTS)
    assert all(error == pytest.approx(expected) for error in scores.values())
    flat = backtest_level_forecasts(np.full(WEEKS * 7, 10.0))
    assert all(error == pytest.approx(0.0, abs=1e-9) for error in flat.values())


def test_short_series_fall_back():
    # Too short for any backtest origin: the trend, as before; shorter than two weeks: the mean.
    level, name, scores = forecast_level(np.r_[np.full(14, 2.0), np.full(14, 4.0)])
    assert (name, scores) == ("trend", {}) and level > 4.0
    level, name, scores = forecast_level(np.array([1.0, 3.0, 2.0]))
    assert (name, scores, level) == ("mean", {}, 2.0)


def _log(seed: int) -> pd.DataFrame:
    """Return a two-step log from 2024-01-01 whose arrivals step from BEFORE to AFTER per week for the last weeks."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for day, n in enumerate(daily_counts(seed, STEP_WEEKS).astype(int)):
        for k in range(n):
            arrival = t0 + timedelta(days=day, hours=8 + 9 * float(rng.random()))
            case = f"C{day:03d}-{k:02d}"
            clerk = f"clerk{rng.integers(3)}"
            register_end = arrival + timedelta(minutes=10)
            decide_start = register_end + timedelta(hours=float(rng.exponential(4)))
            rows += [(case, "Register", arrival, register_end, clerk),
                     (case, "Decide", decide_start, decide_start + timedelta(minutes=20), "manager")]
    return pd.DataFrame(rows, columns=["case_id", "activity", "start_time", "end_time", "resource"])


def test_discovery_carries_the_new_level_after_the_log(tmp_path: Path):
    log = tmp_path / "requests.csv"
    _log(7).to_csv(log, index=False)
    con = connect(tmp_path / "ws.duckdb")
    try:
        import_file(log, ImportOptions(process="requests"), con=con)
        model = discover(con, "requests")
    finally:
        con.close()
    arrivals, note = model.arrivals, model.notes["arrivals"]
    # January to June are covered; July on is after the log and arrives at the forecast level, which the engine
    # reads as the weekly rate scaled by the month's factor over the mean factor.
    assert WEEKDAY.mean() == pytest.approx(1.0)
    assert len(set(arrivals.month[6:])) == 1
    after_log = arrivals.cases_per_week * arrivals.month[6] / np.mean(arrivals.month)
    assert after_log == pytest.approx(AFTER, rel=0.15)
    assert any(f"the {name} of the cases per day" in note for name in RECENT), note
    assert "mean absolute log error" in note
