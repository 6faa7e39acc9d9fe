"""Process map page: the directly-follows graph of one process, simplified by activity and path sliders."""

from __future__ import annotations

from functools import partial

import streamlit as st

import mining
from app import state
from app.filters import sidebar_filters
from mining.process_map import WAIT_METRICS, graphviz_available, render

# Radio label -> mining.process_map metric.
METRIC_LABELS = {
    "Frequency": "frequency", "Cases": "cases", "Median wait": "median_wait", "Mean wait": "mean_wait",
    "P90 wait": "p90_wait", "Total wait": "total_wait",
}
ACTIVITIES_DEFAULT = 100
PATHS_DEFAULT = 30


def legend(pm: mining.ProcessMap) -> None:
    """Explain what the colours, widths and labels of the map mean."""
    if pm.metric in WAIT_METRICS:
        edges = ("Edge labels give the waiting time between the two activities (from the end of one to the "
                 "start of the next, or to its end when it has no start time); redder edges wait longer.")
    elif pm.metric == "cases":
        edges = "Edge labels count the cases that take that step at least once."
    else:
        edges = "Edge labels count how often the second activity directly follows the first."
    st.caption(f"Boxes show each activity with its number of events; darker blue means more events. {edges} "
               "Thicker edges are taken more often. The green circle is the start of the cases and the red "
               f"one their end; the dashed edges count the cases starting or ending there. Showing "
               f"{len(pm.activities):,} of {pm.activities_total:,} activities and {pm.paths_shown:,} of "
               f"{pm.paths_total:,} paths.")


chosen = state.page_process("Process map")
filters = sidebar_filters(chosen)
controls = st.columns([3, 2, 2], gap="large")
metric_label = controls[0].radio("Metric", list(METRIC_LABELS), horizontal=True, key="pm_metric")
activity_pct = controls[1].slider("Activities", 0, 100, ACTIVITIES_DEFAULT, format="%d%%", key="pm_activities",
                                  help="Share of the activities shown, the most frequent first.")
path_pct = controls[2].slider("Paths", 0, 100, PATHS_DEFAULT, format="%d%%", key="pm_paths",
                              help="Share of the paths between the shown activities, the most frequent first; "
                                   "every activity keeps its strongest incoming and outgoing path.")
graph = state.load(mining.dfg, filters)
pm = mining.process_map(graph, activity_pct / 100, path_pct / 100, METRIC_LABELS[metric_label])
dot = mining.to_dot(pm)
st.graphviz_chart(dot, width="content")
legend(pm)
downloads = st.columns([1, 1, 1, 3])
downloads[0].download_button("Download DOT", dot, file_name=f"{chosen}.dot", mime="text/vnd.graphviz",
                             icon=":material/download:", key="pm_download",
                             help="Graphviz source of the map: open it with Graphviz or any DOT viewer.")
if graphviz_available():
    # Laid out only when clicked: the page itself never waits for Graphviz.
    downloads[1].download_button("SVG", partial(render, dot, "svg"), file_name=f"{chosen}.svg",
                                 mime="image/svg+xml", icon=":material/download:", key="pm_download_svg",
                                 on_click="ignore", help="The map as a vector picture, for reports and slides.")
    downloads[2].download_button("PNG", partial(render, dot, "png"), file_name=f"{chosen}.png", mime="image/png",
                                 icon=":material/download:", key="pm_download_png", on_click="ignore")
else:
    st.caption("SVG and PNG export need Graphviz on the server (`apt install graphviz`).")
