"""Working time between moments of a log under a calendar, for many events at once (discovery measures waits in the
working time of the people who end them)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from simulation.calendars import WorkingTime
from simulation.spec import Calendar


class WorkingClock:
    """Cumulative working seconds of a calendar from `origin` to any moment in [first, last] (plus a day either
    side); moments are seconds after `origin`. Without a calendar every second is working time."""

    def __init__(self, calendar: Calendar | None, origin: datetime, first: datetime, last: datetime) -> None:
        self.calendar = calendar
        if calendar is None:
            return
        working = WorkingTime(calendar, origin)
        day, end = first.date() - timedelta(days=2), last.date() + timedelta(days=2)
        intervals: list[tuple[float, float]] = []
        while day <= end:
            intervals.extend(working.intervals(day))
            day += timedelta(days=1)
        spans = np.array(intervals, dtype=float).reshape(-1, 2)
        self._starts, self._ends = spans[:, 0], spans[:, 1]
        lengths = self._ends - self._starts
        self._before = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])

    def at(self, seconds: np.ndarray) -> np.ndarray:
        """Return the working seconds from the first interval's start to each moment (seconds after origin)."""
        t = np.asarray(seconds, dtype=float)
        if self.calendar is None:
            return t
        if not len(self._starts):
            return np.zeros_like(t)
        i = np.clip(np.searchsorted(self._starts, t, side="right") - 1, 0, None)
        inside = np.clip(t - self._starts[i], 0.0, self._ends[i] - self._starts[i])
        return np.where(t < self._starts[0], 0.0, self._before[i] + inside)

    def between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Return the working seconds from each `a` to its `b` (zero where `b` is not after `a`)."""
        return np.clip(self.at(b) - self.at(a), 0.0, None)
