"""Automation candidates page: the ranked activities with value, feasibility, control class and reason, a value vs
feasibility chart, the learned rule of one activity and the definitions."""

from __future__ import annotations

import altair as alt
import streamlit as st

from app import state
from app.filters import sidebar_filters
from mining import automation

chosen = state.page_process("Automation candidates")
filters = sidebar_filters(chosen)
config = automation.default_automation_config(chosen)

st.caption("Which activities to automate first: value (manual work and the time it causes) times feasibility (how "
           "rule-like it is). Financial, contractual, compliance and access decisions keep a human approval: they "
           "are listed as assist candidates after the automate candidates, whatever their score.")

with st.spinner("Learning the rules of every activity..."):
    ranked = state.load(automation.automation_candidates, filters, config)
if ranked.empty:
    st.info("No events in the selected cases.", icon=":material/inbox:")
    st.stop()

counts = ranked["recommendation"].value_counts()
cols = st.columns(4)
for col, (label, key) in zip(cols, [("Automate", "automate"), ("Assist (human decides)", "assist"),
                                    ("External", "external"), ("Already automated", "automated")], strict=True):
    col.metric(label, int(counts.get(key, 0)))

st.subheader("Ranked activities")
shown = ranked.assign(predictors=ranked["predictors"].map(", ".join))
percent = {"format": "percent"}
st.dataframe(shown, hide_index=True, column_config={
    "rank": st.column_config.NumberColumn("rank", width="small"),
    "value": st.column_config.ProgressColumn("value", min_value=0.0, max_value=1.0, format="%.2f"),
    "feasibility": st.column_config.ProgressColumn("feasibility", min_value=0.0, max_value=1.0, format="%.2f"),
    "score": st.column_config.NumberColumn("score", format="%.3f"),
    "reason": st.column_config.TextColumn("reason", width="large"),
    "manual_share": st.column_config.NumberColumn("manual_share", **percent),
    "rework_rate": st.column_config.NumberColumn("rework_rate", **percent),
    "exception_rate": st.column_config.NumberColumn("exception_rate", **percent),
    "determinism": st.column_config.NumberColumn("determinism", **percent),
    "baseline": st.column_config.NumberColumn("baseline", **percent),
    "processing_h_total": st.column_config.NumberColumn("processing_h_total", format="%.1f"),
    "waiting_h_total": st.column_config.NumberColumn("waiting_h_total", format="%.1f"),
    "variability": st.column_config.NumberColumn("variability", format="%.2f"),
})

st.subheader("Value vs feasibility")
st.caption("Top right: much manual work that follows rules. Colour: the control class (none = no control function).")
chart = alt.Chart(shown).mark_circle(size=120, opacity=0.8).encode(
    x=alt.X("feasibility:Q", scale=alt.Scale(domain=[0, 1])),
    y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1])),
    color=alt.Color("control_class:N", title="control class"),
    tooltip=["rank", "activity", "recommendation", "control_class", alt.Tooltip("value:Q", format=".2f"),
             alt.Tooltip("feasibility:Q", format=".2f"), alt.Tooltip("score:Q", format=".3f")],
)
st.altair_chart(chart, use_container_width=True)

st.subheader("Learned rule")
activity = st.selectbox("Activity", ranked["activity"].tolist(), key=f"automation_activity_{chosen}")
row = ranked.set_index("activity").loc[activity]
st.markdown(f"**#{row['rank']} {activity}** ({row['recommendation']}): {row['reason']}")
if row["outcome"] is not None and row["determinism"] == row["determinism"]:
    st.caption(f"Outcome: {row['outcome']}; determinism {row['determinism']:.0%} against a baseline of "
               f"{row['baseline']:.0%} (always the most frequent outcome).")
st.code("\n".join(row["rule"].split("; ")), language=None, wrap_lines=True)

with st.expander("Definitions"):
    for name, text in automation.DEFINITIONS.items():
        st.markdown(f"**{name}**: {text}")
    st.caption("Active configuration")
    st.json(config.model_dump())
