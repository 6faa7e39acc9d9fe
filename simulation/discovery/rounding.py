"""Rounding for a model people read: shares that sum to exactly 1, and the roundest threshold between two amounts."""

from __future__ import annotations

import math


def round_probabilities(counts: dict[str, float], digits: int = 4) -> dict[str, float]:
    """Return shares of `counts` rounded to `digits` decimals that sum to exactly 1 (largest remainder); keys whose
    share rounds to 0 are left out."""
    total = float(sum(counts.values()))
    if total <= 0:
        raise ValueError("no counts")
    unit = 10 ** digits
    raw = {k: v / total * unit for k, v in counts.items()}
    floor = {k: int(math.floor(v)) for k, v in raw.items()}
    rest = unit - sum(floor.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - floor[k]), k))[:rest]:
        floor[k] += 1
    return {k: v / unit for k, v in floor.items() if v > 0}


def round_threshold(lo: float, hi: float) -> float:
    """Return the roundest number t with lo <= t < hi (e.g. 10000 between 9987.30 and 10012.50)."""
    if hi <= lo:
        return lo
    for k in range(12, -4, -1):
        for m in (5, 2, 1):
            step = m * 10.0 ** k
            t = math.ceil(lo / step) * step
            if lo <= t < hi:
                return float(round(t, 4))
    return lo
