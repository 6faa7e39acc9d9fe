"""Routing: the next step after the start and after each activity, with amount rules, by visit for repeated steps
and by the step before where that explains more."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulation.discovery.amount_rules import RULE_MIN_ACCURACY, learn_threshold
from simulation.discovery.delays import PAIR_MIN_EVENTS
from simulation.discovery.rounding import round_probabilities
from simulation.discovery.routing_by_visit import (
    MAX_VISIT_STAGES,
    VISIT_MIN_DIFFERENCE,
    VISIT_MIN_EVENTS,
    VISIT_P_VALUE,
    routing_by_visit,
)
from simulation.discovery.sql import frame
from simulation.discovery.state import Discovery
from simulation.spec import END, START, Branch, Condition, Decision


def find_routing(state: Discovery) -> list[Decision]:
    """Return the routing decisions after the start and each activity (amount rules, visits, predecessors)."""
    pairs = frame(state.con, f"""
        SELECT coalesce(prev_activity, $start) AS a, activity AS b, count(*) AS n FROM {state.ev} GROUP BY ALL
        UNION ALL
        SELECT activity, $end, count(*) FROM {state.ev} WHERE next_activity IS NULL GROUP BY ALL
        ORDER BY a, b
    """, {"start": START, "end": END})
    counts: dict[str, dict[str, int]] = {}
    for a, b, n in pairs.itertuples(index=False):
        counts.setdefault(a, {})[b] = int(n)
    multi = sorted(a for a, c in counts.items() if len(c) > 1)
    amounts = pd.DataFrame()
    if multi:
        amounts = frame(state.con, f"""
            SELECT coalesce(e.prev_activity, $start) AS a, e.activity AS b, c.amount FROM {state.ev} e
            JOIN {state.cs} c USING (case_id)
            WHERE list_contains($multi, coalesce(e.prev_activity, $start))
            UNION ALL
            SELECT e.activity, $end, c.amount FROM {state.ev} e JOIN {state.cs} c USING (case_id)
            WHERE e.next_activity IS NULL AND list_contains($multi, e.activity)
        """, {"start": START, "end": END, "multi": multi})
    decisions: list[Decision] = []
    rules: list[str] = []
    by_visit = routing_by_visit(state, multi)
    by_before = _routing_by_before(state, multi)
    # Where both explain the next step, the one that explains more (penalised for its extra parameters) holds.
    for a in sorted(set(by_visit) & set(by_before)):
        visit_gain = _gain([c for _, c in by_visit[a]])
        before_gain = _gain([*by_before[a][0].values(), by_before[a][1]])
        del (by_before if visit_gain >= before_gain else by_visit)[a]
    order = [START] + sorted(a for a in counts if a != START)
    for a in order:
        c = counts[a]
        branches: list[Branch] = []
        free_counts = dict(c)
        if a in multi and amounts.amount.notna().any():
            g = amounts[amounts.a == a]
            amt = g.amount.to_numpy(dtype=float)
            nxt = g.b.to_numpy()
            holds = np.zeros(len(g), dtype=bool)
            for _ in range(2):
                rest = ~holds
                best = None
                for b in sorted(set(nxt[rest])):
                    r = learn_threshold(amt[rest], nxt[rest] == b)
                    if r is not None and (best is None or r["accuracy"] > best[1]["accuracy"]):
                        best = (b, r)
                if best is None:
                    break
                b, r = best
                cond = Condition(attribute="amount", op=r["op"], value=r["value"])
                branches.append(Branch(to=b, when=cond))
                now = np.array([cond.holds({"amount": x}) if np.isfinite(x) else False for x in amt])
                holds |= now
                rules.append(f"after {a}: {b} when amount {r['op']} {r['value']:,.2f} (accuracy "
                             f"{r['accuracy']:.1%} on {r['n']:,} cases against {r['baseline']:.1%} by "
                             f"the majority branch)")
            if holds.any():
                left = pd.Series(nxt[~holds]).value_counts()
                free_counts = {str(k): int(v) for k, v in left.items()} or {branches[0].to: 1}
        staged = by_visit.get(a) if not branches else None
        if staged:
            decisions += [Decision(after=a, visit=k, branches=_branches(c)) for k, c in staged]
            continue
        context = by_before.get(a) if not branches else None
        if context:
            own, rest = context
            decisions += [Decision(after=a, before=p, branches=_branches(c)) for p, c in sorted(own.items())]
            free_counts = rest or free_counts
        branches += _branches(free_counts)
        decisions.append(Decision(after=a, branches=branches))
    state.notes["routing"] = (
        "first-order routing from the directly-follows relation: after START (each case's first activity) "
        "and after each activity, the next one (END after a case's last) with probabilities from the counts, "
        "rounded to 4 decimals summing to 1 (branches rounding to 0 dropped). Data rules: the best single "
        f"threshold on amount that predicts one branch with at least {RULE_MIN_ACCURACY:.0%} accuracy and at "
        "least halves the errors of always predicting the majority branch becomes a conditioned branch (at most "
        "two per decision); the probabilities are then those of the cases the rules do not cover. "
        + (f"Rules found: {'; '.join(rules)}." if rules else "No amount rule found.")
        + " Repeated activities whose next step depends on how often the case has done them route by visit: "
        f"consecutive visits (up to the last with {VISIT_MIN_EVENTS} events from it on, which covers the later "
        "ones too) form one stage until a visit routes clearly otherwise (chi-square p < "
        f"{VISIT_P_VALUE:g} and {VISIT_MIN_DIFFERENCE:.0%} or more of its branches elsewhere), at most "
        f"{MAX_VISIT_STAGES} stages, unless an amount rule decides: "
        + (", ".join(f"{a} (from visits {', '.join(str(k) for k, _ in v)})" for a, v in sorted(by_visit.items()))
           or "none") + ". Other steps whose next step depends on the step before them (a penalised likelihood "
        f"gain over the pooled branches; preceding activities seen {PAIR_MIN_EVENTS} times or more, the others "
        "pooled) route by it: "
        + (", ".join(f"{a} (after {', '.join(sorted(v[0]))})" for a, v in sorted(by_before.items())) or "none")
        + ". Where both hold, the one that explains more.")
    return decisions


def _routing_by_before(state: Discovery, multi: list[str]
                       ) -> dict[str, tuple[dict[str, dict[str, int]], dict[str, int]]]:
    """Return, per activity with more than one way out whose next step depends on the step before it, the
    next-step counts per preceding activity seen often enough, and those of the others pooled."""
    rows = frame(state.con, f"""
        SELECT activity, coalesce(prev_activity, $start) AS p, coalesce(next_activity, $end) AS b, count(*) AS n
        FROM {state.ev} WHERE list_contains($multi, activity) GROUP BY ALL ORDER BY activity, p, b
    """, {"start": START, "end": END, "multi": multi})
    out: dict[str, tuple[dict[str, dict[str, int]], dict[str, int]]] = {}
    for a, g in rows.groupby("activity", sort=True):
        table = g.pivot_table(index="p", columns="b", values="n", aggfunc="sum", fill_value=0)
        often = table.sum(axis=1) >= PAIR_MIN_EVENTS
        own = {str(p): {str(b): int(n) for b, n in row.items() if n > 0} for p, row in table[often].iterrows()}
        rest = {str(b): int(n) for b, n in table[~often].sum().items() if n > 0}
        if len(own) + bool(rest) < 2 or _gain([*own.values(), rest]) <= 0:
            continue
        out[str(a)] = (own, rest)
    return out


def _branches(counts: dict[str, int]) -> list[Branch]:
    """Return branches by probability from next-step counts, the likeliest first."""
    return [Branch(to=to, probability=p)
            for to, p in sorted(round_probabilities(counts).items(), key=lambda kv: (-kv[1], kv[0]))]


def _gain(groups: list[dict[str, int]]) -> float:
    """Return how much knowing the group explains the next step: the G statistic of the groups x next-step table
    less its degrees of freedom times log(n) (BIC); positive when the split is worth its parameters."""
    groups = [g for g in groups if g]
    steps = sorted({b for g in groups for b in g})
    table = np.array([[g.get(b, 0) for b in steps] for g in groups], dtype=float)
    n = table.sum()
    if len(groups) < 2 or len(steps) < 2 or n == 0:
        return 0.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    seen = table > 0
    g_statistic = 2.0 * float((table[seen] * np.log(table[seen] / expected[seen])).sum())
    return g_statistic - (len(groups) - 1) * (len(steps) - 1) * math.log(n)
