"""The synthetic clinic network: calendars, determinism, volumes, calendars of people, planted truths, arrival
rates, and loading into a workspace. Small scales only (months=2, volume <= 1), so the file runs in seconds."""

from __future__ import annotations

import os
import subprocess
import sys
from array import array
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest import connect
from ingest.columns import resolve_mapping
from synthetic.__main__ import main as cli_main
from synthetic.calendar import CalendarFactory, Clock, WorkCalendar, dutch_public_holidays, easter_sunday
from synthetic.export import event_log_table, load_into_workspace
from synthetic.generate import GeneratedOrg, generate
from synthetic.params import SHIFT_PATTERNS, GeneratorParams
from tests.conftest import REPO

MACHINES = ("system", "external")
CHASERS = ("Send approval reminder", "Escalate approval")


@pytest.fixture(scope="module")
def small() -> GeneratedOrg:
    """Return a small network (2 months, volume 0.3)."""
    return generate(seed=7, months=2, volume=0.3)


@pytest.fixture(scope="module")
def medium() -> GeneratedOrg:
    """Return a full-volume network over 2 months (about 55,000 events)."""
    return generate(seed=11, months=2, volume=1.0)


@pytest.fixture(scope="module")
def year() -> GeneratedOrg:
    """Return a quarter-volume network over 12 months (enough hires for the credential tail)."""
    return generate(seed=3, months=12, volume=0.25)


def _frame(org: GeneratedOrg, process: str) -> pd.DataFrame:
    df = org.events_frame(process)
    for column in ("activity", "resource", "role"):
        df[column] = df[column].astype(str)
    return df


def _resource_per_case(df: pd.DataFrame, activity: str) -> pd.Series:
    return df[df.activity == activity].groupby("case_id").resource.agg(set)


# ------------------------------------------------------------------------------------------------ calendars

def test_easter_and_dutch_public_holidays():
    assert [easter_sunday(y) for y in (2024, 2025, 2026)] == [date(2024, 3, 31), date(2025, 4, 20), date(2026, 4, 5)]
    h2025 = dutch_public_holidays(2025)
    assert h2025[date(2025, 4, 26)] == "King's Day"  # 27 April 2025 is a Sunday
    assert h2025[date(2025, 5, 29)] == "Ascension Day"
    assert h2025[date(2025, 6, 9)] == "Whit Monday"
    assert h2025[date(2025, 5, 5)] == "Liberation Day"  # lustrum year
    assert date(2026, 5, 5) not in dutch_public_holidays(2026)
    assert date(2026, 4, 27) in dutch_public_holidays(2026)


def test_work_calendar_slots():
    cal = WorkCalendar(array("d", [480, 960, 1920]), array("d", [540, 1020, 2400]))
    assert cal.is_working(500) and not cal.is_working(540) and not cal.is_working(600)
    assert cal.next_slot(500, 30) == 500
    assert cal.next_slot(520, 30) == 960  # does not fit before 540: next interval
    assert cal.next_slot(1000, 100) == 1920  # too long for the 60-minute block
    assert cal.next_working_instant(1100) == 1920
    assert cal.next_shift_start(500) == 960
    assert cal.contains(960, 1020) and not cal.contains(1000, 1021)


def test_shifts_follow_local_time_across_daylight_saving():
    clock = Clock(date(2025, 3, 28), "Europe/Amsterdam")
    factory = CalendarFactory(clock, SHIFT_PATTERNS, date(2025, 3, 28), date(2025, 4, 1))
    cal = factory.calendar("office")  # 08:30-17:00 local, Mon-Fri; DST starts Sunday 30 March
    starts = [clock.local(s).strftime("%a %H:%M") for s in cal.starts]
    assert starts == ["Fri 08:30", "Mon 08:30", "Tue 08:30"]
    assert clock.utc(cal.starts[0]).hour == 7 and clock.utc(cal.starts[1]).hour == 6


# -------------------------------------------------------------------------------------------- determinism

