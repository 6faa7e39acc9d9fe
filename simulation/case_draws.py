"""The cases of a replication, drawn on common random numbers so that scenarios are compared on the same cases:
the arrivals and the attributes of the cases come from one stream that depends only on (seed, replication); every
case then draws its routing and durations from its own stream derived from (seed, replication, case number), and
every person's absence days come from a hash of (seed, replication, their name) (see calendars.absences). A design
change that alters one case's path therefore leaves the draws of every other case untouched, and the same cases
(ids, arrival times, attributes) arrive in every scenario. Volume growth keeps that property: the as-is cases all
still arrive (a factor below one drops a fixed share of them by a per-case draw) and the growth arrives as extra
cases from separate streams."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import UTC
from math import inf
from typing import Any

import numpy as np
import pandas as pd

from simulation.calendars import LocalClock
from simulation.progress import DAY_S
from simulation.spec import START, Model, Volume


@dataclass
class Case:
    """A case as it arrives: id, arrival (seconds), site, attributes, and its own random stream key."""

    index: int
    case_id: str
    arrival: float
    site: str | None
    attributes: dict[str, Any]
    stream: list[int]
    completed: bool = False
    stopped: str | None = None  # "dead letter" or "loop guard"
    end: float | None = None
    last: str = START  # the activity performed last, which keys the delay before the next


class _Arrivals:
    """The arrival process of a model: a Poisson process whose rate is the weekly rate shaped by hour of week and
    month (both normalised to mean 1; from the arrivals' forecast_from on, the forecast level in place of the
    month), in the arrivals' zone, constant over each 15 minutes of UTC (zone offsets are multiples of 15
    minutes)."""

    def __init__(self, model: Model) -> None:
        a = model.arrivals
        self.model = model
        self.clock = LocalClock(model.start, a.timezone)
        week = np.asarray(a.hour_of_week, dtype=float)
        month = np.asarray(a.month, dtype=float)
        self.week = week / week.mean()
        self.month = month / month.mean()
        self.per_second = a.cases_per_week / (7 * DAY_S)
        # After the log: the forecast level, as a factor of the weekly rate, in place of the month factor.
        self.forecast_from = inf
        self.forecast = 1.0
        if a.forecast_from is not None and a.forecast_per_week is not None:
            until = a.forecast_from if a.forecast_from.tzinfo else a.forecast_from.replace(tzinfo=UTC)
            self.forecast_from = until.timestamp() - self.clock.origin_epoch
            self.forecast = a.forecast_per_week / a.cases_per_week
        total = sum(a.sites.values())
        self.sites = {s: v / total for s, v in a.sites.items()} if total > 0 else {}
        self._grid: tuple[float, np.ndarray, np.ndarray] | None = None

    def buckets(self, horizon: float) -> tuple[np.ndarray, np.ndarray]:
        """Return the bucket edges (seconds, from 0 to `horizon`) and the relative rate (mean 1) within each."""
        if self._grid is None or self._grid[0] != horizon:
            origin = self.clock.origin_epoch
            first = (np.floor(origin / 900) + 1) * 900 - origin
            inner = np.arange(first, horizon, 900.0)
            edges = np.concatenate([[0.0], inner[inner > 0], [horizon]])
            local = pd.DatetimeIndex(pd.to_datetime(origin + edges[:-1], unit="s", utc=True)).tz_convert(
                self.clock.tz)
            month = np.where(edges[:-1] >= self.forecast_from, self.forecast, self.month[local.month.to_numpy() - 1])
            shapes = self.week[local.weekday.to_numpy() * 24 + local.hour.to_numpy()] * month
            self._grid = (horizon, edges, shapes)
        return self._grid[1], self._grid[2]

    def times(self, rng: np.random.Generator, scale: float, horizon: float) -> np.ndarray:
        """Return the arrival moments (seconds, ascending) before `horizon` at `scale` times the model's rate."""
        rate = self.per_second * scale
        if rate <= 0 or horizon <= 0:
            return np.empty(0)
        edges, shapes = self.buckets(horizon)
        # The expected number of arrivals by each edge: a unit-rate process over it, mapped back, is the process.
        expected = np.concatenate([[0.0], np.cumsum(shapes * np.diff(edges))]) * rate
        total = float(expected[-1])
        units = np.cumsum(rng.exponential(1.0, int(total + 10 * np.sqrt(total) + 20)))
        while units[-1] < total:
            more = np.cumsum(rng.exponential(1.0, max(int(0.1 * total), 20))) + units[-1]
            units = np.concatenate([units, more])
        units = units[units < total]
        i = np.searchsorted(expected, units, side="right") - 1
        # `side="right"` lands past the buckets without arrivals (rate 0), so every divisor is positive.
        return edges[i] + (units - expected[i]) / (rate * shapes[i])

    def sites_of(self, u: np.ndarray, sites: dict[str, float]) -> list[str | None]:
        """Return the site chosen by each uniform draw in `u` among `sites` (shares summing to 1)."""
        if not sites:
            return [None] * len(u)
        names = list(sites)
        i = np.searchsorted(np.cumsum(list(sites.values())), u, side="right")
        return [names[j] for j in np.minimum(i, len(names) - 1).tolist()]

    def draw(self, rng: np.random.Generator, sites: list[str | None]) -> list[dict[str, Any]]:
        """Return the attributes of cases arriving at `sites` (one per case), drawn attribute by attribute."""
        n = len(sites)
        found: list[dict[str, Any]] = [{} for _ in range(n)]
        # The cases of each site, found once for every categorical attribute.
        if len(set(sites)) > 1:
            site_array = np.array(sites, dtype=object)
            groups = {site: np.flatnonzero(site_array == site) for site in dict.fromkeys(sites)}
        else:
            groups = {site: np.arange(n) for site in sites[:1]}
        for attr in self.model.attributes:
            if attr.number is not None:
                values: list[Any] = np.round(attr.number.sample(rng, n), 2).tolist()
            else:
                u = rng.random(n)
                values = [None] * n
                for site, at in groups.items():
                    options = attr.per_site.get(site, attr.categories) if site is not None else attr.categories
                    options = options or attr.categories
                    names, shares = list(options), np.asarray(list(options.values()), dtype=float)
                    bounds = np.cumsum(shares / shares.sum())
                    chosen = np.minimum(np.searchsorted(bounds, u[at], side="right"), len(names) - 1)
                    for j, c in zip(at.tolist(), chosen.tolist(), strict=True):
                        values[j] = names[c]
            for case, value in zip(found, values, strict=True):
                case[attr.name] = value
        return found


