"""Bottlenecks and rework: exact values on a hand-made log, and the planted truths of the demo organisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import connect
from mining.bottlenecks import BottleneckConfig, bottlenecks, default_config
from mining.filters import Filters
from mining.rework import correction_activities, rework
from tests.conftest import csv_workspace

# Approvals by X (site S1) wait 10 h and 12 h, by Y (site S2) 1 h and 2 h. Payments are made 9 h after the
# due date whatever the wait before them (207, 421, 48 and 743 h): scheduled by the due date, not a queue.
LOG_CSV = """case_id,activity,end_time,resource,role,site,due_date
c1,Receive,2024-01-01 08:00:00,bot,system,S1,2024-01-10
c1,Approve,2024-01-01 18:00:00,X,manager,S1,2024-01-10
c1,Pay,2024-01-10 09:00:00,T,finance,S1,2024-01-10
c2,Receive,2024-01-02 08:00:00,bot,system,S1,2024-01-20
c2,Approve,2024-01-02 20:00:00,X,manager,S1,2024-01-20
c2,Pay,2024-01-20 09:00:00,T,finance,S1,2024-01-20
c3,Receive,2024-01-03 08:00:00,bot,system,S2,2024-01-05
c3,Approve,2024-01-03 09:00:00,Y,manager,S2,2024-01-05
c3,Pay,2024-01-05 09:00:00,T,finance,S2,2024-01-05
c4,Receive,2024-01-04 08:00:00,bot,system,S2,2024-02-04
c4,Approve,2024-01-04 10:00:00,Y,manager,S2,2024-02-04
c4,Pay,2024-02-04 09:00:00,T,finance,S2,2024-02-04
"""
EXACT = BottleneckConfig(min_events=1)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return csv_workspace(tmp_path_factory.mktemp("bottlenecks"), LOG_CSV, case_attributes=["due_date"])


@pytest.fixture
def con(workspace: Path):
    connection = connect(workspace)
    yield connection
    connection.close()


def test_wait_kinds_separate_queues_from_scheduled_waits(con):
    found = bottlenecks(con, Filters(process="p"), EXACT)
    kinds = dict(zip(found.wait_kinds.activity, found.wait_kinds.wait_kind, strict=True))
    assert kinds == {"Approve": "people", "Pay": "scheduled"}
    assert found.total_wait_h == pytest.approx(25 + 207 + 421 + 48 + 743)
    assert found.people_wait_h == pytest.approx(25)
    acts = found.activities.set_index("activity")
    assert acts.loc["Approve", "rank"] == 1 and acts.loc["Pay", "rank"] == 2
    assert acts.loc["Approve", "share_of_people_waiting"] == pytest.approx(1.0)
    assert acts.loc["Pay", "share_of_people_waiting"] == 0
    assert acts.loc["Pay", "share_of_all_waiting"] == pytest.approx(1419 / 1444)
    assert acts.loc["Approve", "wait_median_h"] == pytest.approx(6.0)
    # Without the date rule the payment is a queue in front of T, and T becomes the top resource.
    plain = bottlenecks(con, Filters(process="p"), BottleneckConfig(min_events=1, detect_scheduled=False))
    assert plain.resources.resource.iloc[0] == "T"
    configured = bottlenecks(con, Filters(process="p"), BottleneckConfig(
        min_events=1, detect_scheduled=False, scheduled_activities={"Pay": "the due date"}))
    assert configured.wait_kinds.set_index("activity").loc["Pay", "why"] == "waits for the due date"


def test_resources_and_transitions_are_ranked_with_peers(con):
    found = bottlenecks(con, Filters(process="p"), EXACT)
    res = found.resources.set_index("resource")
    assert list(found.resources.resource) == ["X", "Y"]
    assert res.loc["X", "share_of_people_waiting"] == pytest.approx(22 / 25)
    assert res.loc["X", "main_median_h"] == pytest.approx(11.0)
    assert res.loc["X", "peer_median_h"] == pytest.approx(1.5)
    trans = found.transitions
    assert list(zip(trans.prev_activity, trans.activity, trans.wait_total_h.round(6), strict=True)) == [
        ("Receive", "Approve", 25.0), ("Approve", "Pay", 1419.0)]


def test_findings_say_where_the_waiting_concentrates(con):
    found = bottlenecks(con, Filters(process="p"), EXACT)
    assert found.findings[0] == ("Approve at S1 (88% of this step's waiting, 50% of its events): 100% of all waiting "
                                 "for people, median 6.0 h; 88% of it waits for X (50% of the events)")
    assert found.findings[1] == ("X (manager): 88% of all waiting for people, median 11.0 h on Approve against "
                                 "1.5 h for the others doing Approve; completes no work on Wednesdays and Thursdays")
    assert found.findings[-1].startswith("Pay: 98% of all waiting, median ")
    assert "not a queue: follows the case's due_date" in found.findings[-1]


def test_filters_restrict_the_cases(con):
    found = bottlenecks(con, Filters(process="p", attributes={"site": "S2"}), EXACT)
    assert list(found.resources.resource) == ["Y"]
    assert found.people_wait_h == pytest.approx(3)
    evil = bottlenecks(con, Filters(process="p", attributes={"site": "S1' OR 1=1 --"}), EXACT)
    assert evil.activities.empty and evil.findings == []


def test_rework_counts_repeats_and_corrections(tmp_path):
    log = """case_id,activity,end_time