def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path, small: GeneratedOrg):
    args = ["--seed", "7", "--months", "2", "--volume", "0.3", "--csv"]
    assert cli_main([*args, "--out", str(tmp_path / "a")]) == 0
    # Again in a fresh interpreter with another hash seed: nothing may depend on set or dict-hash order.
    subprocess.run([sys.executable, "-m", "synthetic", *args, "--out", str(tmp_path / "b")], check=True,
                   capture_output=True, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "12345"})
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert {str(f) for f in files} >= {"manifest.json", "cases.parquet", "events/supplier_invoices.parquet",
                                       "events/service_requests.csv"}
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    other = generate(seed=8, months=2, volume=0.3)
    assert other.manifest != small.manifest
    assert not other.event_tables["supplier_invoices"].equals(small.event_tables["supplier_invoices"])


def test_a_process_change_leaves_other_processes_random_numbers_alone(small: GeneratedOrg):
    params = GeneratorParams()
    params.onboarding.arrivals.per_year = 800
    params.service_requests.p_reopen = 0.5
    changed = generate(seed=7, months=2, volume=0.3, params=params)
    assert changed.case_tables["onboarding"].num_rows != small.case_tables["onboarding"].num_rows
    for column in ("case_id", "amount", "vendor", "bill_number", "has_po", "due_date"):
        assert changed.case_tables["supplier_invoices"].column(column).equals(
            small.case_tables["supplier_invoices"].column(column)), column
    for column in ("case_id", "category", "amount"):
        assert changed.case_tables["purchase_requests"].column(column).equals(
            small.case_tables["purchase_requests"].column(column)), column


# -------------------------------------------------------------------------------------------------- volumes

def test_volumes_follow_the_yearly_rates(medium: GeneratedOrg):
    per_year = {"supplier_invoices": 15000, "purchase_requests": 6000, "onboarding": 400,
                "service_requests": 12000, "inventory_exceptions": 2000}
    for process, rate in per_year.items():
        arrivals = medium.manifest["arrivals"][process]
        expected = arrivals["expected_cases"]
        assert abs(expected - rate * 2 / 12) < 0.25 * rate * 2 / 12, process  # Jan-Feb vs a sixth of the year
        realised = medium.case_tables[process].num_rows
        assert realised == arrivals["realised_cases"] == medium.manifest["counts"][process]["cases"]
        assert abs(realised - expected) < 5 * np.sqrt(expected) + 2, process
        first = _frame(medium, process).groupby("case_id").size()
        assert len(first) == realised  # every case has events


def test_volume_knob_scales_cases(small: GeneratedOrg, medium: GeneratedOrg):
    ratio = medium.manifest["arrivals"]["service_requests"]["expected_cases"] / \
        small.manifest["arrivals"]["service_requests"]["expected_cases"]
    assert ratio == pytest.approx(1.0 / 0.3, rel=1e-6)
    assert medium.manifest["scale"]["load"] > small.manifest["scale"]["load"]


def test_sites_knob():
    one = generate(seed=1, months=1, sites=1, volume=0.2)
    six = generate(seed=1, months=1, sites=6, volume=0.2)
    assert set(one.cases_frame().site) == {"Westerhaven Central Hospital"}
    assert len(set(six.cases_frame().site)) == 6
    assert six.manifest["scale"]["load"] == pytest.approx(2 * 0.2)  # two copies of the default network
    assert six.manifest["arrivals"]["supplier_invoices"]["expected_cases"] > \
        3 * one.manifest["arrivals"]["supplier_invoices"]["expected_cases"]


# ------------------------------------------------------------------------------------------ people at work

def test_nobody_works_outside_their_calendar(medium: GeneratedOrg):
    people = medium.organisation.by_name
    origin = pd.Timestamp(medium.clock.origin)
    checked = 0
    for process in medium.processes:
        df = _frame(medium, process)
        human = df[~df.role.isin(MACHINES)]
        end = (human.end_time - origin).dt.total_seconds() / 60.0
        start = ((human.start_time - origin).dt.total_seconds() / 60.0).fillna(end)
        for name, s, e in zip(human.resource, start, end, strict=True):
            cal = people[name].calendar
            assert cal.contains(s, e), f"{process}: {name} works {s}-{e} outside their calendar"
            checked += 1
    assert checked > 20000


