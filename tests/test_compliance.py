"""Compliance checks on a tiny log with known violations, the planted truths of the synthetic organisation, and
the Compliance page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ingest import connect
from mining import compliance
from mining.filters import Filters
from synthetic.export import load_into_workspace
from synthetic.generate import GeneratedOrg, generate
from tests.conftest import csv_workspace
from tests.test_app_pages import ROOT, TIMEOUT

EVIL = "x'); DROP TABLE events; --"
# c1: alice creates and approves (SoD), big enough and approved by a manager, paid after the approval.
# c2: a system creates and approves (no SoD by default); its approval is by a system, not a manager (threshold).
# c3: nobody known creates or approves (no SoD); paid before the approval (order); small.
# c4: a resource named like an injection creates and approves (SoD); no amount.
# c5: paid without any approval (order and threshold).
# c6: approve and pay end together; pay started earlier, so in case order it comes first (order).
LOG_CSV = f"""case_id,activity,start_time,end_time,resource,role,amount
c1,Create,2024-01-01 07:00:00,2024-01-01 08:00:00,alice,clerk,5000
c1,Approve,,2024-01-01 09:00:00,alice,manager,
c1,Pay,,2024-01-01 10:00:00,bob,finance,
c2,Create,,2024-01-02 08:00:00,bot,system,2000
c2,Approve,,2024-01-02 09:00:00,bot,system,
c2,Pay,,2024-01-02 10:00:00,bob,finance,
c3,Create,,2024-01-03 08:00:00,,clerk,500
c3,Pay,,2024-01-03 09:00:00,carol,finance,
c3,Approve,,2024-01-03 10:00:00,,manager,
c4,Create,,2024-01-04 08:00:00,"{EVIL}",clerk,
c4,Approve,,2024-01-04 09:00:00,"{EVIL}",manager,
c5,Pay,,2024-01-05 09:00:00,dan,finance,3000
c6,Create,,2024-01-06 08:00:00,erin,clerk,100
c6,Approve,2024-01-06 09:30:00,2024-01-06 10:00:00,frank,manager,
c6,Pay,2024-01-06 09:00:00,2024-01-06 10:00:00,bob,finance,
"""
SOD = compliance.SoDRule(name="self", first_activity="Create", second_activity="Approve")
THRESHOLD = compliance.ThresholdRule(name="big", min_amount=1000, approval_activities=["Approve"],
                                     required_roles=["manager"])
ORDER = compliance.OrderRule(name="pay after approve", before="Approve", after="Pay")
ALL = Filters(process="p")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny log imported as process "p"."""
    return csv_workspace(tmp_path_factory.mktemp("compliance"), LOG_CSV)


@pytest.fixture
def con(workspace: Path):
    connection = connect(workspace)
    yield connection
    connection.close()


def test_sod_ignores_systems_and_unknown_resources(con) -> None:
    found = compliance.check_sod(con, ALL, [SOD])
    assert found.columns.tolist() == compliance.SOD_COLUMNS
    assert found[["rule", "case_id", "resource"]].values.tolist() == [["self", "c1", "alice"], ["self", "c4", EVIL]]
    assert found["first_time"].tolist() == [ts("2024-01-01 08:00"), ts("2024-01-04 08:00")]
    assert found["second_time"].tolist() == [ts("2024-01-01 09:00"), ts("2024-01-04 09:00")]
    # Systems named explicitly replace the role: without names the bot counts as a person.
    assert compliance.check_sod(con, ALL, [SOD], systems=["bot"])["case_id"].tolist() == ["c1", "c4"]
    assert compliance.check_sod(con, ALL, [SOD], systems=[])["case_id"].tolist() == ["c1", "c2", "c4"]
    assert compliance.check_sod(con, ALL, [SOD], systems=["alice"])["case_id"].tolist() == ["c2", "c4"]
    # One activity twice needs two events by the same person.
    twice = compliance.SoDRule(name="twice", first_activity="Pay", second_activity="Pay")
    assert compliance.check_sod(con, ALL, [twice]).empty


def test_thresholds(con) -> None:
    found = compliance.check_thresholds(con, ALL, [THRESHOLD])
    assert found.columns.tolist() == compliance.THRESHOLD_COLUMNS
    assert found["case_id"].tolist() == ["c2", "c5"]
    assert found["amount"].tolist() == [2000.0, 3000.0]
    assert found["approvals"].tolist() == [0, 0]
    assert [list(r) for r in found["roles"]] == [["system"], []]
    assert [list(r) for r in found["approvers"]] == [["bot"], []]
    any_role = THRESHOLD.model_copy(update={"required_roles": None})
    assert compliance.check_thresholds(con, ALL, [any_role])["case_id"].tolist() == ["c5"]
    two = THRESHOLD.model_copy(update={"min_approvals": 2})
    assert compliance.check_thresholds(con, ALL, [two])["case_id"].tolist() == ["c1", "c2", "c5"]
    # c3's approval by a manager counts though its resource is unknown; c4 has no amount.
    low = THRESHOLD.model_copy(update={"min_amount": 100})
    assert compliance.check_thresholds(con, ALL, [low])["case_id"].tolist() == ["c2", "c5"]


