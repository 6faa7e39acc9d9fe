"""Case attributes: the distribution of the amount, and the shares of each categorical attribute's values
(per site when the sites clearly differ)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from simulation.discovery.rounding import round_probabilities
from simulation.discovery.sql import fetchall, frame
from simulation.discovery.state import Discovery
from simulation.fitting import fit_distribution
from simulation.spec import CaseAttribute

# Categorical case attributes: at most this many values; per site only when the sites clearly differ.
MAX_CATEGORIES = 20
PER_SITE_MIN_CASES = 30
PER_SITE_MIN_DISTANCE = 0.1


def find_attributes(state: Discovery) -> list[CaseAttribute]:
    """Return the case attributes to draw: the amount's distribution and categorical attributes' shares."""
    out: list[CaseAttribute] = []
    n_cases = fetchall(state.con, f"SELECT count(*) FROM {state.cs}")[0][0]
    amounts = frame(state.con, f"SELECT amount, currency FROM {state.cs} WHERE amount IS NOT NULL")
    if len(amounts) >= max(10, 0.5 * n_cases):
        currency = amounts.currency.mode().iloc[0] if amounts.currency.notna().any() else ""
        fit = fit_distribution(amounts.amount.to_numpy(), unit=str(currency or "money"))
        if fit is not None:
            out.append(CaseAttribute(name="amount", number=fit.distribution))
            state.notes["attribute amount"] = (f"amount of {len(amounts):,} of {n_cases:,} cases, in "
                                               f"{currency or 'the log currency'}: {fit.note}")
    keys = frame(state.con, f"""
        WITH kv AS (
            SELECT 'department' AS k, department AS v FROM {state.cs} WHERE department IS NOT NULL
            UNION ALL
            SELECT k, json_extract_string(attributes, '$."' || replace(k, '"', '\\"') || '"') AS v
            FROM {state.cs}, unnest(json_keys(attributes)) AS t(k)
            WHERE attributes IS NOT NULL
        )
        SELECT k, count(DISTINCT v) AS values, count(v) AS cases FROM kv WHERE v IS NOT NULL
        GROUP BY k ORDER BY k
    """)
    skipped: list[str] = []
    for k, n_values, n_with in keys.itertuples(index=False):
        if k in ("timezone", "amount", "site", "currency"):
            continue
        if n_values > MAX_CATEGORIES or n_values <= 1 or n_with < 0.5 * n_cases:
            why = ("an identifier" if n_values >= 0.9 * n_with else f"{n_values} values") \
                if n_values > MAX_CATEGORIES else ("one value" if n_values <= 1 else f"only in {n_with} cases")
            skipped.append(f"{k} ({why})")
            continue
        out.append(_categorical(state, k, n_cases))
    if skipped:
        state.notes["attributes skipped"] = ("case attributes left out (more than "
                                             f"{MAX_CATEGORIES} values, one value, or in fewer than half of the "
                                             f"cases): {', '.join(skipped)}")
    return out


def _categorical(state: Discovery, key: str, n_cases: int) -> CaseAttribute:
    value = "department" if key == "department" else \
        """json_extract_string(attributes, '$."' || replace($k, '"', '\\"') || '"')"""
    df = frame(state.con, f"""
        SELECT coalesce(site, '') AS site, {value} AS v, count(*) AS n FROM {state.cs}
        WHERE {value} IS NOT NULL GROUP BY ALL ORDER BY site, v
    """, {"k": key})
    overall = df.groupby("v").n.sum()
    categories = round_probabilities(overall.to_dict())
    note = (f"{key}: {len(overall)} values over {int(overall.sum()):,} of {n_cases:,} cases: "
            + ", ".join(f"{k} {v:.1%}" for k, v in sorted(categories.items(), key=lambda kv: -kv[1])[:8])
            + (" ..." if len(categories) > 8 else ""))
    per_site: dict[str, dict[str, float]] = {}
    table = df[df.site != ""].pivot_table(index="site", columns="v", values="n", aggfunc="sum", fill_value=0)
    table = table[table.sum(axis=1) >= PER_SITE_MIN_CASES]
    if len(table) >= 2 and table.shape[1] >= 2:
        shares = table.div(table.sum(axis=1), axis=0)
        mean = overall.reindex(table.columns).fillna(0) / overall.sum()
        distance = float((shares - mean).abs().sum(axis=1).max() / 2)
        with np.errstate(all="ignore"):
            p = float(stats.chi2_contingency(table.to_numpy()[:, table.sum(axis=0).to_numpy() > 0])[1])
        if p < 1e-6 and distance >= PER_SITE_MIN_DISTANCE:
            per_site = {str(site): round_probabilities({str(k): float(v) for k, v in row.items() if v > 0})
                        for site, row in table.iterrows()}
            note += (f"; differs by site (chi-square p {p:.1g}, total variation up to {distance:.2f}): drawn "
                     f"per site for the {len(per_site)} sites with at least {PER_SITE_MIN_CASES} cases")
    state.notes[f"attribute {key}"] = note
    return CaseAttribute(name=key, categories={str(k): v for k, v in categories.items()}, per_site=per_site)