r1,A,2024-01-01 08:00:00
r1,B,2024-01-01 09:00:00
r1,A,2024-01-01 10:00:00
r2,A,2024-01-01 08:00:00
r2,A,2024-01-01 09:00:00
r2,B,2024-01-01 10:00:00
r3,A,2024-01-01 08:00:00
r3,Reassign ticket,2024-01-01 09:00:00
r3,B,2024-01-01 10:00:00
"""
    with connect(csv_workspace(tmp_path, log)) as con:
        assert correction_activities(con, "p") == ["Reassign ticket"]
        found = rework(con, Filters(process="p"))
        assert found.to_dict("records") == [
            {"activity": "A", "kind": "repeat", "cases": 1, "share": pytest.approx(1 / 3), "events": 1},
            {"activity": "Reassign ticket", "kind": "correction", "cases": 1, "share": pytest.approx(1 / 3),
             "events": 1},
        ]
        assert rework(con, Filters(process="p"), corrections=[]).activity.tolist() == ["A"]


def test_demo_bottleneck_ranks_first(demo_org):
    path, manifest = demo_org
    truth = manifest["planted_truths"]["approval_bottleneck"]
    person = truth["approver_waits_ranked"][0]["person"]
    weekday = {"Mon": "Mondays", "Tue": "Tuesdays", "Wed": "Wednesdays", "Thu": "Thursdays",
               "Fri": "Fridays"}[truth["absent_weekday"]]
    with connect(path, read_only=True) as con:
        for process in ("supplier_invoices", "purchase_requests"):
            found = bottlenecks(con, Filters(process=process), default_config(process, "Europe/Amsterdam"))
            assert found.resources.resource.iloc[0] == person, process
            top = found.activities.iloc[0]
            assert top.wait_kind == "people" and top.activity in truth["activities"], process
            assert person in found.findings[0], found.findings[0]
            assert found.findings[1].startswith(person) and f"completes no work on {weekday}" in found.findings[1]
        invoices = bottlenecks(con, Filters(process="supplier_invoices"))
        kinds = dict(zip(invoices.wait_kinds.activity, invoices.wait_kinds.wait_kind, strict=True))
        # The payment run waits for the due date (87% of all invoice waiting), not for the controller.
        assert kinds["Release payment"] == "scheduled" and kinds["Pay invoice"] == "system"
        assert invoices.activities.set_index("activity").loc["Release payment", "share_of_all_waiting"] > 0.5


def test_demo_misrouting_is_the_top_rework(demo_org):
    path, manifest = demo_org
    misrouted = set(manifest["planted_truths"]["misrouted_service_requests"]["case_ids"])
    with connect(path, read_only=True) as con:
        found = rework(con, Filters(process="service_requests"))
        assert found.activity.iloc[0] == "Reassign ticket"
        assert found.cases.iloc[0] == len(misrouted)
        cases = {r[0] for r in con.execute(
            "SELECT DISTINCT case_id FROM events WHERE process = 'service_requests' AND activity = 'Reassign ticket'"
        ).fetchall()}
        assert cases == misrouted


def test_performance_page_shows_the_planted_bottleneck_first(demo_org, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.test_app_pages import ROOT, TIMEOUT

    path, manifest = demo_org
    person = manifest["planted_truths"]["approval_bottleneck"]["approver_waits_ranked"][0]["person"]
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(path))
    at = AppTest.from_file(str(ROOT / "app" / "views" / "performance.py"), default_timeout=TIMEOUT * 4).run()
    at.selectbox(key="_process_pick").set_value("supplier_invoices").run()
    at.text_input(key="perf_tz").input("Europe/Amsterdam").run()
    assert not at.exception
    findings = next(m.value for m in at.markdown if m.value.startswith("1. "))
    first = findings.splitlines()[0]
    assert person in first and "Radiology" in first
    assert {m.label for m in at.metric} >= {"All waiting", "Waiting for people"}
    resources = next(d.value for d in at.dataframe if "resource" in d.value.columns and "peer_median_h" in d.value)
    assert resources["resource"].iloc[0] == person