# ----------------------------------------------------------------------------------------------- planted truths

def test_self_approved_purchase_orders_match_the_manifest(medium: GeneratedOrg):
    df = _frame(medium, "purchase_requests")
    created = _resource_per_case(df, "Create purchase order")
    approved = _resource_per_case(df, "Approve purchase order")
    both = created.to_frame("c").join(approved.to_frame("a"), how="inner")
    self_approved = both[[bool(c & a) for c, a in zip(both.c, both.a, strict=True)]]
    truth = medium.manifest["planted_truths"]["sod_self_approved_po"]
    assert truth["count"] > 0
    assert len(self_approved) == truth["count"]
    assert set(self_approved.index) == set(truth["case_ids"])
    assert {next(iter(c)) for c in self_approved.c} == {truth["user"]}


def test_bill_creator_posting_matches_the_manifest(medium: GeneratedOrg):
    df = _frame(medium, "supplier_invoices")
    created = _resource_per_case(df, "Create bill")
    posted = _resource_per_case(df, "Post invoice")
    both = created.to_frame("c").join(posted.to_frame("p"), how="inner")
    violations = both[[bool(c & p) for c, p in zip(both.c, both.p, strict=True)]]
    truth = medium.manifest["planted_truths"]["sod_bill_creator_posts"]
    assert truth["count"] > 0
    assert len(violations) == truth["count"]
    assert set(violations.index) == set(truth["case_ids"])
    assert {next(iter(c)) for c in violations.c} == {truth["user"]}


def test_the_bottleneck_approver_waits_longest_and_never_works_their_day_off(medium: GeneratedOrg):
    frames = []
    for process in ("supplier_invoices", "purchase_requests"):
        df = _frame(medium, process)  # rows are ordered by case, end time, start time
        df = df[~df.activity.isin(CHASERS)]  # reminders do not enable the approval
        df["previous_end"] = df.groupby("case_id").end_time.shift()
        approvals = df[df.activity.str.startswith("Approve") & df.previous_end.notna()]
        frames.append(approvals[["resource", "start_time", "previous_end"]])
    approvals = pd.concat(frames)
    waits = ((approvals.start_time - approvals.previous_end).dt.total_seconds() / 3600).groupby(
        approvals.resource).agg(["mean", "size"])
    waits = waits[waits["size"] >= 20].sort_values("mean", ascending=False)
    truth = medium.manifest["planted_truths"]["approval_bottleneck"]
    assert waits.index[0] == truth["person"] == truth["largest_mean_wait"]
    assert waits["mean"].iloc[0] > 2 * waits["mean"].iloc[1]
    everything = medium.events_frame()
    mine = everything[everything.resource.astype(str) == truth["person"]]
    assert len(mine) > 100
    for column in ("start_time", "end_time"):
        local = mine[column].dropna().dt.tz_convert("Europe/Amsterdam")
        assert not (local.dt.day_name().str[:3] == truth["absent_weekday"]).any()
    person = medium.organisation.by_name[truth["person"]]
    assert person.site.name == truth["site"] and person.department == "Radiology"


