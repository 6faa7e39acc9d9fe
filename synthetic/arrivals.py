"""Case arrivals: a Poisson process whose rate is constant within each local clock hour.

The rate of an hour comes from the process's `Arrivals` parameters (hour of week, month, month end, public
holiday). Sampling draws a Poisson count per hour and places the arrivals uniformly inside it, which is
exactly a non-homogeneous Poisson process with that piecewise-constant rate. The expected counts per hour of
the week go into the manifest, so a test (or a discovery algorithm) can compare observed arrivals with them.
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import date

import numpy as np

from synthetic.calendar import Clock
from synthetic.params import Arrivals


def add_months(day: date, months: int) -> date:
    """Return the same day of the month `months` later (clamped to the month's length)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


@dataclass
class HourGrid:
    """Every clock hour of the arrival period, described in local time (arrays of one value per hour)."""

    hour_of_week: np.ndarray  # 0 = Monday 00:00-01:00 local
    month: np.ndarray  # 0 = January
    days_to_month_end: np.ndarray  # 0 on the last day of a month
    holiday: np.ndarray  # bool

    @property
    def hours(self) -> int:
        """Return the number of hours in the grid."""
        return len(self.hour_of_week)


def hour_grid(clock: Clock, months: int, holidays: set[date] | dict) -> HourGrid:
    """Return the local description of each hour from the clock's origin to `months` months later."""
    end = add_months(clock.start, months)
    n = round(clock.at(end, "00:00") / 60)
    how, month, to_end = (np.zeros(n, dtype=np.int16) for _ in range(3))
    holiday = np.zeros(n, dtype=bool)
    for k in range(n):
        local = clock.local(k * 60.0)
        d = local.date()
        how[k] = d.weekday() * 24 + local.hour
        month[k] = d.month - 1
        to_end[k] = _cal.monthrange(d.year, d.month)[1] - d.day
        holiday[k] = d in holidays
    return HourGrid(how, month, to_end, holiday)


def relative_rates(grid: HourGrid, spec: Arrivals) -> np.ndarray:
    """Return each hour's unnormalised weight: hour of week x month x month end x public holiday."""
    w = spec.hour_of_week()[grid.hour_of_week] * spec.months()[grid.month]
    if spec.month_end_days:
        w = np.where(grid.days_to_month_end < spec.month_end_days, w * spec.month_end_factor, w)
    return np.where(grid.holiday, w * spec.holiday_factor, w)


def rate_constant(year: HourGrid, spec: Arrivals, scale: float) -> float:
    """Return K such that K x relative_rates sums to per_year x scale over `year` (the first 12 months)."""
    return spec.per_year * scale / float(relative_rates(year, spec).sum())


def hourly_rates(grid: HourGrid, spec: Arrivals, constant: float) -> np.ndarray:
    """Return the expected number of arrivals in each hour of the grid: `constant` x relative_rates."""
    return constant * relative_rates(grid, spec)


def sample_arrivals(rng: np.random.Generator, rates: np.ndarray) -> np.ndarray:
    """Return sorted arrival times in simulation minutes for hourly expected counts `rates`."""
    counts = rng.poisson(rates)
    hours = np.repeat(np.arange(len(rates), dtype=np.float64), counts)
    return np.sort(hours * 60.0 + rng.random(len(hours)) * 60.0)


def by_hour_of_week(grid: HourGrid, values: np.ndarray) -> np.ndarray:
    """Return the sum of per-hour `values` for each of the 168 hours of the week."""
    return np.bincount(grid.hour_of_week, weights=values, minlength=168)

