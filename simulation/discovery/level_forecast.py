"""The level of arrivals after the log: the forecast of cases per day that would have forecast the log's own end
best in a backtest."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# The level forecast is the one of LEVEL_FORECASTS that would have forecast the log's own end best: each predicts the
# cases per day of the last FORECAST_HOLDOUT of the span (whole weeks, so that every weekday weighs the same) from
# the days before it, at origins moved back by these shares of the span (one origin is a noisy judge); the score is
# the mean absolute log ratio of forecast to actual. An origin needs FORECAST_MIN_DAYS of history before it.
FORECAST_HOLDOUT = 0.2
FORECAST_ORIGINS = (0.0, 0.1, 0.2)
FORECAST_MIN_DAYS = 28
# Holt's damped trend on weekly means: the usual smoothing weights and damping.
DAMPED_ALPHA, DAMPED_BETA, DAMPED_PHI = 0.3, 0.1, 0.9


def forecast_text(forecast: str, scores: dict[str, float]) -> str:
    """Return how the level forecast was chosen, for the notes."""
    if not scores:
        return f"the {forecast} of the cases per day; the log is too short to backtest forecasts"
    ranked = sorted(scores.items(), key=lambda kv: kv[1])
    others = ", ".join(f"{name} {error:.2f}" for name, error in ranked if name != forecast)
    return (f"the {forecast} of the cases per day, the best of {len(scores)} forecasts backtested on the last "
            f"{FORECAST_HOLDOUT:.0%} of the log from up to {len(FORECAST_ORIGINS)} origins, mean absolute log error "
            f"{scores[forecast]:.2f}; the others {others}")


def _trend_level(counts: np.ndarray, horizon: int) -> float:
    """Return the cases per day at the last day by the least-squares line through the cases per day."""
    slope, intercept = np.polyfit(np.arange(len(counts), dtype=float), counts, 1)
    return float(max(intercept + slope * (len(counts) - 1), 0.0))


def _damped_trend(counts: np.ndarray, horizon: int) -> float:
    """Return Holt's damped-trend forecast of the cases per day, averaged over the `horizon` days after `counts`."""
    weeks = len(counts) // 7
    if weeks < 3:
        return float(counts.mean())
    # Whole weeks ending at the last day: weekly means carry no weekday pattern.
    y = counts[len(counts) - 7 * weeks:].reshape(weeks, 7).mean(axis=1)
    level, trend = y[0], y[1] - y[0]
    for value in y[1:]:
        previous = level
        level = DAMPED_ALPHA * value + (1 - DAMPED_ALPHA) * (level + DAMPED_PHI * trend)
        trend = DAMPED_BETA * (level - previous) + (1 - DAMPED_BETA) * DAMPED_PHI * trend
    steps = np.cumsum(DAMPED_PHI ** np.arange(1, max(round(horizon / 7), 1) + 1))
    return float(max(np.mean(level + steps * trend), 0.0))


# Forecasts of the level of cases per day after a series of cases per day, given the days forecast; the weekly
# pattern is the hour-of-week weights' job. The trend comes first: it wins ties, as the forecast used before.
LEVEL_FORECASTS: dict[str, Callable[[np.ndarray, int], float]] = {
    "trend": _trend_level,
    "mean": lambda counts, horizon: float(counts.mean()),
    "last 4 weeks": lambda counts, horizon: float(counts[-28:].mean()),
    "last 8 weeks": lambda counts, horizon: float(counts[-56:].mean()),
    "damped trend": _damped_trend,
}


def _holdout_days(days: int) -> int:
    return max(7 * round(days * FORECAST_HOLDOUT / 7), 7)


def backtest_level_forecasts(counts: np.ndarray) -> dict[str, float]:
    """Return per level forecast its mean absolute log ratio of forecast to actual cases per day over held-out ends
    of the series `counts` (cases per day); empty when no origin has enough history."""
    days = len(counts)
    holdout = _holdout_days(days)
    errors: dict[str, list[float]] = {name: [] for name in LEVEL_FORECASTS}
    for back in FORECAST_ORIGINS:
        end = days - round(days * back)
        origin = end - holdout
        if origin < FORECAST_MIN_DAYS:
            continue
        # Half a case over the held-out days keeps a period without cases finite.
        actual = counts[origin:end].mean() + 0.5 / holdout
        for name, forecast in LEVEL_FORECASTS.items():
            errors[name].append(abs(math.log((forecast(counts[:origin], holdout) + 0.5 / holdout) / actual)))
    return {name: float(np.mean(e)) for name, e in errors.items() if e}


def forecast_level(counts: np.ndarray) -> tuple[float, str, dict[str, float]]:
    """Return the cases per day forecast for after the series `counts` (cases per day), the name of the forecast and
    every forecast's backtest error; the forecast is the one of least error, refit on the whole series."""
    if len(counts) < 14:
        return float(counts.mean()), "mean", {}
    scores = backtest_level_forecasts(counts)
    # Too short a series for any origin: the trend, the forecast used before there was a backtest.
    name = min(scores, key=scores.get) if scores else "trend"
    return LEVEL_FORECASTS[name](counts, _holdout_days(len(counts))), name, scores
