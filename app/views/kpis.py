"""KPIs page: headline metrics, the KPI table, approval turnaround, rework by activity and the definitions."""

from __future__ import annotations

import streamlit as st

from app import state
from app.filters import sidebar_filters
from mining import kpis

chosen = state.page_process("KPIs")
filters = sidebar_filters(chosen)
config = kpis.default_config(chosen)

summary = state.load(kpis.kpi_summary, filters, config)
values = dict(zip(summary["kpi"], summary["value"], strict=True))


def shown(value: float | None, fmt: str) -> str:
    return "–" if value is None or value != value else fmt.format(value)


cols = st.columns(6)
cols[0].metric("Median cycle time", shown(values["cycle time (median)"], "{:,.1f} h"))
cols[1].metric("Touchless", shown(values["touchless rate"], "{:.1%}"))
cols[2].metric("Rework", shown(values["rework rate"], "{:.1%}"))
cols[3].metric("First time right", shown(values["first-time-right rate"], "{:.1%}"))
cols[4].metric("SLA adherence", shown(values["SLA adherence"], "{:.1%}"))
cols[5].metric("Cost per case", shown(values["cost per case"], "{:,.2f}"))

st.subheader("All KPIs")
st.dataframe(summary, hide_index=True, column_config={
    "value": st.column_config.NumberColumn("value", format="%.3f")})

st.subheader("Approval turnaround")
st.caption("Hours from the end of the previous event of the case to the end of the approval.")
turnaround = state.load(kpis.approval_turnaround, filters, config)
if turnaround.empty:
    st.caption("No approvals in the selected cases.")
else:
    st.dataframe(turnaround, hide_index=True)
    st.bar_chart(turnaround, x="activity", y="median_h", horizontal=True)

st.subheader("Rework by activity")
rework = state.load(kpis.rework_by_activity, filters, config)
if rework.empty:
    st.caption("No activity is repeated after other activities.")
else:
    st.dataframe(rework, hide_index=True, column_config={
        "share": st.column_config.NumberColumn("share", format="percent")})

with st.expander("Definitions"):
    for name, text in kpis.DEFINITIONS.items():
        st.markdown(f"**{name}**: {text}")
    st.caption("Active configuration")
    st.json(config.model_dump())