def test_reminders_and_escalations_of_waiting_approvals(medium: GeneratedOrg):
    truth = medium.manifest["planted_truths"]["approval_reminders"]
    remind, escalate = truth["reminder_after_hours"], truth["escalation_after_hours"]
    counts = {"Send approval reminder": 0, "Escalate approval": 0}
    waited, reminded_by = Counter(), Counter()
    for process in ("supplier_invoices", "purchase_requests"):
        df = _frame(medium, process)
        for _, case in df.groupby("case_id", sort=False):
            ready, pending = None, []
            for ev in case.itertuples():
                if ev.activity in CHASERS:
                    assert ev.resource == "n8n" and pd.isna(ev.start_time)
                    pending.append(ev)
                    counts[ev.activity] += 1
                    continue
                if ev.activity.startswith(("Approve request", "Reject purchase request", "Approve invoice")):
                    wait = (ev.start_time - ready).total_seconds() / 3600
                    kinds = [p.activity for p in pending]
                    expected = ["Send approval reminder"] * (wait >= remind) + ["Escalate approval"] * (
                        wait >= remind + escalate)
                    assert kinds == expected, (ev.case_id, wait, kinds)
                    for p, hours in zip(pending, (remind, remind + escalate), strict=False):
                        assert (p.end_time - ready).total_seconds() / 3600 == pytest.approx(hours)
                        assert p.end_time <= ev.start_time
                    waited[ev.resource] += 1
                    reminded_by[ev.resource] += bool(pending)
                else:
                    assert not pending, ev.case_id  # chasers only before an approval
                pending = []
                ready = ev.end_time
    assert counts["Send approval reminder"] == truth["reminders"] > 0
    assert counts["Escalate approval"] == truth["escalations"]  # each one follows a reminder (checked above)
    rates = {k: reminded_by[k] / n for k, n in waited.items() if n >= 20}
    assert max(rates, key=rates.get) == medium.manifest["planted_truths"]["approval_bottleneck"]["person"]


def test_rework_loop_on_invoices_without_po(medium: GeneratedOrg):
    df = _frame(medium, "supplier_invoices")
    reset_cases = set(df[df.activity == "Reset to draft"].case_id)
    truth = medium.manifest["planted_truths"]["invoice_rework"]
    assert reset_cases == set(truth["case_ids"])
    cases = medium.cases_frame("supplier_invoices").set_index("case_id")
    reworked = cases.loc[sorted(reset_cases)]
    no_po_rate = (~reworked.has_po).sum() / (~cases.has_po).sum()
    po_rate = reworked.has_po.sum() / cases.has_po.sum()
    assert no_po_rate > 5 * po_rate
    # After a reset the invoice is coded, approved and posted again.
    for _, case in df[df.case_id.isin(reset_cases)].groupby("case_id"):
        acts = case.activity.tolist()
        k = acts.index("Reset to draft")
        assert acts[k + 1] == "Code to cost centre" and "Approve invoice (department head)" in acts[k + 2:]
        assert acts.count("Post invoice") == acts.count("Reset to draft") + 1


def test_misrouted_requests_are_all_reassigned(medium: GeneratedOrg):
    df = _frame(medium, "service_requests")
    reassigned = set(df[df.activity == "Reassign ticket"].case_id)
    truth = medium.manifest["planted_truths"]["misrouted_service_requests"]
    assert truth["count"] > 20
    assert set(truth["case_ids"]) == reassigned
    cases = medium.cases_frame("service_requests").set_index("case_id")
    wrong = cases[cases.triage_team != cases.category]
    assert set(wrong.index) == reassigned
    novice_share = truth["by_triage_agent"].get(truth["novice"], 0) / truth["count"]
    assert novice_share > 1 / len(medium.organisation.staff("IT service desk agent"))


def test_credential_verification_has_a_heavy_tail(year: GeneratedOrg):
    df = _frame(year, "onboarding")
    requested = df[df.activity == "Request credential verification"].set_index("case_id").end_time
    received = df[df.activity == "Credential verification received"].set_index("case_id").end_time
    days = ((received - requested.loc[received.index]).dt.total_seconds() / 86400).to_numpy()
    truth = year.manifest["planted_truths"]["credential_verification_tail"]
    assert len(days) == truth["count"] > 50
    assert np.percentile(days, 95) / np.median(days) > 4
    assert np.median(days) == pytest.approx(truth["median_days"], abs=0.01)
    # Other onboarding waits are not heavy-tailed like that.
    docs_req = df[df.activity == "Request documents"].groupby("case_id").end_time.first()
    docs_in = df[df.activity == "Documents received"].groupby("case_id").end_time.first()
    doc_days = ((docs_in - docs_req.loc[docs_in.index]).dt.total_seconds() / 86400).to_numpy()
    assert np.percentile(doc_days, 95) / np.median(doc_days) < np.percentile(days, 95) / np.median(days)


