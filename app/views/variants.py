"""Variants & cases page: the most frequent variants, their coverage, their cases, and one case's timeline."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

import mining
from app import state
from app.filters import sidebar_filters

TOP_DEFAULT = 10


def variant_label(activities: list[str]) -> str:
    """Return the activity sequence of a variant as one line."""
    return " → ".join(activities)


def timeline_chart(timeline: pd.DataFrame) -> alt.LayerChart:
    """Return bars from start (or end, without a start) to end per event, coloured by resource."""
    data = timeline.assign(
        step=[f"{p}. {a}" for p, a in zip(timeline["position"], timeline["activity"], strict=True)],
        begin=timeline["start"].fillna(timeline["end"]),
        resource=timeline["resource"].fillna("(unknown)"),
    )[["step", "begin", "end", "resource", "role", "position"]]
    order = data["step"].tolist()
    base = alt.Chart(data).encode(
        y=alt.Y("step:N", sort=order, title=None),
        color=alt.Color("resource:N", title="Resource"),
        tooltip=["step", "resource", "role", alt.Tooltip("begin:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("end:T", format="%Y-%m-%d %H:%M")],
    )
    bars = base.mark_bar(height=14).encode(x=alt.X("begin:T", title="Time (UTC)"), x2="end:T")
    ends = base.mark_point(filled=True, size=50).encode(x="end:T")
    return alt.layer(bars, ends)


chosen = state.page_process("Variants & cases")
filters = sidebar_filters(chosen)
table = state.load(mining.variants, filters)
if table.empty:
    st.info("This process has no cases.", icon=":material/inbox:")
    st.stop()

st.subheader("Variants")
top = int(st.number_input("Variants shown", 1, len(table), min(TOP_DEFAULT, len(table)), key="var_top",
                          help="The most frequent variants first."))
shown = table.head(top)
st.dataframe(pd.DataFrame({
    "rank": range(1, len(shown) + 1),
    "variant": [variant_label(a) for a in shown["activities"]],
    "cases": shown["cases"],
    "share": shown["share"] * 100,
    "coverage": shown["coverage"] * 100,
    "median duration": [mining.format_duration(s) for s in shown["median_duration_s"]],
}), hide_index=True, column_config={
    "share": st.column_config.NumberColumn("share", format="%.1f%%"),
    "coverage": st.column_config.NumberColumn("coverage", format="%.1f%%", help="Cumulative share of the cases"),
})
st.caption(f"{len(table):,} variants over {int(table['cases'].sum()):,} cases; the top {top:,} cover "
           f"{shown['coverage'].iloc[-1]:.1%} of the cases.")
curve = pd.DataFrame({"rank": range(1, len(table) + 1), "coverage": table["coverage"]})
st.altair_chart(alt.Chart(curve).mark_line(point=len(curve) <= 50).encode(
    x=alt.X("rank:Q", title="Variant rank"),
    y=alt.Y("coverage:Q", title="Cumulative share of cases", axis=alt.Axis(format="%"), scale=alt.Scale(
        domain=[0, 1])),
    tooltip=["rank", alt.Tooltip("coverage:Q", format=".1%")],
), width="stretch")

st.subheader("Cases of a variant")
pick = st.selectbox("Variant", range(len(shown)), key="var_pick",
                    format_func=lambda i: f"#{i + 1} ({shown['cases'].iloc[i]:,} cases): "
                                          f"{variant_label(shown['activities'].iloc[i])}")
variant_id = shown["variant_id"].iloc[pick]
cases = state.load(mining.case_durations, filters.model_copy(update={"variants": [variant_id]}))
st.dataframe(cases.assign(duration=[mining.format_duration(s) for s in cases["duration_s"]]), hide_index=True)

st.subheader("Case explorer")
columns = st.columns(2)
picked_case = columns[0].selectbox("Case of this variant", cases["case_id"].tolist(), key="var_case")
typed_case = columns[1].text_input("Or type any case id", key="var_case_typed").strip()
case_id = typed_case or picked_case
if case_id:
    timeline = state.load(mining.case_timeline, chosen, case_id)
    if timeline.empty:
        st.warning(f"No case {case_id!r} in {chosen}.")
    else:
        st.altair_chart(timeline_chart(timeline), width="stretch")
        st.dataframe(timeline.drop(columns="event_id").assign(
            waiting=[mining.format_duration(s) for s in timeline["waiting_s"]],
            processing=[mining.format_duration(s) for s in timeline["processing_s"]],
        ), hide_index=True)
        attributes = state.load(mining.case_attributes, chosen, case_id)
        if attributes:
            st.json(attributes)
        else:
            st.caption("This case has no attributes.")
