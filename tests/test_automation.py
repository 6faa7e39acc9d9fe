"""Automation candidates on a small hand-made log with hand-computed values, on the demo organisation's planted
truths, and the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest import connect
from mining import automation
from mining.filters import Filters
from tests.conftest import csv_workspace
from tests.test_app_pages import ROOT


def _log() -> str:
    # 20 cases on 20 days: Receive (system) 08:00; Route 09:00-09:10 (team follows from the case's kind);
    # Decide 10:00 (verdict alternates within each kind: nothing predicts it); Approve payment 10:30-11:00.
    # Case 0 routes again 10:15-10:25 after Decide (rework); case 1 holds the exception Fix at 10:10;
    # case 19's Route is done by a bot (role system).
    rows = ["case_id,activity,timestamp,start_time,resource,role,case:kind,team,verdict"]
    for i in range(20):
        day, kind = f"2024-01-{i + 1:02d}", "A" if i % 2 == 0 else "B"
        team = "red" if kind == "A" else "blue"
        verdict = "yes" if (i // 2) % 2 == 0 else "no"
        router = "bot,system" if i == 19 else "ann,clerk"
        rows += [f"c{i:02d},Receive,{day} 08:00:00,,bot,system,{kind},,",
                 f"c{i:02d},Route,{day} 09:10:00,{day} 09:00:00,{router},{kind},{team},",
                 f"c{i:02d},Decide,{day} 10:00:00,,bob,clerk,{kind},,{verdict}"]
        if i == 0:
            rows.append(f"c{i:02d},Route,{day} 10:25:00,{day} 10:15:00,ann,clerk,{kind},{team},")
        if i == 1:
            rows.append(f"c{i:02d},Fix,{day} 10:10:00,,bob,clerk,{kind},,")
        rows.append(f"c{i:02d},Approve payment,{day} 11:00:00,{day} 10:30:00,cat,manager,{kind},,")
    return "\n".join(rows) + "\n"


CONFIG = automation.AutomationConfig(exception_activities=["Fix"], min_events=4)
ALL = Filters(process="p")


@pytest.fixture(scope="module")
def ranked(tmp_path_factory: pytest.TempPathFactory):
    con = connect(csv_workspace(tmp_path_factory.mktemp("automation"), _log()))
    try:
        yield automation.automation_candidates(con, ALL, CONFIG).set_index("activity")
    finally:
        con.close()


def test_volume_manual_share_rework_and_times(ranked) -> None:
    route = ranked.loc["Route"]
    assert (route["events"], route["cases"], route["manual_events"]) == (21, 20, 20)
    assert route["manual_share"] == pytest.approx(20 / 21)
    assert route["rework_rate"] == pytest.approx(1 / 20)
    assert route["exception_rate"] == pytest.approx(1 / 20)
    # 21 x 10 minutes; 20 x 1 h after Receive plus 15 min after Decide in case 0.
    assert route["processing_h_total"] == pytest.approx(21 * 10 / 60)
    assert route["waiting_h_total"] == pytest.approx(20 + 0.25)
    assert route["variability"] == pytest.approx(0)
    assert ranked.loc["Receive", "manual_share"] == 0
    assert ranked.loc["Decide", "rework_rate"] == 0


def test_determinism_of_a_rule_and_of_noise(ranked) -> None:
    route, decide = ranked.loc["Route"], ranked.loc["Decide"]
    assert route["outcome"] == "team"
    assert route["determinism"] == 1.0 and route["baseline"] < 0.8
    assert route["predictors"] == ["kind"]
    assert "kind = A -> team = red" in route["rule"] and "kind = B -> team = blue" in route["rule"]
    assert decide["outcome"] == "verdict"
    assert decide["determinism"] <= 0.7
    assert route["feasibility"] > decide["feasibility"]
    # Fix and Approve payment are always followed by the same activity: deterministic without a learned rule.
    assert ranked.loc["Approve payment", "rule"].startswith("no decision: always next: ")


def test_control_class_and_tiers(ranked) -> None:
    assert ranked.loc["Approve payment", "control_class"] == "financial"
    assert ranked.loc["Approve payment", "recommendation"] == "assist"
    assert "a human keeps the decision" in ranked.loc["Approve payment", "reason"]
    assert ranked.loc["Route", "control_class"] == "none"
    assert ranked.loc["Receive", "recommendation"] == "automated"
    assert ranked["rank"].tolist() == list(range(1, 6))
    automate = ranked[ranked["recommendation"] == "automate"]
    assert set(automate.index) == {"Route", "Decide", "Fix"}
    assert automate["rank"].max() < ranked.loc["Approve payment", "rank"] < ranked.loc["Receive", "rank"]
    assert ranked.loc["Receive", "value"] == 0
    assert ranked["reason"].str.len().gt(0).all()


def test_control_rules() -> None:
    rules = automation.DEFAULT_CONTROL_RULES
    assert automation.control_class("Release payment", "finance controller", rules)[0] == "financial"
    assert automation.control_class("Approve purchase order", "buyer", rules)[0] == "contractual"
    assert automation.control_class("Approve IT access", "department head", rules)[0] == "access"
    assert automation.control_class("Record credential verification", None, rules)[0] == "compliance"
    for free in ("Code to cost centre", "Triage ticket", "Send purchase order", "Repay"):
        assert automation.control_class(free, "clerk", rules) == ("none", "")
    assert automation.control_class("Book", "CFO", rules) == ("financial", "role CFO")


def test_filters_restrict_the_cases(tmp_path: Path) -> None:
    con = connect(csv_workspace(tmp_path, _log()))
    try:
        only_b = automation.automation_candidates(con, Filters(process="p", attributes={"kind": "B"}), CONFIG)
        nothing = automation.automation_candidates(con, Filters(process="p", activities_present=["Nope"]), CONFIG)
    finally:
        con.close()
    assert only_b.set_index("activity").loc["Route", "events"] == 10
    assert nothing.empty and nothing.columns.tolist() == automation.COLUMNS


@pytest.fixture(scope="module")
def demo_ranked(demo_org) -> dict[str, object]:
    path, manifest = demo_org
    truths = manifest["planted_truths"]
    processes = {t["process"] for t in truths["automation_candidates"] + truths["keep_human"]}
    con = connect(path)
    try:
        return {p: automation.automation_candidates(con, Filters(process=p)).set_index("activity")
                for p in sorted(processes)} | {"truths": truths}
    finally:
        con.close()


def test_planted_candidates_rank_above_the_payment_release(demo_ranked) -> None:
    truths = demo_ranked["truths"]
    (keep,) = truths["keep_human"]
    kept = demo_ranked[keep["process"]].loc[keep["activity"]]
    assert keep["activity"] == "Release payment"
    assert kept["control_class"] == "financial" and kept["recommendation"] == "assist"
    for truth in truths["automation_candidates"]:
        row = demo_ranked[truth["process"]].loc[truth["activity"]]
        assert row["recommendation"] == "automate", truth["activity"]
        assert row["control_class"] == "none"
        assert row["rank"] <= 3, (truth["activity"], row["rank"])
        if truth["process"] == keep["process"]:
            assert row["rank"] < kept["rank"]
        assert row["events"] == truth["events"]


def test_learned_rules_on_the_demo(demo_ranked) -> None:
    triage = demo_ranked["service_requests"].loc["Triage ticket"]
    assert triage["outcome"] == "assigned_team"
    assert "category" in triage["predictors"] and "category = IT -> assigned_team = IT" in triage["rule"]
    assert triage["baseline"] < triage["determinism"] < 1
    coding = demo_ranked["supplier_invoices"].loc["Code to cost centre"]
    assert coding["determinism"] > 0.95 and "cost_centre" in coding["predictors"]


def test_page_renders_on_the_demo(demo_org, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = demo_org
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(path))
    at = AppTest.from_file(str(ROOT / "app" / "views" / "automation.py"), default_timeout=90).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Automation candidates"
    table = next(f.value for f in at.dataframe if "reason" in f.value.columns)
    assert {"value", "feasibility", "control_class", "reason"} <= set(table.columns)
    assert len(table) > 3
    assert at.get("vega_lite_chart") or at.get("arrow_vega_lite_chart")
    assert at.code, "the learned rule is missing"
