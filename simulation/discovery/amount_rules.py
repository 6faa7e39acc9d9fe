"""Amount rules: the single threshold on a case's amount that predicts a branch of a decision."""

from __future__ import annotations

import numpy as np

from simulation.discovery.rounding import round_threshold

# Data rules: a threshold on amount is kept when it predicts the branch this well, and halves the errors of
# predicting the majority branch.
RULE_MIN_ACCURACY = 0.95
RULE_MIN_CASES = 20


def learn_threshold(amount: np.ndarray, target: np.ndarray) -> dict | None:
    """Return the best single threshold rule on `amount` predicting the boolean `target` (keys op, value,
    accuracy, baseline, cases_true), or None when no rule reaches the accuracy and clearly beats the majority."""
    ok = np.isfinite(amount)
    a, y = amount[ok], target[ok].astype(bool)
    n = len(a)
    if n < 2 * RULE_MIN_CASES or y.sum() < RULE_MIN_CASES or (~y).sum() < RULE_MIN_CASES:
        return None
    order = np.argsort(a, kind="stable")
    a, y = a[order], y[order]
    # Split after position i (0..n-2) between distinct amounts: cum_true[i] targets at or below the split.
    cum_true = np.cumsum(y)[:-1]
    below = np.arange(1, n)
    total_true = y.sum()
    valid = a[1:] > a[:-1]
    if not valid.any():
        return None
    # "amount > t": true above the split; "amount <= t": true at or below it.
    acc_high = ((below - cum_true) + (total_true - cum_true)) / n
    acc_low = (cum_true + ((n - below) - (total_true - cum_true))) / n
    best = None
    for op, acc in ((">", acc_high), ("<=", acc_low)):
        acc = np.where(valid, acc, -1)
        i = int(np.argmax(acc))
        if best is None or acc[i] > best[1] + 1e-12:
            best = (op, float(acc[i]), i)
    op, accuracy, i = best
    baseline = max(y.mean(), 1 - y.mean())
    if accuracy < RULE_MIN_ACCURACY or (1 - accuracy) > 0.5 * (1 - baseline):
        return None
    return {"op": op, "value": round_threshold(float(a[i]), float(a[i + 1])), "accuracy": accuracy,
            "baseline": float(baseline), "cases_true": int(y.sum()), "n": n}