def draw_cases(model: Model, volume: list[Volume], seed: int, replication: int) -> list[Case]:
    """Return the cases of one replication in arrival order, with the model's arrivals changed by `volume`.

    The as-is stream (thinned where a factor is below 1) and extra streams for growth and new sites.
    """
    arrivals = _Arrivals(model)
    horizon = model.horizon_days * DAY_S
    sites = arrivals.sites
    factor = {s: 1.0 for s in sites} if sites else {None: 1.0}
    new_sites: list[tuple[str, float]] = []
    for change in volume:
        for s in factor:
            if change.site is None or change.site == s:
                factor[s] *= change.factor
        if change.new_site is not None and change.new_site_share > 0:
            new_sites.append((change.new_site, change.new_site_share))
    found: list[Case] = []
    rng = np.random.default_rng([seed, replication, 0])
    times = arrivals.times(rng, 1.0, horizon)
    at_sites = arrivals.sites_of(rng.random(len(times)), sites)
    keep = rng.random(len(times)).tolist()
    drawn = arrivals.draw(rng, at_sites)
    for k, (t, site, attributes) in enumerate(zip(times.tolist(), at_sites, drawn, strict=True), 1):
        if keep[k - 1] < factor[site]:
            found.append(Case(0, f"C{k:06d}", t, site, attributes, [seed, replication, 1, k]))
    base_shares = sites or {None: 1.0}
    extra: list[tuple[str, str | None, float]] = [
        (f"V-{s}-" if s is not None else "V-", s, (f - 1) * base_shares[s]) for s, f in factor.items() if f > 1]
    grown = sum(base_shares[s] * f for s, f in factor.items())
    extra += [(f"N-{name}-", name, share / (1 - share) * grown) for name, share in new_sites]
    for prefix, site, scale in extra:
        key = zlib.crc32(prefix.encode())
        rng = np.random.default_rng([seed, replication, 3, key])
        times = arrivals.times(rng, scale, horizon)
        drawn = arrivals.draw(rng, [site] * len(times))
        for k, (t, attributes) in enumerate(zip(times.tolist(), drawn, strict=True), 1):
            found.append(Case(0, f"{prefix}{k:06d}", t, site, attributes, [seed, replication, 4, key, k]))
    found.sort(key=lambda c: (c.arrival, c.case_id))
    for i, case in enumerate(found):
        case.index = i
    return found


def case_stream(key: list[int]) -> random.Random:
    """Return the random stream of a case's stream key (Case.stream).

    A Mersenne Twister seeded with the key's numbers, each in 64 bits of one integer (seeding a numpy generator cost
    a fifth of a small run).
    """
    if all(0 <= k < 2 ** 64 for k in key):
        return random.Random(sum(k << (64 * i) for i, k in enumerate(key)) | (len(key) << (64 * len(key))))
    return random.Random(repr(key))
