"""Fitting a `Distribution` to observed values (durations in seconds, or money): the candidate families are fitted
by maximum likelihood with scipy.stats (location 0) and the one closest to the data by the Kolmogorov–Smirnov
statistic (the largest gap between the fitted and the empirical distribution function) wins; when even the best
one is too far from the data, the data's own 101 quantiles are used (`empirical`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from simulation.spec import Distribution

MAX_SAMPLE = 4000
CANDIDATES = ("exponential", "lognormal", "gamma", "weibull")


@dataclass
class Fit:
    """The chosen distribution, the KS statistic of every candidate tried, and a one-line explanation."""

    distribution: Distribution
    n: int
    ks: dict[str, float] = field(default_factory=dict)
    note: str = ""


def subsample(values: np.ndarray, size: int = MAX_SAMPLE) -> np.ndarray:
    """Return at most `size` values: evenly spaced order statistics of the sorted values (deterministic)."""
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) <= size:
        return x
    return x[np.linspace(0, len(x) - 1, size).round().astype(int)]


def ks_threshold(n: int) -> float:
    """Return the largest KS statistic accepted for a fit on `n` values: 0.08, or the 1% critical value of the
    KS test when that is larger (small samples)."""
    return max(0.08, 1.63 / np.sqrt(max(n, 1)))


def _frozen(kind: str, x: np.ndarray) -> tuple[object, dict[str, float]]:
    """Return the frozen scipy distribution fitted to x (which has median 1) and its spec parameters."""
    if kind == "exponential":
        _, scale = stats.expon.fit(x, floc=0)
        return stats.expon(scale=scale), {"mean": scale}
    if kind == "lognormal":
        s, _, scale = stats.lognorm.fit(x, floc=0)
        return stats.lognorm(s, scale=scale), {"median": scale, "sigma": s}
    if kind == "gamma":
        a, _, scale = stats.gamma.fit(x, floc=0)
        return stats.gamma(a, scale=scale), {"shape": a, "scale": scale}
    c, _, scale = stats.weibull_min.fit(x, floc=0)
    return stats.weibull_min(c, scale=scale), {"shape": c, "scale": scale}


_SCALED = {"mean", "median", "scale"}


def describe(d: Distribution, unit: str = "s") -> str:
    """Return the distribution in words, durations in readable units (e.g. 'lognormal(median 12 min, sigma 0.8)')."""
    text = _describe_kind(d, unit)
    if d.step is None:
        return text
    return text + (" in whole days" if unit == "s" and d.step == 86400 else f" in steps of {human(d.step, unit)}")


def _describe_kind(d: Distribution, unit: str) -> str:
    def q(v: float) -> str:
        return human(v, unit)

    k = d.kind
    if k == "fixed":
        return f"fixed({q(d.value)})"
    if k == "exponential":
        return f"exponential(mean {q(d.mean)})"
    if k == "lognormal":
        return f"lognormal(median {q(d.median)}, sigma {d.sigma:.2f})"
    if k in ("gamma", "weibull"):
        return f"{k}(shape {d.shape:.2f}, scale {q(d.scale)}; mean {q(d.mean_value())})"
    if k == "empirical":
        qs = d.quantiles
        return f"empirical(median {q(qs[len(qs) // 2])}, p90 {q(qs[int(0.9 * (len(qs) - 1))])})"
    return k


def human(value: float, unit: str = "s") -> str:
    """Return a value in readable form: seconds as s / min / h / days, anything else with 4 significant digits."""
    if unit != "s":
        return f"{value:,.4g} {unit}".strip()
    v = float(value)
    if v < 120:
        return f"{v:.3g} s"
    if v < 7200:
        return f"{v / 60:.3g} min"
    if v < 3 * 86400:
        return f"{v / 3600:.3g} h"
    return f"{v / 86400:.3g} days"


def fit_distribution(values: np.ndarray | list[float], unit: str = "s", cap_quantile: float = 0.999,
                     cap_factor: float = 1.5) -> Fit | None:
    """Return the best-fitting distribution of non-negative `values` (in `unit`: seconds for durations), or None
    for no values. The cap is the `cap_quantile` of the data times `cap_factor`."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    x = np.maximum(x, 0.0)
    n = len(x)
    if n == 0:
        return None
    x = subsample(x)
    median = float(np.median(x))
    cap = float(np.quantile(x, cap_quantile) * cap_factor)
    lo, hi = np.quantile(x, [0.05, 0.95])
    if hi - lo <= 0.01 * max(median, 1e-9) or n < 3:
        d = Distribution(kind="fixed", value=median)
        return Fit(d, n, note=f"{describe(d, unit)}: nearly constant (n={n:,})")
    zero = float(np.mean(x <= 1e-9))
    if zero > 0.05 or n < 20 or median <= 0:
        d = _empirical(x, cap)
        why = f"{zero:.0%} of the values are 0" if zero > 0.05 else f"only {n} values"
        return Fit(d, n, note=f"{describe(d, unit)}: empirical quantiles, {why} (n={n:,})")
    pos = x[x > 1e-9] / median  # fit on a unit scale: the optimisers behave, whatever the unit
    ks: dict[str, float] = {}
    params: dict[str, dict[str, float]] = {}
    for kind in CANDIDATES:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frozen, p = _frozen(kind, pos)
                stat = float(stats.kstest(pos, frozen.cdf).statistic)
        except (ValueError, RuntimeError, FloatingPointError):
            continue
        if np.isfinite(stat) and all(np.isfinite(v) and v > 0 for v in p.values()):
            ks[kind] = stat
            params[kind] = {k: (v * median if k in _SCALED else v) for k, v in p.items()}
    if ks:
        best = min(ks, key=lambda k: (ks[k], CANDIDATES.index(k)))
        # One parameter is easier to review and edit than two: prefer the exponential when it is nearly as close.
        if "exponential" in ks and ks["exponential"] <= ks[best] + 0.01:
            best = "exponential"
        if ks[best] <= ks_threshold(n):
            others = ", ".join(f"{k} {v:.3f}" for k, v in sorted(ks.items(), key=lambda kv: kv[1]) if k != best)
            d = Distribution(kind=best, cap=cap, **params[best])
            return Fit(d, n, ks, f"{describe(d, unit)}, KS {ks[best]:.3f} ({others}); n={n:,}, "
                                 f"cap {human(cap, unit)}")
    d = _empirical(x, cap)
    tried = ", ".join(f"{k} {v:.3f}" for k, v in sorted(ks.items(), key=lambda kv: kv[1])) or "none converged"
    return Fit(d, n, ks, f"{describe(d, unit)}: no family fits (KS {tried}; accepted up to "
                         f"{ks_threshold(n):.3f}); n={n:,}")


def _empirical(x: np.ndarray, cap: float) -> Distribution:
    q = np.quantile(x, np.linspace(0, 1, 101))
    q = np.minimum(np.maximum.accumulate(q), max(cap, float(q[0]))) if cap > 0 else np.maximum.accumulate(q)
    return Distribution(kind="empirical", quantiles=[round(float(v), 6) for v in q])
