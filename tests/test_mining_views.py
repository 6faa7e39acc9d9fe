"""Performance views on a tiny log with known numbers, and the Variants & cases and Performance pages."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import mining
from ingest import connect
from tests.conftest import csv_workspace
from tests.test_app_pages import MAIN, TIMEOUT

# c1 and c2 follow Register -> Check -> Pay (Pay has no start time); c3 is a lone Register without a start.
# In c2 alice registers (clerk) and checks (nurse): a role handover without a resource handover.
LOG_CSV = """case_id,activity,start_time,end_time,resource,role,site,priority
c1,Register,2024-01-01 08:00:00,2024-01-01 08:30:00,alice,clerk,North,high
c1,Check,2024-01-01 10:00:00,2024-01-01 11:00:00,bob,nurse,North,high
c1,Pay,,2024-01-02 09:00:00,carol,finance,North,high
c2,Register,2024-01-08 23:30:00,2024-01-09 00:00:00,alice,clerk,South,low
c2,Check,2024-01-09 01:00:00,2024-01-09 03:00:00,alice,nurse,South,low
c2,Pay,,2024-01-10 03:00:00,carol,finance,South,low
c3,Register,,2024-01-22 10:00:00,alice,clerk,North,low
"""
H = 3600.0


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny log imported as process "p"."""
    return csv_workspace(tmp_path_factory.mktemp("perf"), LOG_CSV, case_attributes=["priority"])


@pytest.fixture
def con(workspace: Path):
    """A connection to the tiny workspace."""
    connection = connect(workspace)
    yield connection
    connection.close()


ALL = mining.Filters(process="p")


def nan_list(values) -> list:
    """Return the values as a list with NaN as None, for exact comparisons."""
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values]


def test_case_timeline_and_attributes(con) -> None:
    t = mining.case_timeline(con, "p", "c1")
    assert t["activity"].tolist() == ["Register", "Check", "Pay"]
    assert t["position"].tolist() == [1, 2, 3]
    assert nan_list(t["waiting_s"]) == [None, 1.5 * H, 22 * H]
    assert nan_list(t["processing_s"]) == [0.5 * H, 1 * H, None]
    assert t["resource"].tolist() == ["alice", "bob", "carol"]
    assert t["role"].tolist() == ["clerk", "nurse", "finance"]
    assert t["end"].iloc[0] == pd.Timestamp("2024-01-01 08:30", tz="UTC")
    assert pd.isna(t["start"].iloc[2])
    assert mining.case_timeline(con, "p", "nope").empty
    assert mining.case_timeline(con, "other", "c1").empty
    assert mining.case_attributes(con, "p", "c1") == {"site": "North", "priority": "high"}
    assert mining.case_attributes(con, "p", "nope") == {}


def test_throughput_fills_gaps(con) -> None:
    weeks = mining.throughput(con, ALL, "week")
    assert weeks["period"].tolist() == [pd.Timestamp(d) for d in ("2024-01-01", "2024-01-08", "2024-01-15",
                                                                  "2024-01-22")]
    assert weeks["cases_started"].tolist() == [1, 1, 0, 1]
    assert weeks["cases_ended"].tolist() == [1, 1, 0, 1]
    assert nan_list(weeks["median_cycle_time_s"]) == [25 * H, 27.5 * H, None, 0.0]
    months = mining.throughput(con, ALL, "month")
    assert months.to_dict("records") == [{"period": pd.Timestamp("2024-01-01"), "cases_started": 3,
                                          "cases_ended": 3, "median_cycle_time_s": 25 * H}]
    with pytest.raises(ValueError, match="unknown frequency"):
        mining.throughput(con, ALL, "day")
    assert mining.throughput(con, mining.Filters(process="none")).empty


def test_activity_times(con) -> None:
    t = mining.activity_times(con, ALL).set_index("activity")
    assert list(t.index) == ["Pay", "Check", "Register"]
    assert t["events"].tolist() == [2, 2, 3]
    assert t.loc["Check", "wait_median_s"] == 1.25 * H
    assert t.loc["Check", "wait_p90_s"] == pytest.approx(1.45 * H)
    assert t.loc["Pay", "wait_median_s"] == 23 * H
    assert t["wait_total_s"].tolist() == [46 * H, 2.5 * H, 0.0]
    assert t.loc["Pay", "wait_share"] == pytest.approx(46 / 48.5)
    assert pd.isna(t.loc["Register", "wait_median_s"]) and t.loc["Register", "wait_share"] == 0
    assert t.loc["Check", "processing_median_s"] == 1.5 * H
    assert t.loc["Register", "processing_median_s"] == 0.5 * H  # c3's Register has no start: left out
    assert pd.isna(t.loc["Pay", "processing_median_s"])
    only_c1 = mining.activity_times(con, mining.Filters(process="p", attributes={"priority": "high"}))
    assert only_c1.set_index("activity")["wait_total_s"].to_dict() == {"Pay": 22 * H, "Check": 1.5 * H,
                                                                       "Register": 0.0}


