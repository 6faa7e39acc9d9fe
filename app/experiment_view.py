"""An experiment's results as the Scenario lab shows them: the executive summary, headline KPIs with the paired
difference, KPIs side by side with confidence intervals, cycle-time distributions and waiting per activity."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from simulation.experiments import HEADLINE, ExperimentResult
from simulation.run_kpis import KPI_DEFINITIONS

# KPIs that are shares: the tables show them in % and their differences in percentage points.
SHARES = {"completed_share", "touchless_rate", "exception_rate", "rework_rate", "sla_adherence"}
COLORS = "tableau10"


def fmt(kpi: str, value: float) -> str:
    """Return a KPI value as the table shows it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kpi in SHARES:
        return f"{value * 100:.1f}%"
    return f"{value:,.0f}" if kpi == "cases" else f"{value:,.2f}"


def signed(kpi: str, value: float) -> str:
    """Return a difference of a KPI with its sign: percentage points for shares."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:+.1f} pp" if kpi in SHARES else f"{value:+,.2f}"



def show(result: ExperimentResult, key: str) -> None:
    """Render an experiment result: summary, headline metrics, KPI table, charts and definitions."""
    names = result.scenarios()
    best = result.best_scenario()
    with st.container(border=True):
        st.markdown("**Executive summary**")
        st.markdown(result.executive_summary())
    summary = result.summary()
    diff = result.differences()
    means = summary.set_index(["scenario", "kpi"])["mean"]
    if best is not None:
        st.caption(f"Headline KPIs of {best!r} (the best scenario); the arrow shows the paired difference with "
                   f"the as-is, green when significantly better, red when significantly worse, grey when chance "
                   f"could explain it.")
        cols = st.columns(len(HEADLINE))
        for col, (kpi, words, unit, lower) in zip(cols, HEADLINE, strict=True):
            value = means.get((best, kpi), math.nan)
            row = diff[(diff["scenario"] == best) & (diff["kpi"] == kpi)]
            delta = None if row.empty or pd.isna(row["difference"].iloc[0]) else row["difference"].iloc[0]
            # A difference chance can explain gets no colour: green or red would claim an effect.
            significant = bool(not row.empty and row["significant"].iloc[0])
            label = words[:1].upper() + words[1:] + (" (h)" if unit == "h" else "")
            col.metric(label, fmt(kpi, value),
                       delta=None if delta is None else signed(kpi, delta),
                       delta_color="off" if not significant else "inverse" if lower else "normal")

    st.subheader("KPIs side by side")
    table = pd.DataFrame(index=pd.Index(list(dict.fromkeys(summary["kpi"])), name="KPI"))
    for name in names:
        part = summary[summary["scenario"] == name].set_index("kpi")
        table[name] = [f"{fmt(k, part.loc[k, 'mean'])} ± {fmt(k, part.loc[k, 'half_width'])}"
                       if k in part.index and not pd.isna(part.loc[k, "half_width"])
                       else fmt(k, part["mean"].get(k, math.nan)) for k in table.index]
    for name in names[1:]:
        part = diff[diff["scenario"] == name].set_index("kpi")
        table[f"Δ {name}"] = [
            f"{signed(k, part.loc[k, 'difference'])}{' ✱' if part.loc[k, 'significant'] else ''}"
            if k in part.index else "–" for k in table.index]
    st.dataframe(table, height="content",
                 column_config={"KPI": st.column_config.TextColumn("KPI", help="See the definitions below.")})
    st.caption("Mean ± half-width of the 95% confidence interval over the replications (shares in %). "
               "Δ: mean paired difference with the as-is, replication by replication; ✱ marks a difference whose "
               "95% confidence interval excludes zero.")

    st.subheader("Headline KPIs with 95% confidence intervals")
    heads = {k: w for k, w, _, _ in HEADLINE}
    chart = summary[summary["kpi"].isin(list(heads)) & summary["mean"].notna()].assign(
        label=lambda d: d["kpi"].map(heads))
    # A KPI that is zero everywhere (no costs configured, no automation) would be an empty panel.
    flat = [heads[k] for k, g in chart.groupby("kpi") if (g["mean"].abs().max() == 0)]
    chart = chart[~chart["label"].isin(flat)]
    # One replication has no interval: the bar then shows the mean alone.
    chart["ci_low"] = chart["ci_low"].fillna(chart["mean"])
    chart["ci_high"] = chart["ci_high"].fillna(chart["mean"])
    color = alt.Color("scenario:N", scale=alt.Scale(domain=names, scheme=COLORS), title="scenario")
    base = alt.Chart().encode(x=alt.X("scenario:N", sort=names, title=None, axis=alt.Axis(labelAngle=-30)))
    bars = base.mark_bar(opacity=0.75).encode(
        y=alt.Y("mean:Q", title=None, axis=alt.Axis(format=",.3~f")), color=color,
        tooltip=["scenario", "label", alt.Tooltip("mean:Q", format=",.3f"),
                 alt.Tooltip("ci_low:Q", format=",.3f", title="95% CI low"),
                 alt.Tooltip("ci_high:Q", format=",.3f", title="95% CI high")])
    errors = base.mark_errorbar(ticks={"size": 14}, color="black").encode(y="ci_low:Q", y2="ci_high:Q")
    st.altair_chart(alt.layer(bars, errors, data=chart).properties(width=150, height=180).facet(
        facet=alt.Facet("label:N", title=None, sort=[heads[k] for k in heads]), columns=5,
    ).resolve_scale(y="independent"), width="content")
    if flat:
        st.caption(f"Zero in every scenario, not drawn: {', '.join(flat)}.")

    left, right = st.columns(2)
    with left:
        st.subheader("Cycle-time distributions")
        st.caption("Hours from a case's first start to its last end; completed cases, replications pooled. Box: "
                   "quartiles and median; whiskers: 1.5 × the interquartile range.")
        cycles = result.cycle_times
        if cycles.empty:
            st.caption("No completed cases.")
        else:
            st.altair_chart(alt.Chart(cycles).mark_boxplot(extent=1.5, outliers={"size": 4, "opacity": 0.3}).encode(
                x=alt.X("cycle_time_h:Q", title="cycle time (hours)"),
                y=alt.Y("scenario:N", sort=names, title=None), color=alt.Color(
                    "scenario:N", scale=alt.Scale(domain=names, scheme=COLORS), legend=None),
            ).properties(height=60 + 40 * len(names)), width="stretch")
            quantiles = result.cycle_time_quantiles()
            st.dataframe(quantiles, hide_index=True, column_config={
                c: st.column_config.NumberColumn(c.replace("_h", " (h)"), format="%.1f")
                for c in quantiles.columns if c.endswith("_h")})
    with right:
        st.subheader("Waiting per activity")
        st.caption("Mean hours an activity waits per visit (from the end of the case's previous event), the "
                   "activities that wait most in total first.")
        waiting = result.waiting_per_activity()
        if waiting.empty:
            st.caption("No events.")
        else:
            order = (waiting.groupby("activity")["waiting_h"].sum().sort_values(ascending=False).index[:15]
                     .tolist())
            st.altair_chart(alt.Chart(waiting[waiting["activity"].isin(order)]).mark_bar().encode(
                y=alt.Y("activity:N", sort=order, title=None), yOffset=alt.YOffset("scenario:N", sort=names),
                x=alt.X("mean_waiting_h:Q", title="mean waiting per visit (hours)"),
                color=alt.Color("scenario:N", scale=alt.Scale(domain=names, scheme=COLORS)),
                tooltip=["scenario", "activity", alt.Tooltip("events:Q", format=","),
                         alt.Tooltip("mean_waiting_h:Q", format=",.2f", title="mean waiting (h)"),
                         alt.Tooltip("waiting_h_per_replication:Q", format=",.0f",
                                     title="hours per replication")],
            ).properties(height=alt.Step(10)), width="stretch")

    with st.expander("KPI definitions"):
        st.markdown("\n".join(f"- **{k}**: {v}" for k, v in KPI_DEFINITIONS.items()))
    with st.expander("The experiment (YAML)"):
        st.code(result.experiment.to_yaml(), language="yaml")
    st.caption(f"{result.experiment.replications} replications, seed {result.experiment.seed}, "
               f"{result.wall_time_s:,.1f} s of wall time ({key}).")