def test_automation_candidates_and_keep_human_are_in_the_log(medium: GeneratedOrg):
    truths = medium.manifest["planted_truths"]
    for ref in truths["automation_candidates"] + truths["keep_human"]:
        df = _frame(medium, ref["process"])
        rows = df[df.activity == ref["activity"]]
        assert len(rows) == ref["events"] > 100
        assert not rows.role.isin(MACHINES).any()  # done by people today
    release = _frame(medium, "supplier_invoices")
    release = release[release.activity == "Release payment"]
    assert set(release.role) <= {"finance controller", "CFO"}


def test_systems_appear_as_resources(medium: GeneratedOrg):
    resources = set(medium.events_frame().resource.astype(str))
    assert {"n8n", "ocr-service", "odoo-bot", "bank-interface", "helpdesk-portal"} <= resources


# ------------------------------------------------------------------------------------------------- arrivals

def test_observed_arrivals_by_hour_of_week_match_the_true_rates(medium: GeneratedOrg):
    for process in medium.processes:
        df = medium.events_frame(process)
        first = df.groupby("case_id").end_time.min().dt.tz_convert("Europe/Amsterdam")
        how = first.dt.weekday * 24 + first.dt.hour
        observed = np.bincount(how, minlength=168)
        expected = np.array(medium.manifest["arrivals"][process]["expected_by_hour_of_week"])
        assert observed.sum() == len(first)
        assert (observed[expected == 0] == 0).all(), process
        z = (observed - expected)[expected > 0] / np.sqrt(expected[expected > 0])
        assert np.abs(z).max() < 5, process
        busy = expected > 5
        if busy.sum() >= 20:
            chi2 = (((observed - expected)[busy]) ** 2 / expected[busy]).sum() / busy.sum()
            assert chi2 < 1.6, process


# --------------------------------------------------------------------------------------------------- export

def test_event_log_columns_map_automatically(small: GeneratedOrg):
    for process in small.processes:
        table = event_log_table(small, process)
        mapping = resolve_mapping(table.column_names).mapped()
        assert mapping == {f: f for f in ("case_id", "activity", "end_time", "start_time", "resource", "role",
                                          "amount", "currency", "site", "department")}, process


def test_load_into_workspace_gives_the_same_counts(tmp_path: Path, small: GeneratedOrg):
    workspace = tmp_path / "ws.duckdb"
    results = load_into_workspace(small, workspace)
    assert set(results) == set(small.processes)
    con = connect(workspace)
    try:
        for process, result in results.items():
            assert result.rows_rejected == 0 and result.events_duplicate == 0
            assert result.events_added == small.event_tables[process].num_rows
            events, cases, with_start = con.execute(
                "SELECT count(*), count(DISTINCT case_id), count(start_time) FROM events WHERE process = ?",
                [process]).fetchall()[0]
            assert events == small.manifest["counts"][process]["events"]
            assert cases == con.execute("SELECT count(*) FROM cases WHERE process = ?", [process]).fetchall()[0][0]
            assert cases == small.case_tables[process].num_rows
            assert with_start == small.event_tables[process].column("start_time").drop_null().length()
        row = con.execute("""SELECT attributes->>'bill_number', site, amount FROM cases
                             WHERE process = 'supplier_invoices' AND case_id = 'SI-000001'""").fetchall()[0]
        first = small.cases_frame("supplier_invoices").iloc[0]
        assert row == (first.bill_number, first.site, pytest.approx(first.amount))
    finally:
        con.close()
    again = load_into_workspace(small, workspace)
    assert all(r.already_imported for r in again.values())