def test_arrival_heatmap_in_a_time_zone(con) -> None:
    utc = mining.arrival_heatmap(con, ALL)
    assert len(utc) == 7 * 24 and utc["cases"].sum() == 3
    cells = {(r.weekday, r.hour): r.cases for r in utc.itertuples() if r.cases}
    assert cells == {(0, 8): 1, (0, 23): 1, (0, 10): 1}
    # Amsterdam is UTC+1 in January: c2's Monday 23:30 UTC arrival is Tuesday 00:30 there.
    local = mining.arrival_heatmap(con, ALL, tz="Europe/Amsterdam")
    cells = {(r.weekday, r.hour): r.cases for r in local.itertuples() if r.cases}
    assert cells == {(0, 9): 1, (1, 0): 1, (0, 11): 1}
    with pytest.raises(ValueError, match="unknown time zone"):
        mining.arrival_heatmap(con, ALL, tz="Mars/Olympus")


def test_resource_workload(con) -> None:
    w = mining.resource_workload(con, ALL)
    assert w["resource"].tolist() == ["alice", "carol", "bob"]
    assert w["events"].tolist() == [4, 2, 1]
    assert w["cases"].tolist() == [3, 2, 1]
    assert w["role"].tolist() == ["clerk", "finance", "nurse"]
    assert nan_list(w["busy_s"]) == [3.0 * H, None, 1.0 * H]
    assert w["share"].tolist() == pytest.approx([4 / 7, 2 / 7, 1 / 7])


def test_handovers_and_their_dot(con) -> None:
    roles = mining.handovers(con, ALL, by="role")
    assert roles.to_dict("records") == [
        {"source": "clerk", "target": "nurse", "count": 2, "cases": 2, "wait_median_s": 1.25 * H},
        {"source": "nurse", "target": "finance", "count": 2, "cases": 2, "wait_median_s": 23 * H}]
    people = mining.handovers(con, ALL, by="resource")
    # alice -> alice in c2 is no handover.
    assert list(zip(people.source, people.target, people["count"], strict=True)) == [
        ("alice", "bob", 1), ("alice", "carol", 1), ("bob", "carol", 1)]
    assert people.set_index(["source", "target"]).loc[("alice", "carol"), "wait_median_s"] == 24 * H
    with pytest.raises(ValueError, match="unknown handover level"):
        mining.handovers(con, ALL, by="activity; DROP TABLE events")
    dot = mining.handover_dot(roles)
    assert dot.startswith("digraph handovers {") and dot.rstrip().endswith("}")
    assert 'n0 [label="clerk"]' in dot and 'n0 -> n2 [label=" 2 / 1.2 h"' in dot
    odd = roles.assign(source=['say "hi"', "nurse"])
    assert '[label="say \\"hi\\""]' in mining.handover_dot(odd)
    assert "->" not in mining.handover_dot(roles.iloc[:0])


def open_page(monkeypatch: pytest.MonkeyPatch, workspace: Path, page: str) -> AppTest:
    """Return the app switched to `page` of `workspace`."""
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(workspace))
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT).run()
    return at.switch_page(page).run()


def test_variants_page(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(monkeypatch, workspace, "views/variants.py")
    assert not at.exception
    assert at.title[0].value == "Variants & cases"
    table = at.dataframe[0].value
    assert table["variant"].tolist() == ["Register → Check → Pay", "Register"]
    assert table["cases"].tolist() == [2, 1]
    assert table["median duration"].tolist() == ["1.1 d", "0 s"]
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2, "coverage curve and case timeline"
    assert '"resource"' in charts[1].proto.spec
    assert at.selectbox(key="var_case").options == ["c1", "c2"]
    assert "Register" in at.dataframe[2].value["activity"].tolist()
    assert at.json[0].value and '"North"' in at.json[0].value
    # Pick the second variant: its only case is c3, whose timeline shows.
    at.selectbox(key="var_pick").set_value(1).run()
    assert not at.exception
    assert at.selectbox(key="var_case").options == ["c3"]
    assert at.dataframe[1].value["case_id"].tolist() == ["c3"]
    assert at.dataframe[2].value["activity"].tolist() == ["Register"]
    at.text_input(key="var_case_typed").input("c2").run()
    assert not at.exception
    assert at.dataframe[2].value["resource"].tolist() == ["alice", "alice", "carol"]
    at.text_input(key="var_case_typed").input("missing").run()
    assert "No case 'missing'" in at.warning[0].value
    assert len(at.get("vega_lite_chart")) == 1, "no timeline without a case"


def test_performance_page(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(monkeypatch, workspace, "views/performance.py")
    assert not at.exception
    assert at.title[0].value == "Performance & bottlenecks"
    assert {m.label: m.value for m in at.metric}["Cases"] == "3"
    subheaders = [s.value for s in at.main.subheader]
    assert subheaders == ["Case durations", "Bottlenecks", "Throughput", "Waiting vs processing per activity",
                          "Case arrivals", "Resource workload", "Handovers"]
    assert 'label="clerk"' in at.get("graphviz_chart")[0].proto.spec
    at.radio(key="perf_freq").set_value("Month").run()
    at.text_input(key="perf_tz").input("Europe/Amsterdam").run()
    at.radio(key="perf_handover_by").set_value("Resources").run()
    assert not at.exception
    assert 'label="alice"' in at.get("graphviz_chart")[0].proto.spec
    at.text_input(key="perf_tz").input("Mars/Olympus").run()
    assert not at.exception and "unknown time zone" in at.error[0].value


@pytest.mark.parametrize("page", ["views/variants.py", "views/performance.py"])
def test_pages_on_an_empty_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    missing = tmp_path / "new.duckdb"
    at = open_page(monkeypatch, missing, page)
    assert not at.exception
    assert "no events yet" in at.info[0].value
    assert not at.dataframe
    assert not missing.exists()
