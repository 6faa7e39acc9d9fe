"""The process map: abstraction of a DFG, its DOT text, and the Process map page run with AppTest."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mining import DFG, process_map, to_dot
from mining.process_map import END, START, format_count, format_duration, render
from tests.test_app_pages import MAIN, TIMEOUT, build_workspace, write

PAGE = "views/process_map.py"
WAITS = ["wait_median_s", "wait_mean_s", "wait_p90_s", "wait_total_s"]


def tiny_dfg() -> DFG:
    """A -> B -> D (90 cases), A -> C -> D (10 cases), C -> C loops 5 times, rare E after D twice."""
    edges = pd.DataFrame([
        ("A", "B", 90, 90, 3600.0), ("B", "D", 90, 90, 86400.0), ("A", "C", 10, 10, 600.0),
        ("C", "D", 10, 10, 2 * 86400.0), ("C", "C", 5, 3, 30.0), ("D", "E", 2, 2, 120.0),
    ], columns=["source", "target", "frequency", "cases", "wait_median_s"])
    for column in WAITS[1:]:
        edges[column] = edges["wait_median_s"] * (edges["frequency"] if column == "wait_total_s" else 1)
    activities = pd.DataFrame([("A", 100, 100), ("D", 100, 100), ("B", 90, 90), ("C", 15, 10), ("E", 2, 2)],
                              columns=["activity", "events", "cases"])
    starts = pd.DataFrame([("A", 100)], columns=["activity", "cases"])
    ends = pd.DataFrame([("D", 98), ("E", 2)], columns=["activity", "cases"])
    return DFG(edges=edges, activities=activities, start_activities=starts, end_activities=ends)


def pairs(pm) -> set[tuple[str, str]]:
    """Return the (source, target) pairs of the map's edges."""
    return set(zip(pm.edges.source, pm.edges.target, strict=True))


def test_full_map_keeps_everything_and_adds_start_and_end() -> None:
    pm = process_map(tiny_dfg())
    assert list(pm.activities.activity) == ["A", "D", "B", "C", "E"]
    assert pairs(pm) == {("A", "B"), ("B", "D"), ("A", "C"), ("C", "D"), ("C", "C"), ("D", "E"),
                         (START, "A"), ("D", END), ("E", END)}
    assert (pm.activities_total, pm.paths_total, pm.paths_shown) == (5, 6, 6)
    start = pm.edges[pm.edges.source == START].iloc[0]
    assert (start.frequency, start.cases) == (100, 100) and pd.isna(start.wait_median_s)


def test_activity_share_keeps_the_most_frequent_activities() -> None:
    pm = process_map(tiny_dfg(), activity_share=0.6)  # ceil(0.6 x 5) = 3
    assert list(pm.activities.activity) == ["A", "D", "B"]
    assert pairs(pm) == {("A", "B"), ("B", "D"), (START, "A"), ("D", END)}
    # Never fewer than one activity, and a share that is exact is not rounded up by float noise.
    assert list(process_map(tiny_dfg(), activity_share=0).activities.activity) == ["A"]
    assert len(process_map(tiny_dfg(), activity_share=0.4).activities) == 2


def test_path_share_never_leaves_a_kept_activity_loose() -> None:
    pm = process_map(tiny_dfg(), path_share=0)
    # Only the strongest incoming and outgoing edge of each activity remain: the C -> C loop goes.
    assert pairs(pm) - {(START, "A"), ("D", END), ("E", END)} == {("A", "B"), ("B", "D"), ("A", "C"),
                                                                    ("C", "D"), ("D", "E")}
    for activity in pm.activities.activity:
        assert (pm.edges.target == activity).any(), f"{activity} has no incoming edge"
        assert (pm.edges.source == activity).any(), f"{activity} has no outgoing edge"
    assert pm.paths_shown == 5
    assert ("C", "C") in pairs(process_map(tiny_dfg(), path_share=1.0))


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        process_map(tiny_dfg(), metric="speed")


def test_empty_dfg() -> None:
    empty = DFG(edges=tiny_dfg().edges.iloc[:0], activities=tiny_dfg().activities.iloc[:0],
                start_activities=tiny_dfg().start_activities.iloc[:0],
                end_activities=tiny_dfg().end_activities.iloc[:0])
    pm = process_map(empty)
    assert pm.activities.empty and pm.edges.empty
    assert to_dot(pm).startswith("digraph process_map {")


def test_labels_are_formatted_for_people() -> None:
    assert format_count(1234567) == "1,234,567"
    assert [format_duration(s) for s in (12, 720, 4.5 * 3600, 3.2 * 86400, -7200, None, float("nan"))] == [
        "12 s", "12 min", "4.5 h", "3.2 d", "-2.0 h", "-", "-"]


