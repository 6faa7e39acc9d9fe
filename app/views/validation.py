"""Twin validation page: the twin discovered on the first cases of a process simulates the held-out last ones;
the measures of published simulation-discovery research compare it with reality, next to a naive reference."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app import state
from simulation.validation import MEASURES, Validation, validate

RESULTS_KEY = "_validation_results"
COLORS = alt.Scale(domain=["real", "twin", "naive"], range=["#1f77b4", "#ff7f0e", "#7f7f7f"])

chosen = state.page_process("Twin validation")
st.caption("The last cases by start are held out as the test period. A model discovered on the earlier cases "
           "simulates the test period (starting one warm-up earlier, warm-up cases dropped); the naive reference "
           "replays the last training cases whole weeks later, from the cut on. The twin learns from the training "
           "window (all of it, or its last 180, 90 or 45 days) that validates best on the training cases "
           "themselves, and checks its hidden delays by simulation where that validates better there too. Every "
           "measure is a distance to the real test log: lower is better.")

cols = st.columns([2, 2, 2, 3, 3], vertical_alignment="bottom")
share = cols[0].number_input("Test share", 0.05, 0.5, 0.2, 0.05, key="val_share",
                             help="Share of the cases, the last by their start, held out as the test period.")
replications = int(cols[1].number_input("Replications", 1, 10, 3, 1, key="val_replications",
                                        help="Simulated logs; the measures are their mean and spread."))
seed = int(cols[2].number_input("Seed", 0, 10**6, 0, 1, key="val_seed"))
censor = cols[3].toggle("Like-for-like", False, key="val_censor",
                        help="Compare only what the log could have recorded by its extraction moment (like-for-like; "
                             "not the published protocol).")
run = cols[4].button("Run validation", type="primary", icon=":material/play_arrow:", key="val_run")

if censor:
    st.caption("Like-for-like (not the published protocol): the real test log stops at the moment the log was "
               "extracted (its last recorded event), so cases still open then show only their first events. The "
               "simulated logs, twin and naive, are cut at that moment too: events ending later are dropped before "
               "measuring.")
else:
    st.caption("Published protocol: the twin's and the naive reference's cases run to their end, while the real "
               "test log stops at its extraction moment; **Like-for-like** cuts the simulated logs there too.")

path = state.current_workspace()
key = (str(path), state.workspace_version(path), chosen, round(float(share), 4), replications, seed, bool(censor))
results: dict = st.session_state.setdefault(RESULTS_KEY, {})
if run and key not in results:
    with st.status("Validating the twin…", expanded=True) as status:
        bar = st.progress(0.0, text="starting")
        try:
            with state.connection(path) as con:
                results[key] = validate(con, chosen, test_share=float(share), replications=replications, seed=seed,
                                        censor=bool(censor),
                                        progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m))
        except ValueError as exc:
            status.update(label="Validation failed", state="error")
            st.error(str(exc))
            st.stop()
        status.update(label="Validation done", state="complete", expanded=False)

result: Validation | None = results.get(key)
if result is None:
    st.info("Choose the test share and replications, then press **Run validation**.", icon=":material/fact_check:")
    st.stop()

split = result.split
metrics = st.columns(4)
metrics[0].metric("Training cases", f"{split.n_train:,}")
metrics[1].metric("Test cases", f"{split.n_test:,}")
metrics[2].metric("Cut (UTC)", f"{split.cut:%Y-%m-%d %H:%M}")
better = int(result.measures["twin_better"].sum())
metrics[3].metric("Twin better than naive", f"{better} of {len(result.measures)}")

st.subheader("Measures")
st.caption(f"View: {result.view}.")
table = result.measures.drop(columns=["measure"])
st.dataframe(table, hide_index=True, column_config={
    "label": "measure",
    "twin_mean": st.column_config.NumberColumn("twin (mean)", format="%.3f"),
    "twin_sd": st.column_config.NumberColumn("twin (sd)", format="%.3f",
                                             help="Standard deviation over the replications."),
    "naive": st.column_config.NumberColumn("naive", format="%.3f"),
    "twin_better": st.column_config.CheckboxColumn("twin better"),
    "between_twins": st.column_config.NumberColumn(
        "twin vs twin", format="%.3f",
        help="Mean distance between consecutive replications of the twin: two samples of the same model lie this "
             "far apart, so a twin cannot be expected to come much closer to reality than this."),
})
ratio = result.measures.assign(ratio=result.measures["twin_mean"] / result.measures["naive"],
                               floor=result.measures["between_twins"] / result.measures["naive"])
bars = alt.Chart(ratio, height=alt.Step(28)).mark_bar().encode(
    x=alt.X("ratio:Q", title="twin ÷ naive (below 1: twin closer to reality); tick: twin vs twin ÷ naive"),
    y=alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),
    color=alt.condition("datum.ratio < 1", alt.value("#2ca02c"), alt.value("#d62728")),
    tooltip=["label", alt.Tooltip("twin_mean:Q", format=".3f"), alt.Tooltip("naive:Q", format=".3f"),
             alt.Tooltip("ratio:Q", format=".2f"), alt.Tooltip("between_twins:Q", title="twin vs twin",
                                                               format=".3f")])
# The tick: how far the twin lies from itself, on the same scale; a bar that ends near it is the twin's own noise.
ticks = alt.Chart(ratio).mark_tick(color="black", thickness=2, size=18).encode(
    x="floor:Q", y=alt.Y("label:N", sort=None))
st.altair_chart(bars + ticks + alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q"),
                use_container_width=True)
st.dataframe(result.logs, hide_index=True, column_config={
    "cases": st.column_config.NumberColumn("cases", format="%.0f"),
    "events": st.column_config.NumberColumn("events", format="%.0f")})
for note in result.notes:
    st.caption(note)

charts = result.charts
st.subheader("Events per hour of day")
st.caption(f"Events by the hour of their start, {result.timezone}; twin: mean over the replications.")
st.altair_chart(alt.Chart(charts["hourly"]).mark_line(point=True).encode(
    x=alt.X("hour:O", title="hour of day"), y=alt.Y("events:Q", title="events"),
    color=alt.Color("log:N", scale=COLORS), tooltip=["log", "hour", alt.Tooltip("events:Q", format=".1f")],
), use_container_width=True)

st.subheader("Case arrivals per day")
st.altair_chart(alt.Chart(charts["arrivals"]).mark_line().encode(
    x=alt.X("day:T", title="day"), y=alt.Y("cases:Q", title="cases arriving"),
    color=alt.Color("log:N", scale=COLORS), tooltip=["log", "day:T", alt.Tooltip("cases:Q", format=".1f")],
), use_container_width=True)

st.subheader("Cycle times")
st.caption("Hours from a case's first start to its last end; twin: every replication pooled."
           + (" Like-for-like: a case open at the extraction moment counts until its last event ended by then, as "
              "in the real log." if result.censored_at is not None else ""))
cycles = charts["cycle_times"]
st.altair_chart(alt.Chart(cycles).mark_boxplot(extent="min-max").encode(
    x=alt.X("cycle_time_h:Q", title="cycle time (hours)"), y=alt.Y("log:N", title=None, sort=["real", "twin", "naive"]),
    color=alt.Color("log:N", scale=COLORS, legend=None),
), use_container_width=True)
summary = cycles.groupby("log", sort=False)["cycle_time_h"].describe(percentiles=[0.5, 0.9])
st.dataframe(summary[["count", "mean", "50%", "90%", "max"]].rename(columns={"50%": "median", "90%": "p90"}),
             column_config={c: st.column_config.NumberColumn(c, format="%.1f")
                            for c in ("count", "mean", "median", "p90", "max")})

with st.expander("Measures"):
    st.markdown("\n".join(f"- **{label}** ({unit})" for label, unit in MEASURES.values()))
    st.caption("From the package log-distance-measures, with its defaults: n-grams of 3 activities normalised to "
               "0..1; Wasserstein distances of start and end instants in hourly bins (absolute, hour of day per "
               "weekday, since the case's start); case arrivals in hourly bins; cycle times in 1-hour bins.")
    st.json({k: round(v, 2) for k, v in result.timings.items()})
