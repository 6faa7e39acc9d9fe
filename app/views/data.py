"""Data page: what the workspace holds, how clean it is, where it came from, and the form to import more."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

import mining
from app import state, upload
from mining.quality import FENCE_IQR, USUAL_START_SHARE

SAMPLE_REJECTS = 200
COUNT = {"format": "localized"}
DAY = {"format": "YYYY-MM-DD"}
MOMENT = {"format": "YYYY-MM-DD HH:mm"}


def count(label: str) -> st.column_config.NumberColumn:
    """Return the column config of a whole-number count."""
    return st.column_config.NumberColumn(label, **COUNT)


def table(data: pd.DataFrame, columns: dict | None = None) -> None:
    """Show a read-only table without the index."""
    st.dataframe(data, hide_index=True, column_config=columns)


def empty_state(workspace: Path) -> None:
    """Tell the user how to get data into an empty workspace."""
    st.info("This workspace holds no events yet. Import an event log with the form below, or load the public "
            f"demo logs by running `twinflow demo --workspace {workspace}` in a terminal, then reload this page.",
            icon=":material/inbox:")
    imports = state.load(mining.imports) if workspace.exists() else pd.DataFrame()
    if len(imports):
        st.caption("Earlier imports added no events: every row was quarantined.")
        imports_table(imports)


def overview(procs: pd.DataFrame) -> None:
    """Show the workspace totals and one row per process."""
    totals = st.columns(3)
    totals[0].metric("Processes", f"{len(procs):,}")
    totals[1].metric("Cases", f"{procs['cases'].sum():,}")
    totals[2].metric("Events", f"{procs['events'].sum():,}")
    table(procs, {
        "process": "Process", "cases": count("Cases"), "events": count("Events"),
        "activities": count("Activities"), "resources": count("Resources"),
        "first_event": st.column_config.DatetimeColumn("First event", **DAY),
        "last_event": st.column_config.DatetimeColumn("Last event", **DAY),
        "share_with_start": st.column_config.ProgressColumn(
            "With start time", format="percent", min_value=0.0, max_value=1.0,
            help="Share of events that have a start time as well as an end time."),
    })


def process_detail(process: str) -> None:
    """Show the activities and the monthly volume of one process."""
    left, right = st.columns([5, 7], gap="large")
    with left:
        st.markdown("**Activities**")
        table(state.load(mining.activities, process),
              {"activity": st.column_config.TextColumn("Activity", width="large"), "events": count("Events"),
               "cases": count("Cases")})
    with right:
        st.markdown("**Events per month**")
        monthly = state.load(mining.events_per_month, process)
        chart = alt.Chart(monthly).mark_bar().encode(
            # Bars span their month on a UTC time axis: gaps show as gaps, and one month is not one wide slab.
            x=alt.X("utcyearmonth(month):T", title=None, scale=alt.Scale(domain=month_domain(monthly["month"])),
                    axis=alt.Axis(format="%b %Y", labelOverlap=True)),
            y=alt.Y("events:Q", title="events", axis=alt.Axis(format="~s", tickMinStep=1)),
            tooltip=[alt.Tooltip("utcyearmonth(month):T", title="month", format="%B %Y"),
                     alt.Tooltip("events:Q", format=",")],
        ).properties(height=320)
        st.altair_chart(chart, width="stretch")


def month_domain(months: pd.Series) -> list[alt.DateTime]:
    """Return a time-axis domain with one empty month either side of the months shown."""
    def utc(t: pd.Timestamp) -> alt.DateTime:
        return alt.DateTime(year=t.year, month=t.month, date=1, utc=True)

    return [utc(months.min() - pd.DateOffset(months=1)), utc(months.max() + pd.DateOffset(months=2))]


def quality(process: str) -> None:
    """Show the data-quality report of one process, each check with what it means."""
    report = state.load(mining.quality_report, process)
    first, second = st.columns(2, gap="large")
    with first:
        st.markdown("**Quarantined rows by reason**")
        st.caption("Rows the import could not use (no case id, unreadable time, ...) were set aside with a "
                   "reason; they are not among the events.")
        check(report.rejects_by_reason, "No rows were quarantined.", {"reason": "Reason", "rows": count("Rows")})
        st.markdown("**Overlapping activity instances**")
        st.caption("Activity instances that start before an earlier one in the same case has ended; by the "
                   "same resource they point to multitasking or to wrong timestamps.")
        check(report.overlapping_instances, "No start times in this process, so overlaps cannot be measured.", {
            "instances_with_start": count("Instances with start"),
            "overlapping_in_case": count("Overlapping in case"),
            "overlapping_same_resource": count("Same resource"),
            "cases_with_overlap": count("Cases with overlap")})
    with second:
        st.markdown("**Cases without a usual start**")
        st.caption(f"Cases whose first activity is one fewer than {USUAL_START_SHARE:.0%} of cases start with: "
                   "often cases already running when the data was extracted.")
        check(report.unusual_starts, "No cases.", {
            "cases": count("Cases"), "cases_without_usual_start": count("Without usual start"),
            "usual_first_activities": "Usual first activities"})
        st.markdown("**Timestamps outside the usual range**")
        st.caption(f"Events more than {FENCE_IQR:g} interquartile ranges before or after the bulk of this "
                   "process's events, or in the future: often mistyped dates or test records.")
        check(report.outlying_timestamps, "No events.", {
            "usual_from": st.column_config.DatetimeColumn("Usual from", **DAY),
            "usual_to": st.column_config.DatetimeColumn("Usual to", **DAY),
            "before_usual": count("Before"), "after_usual": count("After"), "in_future": count("In future")})
    if len(report.rejects_by_reason):
        with st.expander(f"Sample of the quarantined rows (first {SAMPLE_REJECTS})"):
            table(state.load(mining.rejected_rows, process, SAMPLE_REJECTS), {
                "row_number": st.column_config.NumberColumn("Row", help="1-based data row (line for CSV)"),
                "reason": "Reason", "raw": st.column_config.TextColumn("Row as read", width="large")})


def check(data: pd.DataFrame, when_empty: str, columns: dict) -> None:
    """Show one check's table for the chosen process, or a line saying why there is none."""
    if data.empty:
        st.caption(f":green[{when_empty}]")
    else:
        table(data.drop(columns="process"), columns)


