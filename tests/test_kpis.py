"""KPIs on a tiny hand-made log with hand-computed values, and the KPIs page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest import connect
from mining import kpis
from mining.filters import Filters
from tests.conftest import csv_workspace
from tests.test_app_pages import ROOT, TIMEOUT

# c1: Create, Approve order, Create again (rework A B A); all by people; 07:00-11:00 = 4 h, P1 (target 4 h: met).
# c2: only a system (role 'system'); Check twice in a row (A A: no rework); 2 h, P2 (target 8 h: met). Touchless.
# c3: "ocr" (a system by configuration), then the exception Fix and an approval; 08:00-13:00 = 5 h, P3 (4 h: missed).
# c4: an approval opens the case (no turnaround), Pay has no resource (no touch); 2 h, no priority (no target).
LOG_CSV = """case_id,activity,timestamp,start_time,resource,role,case:priority
c1,Create,2024-01-01 08:00:00,2024-01-01 07:00:00,alice,clerk,P1
c1,Approve order,2024-01-01 10:00:00,,bob,manager,P1
c1,Create,2024-01-01 11:00:00,,alice,clerk,P1
c2,Create,2024-01-02 08:00:00,,bot,system,P2
c2,Check,2024-01-02 09:00:00,,bot,system,P2
c2,Check,2024-01-02 10:00:00,,bot,system,P2
c3,Create,2024-01-03 08:00:00,,ocr,service,P3
c3,Fix,2024-01-03 09:00:00,,carol,clerk,P3
c3,Approve order,2024-01-03 13:00:00,2024-01-03 12:00:00,dave,manager,P3
c4,Approve order,2024-01-04 08:00:00,,erin,manager,
c4,Pay,2024-01-04 10:00:00,,,,
"""
CONFIG = kpis.KpiConfig(system_resources=["ocr"], exception_activities=["Fix"],
                        sla_targets_hours={"P1": 4, "P2": 8, "P3": 4},
                        standard_minutes={"Create": 6, "Approve order": 30},
                        rate_per_role_hour={"clerk": 60, "manager": 120}, default_minutes=10, default_rate=30)
ALL = Filters(process="p")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return csv_workspace(tmp_path_factory.mktemp("kpis"), LOG_CSV)


@pytest.fixture
def con(workspace: Path):
    connection = connect(workspace)
    yield connection
    connection.close()


def test_kpis_per_case(con) -> None:
    found = kpis.kpis_per_case(con, ALL, CONFIG)
    assert found.columns.tolist() == kpis.PER_CASE_COLUMNS
    assert found["case_id"].tolist() == ["c1", "c2", "c3", "c4"]
    assert found["cycle_time_h"].tolist() == pytest.approx([4, 2, 5, 2])
    assert found["touchless"].tolist() == [False, True, False, False]
    assert found["exception"].tolist() == [False, False, True, False]
    assert found["rework"].tolist() == [True, False, False, False]
    assert found["first_time_right"].tolist() == [False, True, False, True]
    assert found["manual_touches"].tolist() == [3, 0, 2, 1]
    assert found["sla_met"].tolist()[:3] == [True, True, False]
    assert found["sla_met"].isna().tolist() == [False, False, False, True]
    # c1: 6 + 60 + 6; c3: Fix at the default 10 min by a clerk + 60; c4: one approval.
    assert found["cost"].tolist() == pytest.approx([72, 0, 70, 60])


def test_systems_are_configurable(con) -> None:
    # Without "ocr" as a system its event is a manual touch (cost at the default rate of its role 'service').
    found = kpis.kpis_per_case(con, ALL, kpis.KpiConfig())
    assert found["manual_touches"].tolist() == [3, 0, 3, 1]
    assert found["touchless"].tolist() == [False, True, False, False]
    assert found["sla_met"].isna().all()
    assert found["cost"].tolist() == pytest.approx([10 * 50 / 60 * 3, 0, 10 * 50 / 60 * 3, 10 * 50 / 60])


def test_kpi_summary(con) -> None:
    found = kpis.kpi_summary(con, ALL, CONFIG)
    assert found.columns.tolist() == kpis.SUMMARY_COLUMNS
    values = dict(zip(found["kpi"], found["value"], strict=True))
    cases = dict(zip(found["kpi"], found["cases"], strict=True))
    assert values == pytest.approx({
        "cycle time (median)": 3, "cycle time (mean)": 3.25, "cycle time (p90)": 4.7,
        "touchless rate": 0.25, "exception rate": 0.25, "rework rate": 0.25, "first-time-right rate": 0.5,
        "manual touches per case": 1.5, "SLA adherence": 2 / 3, "cost per case": 50.5})
    assert cases["SLA adherence"] == 3 and cases["rework rate"] == 4
    one = kpis.kpi_summary(con, Filters(process="p", attributes={"priority": "P3"}), CONFIG)
    assert dict(zip(one["kpi"], one["value"], strict=True))["SLA adherence"] == 0
    # The SLA clock can stop at an activity: c3 is within 1 h at Fix; cases without it run to their end.
    until = kpis.kpis_per_case(con, ALL, CONFIG.model_copy(update={"sla_until_activity": "Fix"}))
    assert until["sla_met"].tolist()[:3] == [True, True, True]


def test_approval_turnaround(con) -> None:
    # Default: activities starting with "Approve"; c1 2 h, c3 4 h after the previous end; c4's opens its case.
    found = kpis.approval_turnaround(con, ALL, CONFIG)
    assert found.columns.tolist() == kpis.APPROVAL_COLUMNS
    assert found["activity"].tolist() == ["Approve order"]
    assert found["count"].tolist() == [2]
    assert found[["median_h", "mean_h", "p90_h"]].values.tolist()[0] == pytest.approx([3, 3, 3.8])
    checks = kpis.approval_turnaround(con, ALL, kpis.KpiConfig(approval_activities=["Check"]))
    assert checks["activity"].tolist() == ["Check"]
    assert checks[["count", "median_h"]].values.tolist()[0] == pytest.approx([2, 1])


def test_rework_by_activity(con) -> None:
    # A B A counts (Create in c1); A A does not (Check in c2).
    found = kpis.rework_by_activity(con, ALL, CONFIG)
    assert found.columns.tolist() == kpis.REWORK_COLUMNS
    assert found.values.tolist() == [["Create", 1, 0.25]]
    assert kpis.rework_by_activity(con, Filters(process="p", attributes={"priority": "P2"}), CONFIG).empty


def test_default_config() -> None:
    invoices = kpis.default_config("supplier_invoices")
    assert {"Resolve price mismatch", "Reject duplicate", "Reset to draft"} <= set(invoices.exception_activities)
    assert kpis.default_config("service_requests").sla_targets_hours == {"P1": 4, "P2": 8, "P3": 24, "P4": 72}
    assert kpis.default_config("anything").approval_activities is None
    assert set(kpis.DEFINITIONS) >= {"cycle time", "touchless rate", "SLA adherence", "cost per case"}


def test_kpis_page(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> None:
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(workspace))
    at = AppTest.from_file(str(ROOT / "app" / "views" / "kpis.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "KPIs"
    labels = [m.label for m in at.metric]
    assert {"Median cycle time", "Touchless", "Rework", "Cost per case"} <= set(labels)
    assert len(at.dataframe) >= 3
