"""Core mining views (filters, DFG, variants, case durations): equal to pm4py's on every shipped real log,
independent of physical row order, and filters that treat user input as data."""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime

import pandas as pd
import pytest

from ingest import ImportOptions, connect, import_file
from ingest.demo import process_name
from mining import Filters, case_durations, case_selection, dfg, variants
from tests.conftest import REAL_LOGS, import_shipped, write_csv

sys._pm4py_welcome_shown = True  # pm4py prints a banner on import otherwise
import pm4py  # noqa: E402
from pm4py.statistics.traces.generic.pandas import case_statistics  # noqa: E402

REAL = sorted(p.name for p in REAL_LOGS.iterdir() if p.name.endswith((".csv.gz", ".xes.gz")))
CASE, ACT, TS = "case:concept:name", "concept:name", "time:timestamp"
MALICIOUS = "x'); DROP TABLE events; --"


@pytest.fixture(scope="module")
def real_con(tmp_path_factory):
    """One workspace holding all eight shipped logs, one process per file."""
    path = tmp_path_factory.mktemp("real") / "ws.duckdb"
    con = connect(path)
    import_shipped(con, REAL)
    yield con
    con.close()


def pm4py_frame(con, process: str) -> pd.DataFrame:
    """Return the process's events as a pm4py frame, correctly sorted; start_time kept aside as `start`."""
    df = con.execute("""
        SELECT case_id, activity, end_time, start_time FROM events WHERE process = ?
        ORDER BY case_id, end_time, start_time, event_id
    """, [process]).df()
    return df.rename(columns={"case_id": CASE, "activity": ACT, "end_time": TS, "start_time": "start"})


@pytest.mark.parametrize("name", REAL)
def test_equal_to_pm4py_on_real_log(real_con, name):
    process = process_name(REAL_LOGS / name)
    frame = pm4py_frame(real_con, process)
    # Only the end timestamp goes to pm4py: given a start_timestamp column, its DFG orders by start time.
    log = frame[[CASE, ACT, TS]].copy()
    filters = Filters(process=process)

    graph = dfg(real_con, filters)
    pm_dfg, pm_start, pm_end = pm4py.discover_dfg(log)
    assert {(r.source, r.target): r.frequency for r in graph.edges.itertuples()} == dict(pm_dfg)
    assert dict(zip(graph.start_activities.activity, graph.start_activities.cases, strict=True)) == dict(pm_start)
    assert dict(zip(graph.end_activities.activity, graph.end_activities.cases, strict=True)) == dict(pm_end)
    events = pm4py.get_event_attribute_values(log, ACT)
    assert dict(zip(graph.activities.activity, graph.activities.events, strict=True)) == dict(events)
    assert dict(zip(graph.activities.activity, graph.activities.cases, strict=True)) == \
        log.groupby(ACT)[CASE].nunique().to_dict()
    # Edge case counts, checked against a directly-follows table built by pandas from the sorted frame.
    nxt = log.assign(target=log.groupby(CASE)[ACT].shift(-1)).dropna(subset=["target"])
    assert dict(zip(zip(graph.edges.source, graph.edges.target, strict=True), graph.edges.cases, strict=True)) == \
        nxt.groupby([ACT, "target"])[CASE].nunique().to_dict()

    var = variants(real_con, filters)
    assert {tuple(a): n for a, n in zip(var.activities, var.cases, strict=True)} == dict(pm4py.get_variants(log))
    assert var.coverage.iloc[-1] == pytest.approx(1.0)
    assert list(var.cases) == sorted(var.cases, reverse=True)

    # pm4py's case statistics read only the end timestamp (a start timestamp key is ignored), so on a log with
    # start times each start becomes an event of its own: the case then spans earliest start to latest end.
    starts = frame[frame.start.notna()].assign(**{TS: lambda f: f.start})
    spans = pd.concat([frame, starts])[[CASE, ACT, TS]].sort_values([CASE, TS], kind="stable")
    expected = {c: d["caseDuration"] for c, d in case_statistics.get_cases_description(spans).items()}
    durations = case_durations(real_con, filters)
    assert set(durations.case_id) == set(expected)
    for case_id, seconds in zip(durations.case_id, durations.duration_s, strict=True):
        assert seconds == pytest.approx(expected[case_id], abs=1e-6)
    assert sorted(durations.duration_s) == pytest.approx(pm4py.get_all_case_durations(spans), abs=1e-6)


