"""Processing times: the distribution fitted per activity, and per role where a role split by a case attribute
works at another speed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from simulation.discovery.sql import frame
from simulation.discovery.state import Discovery
from simulation.fitting import MAX_SAMPLE, Fit, fit_distribution

# Processing time by role: a role split by a case attribute gets its own distribution for an activity when its
# durations differ from the rest's (two-sample KS test at this p-value, both sides with this many pieces of work)
# and the medians differ by at least this factor (a large log makes any difference significant).
ROLE_DURATION_MIN_EVENTS = 30
ROLE_DURATION_P_VALUE = 0.001
ROLE_DURATION_MIN_RATIO = 1.25


def fit_durations(state: Discovery) -> dict[str, Fit | None]:
    """Return the processing time fitted per activity, None where it is instantaneous."""
    # Every MAX_SAMPLE-th order statistic per activity is enough to fit it; an activity of a role split by a
    # case attribute comes whole, to compare each role's durations with the rest (the case's value chooses
    # who does it in the model, so only such roles can differ within one activity).
    df = frame(state.con, f"""
        WITH {_durations_sql(state)},
        r AS (SELECT activity, grp, s, row_number() OVER (PARTITION BY activity ORDER BY s) AS i,
                     count(*) OVER (PARTITION BY activity) AS n
              FROM e),
        whole AS (SELECT DISTINCT activity FROM e WHERE list_contains($split, grp))
        SELECT activity, grp, s, n, activity IN (SELECT activity FROM whole) AS whole FROM r
        WHERE (i - 1) % greatest(1, n // $m) = 0 OR activity IN (SELECT activity FROM whole)
        ORDER BY activity, s
    """, {"est": [a for a, r in state.start_rule.items() if r == "estimated"],
          "rec": [a for a, r in state.start_rule.items() if r == "recorded"], "m": MAX_SAMPLE,
          "batched": sorted(state.batched), "split": sorted(state.split_from)})
    out: dict[str, Fit | None] = {}
    state.duration_by_role = {}
    for a in sorted(state.start_rule):
        if state.start_rule[a] == "instant":
            out[a] = None
            continue
        g = df[df.activity == a]
        if g.empty:
            out[a] = None
            continue
        n = int(g.n.iloc[0])
        # The same order statistics as the query keeps for the other activities.
        fit = fit_distribution(g.s.to_numpy()[::max(1, n // MAX_SAMPLE)] if g.whole.iloc[0] else g.s.to_numpy())
        if fit is not None:
            fit.n = n
        out[a] = fit
        if g.whole.iloc[0]:
            own, rest = _own_durations(state, g)
            if own:
                state.duration_by_role[a] = own
                # When every role has its own, the pooled fit stays for values routed to none of them.
                out[a] = rest if rest is not None else fit
    return out


def _durations_sql(state: Discovery) -> str:
    """Return the CTEs d and e: one row per piece of work of the activities with a processing time (activity,
    grp, s = seconds); parameters est, rec and batched."""
    return f"""
        d AS (
            -- A batch (one person, one start, one end, many cases) is one piece of work: counted once, its
            -- duration shared by its cases, so that the role's workload stays what the log shows.
            -- An estimate for a case's first event has no enablement, only the performer's availability:
            -- used only when the activity has fewer than 20 events with a predecessor.
            SELECT activity, grp, resource, end_time,
                   epoch(end_time - CASE WHEN list_contains($est, activity) THEN est_start
                                         ELSE start_time END)
                       / CASE WHEN list_contains($batched, activity) THEN count(*) ELSE 1 END AS s,
                   list_contains($est, activity) AND prev_end IS NULL AS unenabled
            FROM {state.ev}
            WHERE list_contains($est, activity) OR list_contains($rec, activity)
            GROUP BY activity, grp, resource, end_time, start_time, est_start, unenabled),
        e AS (SELECT activity, grp, s FROM (
                  SELECT *, count(*) FILTER (WHERE NOT unenabled) OVER (PARTITION BY activity) AS enabled
                  FROM d WHERE s IS NOT NULL AND s >= 0)
              WHERE NOT unenabled OR enabled < 20)"""


def _own_durations(state: Discovery, g: pd.DataFrame) -> tuple[dict[str, Fit], Fit | None]:
    """Return the split roles of one activity whose processing times differ from the rest's (each with its
    fit), and the fit of the rest; ({}, None) when none differs."""
    values = g.s.to_numpy(dtype=float)
    roles = g.grp.astype("string").fillna("").to_numpy()
    own: dict[str, Fit] = {}
    for role in sorted(set(roles) & set(state.split_from)):
        mine = roles == role
        if mine.sum() < ROLE_DURATION_MIN_EVENTS or (~mine).sum() < ROLE_DURATION_MIN_EVENTS:
            continue
        x, y = values[mine], values[~mine]
        ratio = float(np.median(x)) / max(float(np.median(y)), 1e-9)
        p = float(stats.ks_2samp(x, y).pvalue)
        if p < ROLE_DURATION_P_VALUE and abs(np.log(max(ratio, 1e-9))) >= np.log(ROLE_DURATION_MIN_RATIO):
            fit = fit_distribution(x)
            if fit is not None:
                fit.note = f"{fit.note}; median {ratio:.2f}x the rest's (KS p={p:.1g})"
                own[role] = fit
    if not own:
        return {}, None
    return own, fit_distribution(values[~np.isin(roles, list(own))])
