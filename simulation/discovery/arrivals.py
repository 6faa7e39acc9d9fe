"""Arrivals: how many cases arrive per week, their weights per hour of the week and factors per month, the level
after the log (see level_forecast), the share of each site, and the simulated horizon."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from simulation.discovery.level_forecast import forecast_level, forecast_text
from simulation.discovery.rounding import round_probabilities
from simulation.discovery.sql import fetchall, frame
from simulation.discovery.state import Discovery
from simulation.spec import WEEKDAYS, Arrivals

# Arrivals: a month the log covers on fewer days has no month factor of its own; months without one take the level
# forecast for after the log, within these bounds of the covered months' mean.
MONTH_MIN_DAYS = 14
TREND_BOUNDS = (0.25, 4.0)


def find_arrivals(state: Discovery, n_cases: int) -> tuple[datetime, float, Arrivals]:
    """Return the model's start, its horizon in days and its arrivals (rates, weekly and monthly shape, sites)."""
    first, last = fetchall(state.con, f"SELECT min(arrival), max(arrival) FROM {state.cs}")[0]
    span_days = max((last - first).total_seconds() / 86400, 1.0)
    per_week = n_cases / span_days * 7
    how = frame(state.con, f"""
        SELECT (isodow(timezone($tz, arrival)) - 1) * 24 + hour(timezone($tz, arrival)) AS h, count(*) AS n
        FROM {state.cs} GROUP BY h ORDER BY h
    """, {"tz": state.tz})
    counts = np.zeros(168)
    counts[how.h.astype(int).to_numpy()] = how.n.to_numpy()
    hour_of_week = [round(float(v), 4) for v in counts / counts.mean()]
    # Month factors: the arrival rate per day of each calendar month, over the days of it the log covers.
    daily = frame(state.con, f"""
        SELECT month(d) AS m, count(*) AS days, sum(n) AS n FROM (
            SELECT d::DATE AS d, count(a.case_id) AS n
            FROM generate_series(date_trunc('day', timezone($tz, $first::TIMESTAMPTZ)),
                                 date_trunc('day', timezone($tz, $last::TIMESTAMPTZ)), INTERVAL 1 DAY) g(d)
            LEFT JOIN {state.cs} a ON date_trunc('day', timezone($tz, a.arrival)) = g.d
            GROUP BY d)
        GROUP BY m ORDER BY m
    """, {"tz": state.tz, "first": first, "last": last})
    month = [1.0] * 12
    rates = {int(r.m): r.n / r.days for r in daily.itertuples() if r.days >= MONTH_MIN_DAYS}
    level, forecast, scores = _arrival_level(state, first, span_days)
    covered = bool(rates) and sum(rates.values()) > 0
    mean = float(np.mean(list(rates.values()))) if covered else per_week / 7  # cases per day
    recent_factor = round(min(max(level / mean, TREND_BOUNDS[0]), TREND_BOUNDS[1]), 4)
    forecast_per_week = recent_factor * mean * 7
    if covered:
        for m, r in rates.items():
            month[m - 1] = round(r / mean, 4)
        # A month the log does not cover (or barely) is not an average month: it comes after the log, so a
        # forecast of the level after the log is the better guess. The engine scales by the mean month factor, which
        # the weekly rate carries so that every covered month keeps its own rate.
        month = [month[m] if m + 1 in rates else recent_factor for m in range(12)]
        per_week = mean * 7 * float(np.mean(month))
    sites = frame(state.con, f"SELECT site, count(*) AS n FROM {state.cs} WHERE site IS NOT NULL GROUP BY site "
                             "ORDER BY site")
    site_shares = round_probabilities(dict(zip(sites.site, sites.n, strict=True))) if len(sites) else {}
    busiest = int(np.argmax(counts))
    weekday_share = counts.reshape(7, 24).sum(axis=1) / counts.sum()
    state.notes["arrivals"] = (
        f"{n_cases:,} cases (first event of each case) over {span_days / 7:.1f} weeks, {per_week:,.1f} per week; "
        f"hour-of-week weights from the arrival times in {state.tz} (mean 1; busiest "
        f"{WEEKDAYS[busiest // 24]} {busiest % 24:02d}:00, weight {hour_of_week[busiest]:.2f}; weekend share "
        f"{weekday_share[5:].sum():.0%}); month factors = arrivals per day of the month over the mean of the "
        f"{len(rates)} months covered on at least {MONTH_MIN_DAYS} days; the other months at the level forecast "
        f"for after the log ({forecast_text(forecast, scores)}: {level * 7:,.1f} per week, {recent_factor:.2f} "
        f"of the covered months' mean (the whole log's without any), kept within {TREND_BOUNDS[0]:g} and "
        f"{TREND_BOUNDS[1]:g}), and the weekly rate, {per_week:,.1f}, carries the mean month factor): "
        + ", ".join(f"{m:.2f}" for m in month)
        + f"; after the log ({last.astimezone(UTC):%Y-%m-%d %H:%M} UTC) every month arrives at the forecast level, "
          f"{forecast_per_week:,.1f} per week: a month the log covers once shows how busy it was that year, "
          "not in the next (the month factors shape the log's own span)"
        + (f"; sites by share of cases: {', '.join(f'{k} {v:.1%}' for k, v in site_shares.items())}"
           if site_shares else "; no site recorded"))
    state.notes["horizon"] = (f"start = first arrival {first.astimezone(UTC):%Y-%m-%d %H:%M} UTC; horizon = the "
                              f"observed span of arrivals, {span_days:.1f} days.")
    return first.astimezone(UTC), round(span_days, 3), Arrivals(
        cases_per_week=round(per_week, 3), timezone=state.tz, timezone_detected=state.tz_detected,
        hour_of_week=hour_of_week, month=month,
        sites=site_shares, forecast_from=last.astimezone(UTC), forecast_per_week=round(forecast_per_week, 3))


def _arrival_level(state: Discovery, first: datetime, span_days: float) -> tuple[float, str, dict[str, float]]:
    """Return the cases per day forecast for after the log, the forecast's name and the backtest's scores."""
    per_day = frame(state.con, f"""
        SELECT floor(epoch(arrival - $first::TIMESTAMPTZ) / 86400)::BIGINT AS d, count(*) AS n
        FROM {state.cs} GROUP BY d ORDER BY d
    """, {"first": first})
    # Whole days only: the log's last, partial day would read as a drop in the rate.
    days = max(int(math.floor(span_days)), 1)
    counts = np.zeros(days)
    idx = per_day.d.to_numpy(dtype=int)
    ok = idx < days
    counts[idx[ok]] = per_day.n.to_numpy(dtype=float)[ok]
    return forecast_level(counts)
