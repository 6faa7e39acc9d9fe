"""Performance & bottlenecks page: case durations, bottleneck findings and rankings, throughput, waiting vs
processing, arrivals, workload and handovers."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import altair as alt
import streamlit as st

import mining
from app import state
from app.filters import sidebar_filters
from mining.bottlenecks import DEFINITIONS as WAIT_KIND_DEFINITIONS
from mining.bottlenecks import default_config as bottleneck_config

FREQ_LABELS = {"Week": "week", "Month": "month"}
HANDOVER_LABELS = {"Roles": "role", "Resources": "resource"}
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

RANKINGS = {"Activities": "activities", "Transitions": "transitions", "Resources": "resources"}


def _escape(text: str) -> str:
    # Activity and resource names come from the data: keep Markdown from reading them as formatting.
    return re.sub(r"([\\`*_{}\[\]<>#|~])", r"\\\1", text)


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        st.error(f"unknown time zone {text!r}: weekdays and hours are shown in UTC")
        return "UTC"
    return text


chosen = state.page_process("Performance & bottlenecks")
filters = sidebar_filters(chosen)
tz = _zone(st.text_input("Time zone", "UTC", key="perf_tz",
                         help="IANA time zone in which weekdays and hours are read, e.g. Europe/Amsterdam").strip()
           or "UTC")
durations = state.load(mining.case_durations, filters)
if durations.empty:
    st.info("This process has no cases.", icon=":material/inbox:")
    st.stop()

st.subheader("Case durations")
cols = st.columns(4)
cols[0].metric("Cases", f"{len(durations):,}")
cols[1].metric("Median duration", mining.format_duration(durations["duration_s"].median()))
cols[2].metric("Mean duration", mining.format_duration(durations["duration_s"].mean()))
cols[3].metric("90th percentile", mining.format_duration(durations["duration_s"].quantile(0.9)))
st.altair_chart(alt.Chart(durations.assign(duration_d=durations["duration_s"] / 86400)).mark_bar().encode(
    x=alt.X("duration_d:Q", bin=alt.Bin(maxbins=40), title="Case duration (days)"),
    y=alt.Y("count():Q", title="Cases"),
), width="stretch")

st.subheader("Bottlenecks")
found = state.load(mining.bottlenecks, filters, bottleneck_config(chosen, tz))
if not found.findings:
    st.caption("No waiting between events in these cases.")
else:
    cols = st.columns(3)
    cols[0].metric("All waiting", mining.format_duration(found.total_wait_h * 3600))
    cols[1].metric("Waiting for people", mining.format_duration(found.people_wait_h * 3600))
    cols[2].metric("Share for people", f"{found.people_wait_h / found.total_wait_h:.0%}" if found.total_wait_h
                   else "–")
    st.markdown("\n".join(f"{i}. {_escape(f)}" for i, f in enumerate(found.findings[:8], 1)))
    acts = found.activities.head(15)
    st.altair_chart(alt.Chart(acts.assign(days=acts["wait_total_h"] / 24)).mark_bar().encode(
        y=alt.Y("activity:N", sort=acts["activity"].tolist(), title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("days:Q", title="Total waiting before the activity (days)"),
        color=alt.Color("wait_kind:N", title="Waiting for", scale=alt.Scale(
            domain=["people", "system", "external", "scheduled"],
            range=["#d62728", "#9e9e9e", "#8c6d31", "#1f77b4"])),
        tooltip=["activity", "wait_kind", alt.Tooltip("share_of_all_waiting:Q", format=".1%"),
                 alt.Tooltip("share_of_people_waiting:Q", format=".1%"), alt.Tooltip("wait_median_h:Q", format=".1f")],
    ), width="stretch")
    percent = st.column_config.NumberColumn(format="percent")
    shares = {"share_of_people_waiting": percent, "share_of_all_waiting": percent}
    for tab, attr in zip(st.tabs([*RANKINGS, "Wait kinds"]), [*RANKINGS.values(), ""], strict=True):
        with tab:
            if attr:
                st.dataframe(getattr(found, attr).drop(columns=["why"], errors="ignore"), hide_index=True,
                             column_config=shares)
            else:
                st.dataframe(found.wait_kinds, hide_index=True)
    st.caption("Ranked by waiting for people: the time work waited before an activity done by a person. "
               + " ".join(f"**{k}**: {v}" for k, v in WAIT_KIND_DEFINITIONS.items()))

st.subheader("Throughput")
freq = st.radio("Per", list(FREQ_LABELS), horizontal=True, key="perf_freq")
flow = state.load(mining.throughput, filters, FREQ_LABELS[freq])
long = flow.melt(id_vars="period", value_vars=["cases_started", "cases_ended"], var_name="series",
                 value_name="cases")
long["series"] = long["series"].map({"cases_started": "started", "cases_ended": "ended"})
st.altair_chart(alt.Chart(long).mark_line(point=True).encode(
    x=alt.X("period:T", title=f"{freq} (UTC)"), y=alt.Y("cases:Q", title="Cases"),
    color=alt.Color("series:N", title=None), tooltip=["period:T", "series", "cases"],
), width="stretch")
st.caption("Cases started and ended per period; the table gives the median cycle time of the cases ended in it.")
st.dataframe(flow.assign(median_cycle_time=[mining.format_duration(s) for s in flow["median_cycle_time_s"]]),
             hide_index=True)

st.subheader("Waiting vs processing per activity")
times = state.load(mining.activity_times, filters)
bars = times.melt(id_vars="activity", value_vars=["wait_median_s", "processing_median_s"], var_name="kind",
                  value_name="seconds").dropna()
bars["kind"] = bars["kind"].map({"wait_median_s": "waiting before", "processing_median_s": "processing"})
bars["hours"] = bars["seconds"] / 3600
st.altair_chart(alt.Chart(bars).mark_bar().encode(
    y=alt.Y("activity:N", sort=times["activity"].tolist(), title=None),
    x=alt.X("hours:Q", title="Median (hours)"), yOffset="kind:N", color=alt.Color("kind:N", title=None),
    tooltip=["activity", "kind", alt.Tooltip("hours:Q", format=".2f")],
), width="stretch")
st.caption("Waiting runs from the end of the previous event of the case to the start of the activity (or its end "
           "when it has no start time); processing needs a start time.")
st.dataframe(times, hide_index=True, column_config={
    "wait_share": st.column_config.NumberColumn("wait_share", format="percent")})

st.subheader("Case arrivals")
try:
    arrivals = state.load(mining.arrival_heatmap, filters, tz)
except ValueError as exc:
    st.error(str(exc))
else:
    arrivals["day"] = [WEEKDAYS[d] for d in arrivals["weekday"]]
    st.altair_chart(alt.Chart(arrivals).mark_rect().encode(
        x=alt.X("hour:O", title=f"Hour ({tz})"), y=alt.Y("day:N", sort=WEEKDAYS, title=None),
        color=alt.Color("cases:Q", title="Cases", scale=alt.Scale(scheme="blues")),
        tooltip=["day", "hour", "cases"],
    ), width="stretch")
    st.caption("Cases by the weekday and hour of their first event.")

st.subheader("Resource workload")
workload = state.load(mining.resource_workload, filters)
st.altair_chart(alt.Chart(workload.assign(resource=workload["resource"].fillna("(unknown)")).head(30)).mark_bar()
                .encode(y=alt.Y("resource:N", sort="-x", title=None), x=alt.X("events:Q", title="Events"),
                        tooltip=["resource", "role", "events", "cases"]), width="stretch")
st.dataframe(workload.assign(busy=[mining.format_duration(s) for s in workload["busy_s"]]), hide_index=True,
             column_config={"share": st.column_config.NumberColumn("share", format="percent")})

st.subheader("Handovers")
level = st.radio("Between", list(HANDOVER_LABELS), horizontal=True, key="perf_handover_by")
passes = state.load(mining.handovers, filters, HANDOVER_LABELS[level])
if passes.empty:
    st.caption(f"No handovers between {level.lower()}: the events record none, or never a different one in a row.")
else:
    st.graphviz_chart(mining.handover_dot(passes), width="content")
    st.caption("Edges count how often work passed directly from one to the other within a case, with the median "
               "wait at the handover.")
    st.dataframe(passes, hide_index=True)