def test_results_unchanged_when_rows_shuffled(real_con, tmp_path):
    rows = real_con.execute("""
        SELECT case_id, activity, strftime(end_time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS timestamp,
               resource
        FROM events WHERE process = 'receipt_wabo'
        ORDER BY case_id, end_time, start_time, event_id
    """).df()
    results = []
    for order, frame in (("sorted", rows), ("shuffled", rows.sample(frac=1, random_state=7))):
        (tmp_path / order).mkdir()
        # Same file name for both copies, so the two imports derive the same event ids.
        path = write_csv(tmp_path / order / "receipt.csv", frame.to_dict("records"))
        con = connect(tmp_path / order / "ws.duckdb")
        try:
            import_file(path, ImportOptions(process="receipt_wabo"), con=con)
            f = Filters(process="receipt_wabo")
            graph = dfg(con, f)
            results.append((graph.edges, graph.activities, graph.start_activities, graph.end_activities,
                            variants(con, f), case_durations(con, f)))
        finally:
            con.close()
    assert rows.index.tolist() != rows.sample(frac=1, random_state=7).index.tolist()
    for a, b in zip(*results, strict=True):
        pd.testing.assert_frame_equal(a, b)
    # And equal to the views of the original import of the shipped file.
    original = variants(real_con, Filters(process="receipt_wabo"))
    assert original.cases.tolist() == results[0][4].cases.tolist()


