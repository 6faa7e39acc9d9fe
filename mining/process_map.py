"""Process map: a Disco-style abstraction of the directly-follows graph, and its Graphviz DOT text."""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass

import pandas as pd

from mining.dfg import DFG

# Names of the artificial start and end nodes in ProcessMap.edges; the DOT text gives them their own ids,
# so an activity that happens to bear one of these names is still drawn as an activity.
START = "__start__"
END = "__end__"

# Metric -> the DFG edge column it shows; the wait metrics are "performance" metrics (seconds).
METRICS: dict[str, str] = {
    "frequency": "frequency", "cases": "cases", "median_wait": "wait_median_s", "mean_wait": "wait_mean_s",
    "p90_wait": "wait_p90_s", "total_wait": "wait_total_s",
}
WAIT_METRICS = ("median_wait", "mean_wait", "p90_wait", "total_wait")
EDGE_COLUMNS = ["source", "target", "frequency", "cases", "wait_median_s", "wait_mean_s", "wait_p90_s",
                "wait_total_s"]

# Node fill from light to dark blue by events; edge colour from grey to red by wait.
BLUE_LIGHT, BLUE_DARK = (0xDE, 0xEB, 0xF7), (0x08, 0x51, 0x9C)
GREY, RED = (0x9E, 0x9E, 0x9E), (0xD6, 0x27, 0x28)
PEN_MIN, PEN_MAX = 1.0, 6.0


@dataclass
class ProcessMap:
    """The part of a DFG a process map shows.

    - `activities`: activity, events, cases of the kept activities, most events first.
    - `edges`: the DFG's edge columns for the kept paths, plus the artificial ones from START to every kept
      start activity and from every kept end activity to END (frequency = cases = the cases starting or
      ending there, waits NaN); sorted by frequency (descending), then source and target.
    - `metric`: the key of METRICS the edge labels show.
    - `activities_total` / `paths_total`: activities and activity-to-activity edges of the whole DFG.
    """

    activities: pd.DataFrame
    edges: pd.DataFrame
    metric: str
    activities_total: int
    paths_total: int

    @property
    def paths_shown(self) -> int:
        """Return the number of activity-to-activity edges kept (the artificial ones not counted)."""
        return int(((self.edges.source != START) & (self.edges.target != END)).sum())


def _top(share: float, n: int) -> int:
    # round() first: 0.3 * 10 is 3.0000000000000004, which must keep 3, not 4.
    return math.ceil(round(min(max(share, 0.0), 1.0) * n, 9))


def _order(edges: pd.DataFrame) -> pd.DataFrame:
    return edges.sort_values(["frequency", "source", "target"], ascending=[False, True, True],
                             kind="mergesort").reset_index(drop=True)