def imports_table(imports: pd.DataFrame) -> None:
    """Show every import with its provenance."""
    table(imports, {
        "import_id": st.column_config.NumberColumn("Import", format="%d"), "process": "Process", "kind": "Kind",
        "location": "File", "rows_read": count("Rows read"), "rows_accepted": count("Accepted"),
        "rows_rejected": count("Rejected"), "events_added": count("Events added"),
        "events_duplicate": count("Already present"),
        "started_at": st.column_config.DatetimeColumn("Started (UTC)", **MOMENT),
        "finished_at": None, "seconds": st.column_config.NumberColumn("Seconds", format="%.1f"),
        "content_hash": st.column_config.TextColumn("SHA-256 of the file", width="small"),
        "twinflow_version": "twinflow"})


workspace = state.current_workspace()
st.title("Data")
procs = state.load(mining.processes) if workspace.exists() else pd.DataFrame()
if procs.empty:
    empty_state(workspace)
else:
    overview(procs)
    st.subheader("Process")
    chosen = state.process_selector(procs)
    process_detail(chosen)
    st.subheader("Data quality")
    quality(chosen)
    st.subheader("Imports")
    st.caption("Every import with its provenance: the file, what was read, accepted and rejected, and the hash "
               "of the bytes read. Re-importing the same file with the same options adds nothing.")
    imports_table(state.load(mining.imports))
st.subheader("Import an event log")
upload.import_form(workspace)