# A tiny hand-made log: five cases in early January 2024 (times UTC).
TINY = [
    ("c1", "A", "2024-01-01T08:00:00Z", "ams", "fin", "high"),
    ("c1", "B", "2024-01-01T09:00:00Z", "ams", "fin", "high"),
    ("c1", "C", "2024-01-01T10:00:00Z", "ams", "fin", "high"),
    ("c2", "A", "2024-01-05T08:00:00Z", "rtm", "hr", "low"),
    ("c2", "C", "2024-01-07T08:00:00Z", "rtm", "hr", "low"),
    ("c3", "B", "2024-01-10T08:00:00Z", "ams", "hr", "high"),
    ("c3", "C", "2024-01-10T08:30:00Z", "ams", "hr", "high"),
    ("c4", "A", "2023-12-30T08:00:00Z", "ams", "fin", "low"),
    ("c4", "B", "2024-01-02T08:00:00Z", "ams", "fin", "low"),
    ("c5", "A", "2023-12-31T08:00:00Z", "ams", "fin", MALICIOUS),
    ("c5", "C", "2024-01-04T08:00:00Z", "ams", "fin", MALICIOUS),
]
# Start and end times: the wait from A to B runs from A's end (09:00) to B's start (09:30).
TINY_START_END = [
    {"case_id": "s1", "activity": "A", "start_time": "2024-01-01T08:00:00Z", "end_time": "2024-01-01T09:00:00Z"},
    {"case_id": "s1", "activity": "B", "start_time": "2024-01-01T09:30:00Z", "end_time": "2024-01-01T10:00:00Z"},
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    keys = ("case_id", "activity", "timestamp", "site", "department", "priority")
    path = write_csv(tmp / "tiny.csv", [dict(zip(keys, row, strict=True)) for row in TINY])
    con = connect(tmp / "ws.duckdb")
    import_file(path, ImportOptions(process="t", case_attributes=["priority"]), con=con)
    import_file(write_csv(tmp / "se.csv", TINY_START_END), ImportOptions(process="se"), con=con)
    yield con
    con.close()


def selected(con, **criteria) -> set[str]:
    sql, params = case_selection(Filters(process="t", **criteria))
    return {row[0] for row in con.execute(sql, params).fetchall()}


def jan(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


def test_filter_time_window(tiny):
    window = {"time_from": jan(1), "time_to": jan(3)}
    assert selected(tiny, time_mode="started", **window) == {"c1"}
    assert selected(tiny, time_mode="ended", **window) == {"c1", "c4"}
    assert selected(tiny, time_mode="active", **window) == {"c1", "c4", "c5"}
    assert selected(tiny, time_mode="started", time_from=jan(5)) == {"c2", "c3"}
    assert selected(tiny, time_mode="ended", time_to=jan(2)) == {"c1"}  # c4 ends at jan 2 08:00: excluded
    assert selected(tiny, time_from=datetime(2024, 1, 10, 8, 30)) == {"c3"}  # naive bounds are UTC


def test_filter_case_attributes(tiny):
    assert selected(tiny) == {"c1", "c2", "c3", "c4", "c5"}
    assert selected(tiny, attributes={"site": "ams"}) == {"c1", "c3", "c4", "c5"}
    assert selected(tiny, attributes={"department": "hr"}) == {"c2", "c3"}
    assert selected(tiny, attributes={"priority": "high"}) == {"c1", "c3"}
    assert selected(tiny, attributes={"site": "ams", "priority": "low"}) == {"c4"}
    assert selected(tiny, attributes={"missing": "x"}) == set()


def test_filter_activities_duration_start_end_variants(tiny):
    assert selected(tiny, activities_present=["B"]) == {"c1", "c3", "c4"}
    assert selected(tiny, activities_present=["A", "B"]) == {"c1", "c4"}
    assert selected(tiny, activities_absent=["B"]) == {"c2", "c5"}
    assert selected(tiny, duration_min_s=7200) == {"c1", "c2", "c4", "c5"}
    assert selected(tiny, duration_max_s=7200) == {"c1", "c3"}
    assert selected(tiny, duration_min_s=3600, duration_max_s=200_000) == {"c1", "c2"}
    assert selected(tiny, start_activities=["B"]) == {"c3"}
    assert selected(tiny, end_activities=["B"]) == {"c4"}
    assert selected(tiny, end_activities=["C"]) == {"c1", "c2", "c3", "c5"}
    a_c = hashlib.md5(b"A\x1fC").hexdigest()
    assert selected(tiny, variants=[a_c]) == {"c2", "c5"}
    assert selected(tiny, variants=[a_c], time_mode="started", time_from=jan(3)) == {"c2"}


def test_filter_values_are_data_not_sql(tiny):
    assert selected(tiny, attributes={"site": MALICIOUS}) == set()
    assert selected(tiny, attributes={MALICIOUS: "x"}) == set()
    assert selected(tiny, attributes={"priority": MALICIOUS}) == {"c5"}
    assert selected(tiny, activities_present=[MALICIOUS]) == set()
    assert selected(tiny, variants=[MALICIOUS], start_activities=[MALICIOUS]) == set()
    assert tiny.execute("SELECT count(*) FROM events WHERE process = 't'").fetchall() == [(len(TINY),)]
    sql, params = case_selection(Filters(process=MALICIOUS, attributes={MALICIOUS: MALICIOUS}))
    assert MALICIOUS not in sql and MALICIOUS in params.values()


def test_filters_reject_inverted_ranges():
    with pytest.raises(ValueError):
        Filters(process="t", time_from=jan(3), time_to=jan(1))
    with pytest.raises(ValueError):
        Filters(process="t", duration_min_s=10, duration_max_s=1)


def test_tiny_dfg_variants_durations(tiny):
    graph = dfg(tiny, Filters(process="t"))
    edge = graph.edges.set_index(["source", "target"]).loc[("A", "C")]
    assert (edge.frequency, edge.cases) == (2, 2)
    assert (edge.wait_median_s, edge.wait_mean_s, edge.wait_total_s) == (259_200, 259_200, 518_400)
    assert edge.wait_p90_s == pytest.approx(172_800 + 0.9 * 172_800)
    assert dict(zip(graph.start_activities.activity, graph.start_activities.cases, strict=True)) == {"A": 4, "B": 1}
    assert dict(zip(graph.end_activities.activity, graph.end_activities.cases, strict=True)) == {"C": 4, "B": 1}
    assert graph.activities.to_dict("list") == {"activity": ["A", "C", "B"], "events": [4, 4, 3],
                                                "cases": [4, 4, 3]}

    var = variants(tiny, Filters(process="t"))
    assert [list(a) for a in var.activities][0] == ["A", "C"]
    assert var.cases.tolist() == [2, 1, 1, 1]
    assert var.share.tolist() == pytest.approx([0.4, 0.2, 0.2, 0.2])
    assert var.coverage.tolist() == pytest.approx([0.4, 0.6, 0.8, 1.0])
    assert var.median_duration_s.iloc[0] == pytest.approx((172_800 + 345_600) / 2)
    assert len(variants(tiny, Filters(process="t"), top=2)) == 2

    durations = case_durations(tiny, Filters(process="t", activities_absent=["A"]))
    assert durations.case_id.tolist() == ["c3"] and durations.duration_s.tolist() == [1800]

    se = dfg(tiny, Filters(process="se"))
    assert se.edges.wait_total_s.tolist() == [1800]  # end of A to start of B, not to its end
    assert case_durations(tiny, Filters(process="se")).duration_s.tolist() == [7200]  # first start to last end