def test_dot_text() -> None:
    dot = to_dot(process_map(tiny_dfg()))
    assert dot == to_dot(process_map(tiny_dfg())), "same map, same text"
    assert "rankdir=TB" in dot
    assert 'a0 [label="A\\n100"' in dot
    assert re.search(r'start -> a0 \[label=" 100".*style=dashed\]', dot)
    # Pen widths scale with frequency: the start edge (100 cases) is the widest.
    assert 'start -> a0 [label=" 100", penwidth=6.00' in dot and 'a0 -> a2 [label=" 90", penwidth=5.50' in dot
    waits = to_dot(process_map(tiny_dfg(), metric="median_wait"))
    assert 'a2 -> a1 [label=" 1.0 d"' in waits and 'a0 -> a3 [label=" 10 min"' in waits
    assert re.search(r'a3 -> a1 \[label=" 2.0 d".*color="#d62728"', waits), "the longest wait is red"
    # Quotes and backslashes in activity names cannot break the DOT text.
    odd = tiny_dfg()
    odd.activities.loc[0, "activity"] = 'Say "hi" \\ bye'
    assert 'label="Say \\"hi\\" \\\\ bye\\n100"' in to_dot(process_map(odd))


def test_export_as_svg_and_png() -> None:
    dot = to_dot(process_map(tiny_dfg()))
    svg = render(dot, "svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # Every activity label of the map is in the picture.
    for name in tiny_dfg().activities.activity:
        assert name in svg
    assert render(dot, "png").startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError, match="export format"):
        render(dot, "pdf")
    with pytest.raises(ValueError, match="Graphviz could not lay out"):
        render("digraph {", "svg")


def test_export_without_graphviz_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # mining.process_map is also the name of a function in the package namespace: fetch the module itself.
    process_map_module = importlib.import_module("mining.process_map")
    monkeypatch.setattr(process_map_module.shutil, "which", lambda name: None)
    assert not process_map_module.graphviz_available()
    with pytest.raises(RuntimeError, match="apt install graphviz"):
        render("digraph { a }", "svg")


def dot_nodes(dot: str) -> int:
    """Return the number of activity nodes in the DOT text."""
    return len(re.findall(r"^  a\d+ \[", dot, flags=re.MULTILINE))


# Three cases over five activities; "Escalate" and "Archive" are rare.
LOG_CSV = """case_id,activity,timestamp,resource
c1,Register,2024-01-05 09:00:00,alice
c1,Check,2024-01-06 10:00:00,bob
c1,Pay,2024-01-08 11:00:00,carol
c2,Register,2024-02-03 09:00:00,alice
c2,Check,2024-02-03 12:00:00,bob
c2,Pay,2024-02-10 12:00:00,carol
c3,Register,2024-03-01 09:00:00,alice
c3,Escalate,2024-03-02 09:00:00,dan
c3,Check,2024-03-04 09:00:00,bob
c3,Archive,2024-03-05 09:00:00,erin
"""


def open_page(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> AppTest:
    """Return the app switched to the Process map page of `workspace`."""
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(workspace))
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    return at.switch_page(PAGE).run()


def chart_dot(at: AppTest) -> str:
    """Return the DOT text of the page's Graphviz chart."""
    charts = at.get("graphviz_chart")
    assert len(charts) == 1, "graphviz chart missing"
    return charts[0].proto.spec


def test_process_map_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = build_workspace(tmp_path / "ws.duckdb", write(tmp_path / "log.csv", LOG_CSV))
    at = open_page(monkeypatch, workspace)
    assert not at.exception
    assert at.title[0].value == "Process map"
    assert at.session_state["process"] == "claims"
    dot = chart_dot(at)
    assert dot_nodes(dot) == 5 and "start ->" in dot and "-> end" in dot
    assert "5 of 5 activities" in at.caption[0].value
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["Download DOT", "SVG", "PNG"]
    at.slider(key="pm_activities").set_value(60).run()
    assert not at.exception
    assert dot_nodes(chart_dot(at)) == 3  # ceil(0.6 x 5): Register, Check, Pay
    at.radio(key="pm_metric").set_value("Median wait").run()
    assert not at.exception
    assert " d\"" in chart_dot(at) and "waiting time" in at.caption[0].value


def test_process_map_page_without_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = build_workspace(tmp_path / "ws.duckdb", write(tmp_path / "log.csv", LOG_CSV))
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot program on this PATH
    at = open_page(monkeypatch, workspace)
    assert not at.exception
    assert chart_dot(at).startswith("digraph"), "the map renders in the browser without Graphviz"
    assert [d.proto.label for d in at.get("download_button")] == ["Download DOT"]
    assert any("need Graphviz on the server" in c.value for c in at.caption)


def test_process_map_page_on_an_empty_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "new.duckdb"
    at = open_page(monkeypatch, missing)
    assert not at.exception
    assert at.title[0].value == "Process map"
    assert "no events yet" in at.info[0].value
    assert not at.get("graphviz_chart")
    assert not missing.exists()