def test_orders(con) -> None:
    found = compliance.check_orders(con, ALL, [ORDER])
    assert found.columns.tolist() == compliance.ORDER_COLUMNS
    assert found["case_id"].tolist() == ["c3", "c5", "c6"]
    assert found["resource"].tolist() == ["carol", "dan", "bob"]
    assert found["time"].tolist() == [ts("2024-01-03 09:00"), ts("2024-01-05 09:00"), ts("2024-01-06 10:00")]
    assert found["required_time"].tolist()[0] == ts("2024-01-03 10:00")
    assert pd.isna(found["required_time"].tolist()[1])
    with pytest.raises(ValueError):
        compliance.OrderRule(name="same", before="Pay", after="Pay")


def test_summary_and_filters(con) -> None:
    summary = compliance.compliance_summary(con, ALL, [SOD, THRESHOLD, ORDER])
    assert summary.columns.tolist() == compliance.SUMMARY_COLUMNS
    assert summary[["rule", "kind", "cases_checked", "violations"]].values.tolist() == [
        ["self", "sod", 5, 2], ["big", "threshold", 3, 2], ["pay after approve", "order", 5, 3]]
    assert summary["rate"].tolist() == pytest.approx([2 / 5, 2 / 3, 3 / 5])
    only = Filters(process="p", activities_absent=["Create"])
    assert compliance.check_orders(con, only, [ORDER])["case_id"].tolist() == ["c5"]
    assert compliance.compliance_summary(con, Filters(process="other"), [SOD])["rate"].isna().all()


def test_malicious_rule_contents_stay_data(con) -> None:
    rules = [compliance.SoDRule(name=EVIL, first_activity=EVIL, second_activity="Approve'; --"),
             compliance.OrderRule(name="o", before=EVIL, after="Pay"),
             compliance.ThresholdRule(name="t", min_amount=0, approval_activities=[EVIL], required_roles=[EVIL])]
    assert compliance.check_sod(con, ALL, rules[:1]).empty
    assert compliance.check_orders(con, ALL, rules[1:2])["case_id"].tolist() == ["c1", "c2", "c3", "c5", "c6"]
    assert compliance.check_thresholds(con, ALL, rules[2:])["case_id"].tolist() == ["c1", "c2", "c3", "c5", "c6"]
    by_evil = compliance.SoDRule(name="s", first_activity="Create", second_activity="Approve")
    # Named systems replace the role, so the bot counts as a person here.
    assert compliance.check_sod(con, ALL, [by_evil], systems=[EVIL])["case_id"].tolist() == ["c1", "c2"]
    assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == LOG_CSV.count("\n") - 1


# ---------------------------------------------------------------------------------- the synthetic organisation

@pytest.fixture(scope="module")
def org() -> GeneratedOrg:
    return generate(seed=3, months=2, volume=0.3)


@pytest.fixture(scope="module")
def synthetic_workspace(tmp_path_factory: pytest.TempPathFactory, org: GeneratedOrg) -> Path:
    path = tmp_path_factory.mktemp("synthetic") / "ws.duckdb"
    load_into_workspace(org, path)
    return path


@pytest.mark.parametrize(("process", "rule_name", "truth"), [
    ("purchase_requests", "PO creator approves", "sod_self_approved_po"),
    ("supplier_invoices", "Bill creator posts", "sod_bill_creator_posts"),
])
def test_default_sod_rules_find_the_planted_truth(org: GeneratedOrg, synthetic_workspace: Path, process: str,
                                                  rule_name: str, truth: str) -> None:
    planted = org.manifest["planted_truths"][truth]
    assert planted["count"] > 0
    rule = next(r for r in compliance.DEFAULT_RULES[process] if r.name == rule_name)
    con = connect(synthetic_workspace, read_only=True)
    try:
        found = compliance.check_sod(con, Filters(process=process), [rule])
    finally:
        con.close()
    assert set(found["case_id"]) == set(planted["case_ids"])
    assert len(found) == planted["count"]
    assert set(found["resource"]) == {planted["user"]}


def test_default_rules_hold_where_the_generator_keeps_them(synthetic_workspace: Path) -> None:
    con = connect(synthetic_workspace, read_only=True)
    try:
        for process, rules in compliance.DEFAULT_RULES.items():
            summary = compliance.compliance_summary(con, Filters(process=process), rules).set_index("rule")
            assert (summary["cases_checked"] > 0).all(), process
            for rule in rules:
                if not isinstance(rule, compliance.SoDRule):
                    assert summary.loc[rule.name, "violations"] == 0, rule.name
    finally:
        con.close()


def test_compliance_page(monkeypatch: pytest.MonkeyPatch, synthetic_workspace: Path) -> None:
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(synthetic_workspace))
    at = AppTest.from_file(str(ROOT / "app" / "views" / "compliance.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Compliance"
    at.selectbox(key="_process_pick").set_value("supplier_invoices").run()
    assert not at.exception
    summary = at.dataframe[1].value
    assert "Bill creator posts" in summary["rule"].tolist()
    # One expander per rule; the sidebar's filter panel and the reference model are expanders too.
    rules = [e for e in at.expander if e.label != "Filters" and not e.label.startswith("The reference model")]
    assert len(rules) == len(compliance.DEFAULT_RULES["supplier_invoices"])
    at.selectbox(key="_process_pick").set_value("onboarding").run()
    assert not at.exception
    assert "No rules" in at.info[0].value
