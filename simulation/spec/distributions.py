"""Distributions of durations, delays, amounts and confidences: their parameters, sampling and means."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable
from functools import lru_cache
from math import exp, inf
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from simulation.spec.base import Spec

_PARAMETERS = {
    "fixed": ("value",), "exponential": ("mean",), "lognormal": ("median", "sigma"),
    "gamma": ("shape", "scale"), "weibull": ("shape", "scale"), "normal": ("mean", "sd"),
    "uniform": ("low", "high"), "beta": ("a", "b"), "empirical": ("quantiles",),
}


# Sampling one value at a time needs log(median) and the empirical quantile grid at every draw: both cached.
_log = lru_cache(maxsize=4096)(np.log)
_GRID_CACHE = 4096
_GRIDS: dict[int, tuple[list[float], list[float], np.ndarray, np.ndarray, Callable]] = {}


def _interpolator(grid: np.ndarray, quantiles: np.ndarray) -> Callable[[Any], float]:
    """Return a function drawing u uniform on [0, 1) and returning np.interp(u, grid, quantiles), in plain floats.

    np.interp costs microseconds per scalar call; this is its arithmetic written out for one value (the same
    segment, slope and sum, so the same float, NaN fallbacks included), with `grid` strictly increasing from 0.
    """
    xs, ys = grid.tolist(), quantiles.tolist()
    last = len(xs) - 1

    def draw(rng: Any) -> float:  # a numpy Generator or a random.Random
        x = rng.random()  # rng.uniform(0, 1): 0 + 1 * the same double
        j = bisect_right(xs, x) - 1
        if j >= last:
            return ys[last]
        x0, y0 = xs[j], ys[j]
        if x0 == x:
            return y0
        x1, y1 = xs[j + 1], ys[j + 1]
        slope = (y1 - y0) / (x1 - x0)
        y = slope * (x - x0) + y0
        if y != y:  # NaN (infinite quantiles): numpy tries from the right end, then the flat value
            y = slope * (x - x1) + y1
            if y != y and y0 == y1:
                y = y0
        return y

    return draw


class Distribution(Spec):
    """A distribution of non-negative values, in the unit of what it describes (seconds for durations).

    kinds and their parameters: fixed (value); exponential (mean); lognormal (median, sigma); gamma (shape,
    scale); weibull (shape, scale); normal (mean, sd; truncated at 0); uniform (low, high); beta (a, b; on 0..1,
    for confidences); empirical (quantiles: evenly spaced quantiles from 0 to 1, sampled by interpolation).
    `cap` bounds every sample from above; `step` rounds every sample to the nearest multiple of it (86400 for a
    timer that fires whole days later, at the time of day it was set).
    """

    kind: Literal["fixed", "exponential", "lognormal", "gamma", "weibull", "normal", "uniform", "beta", "empirical"]
    value: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    sigma: float | None = None
    shape: float | None = None
    scale: float | None = None
    low: float | None = None
    high: float | None = None
    a: float | None = None
    b: float | None = None
    quantiles: list[float] | None = None
    cap: float | None = Field(None, gt=0)
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _parameters(self) -> Distribution:
        needed = _PARAMETERS[self.kind]
        missing = [p for p in needed if getattr(self, p) is None]
        if missing:
            raise ValueError(f"a {self.kind} distribution needs {', '.join(missing)}")
        extra = [p for p in ("value", "mean", "sd", "median", "sigma", "shape", "scale", "low", "high", "a", "b",
                             "quantiles") if p not in needed and getattr(self, p) is not None]
        if extra:
            raise ValueError(f"a {self.kind} distribution takes no {', '.join(extra)}")
        for p in needed:
            v = getattr(self, p)
            if p == "quantiles":
                if len(v) < 2 or any(x < 0 for x in v) or any(b < a for a, b in zip(v, v[1:], strict=False)):
                    raise ValueError("quantiles must be at least two non-negative, non-decreasing values")
            elif v < 0 or (p in ("mean", "sigma", "shape", "scale", "a", "b", "median") and v == 0
                           and self.kind != "fixed"):
                raise ValueError(f"{p} of a {self.kind} distribution must be positive")
        if self.kind == "uniform" and self.high < self.low:
            raise ValueError("uniform: high must not be below low")
        return self

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        """Return one draw (or `size` draws) from the distribution, never negative, at most `cap`."""
        if size is None:
            return self._one(rng)
        k = self.kind
        if k == "fixed":
            x = np.full(size, self.value, dtype=float)
        elif k == "exponential":
            x = rng.exponential(self.mean, size)
        elif k == "lognormal":
            x = rng.lognormal(np.log(self.median), self.sigma, size)
        elif k == "gamma":
            x = rng.gamma(self.shape, self.scale, size)
        elif k == "weibull":
            x = self.scale * rng.weibull(self.shape, size)
        elif k == "normal":
            x = np.maximum(rng.normal(self.mean, self.sd, size), 0.0)
        elif k == "uniform":
            x = rng.uniform(self.low, self.high, size)
        elif k == "beta":
            x = rng.beta(self.a, self.b, size)
        else:
            grid, q = self._grid()
            x = np.interp(rng.uniform(0, 1, size), grid, q)
        if self.cap is not None:
            x = np.minimum(x, self.cap)
        if self.step is not None:
            x = np.round(x / self.step) * self.step
        return x

    def _one(self, rng: np.random.Generator) -> float:
        # The engine draws one value at a time, hundreds of thousands of times a run: scalar draws skip the
        # size-1 arrays. numpy's scalar and size-1 draws consume the generator alike, so the draws are the same
        # as `sample(rng, 1)[0]` (tests/test_simulation_spec.py compares the sequences for every kind). The engine
        # draws from its own streams with a _drawer per distribution instead.
        k = self.kind
        if k == "fixed":
            x = float(self.value)
        elif k == "exponential":
            x = rng.exponential(self.mean)
        elif k == "lognormal":
            x = rng.lognormal(_log(self.median), self.sigma)
        elif k == "gamma":
            x = rng.gamma(self.shape, self.scale)
        elif k == "weibull":
            x = self.scale * rng.weibull(self.shape)
        elif k == "normal":
            x = rng.normal(self.mean, self.sd)
            x = x if x > 0.0 else 0.0
        elif k == "uniform":
            x = rng.uniform(self.low, self.high)
        elif k == "beta":
            x = rng.beta(self.a, self.b)
        else:
            x = self._grid_entry()[4](rng)  # np.interp(rng.uniform(0, 1), *self._grid()), see _interpolator
        cap = self.cap
        if cap is not None and x > cap:
            x = cap
        if self.step is not None:
            x = round(x / self.step) * self.step
        return float(x)

    def _drawer(self) -> Callable[[random.Random], float]:
        """Return a function drawing one value (a float, in the distribution's unit) from a Python random.Random,
        with the kind's branch and the parameters chosen once.

        The engine draws one value at a time, millions of times: its streams are random.Random (seeded in a
        fifth of the time of a numpy generator, and drawing scalars faster), so its draws are those of the same
        distribution as `sample`, not the same numbers (tests/test_simulation_spec.py compares the two).
        """
        k = self.kind
        if k == "fixed":
            value = float(self.value if self.cap is None or self.value <= self.cap else self.cap)
            if self.step is not None:
                value = round(value / self.step) * self.step
            return lambda _rng: value
        if k == "empirical":
            draw = self._grid_entry()[4]
        elif k == "exponential":
            rate = 1.0 / self.mean if self.mean else inf
            draw = lambda rng: rng.expovariate(rate) if rate != inf else 0.0  # noqa: E731 (drawers read best as lambdas)
        elif k == "lognormal":
            mu, sigma = float(_log(self.median)), self.sigma
            draw = lambda rng: exp(rng.gauss(mu, sigma))  # noqa: E731
        elif k == "gamma":
            shape, scale = self.shape, self.scale
            draw = lambda rng: rng.gammavariate(shape, scale)  # noqa: E731
        elif k == "weibull":
            shape, scale = self.shape, self.scale
            draw = lambda rng: rng.weibullvariate(scale, shape)  # noqa: E731
        elif k == "normal":
            mean, sd = self.mean, self.sd

            def draw(rng: random.Random) -> float:
                x = rng.gauss(mean, sd)
                return x if x > 0.0 else 0.0
        elif k == "uniform":
            low, high = self.low, self.high
            draw = lambda rng: rng.uniform(low, high)  # noqa: E731
        else:
            a, b = self.a, self.b
            draw = lambda rng: rng.betavariate(a, b)  # noqa: E731
        cap, step = self.cap, self.step
        if cap is not None:
            uncapped = draw

            def draw(rng: random.Random) -> float:
                x = uncapped(rng)
                return x if x <= cap else cap
        if step is None:
            return draw
        unrounded = draw
        return lambda rng: round(unrounded(rng) / step) * step

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the evenly spaced probabilities and the quantiles as arrays, built once per quantile list."""
        return self._grid_entry()[2:4]

    def _grid_entry(self) -> tuple[list[float], list[float], np.ndarray, np.ndarray, Callable]:
        """Return the cached (quantile list, its copy, probabilities, quantiles, interpolating drawer)."""
        quantiles = self.quantiles
        found = _GRIDS.get(id(quantiles))
        # The entry keeps the list, so its id cannot be reused while the entry exists; the copy catches a list
        # changed in place.
        if found is None or found[0] is not quantiles or found[1] != quantiles:
            if len(_GRIDS) >= _GRID_CACHE:
                _GRIDS.clear()
            q = np.asarray(quantiles, dtype=float)
            grid = np.linspace(0, 1, len(q))
            found = _GRIDS[id(quantiles)] = (quantiles, list(quantiles), grid, q, _interpolator(grid, q))
        return found

    def scaled(self, factor: float) -> Distribution:
        """Return the distribution of `factor` times a draw of this one (same kind and shape; cap scaled too, step
        kept); a beta (a share on 0..1) cannot be scaled."""
        if self.kind == "beta":
            raise ValueError("a beta distribution is a share on 0..1: it cannot be scaled")
        if not factor > 0:
            raise ValueError(f"the factor must be positive, not {factor}")
        scale_of = {"fixed": ("value",), "exponential": ("mean",), "lognormal": ("median",), "gamma": ("scale",),
                    "weibull": ("scale",), "normal": ("mean", "sd"), "uniform": ("low", "high"), "empirical": ()}
        update: dict[str, Any] = {p: getattr(self, p) * factor for p in scale_of[self.kind]}
        if self.kind == "empirical":
            update["quantiles"] = [q * factor for q in self.quantiles]
        if self.cap is not None:
            update["cap"] = self.cap * factor
        return self.model_copy(update=update)

    def mean_value(self) -> float:
        """Return the mean of the distribution (before the cap), in its unit."""
        k = self.kind
        if k == "fixed":
            return float(self.value)
        if k in ("exponential", "normal"):
            return float(self.mean)
        if k == "lognormal":
            return float(self.median * np.exp(self.sigma ** 2 / 2))
        if k == "gamma":
            return float(self.shape * self.scale)
        if k == "weibull":
            from math import gamma

            return float(self.scale * gamma(1 + 1 / self.shape))
        if k == "uniform":
            return (self.low + self.high) / 2
        if k == "beta":
            return self.a / (self.a + self.b)
        q = np.asarray(self.quantiles, dtype=float)
        return float(np.trapezoid(q, np.linspace(0, 1, len(q))))


def fixed(seconds: float) -> Distribution:
    """Return a fixed duration of `seconds`."""
    return Distribution(kind="fixed", value=seconds)

