"""Working hours: the hours of each weekday in which a role (or a system) works, read from its work per hour of the
week, and the shifts they make."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulation.spec import WEEKDAYS, Shift

# Calendars: an hour of a weekday is a working hour of a role when the role's people worked in it on at least
# this share of the days they worked in its busiest hour of the week: the first share whose hours hold
# CALENDAR_COVERAGE of the role's person-hours.
CALENDAR_SHARES = (0.2, 0.1, 0.05)
CALENDAR_COVERAGE = 0.8


def working_hours(h: pd.DataFrame, weight: str = "n") -> tuple[dict[int, list[int]], float, float]:
    """Return the working hours per weekday (Monday 0) read from `h` (dow, h, n: work per hour of the week, and
    `weight`: what an hour must hold enough of), the share of the busiest hour used and the share of n they hold."""
    peak = h[weight].max()
    # The first share of the busiest hour whose hours hold CALENDAR_COVERAGE of the work: a lightly loaded role's
    # work is spread thin, and a strict cut would leave most of it outside its hours.
    for share in CALENDAR_SHARES:
        on = h[h[weight] >= max(share * peak, 3)]
        wh = {int(d): _fill_gaps(sorted(int(x) for x in g.h)) for d, g in on.groupby("dow")}
        inside = [int(x) in wh.get(int(d), []) for d, x in zip(h.dow, h.h, strict=True)]
        covered = float(h[inside].n.sum() / h.n.sum())
        if covered >= CALENDAR_COVERAGE:
            break
    return wh, share, covered


def calendar_evidence(h: pd.DataFrame, hours: dict[int, list[int]]) -> tuple[float, float]:
    """Return how much better working `hours` explain the work per hour of the week in `h` (dow, h, n) than
    working around the clock (a log-likelihood gain, nats) and what a calendar of that many shift boundaries must
    gain to be believed (BIC penalty, nats)."""
    # Two models of where in the week an hour of work falls: anywhere alike, or a share q inside the calendar's
    # hours (alike among them) and the rest outside. The calendar's free parameters are its boundaries (where a
    # shift starts or ends) and q; the Bayesian information criterion charges each half the log of the data size,
    # so a few person-hours scattered over the week do not make a calendar of their gaps.
    n = np.zeros(168)
    np.add.at(n, (h.dow.astype(int) * 24 + h.h.astype(int)).to_numpy(), h.n.to_numpy(dtype=float))
    inside = np.zeros(168, dtype=bool)
    for dow, hs in hours.items():
        inside[[int(dow) * 24 + int(x) for x in hs]] = True
    total, k_in = float(n.sum()), int(inside.sum())
    if total <= 0 or k_in in (0, 168):
        return 0.0, 0.0
    n_in = float(n[inside].sum())
    n_out = total - n_in
    gain = n_in * math.log(n_in / total * 168 / k_in) if n_in else 0.0
    if n_out:
        gain += n_out * math.log(n_out / total * 168 / (168 - k_in))
    boundaries = int((inside != np.roll(inside, 1)).sum())
    return gain, (boundaries + 1) / 2 * math.log(total)


def shifts_from_hours(hours: dict[int, list[int]]) -> list[Shift]:
    """Return shifts for working hours per weekday (0 = Monday: hours of day 0..23), days with equal hours merged."""
    by_span: dict[tuple[int, int], list[int]] = {}
    for dow in range(7):
        hs = sorted(set(hours.get(dow, [])))
        run: list[int] = []
        for h in hs + [99]:
            if run and h != run[-1] + 1:
                by_span.setdefault((run[0], run[-1] + 1), []).append(dow)
                run = []
            if h != 99:
                run.append(h)
    return [Shift(days=[WEEKDAYS[d] for d in days], start=f"{a:02d}:00", end=f"{b:02d}:00")
            for (a, b), days in sorted(by_span.items(), key=lambda kv: (kv[1][0], kv[0]))]


def _fill_gaps(hours: list[int], gap: int = 2) -> list[int]:
    """Return the hours with gaps of up to `gap` hours between two working hours filled (a lunch break, a
    quiet hour in sparse data)."""
    out: list[int] = []
    for h in hours:
        if out and 1 < h - out[-1] <= gap + 1:
            out.extend(range(out[-1] + 1, h))
        out.append(h)
    return out
