"""Routing by visit: repeated activities whose next step depends on how often the case has done them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from simulation.discovery.sql import frame
from simulation.discovery.state import Discovery
from simulation.spec import END

# Routing by visit: a repeated activity's next step depends on how often the case has done it (a customer called
# once is called again more often than one called five times) when the visits differ this clearly; visits with
# fewer events from them on pool with the one before.
VISIT_MIN_EVENTS = 100
VISIT_P_VALUE = 0.001
VISIT_MIN_DIFFERENCE = 0.05
MAX_VISIT_STAGES = 4


def routing_by_visit(state: Discovery, multi: list[str]) -> dict[str, list[tuple[int, dict[str, int]]]]:
    """Return, per activity with more than one way out whose next step depends on its visit number, the
    next-step counts from each visit on: [(visit, {next: count})] (the last visit pools the later ones)."""
    rows = frame(state.con, f"""
        WITH v AS (SELECT activity, row_number() OVER (PARTITION BY case_id, activity ORDER BY pos) AS k,
                          coalesce(next_activity, $end) AS b
                   FROM {state.ev} WHERE list_contains($multi, activity))
        SELECT activity, k, b, count(*) AS n FROM v
        WHERE activity IN (SELECT activity FROM v WHERE k > 1) GROUP BY ALL ORDER BY activity, k, b
    """, {"end": END, "multi": multi})
    out: dict[str, list[tuple[int, dict[str, int]]]] = {}
    for a, g in rows.groupby("activity", sort=True):
        table = g.pivot_table(index="k", columns="b", values="n", aggfunc="sum", fill_value=0).sort_index()
        from_k = table.sum(axis=1)[::-1].cumsum()[::-1]  # events at this visit or later
        last = int(max([k for k, n in from_k.items() if n >= VISIT_MIN_EVENTS], default=1))
        if last < 2:
            continue
        stages = pd.concat([table.loc[table.index < last], table.loc[table.index >= last].sum().to_frame(last).T])
        stages = stages.loc[:, stages.sum() > 0]
        if stages.shape[1] < 2 or stages.min(axis=1).eq(stages.sum(axis=1)).all():
            continue
        # Consecutive visits that route alike are one stage: a visit starts a new stage only when it differs
        # clearly from the stage so far.
        groups: list[tuple[int, pd.Series]] = [(int(stages.index[0]), stages.iloc[0])]
        for k, row in list(stages.iterrows())[1:]:
            first, so_far = groups[-1]
            if len(groups) < MAX_VISIT_STAGES and _routes_differ(so_far, row):
                groups.append((int(k), row))
            else:
                groups[-1] = (first, so_far + row)
        if len(groups) > 1:
            out[str(a)] = [(k, {str(b): int(n) for b, n in row.items() if n > 0}) for k, row in groups]
    return out


def _routes_differ(a: pd.Series, b: pd.Series) -> bool:
    """Return whether two next-step count vectors differ clearly: significantly (chi-square) and by a share that
    matters (total variation)."""
    table = np.vstack([a.to_numpy(), b.to_numpy()]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return False
    difference = float(np.abs(table[0] / table[0].sum() - table[1] / table[1].sum()).sum() / 2)
    return difference >= VISIT_MIN_DIFFERENCE and float(stats.chi2_contingency(table).pvalue) < VISIT_P_VALUE