def process_map(dfg: DFG, activity_share: float = 1.0, path_share: float = 1.0,
                metric: str = "frequency") -> ProcessMap:
    """Return the process map of `dfg` keeping the most frequent activities and paths.

    The activities with the most events are kept, ceil(activity_share x their number), at least one. Among
    the edges between kept activities the most frequent ceil(path_share x their number) are kept, plus each
    kept activity's most frequent incoming and outgoing edge, so no kept activity hangs loose. An activity
    whose every predecessor (or successor) was dropped, and which no case starts (ends) with, has no
    incoming (outgoing) edge: the map does not re-route cases around dropped activities.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: one of {', '.join(METRICS)}")
    activities = dfg.activities.sort_values(["events", "activity"], ascending=[False, True], kind="mergesort")
    n = len(activities)
    kept = activities.head(max(1, _top(activity_share, n)) if n else 0).reset_index(drop=True)
    names = set(kept.activity)
    candidates = _order(dfg.edges[dfg.edges.source.isin(names) & dfg.edges.target.isin(names)][EDGE_COLUMNS])
    chosen = set(range(_top(path_share, len(candidates))))
    # Strongest incoming and outgoing edge of every kept activity (candidates are ordered by frequency).
    chosen |= set(candidates.drop_duplicates("target").index) | set(candidates.drop_duplicates("source").index)
    paths = candidates.loc[sorted(chosen)]
    starts = dfg.start_activities[dfg.start_activities.activity.isin(names)]
    ends = dfg.end_activities[dfg.end_activities.activity.isin(names)]
    artificial = pd.concat([
        pd.DataFrame({"source": START, "target": starts.activity, "frequency": starts.cases,
                      "cases": starts.cases}),
        pd.DataFrame({"source": ends.activity, "target": END, "frequency": ends.cases, "cases": ends.cases}),
    ], ignore_index=True).reindex(columns=EDGE_COLUMNS)
    parts = [p for p in (paths, artificial) if len(p)]
    edges = _order(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame(columns=EDGE_COLUMNS)
    return ProcessMap(activities=kept, edges=edges, metric=metric, activities_total=n,
                      paths_total=len(dfg.edges))


def format_count(n: float) -> str:
    """Return a count with thousands separators: 12345 -> '12,345'."""
    return f"{int(n):,}"


def format_duration(seconds: float | None) -> str:
    """Return a duration for people: '45 s', '12 min', '4.5 h', '3.2 d' ('-' when unknown)."""
    if seconds is None or pd.isna(seconds):
        return "-"
    sign, s = ("-" if seconds < 0 else ""), abs(float(seconds))
    if s < 60:
        text = f"{s:.0f} s"
    elif s < 3600:
        text = f"{s / 60:.0f} min"
    elif s < 86400:
        text = f"{s / 3600:.1f} h"
    else:
        text = f"{s / 86400:,.1f} d"
    return sign + text


def _colour(low: tuple[int, int, int], high: tuple[int, int, int], t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(low, high, strict=True))


def _quote(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**attrs: object) -> str:
    return "[" + ", ".join(f"{k}={v}" for k, v in attrs.items()) + "]"


def to_dot(pm: ProcessMap) -> str:
    """Return the map as Graphviz DOT text, top to bottom as analysts read process maps; deterministic."""
    wait = pm.metric in WAIT_METRICS
    column = METRICS[pm.metric]
    ids = {name: f"a{i}" for i, name in enumerate(pm.activities.activity)}
    ids[START], ids[END] = "start", "end"
    lines = [
        "digraph process_map {",
        '  graph [rankdir=TB, fontname="Helvetica", nodesep=0.3, ranksep=0.45];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, color="#5b7fa6"];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
        '  start [label="", shape=circle, width=0.3, style=filled, fillcolor="#4caf50", color="#2e7d32"];',
        '  end [label="", shape=doublecircle, width=0.25, style=filled, fillcolor="#e53935", color="#b71c1c"];',
    ]
    most_events = max(pm.activities.events.max(), 1) if len(pm.activities) else 1
    for name, events in zip(pm.activities.activity, pm.activities.events, strict=True):
        t = events / most_events
        font = "#ffffff" if t > 0.55 else "#1a1a1a"
        lines.append(f"  {ids[name]} " + _attrs(label=_quote(f"{name}\n{format_count(events)}"),
                                                  fillcolor=_quote(_colour(BLUE_LIGHT, BLUE_DARK, t)),
                                                  fontcolor=_quote(font)) + ";")
    top_frequency = max(pm.edges.frequency.max(), 1) if len(pm.edges) else 1
    waits = pm.edges[column].dropna() if wait else pd.Series(dtype=float)
    top_wait = waits.max() if len(waits) and waits.max() > 0 else 1.0
    for edge in pm.edges.itertuples(index=False):
        artificial = edge.source == START or edge.target == END
        value = getattr(edge, column)
        if artificial:
            label, colour = format_count(edge.frequency), "#9e9e9e"
        elif wait:
            label = format_duration(value)
            colour = _colour(GREY, RED, (value / top_wait) if pd.notna(value) else 0.0)
        else:
            label, colour = format_count(value), "#616161"
        pen = PEN_MIN + (PEN_MAX - PEN_MIN) * edge.frequency / top_frequency
        attrs = {"label": _quote(" " + label), "penwidth": f"{pen:.2f}", "color": _quote(colour),
                 "fontcolor": _quote(colour)}
        if artificial:
            attrs["style"] = "dashed"
        lines.append(f"  {ids[edge.source]} -> {ids[edge.target]} {_attrs(**attrs)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


EXPORT_FORMATS = ("svg", "png")
_NO_DOT = ("SVG and PNG export need Graphviz's dot program on the server (Debian: apt install graphviz; "
           "`make app` and `make test` install it); the map itself renders in the browser without it")


def graphviz_available() -> bool:
    """Return whether Graphviz's dot program is on the PATH (needed for SVG and PNG export only)."""
    return shutil.which("dot") is not None


def render(dot: str, fmt: str = "svg", timeout_s: float = 60.0) -> bytes:
    """Return the DOT text laid out by Graphviz's dot program as SVG or PNG bytes."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(_NO_DOT)
    done = subprocess.run([program, f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True,
                          timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise ValueError(f"Graphviz could not lay out the map: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
