"""Discovery of a simulation model from a log: on a generated log whose parameters are known it recovers them; it
is deterministic and round-trips through YAML; it estimates start times when the log has only ends; it runs on
shipped real logs and finds the approval thresholds and the scheduled payment release of the demo organisation."""

from __future__ import annotations

import heapq
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest import connect
from mining.kpis import default_config
from simulation import END, START, Model
from simulation.discovery import discover, learn_threshold, round_probabilities, round_threshold, shifts_from_hours
from simulation.discovery.hours import calendar_evidence, working_hours
from simulation.fitting import fit_distribution
from tests.conftest import import_shipped

# The generated log's truth.
WEEKS = 26
PER_WEEK = 100.0
P_REQUEST_INFO = 0.3
APPROVE_ABOVE = 2000.0
CHECK_MEDIAN_S, CHECK_SIGMA = 15 * 60.0, 0.5
APPROVE_MEDIAN_S, APPROVE_SIGMA = 20 * 60.0, 0.4
REGISTER_MEAN_S = 10 * 60.0
PAY_DELAY_MEDIAN_S, PAY_DELAY_SIGMA = 2 * 3600.0, 0.5
AMOUNT_MEDIAN, AMOUNT_SIGMA = 1000.0, 1.0
SHIFT = (8, 16)  # Mon-Fri, UTC
CLERKS = ["Ann", "Bob", "Cem"]
MANAGERS = ["Dee"]


def _working_start(t: datetime, duration: timedelta) -> datetime:
    """Return the first moment >= t at which work of `duration` fits in a Mon-Fri 08:00-16:00 shift."""
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    while True:
        if day.weekday() < 5:
            opens, closes = day + timedelta(hours=SHIFT[0]), day + timedelta(hours=SHIFT[1])
            start = max(t, opens)
            if start + duration <= closes:
                return start
        day += timedelta(days=1)


def generate_log(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, cases) of a small invoice-like process with known parameters (FIFO queues per role)."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    horizon = WEEKS * 7 * 86400
    gaps = rng.exponential(7 * 86400 / PER_WEEK, int(PER_WEEK * WEEKS * 1.5))
    arrivals = np.cumsum(gaps)
    arrivals = arrivals[arrivals < horizon]
    n = len(arrivals)
    amount = np.round(rng.lognormal(np.log(AMOUNT_MEDIAN), AMOUNT_SIGMA, n), 2)
    site = np.where(rng.random(n) < 0.7, "North", "South")
    email = rng.random(n) < np.where(site == "North", 0.8, 0.2)
    cases = pd.DataFrame({"case_id": [f"C{i:05d}" for i in range(n)], "amount": amount, "site": site,
                          "attributes": [json.dumps({"channel": "email" if e else "portal", "reference": f"R{i}"})
                                         for i, e in enumerate(email)]})
    free = {name: t0 for name in CLERKS + MANAGERS}
    rows: list[dict] = []
    # Tasks in order of readiness: (ready, seq, case, step); assignment to the person free first (FIFO).
    heap: list[tuple[datetime, int, int, str]] = []
    seq = 0
    for i, a in enumerate(arrivals):
        ready = t0 + timedelta(seconds=float(a))
        rows.append({"case_id": cases.case_id[i], "activity": "Receive", "start_time": None, "end_time": ready,
                     "resource": "mailbox", "role": "system"})
        heapq.heappush(heap, (ready, seq, i, "Register"))
        seq += 1
    request_info = rng.random(n) < P_REQUEST_INFO
    while heap:
        ready, _, i, step = heapq.heappop(heap)
        if step == "Pay":
            end = ready + timedelta(seconds=float(rng.lognormal(np.log(PAY_DELAY_MEDIAN_S), PAY_DELAY_SIGMA)))
            rows.append({"case_id": cases.case_id[i], "activity": "Pay", "start_time": None, "end_time": end,
                         "resource": "bank", "role": "system"})
            continue
        if step == "Approve":
            pool, role = MANAGERS, "manager"
            seconds = rng.lognormal(np.log(APPROVE_MEDIAN_S), APPROVE_SIGMA)
        else:
            pool, role = CLERKS, "clerk"
            seconds = rng.lognormal(np.log(CHECK_MEDIAN_S), CHECK_SIGMA) if step == "Check" else \
                rng.exponential(REGISTER_MEAN_S) if step == "Register" else rng.lognormal(np.log(600), 0.3)
        duration = timedelta(seconds=round(float(seconds)))
        # The first person able to start takes the work; among several idle ones, any of them.
        person = min(rng.permutation(pool), key=lambda p: _working_start(max(ready, free[p]), duration))
        start = _working_start(max(ready, free[person]), duration)
        end = start + duration
        free[person] = end
        rows.append({"case_id": cases.case_id[i], "activity": step, "start_time": start, "end_time": end,
                     "resource": person, "role": role})
        following = {"Register": "Request info" if request_info[i] else "Check", "Request info": "Check",
                     "Check": "Approve" if amount[i] > APPROVE_ABOVE else "Pay", "Approve": "Pay"}[step]
        heapq.heappush(heap, (end, seq, i, following))
        seq += 1
    return pd.DataFrame(rows), cases


def write_workspace(path: Path, events: pd.DataFrame, cases: pd.DataFrame, process: str = "invoices") -> Path:
    """Write the events and cases into a new workspace at `path` and return the path."""
    con = connect(path)
    try:
        ev = events.copy()
        ev["event_id"] = [f"e{i:07d}" for i in range(len(ev))]
        ev = ev.merge(cases[["case_id", "amount", "site"]], on="case_id")
        ev["start_time"] = pd.to_datetime(ev.start_time, utc=True)
        ev["end_time"] = pd.to_datetime(ev.end_time, utc=True)
        con.register("ev_in", ev)
        con.register("cases_in", cases)
        con.execute("""
            INSERT INTO events (event_id, import_id, source, process, case_id, activity, start_time, end_time,
                                resource, role, amount, currency, site)
            SELECT event_id, 1, 'test', $p, case_id, activity, start_time, end_time, resource, role, amount,
                   'EUR', site
            FROM ev_in
        """, {"p": process}).fetchall()
        con.execute("""
            INSERT INTO cases (process, case_id, import_id, amount, currency, site, attributes)
            SELECT $p, case_id, 1, amount, 'EUR', site, attributes::JSON FROM cases_in
        """, {"p": process}).fetchall()
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """Return (workspace with starts and ends, the same without starts, number of cases) of the generated log."""
    events, cases = generate_log()
    folder = tmp_path_factory.mktemp("discover")
    full = write_workspace(folder / "full.duckdb", events, cases)
    ends = write_workspace(folder / "ends.duckdb", events.assign(start_time=None), cases)
    return full, ends, len(cases)


@pytest.fixture(scope="module")
def model(generated) -> Model:
    return discover(generated[0], "invoices")


def _decision(model: Model, after: str):
    return next(d for d in model.decisions if d.after == after)


def test_recovers_arrivals_and_attributes(model, generated):
    arrivals = model.arrivals
    assert arrivals.cases_per_week == pytest.approx(PER_WEEK, rel=0.06)
    assert len(arrivals.hour_of_week) == 168 and np.mean(arrivals.hour_of_week) == pytest.approx(1.0, abs=1e-3)
    # Arrivals are homogeneous: every hour of the week carries about the mean weight.
    assert np.median(arrivals.hour_of_week) == pytest.approx(1.0, abs=0.25)
    # July-December are not observed: they take the level the arrivals' trend reaches at the end of the log,
    # which for homogeneous arrivals is about the mean; the weekly rate carries the mean month factor.
    assert len(set(arrivals.month[6:])) == 1 and arrivals.month[6] == pytest.approx(1.0, abs=0.15)
    assert np.mean(arrivals.month[:6]) == pytest.approx(1.0, abs=1e-3)
    assert arrivals.cases_per_week / np.mean(arrivals.month) == pytest.approx(PER_WEEK, rel=0.06)
    assert arrivals.sites["North"] == pytest.approx(0.7, abs=0.03)
    assert arrivals.timezone == "UTC"
    assert model.horizon_days == pytest.approx(WEEKS * 7, abs=2)
    amount = next(a for a in model.attributes if a.name == "amount").number
    assert amount.kind == "lognormal"
    assert amount.median == pytest.approx(AMOUNT_MEDIAN, rel=0.06)
    assert amount.sigma == pytest.approx(AMOUNT_SIGMA, abs=0.05)
    channel = next(a for a in model.attributes if a.name == "channel")
    assert channel.per_site["North"]["email"] == pytest.approx(0.8, abs=0.04)
    assert channel.per_site["South"]["portal"] == pytest.approx(0.8, abs=0.05)
    assert "reference" not in {a.name for a in model.attributes}  # an identifier
    assert "reference (an identifier)" in model.notes["attributes skipped"]


def test_recovers_routing_with_the_amount_threshold(model):
    assert _decision(model, START).branches[0].to == "Receive"
    after_register = {b.to: b.probability for b in _decision(model, "Register").branches}
    assert after_register["Request info"] == pytest.approx(P_REQUEST_INFO, abs=0.03)
    assert sum(after_register.values()) == pytest.approx(1.0, abs=1e-9)
    check = _decision(model, "Check")
    rule = next(b.when for b in check.branches if b.when is not None)
    assert rule.attribute == "amount" and rule.value == pytest.approx(APPROVE_ABOVE, rel=0.05)
    for u in (0.0, 0.5, 0.999):
        assert check.choose({"amount": APPROVE_ABOVE * 1.2}, u) == "Approve"
        assert check.choose({"amount": APPROVE_ABOVE * 0.8}, u) == "Pay"
    assert [b.to for b in _decision(model, "Pay").branches] == [END]
    assert "amount" in model.notes["routing"]


def test_recovers_processing_times_roles_and_calendars(model):
    check = model.activity("Check")
    assert check.role == "clerk" and not check.automated
    assert check.duration.kind == "lognormal"
    assert check.duration.median == pytest.approx(CHECK_MEDIAN_S, rel=0.05)
    assert check.duration.sigma == pytest.approx(CHECK_SIGMA, abs=0.04)
    approve = model.activity("Approve")
    # With sigma 0.4 and some 600 approvals a gamma is as close to the data as the true lognormal.
    assert approve.role == "manager" and approve.duration.kind in ("lognormal", "gamma")
    assert approve.duration.mean_value() == pytest.approx(APPROVE_MEDIAN_S * np.exp(APPROVE_SIGMA ** 2 / 2), rel=0.1)
    register = model.activity("Register").duration
    assert register.kind in ("exponential", "gamma", "weibull")
    assert register.mean_value() == pytest.approx(REGISTER_MEAN_S, rel=0.08)
    assert model.activity("Receive").automated and model.activity("Pay").automated
    clerk = model.role("clerk")
    assert clerk.headcount == 3 and sorted(clerk.people) == CLERKS
    assert model.role("manager").headcount == 1
    clerks = next(c for c in model.calendars if c.name == clerk.calendar)
    assert [(s.days, s.start, s.end) for s in clerks.shifts] == [
        (["Mon", "Tue", "Wed", "Thu", "Fri"], "08:00", "16:00")]
    # The manager works only when approvals come in (after the clerks' first checks): within the shift, most of it.
    manager = next(c for c in model.calendars if c.name == model.role("manager").calendar)
    hours = {d: set() for d in ("Mon", "Tue", "Wed", "Thu", "Fri")}
    for s in manager.shifts:
        for d in s.days:
            hours[d] |= set(range(int(s.start[:2]), int(s.end[:2])))
    assert all(h <= set(range(8, 16)) and len(h) >= 5 for h in hours.values())
    # The wait before Pay is a system's (the bank's), not a queue: it is the activity's delay.
    delay = model.activity("Pay").delay
    assert delay is not None and delay.kind == "lognormal"
    assert delay.median == pytest.approx(PAY_DELAY_MEDIAN_S, rel=0.08)
    assert model.activity("Check").delay is None
    assert "lognormal(median" in model.notes["activity Check"] and "KS" in model.notes["activity Check"]


def test_yaml_round_trip_and_determinism(model, generated):
    text = model.to_yaml()
    assert Model.from_yaml(text) == model
    assert discover(generated[0], "invoices").to_yaml() == text


def test_estimates_starts_when_the_log_has_only_ends(generated):
    estimated = discover(generated[1], "invoices")
    assert "estimated" in estimated.notes["start times"]
    check = estimated.activity("Check").duration
    approve = estimated.activity("Approve").duration
    assert check.mean_value() == pytest.approx(CHECK_MEDIAN_S * np.exp(CHECK_SIGMA ** 2 / 2), rel=0.1)
    assert approve.mean_value() == pytest.approx(APPROVE_MEDIAN_S * np.exp(APPROVE_SIGMA ** 2 / 2), rel=0.1)
    assert estimated.activity("Register").duration.mean_value() == pytest.approx(REGISTER_MEAN_S, rel=0.1)
    # Estimated starts lie within shifts, so the durations are working time; recorded ones are wall-clock time.
    people = ("Register", "Check", "Approve")
    assert all(estimated.activity(a).duration_in_working_time for a in people)
    assert not any(a.duration_in_working_time or a.at_arrival for a in discover(generated[0], "invoices").activities)
    # The mailbox opens every case: a system's step, not one done by people at the arrival.
    assert not any(a.at_arrival for a in estimated.activities)
    # "always" ignores the recorded starts of the full log and estimates them the same way.
    always = discover(generated[0], "invoices", start_estimation="always")
    assert always.activity("Check").duration.mean_value() == pytest.approx(check.mean_value(), rel=0.02)
    # "none" keeps events without a start instantaneous.
    none = discover(generated[1], "invoices", start_estimation="none")
    assert none.activity("Check").duration.kind == "fixed" and none.activity("Check").duration.value == 0


def test_filters_and_progress(generated):
    from mining.filters import Filters

    seen: list[tuple[float, str]] = []
    north = discover(generated[0], "invoices", filters=Filters(process="invoices", attributes={"site": "North"}),
                     progress=lambda fraction, message: seen.append((fraction, message)))
    assert north.arrivals.sites == {"North": 1.0}
    assert north.arrivals.cases_per_week == pytest.approx(0.7 * PER_WEEK, rel=0.08)
    assert "(filtered)" in north.notes["source"]
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[-1][0] == 1.0
    with pytest.raises(ValueError, match="filters are for process"):
        discover(generated[0], "invoices", filters=Filters(process="other"))
    with pytest.raises(ValueError, match="no events"):
        discover(generated[0], "nothing")


def test_helpers():
    assert round_probabilities({"a": 1, "b": 1, "c": 1}) == {"a": 0.3334, "b": 0.3333, "c": 0.3333}
    assert sum(round_probabilities({"x": 7, "y": 3, "z": 1e-7}).values()) == pytest.approx(1.0, abs=1e-12)
    assert round_threshold(9987.3, 10012.5) == 10000
    assert round_threshold(49_000.1, 52_000) == 50_000
    shifts = shifts_from_hours({d: list(range(8, 16)) for d in range(5)} | {5: [9, 10]})
    assert [(s.days, s.start, s.end) for s in shifts] == [
        (["Mon", "Tue", "Wed", "Thu", "Fri"], "08:00", "16:00"), (["Sat"], "09:00", "11:00")]
    amounts = np.arange(1000.0)
    rule = learn_threshold(amounts, amounts > 800)
    assert rule["op"] == ">" and 799 <= rule["value"] < 801 and rule["accuracy"] == 1.0
    assert learn_threshold(amounts, np.random.default_rng(1).random(1000) < 0.5) is None
    fit = fit_distribution(np.random.default_rng(2).uniform(0, 100, 3000))
    assert fit.distribution.kind == "empirical" and len(fit.distribution.quantiles) == 101
    assert fit_distribution(np.full(50, 30.0)).distribution.kind == "fixed"


def _person_hours(hours_of_week: np.ndarray) -> pd.DataFrame:
    """Return work per hour of the week (dow, h, n) of the given hours of the week (0 = Monday 00-01)."""
    n = np.bincount(hours_of_week, minlength=168)
    return pd.DataFrame({"dow": np.arange(168) // 24, "h": np.arange(168) % 24, "n": n})[n > 0]


@pytest.mark.parametrize("n", [500, 600, 700])
def test_a_calendar_must_explain_the_work_better_than_any_hour_of_the_week(n):
    rng = np.random.default_rng(n)
    # Work scattered over the whole week: whatever hours the cut picks out of the noise are not a calendar.
    anywhere = _person_hours(rng.integers(0, 168, n))
    hours, _, covered = working_hours(anywhere)
    gain, cost = calendar_evidence(anywhere, hours)
    assert sum(map(len, hours.values())) < 168 and covered >= 0.8  # the cut alone would make a calendar of it
    assert gain <= cost
    # As much work in office hours is one, with few boundaries and a large gain.
    office = _person_hours(rng.integers(0, 5, n) * 24 + rng.integers(9, 17, n))
    hours, _, _ = working_hours(office)
    gain, cost = calendar_evidence(office, hours)
    assert gain > 5 * cost
    assert set(hours) == set(range(5)) and all(min(v) == 9 and max(v) == 16 for v in hours.values())
    assert calendar_evidence(office, {d: list(range(24)) for d in range(7)}) == (0.0, 0.0)


def test_simulation_discover_stays_the_function():
    # A fresh interpreter: the first access is the one that imports the package, and earlier tests must not hide
    # what it does. A submodule named simulation.discover would replace the attribute with itself on import.
    code = """
import inspect
import simulation
first, again = simulation.discover, simulation.discover
import simulation.discovery
after = simulation.discover
print([inspect.isfunction(f) for f in (first, again, after)], first is again is after is simulation.discovery.discover)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["[True,", "True,", "True]", "True"]


@pytest.mark.parametrize("name", ["PurchasingExample_simod.csv.gz", "academic_credentials.csv.gz",
                                  "helpdesk.xes.gz"])
def test_discovers_a_valid_model_from_a_real_log(name, workspace):
    con = connect(workspace)
    try:
        import_shipped(con, [name])
        process = name.split(".")[0]
        model = discover(con, process)
        activities = {r[0] for r in con.execute("SELECT DISTINCT activity FROM events").fetchall()}
        temporary = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()[0][0]
    finally:
        con.close()
    assert temporary == 0  # the caller's connection is left as it was
    assert {a.name for a in model.activities} == activities
    assert Model.from_yaml(model.to_yaml()) == model
    assert all(a.role is not None for a in model.activities if not a.automated)
    assert model.notes["roles from"].startswith("the log records no roles")
    # helpdesk has only end times: the starts of the manual activities are estimated.
    assert ("starts estimated" in model.notes["start times"]) == (name == "helpdesk.xes.gz")
    if name.startswith("PurchasingExample"):
        # A generated log whose people work around the clock: the cut of the sparse roles' hours finds gaps in
        # a few hundred person-hours, which the calendar test does not believe.
        sparse = [r for r in model.roles if "do not tell working hours apart" in model.notes[f"role {r.name}"]]
        assert len(sparse) >= 2 and all(r.calendar is None for r in sparse)
        assert not model.calendars


def test_demo_supplier_invoices(demo_org):
    path, manifest = demo_org
    began = time.perf_counter()
    model = discover(path, "supplier_invoices", timezone=manifest["period"]["timezone"])
    seconds = time.perf_counter() - began
    assert seconds < 60
    # The approval matrix: the finance controller above 10,000 EUR, the CFO above 50,000 EUR.
    head = _decision(model, "Approve invoice (department head)")
    assert head.choose({"amount": 9_000.0}, 0.5) == "Post invoice"
    assert head.choose({"amount": 20_000.0}, 0.5) == "Approve invoice (finance controller)"
    assert any(b.when is not None and b.when.value == 10_000 for b in head.branches)
    controller = _decision(model, "Approve invoice (finance controller)")
    assert controller.choose({"amount": 60_000.0}, 0.5) == "Approve invoice (CFO)"
    assert controller.choose({"amount": 20_000.0}, 0.5) == "Post invoice"
    # Release payment waits for the due date (scheduled) and runs in batches on Tuesdays and Thursdays at 10:00.
    release = model.activity("Release payment")
    assert release.role == "finance controller" and release.delay is not None
    assert "scheduled" in model.notes["activity Release payment"]
    schedule = next(p for p in model.policies if p.kind == "schedule")
    assert (schedule.activity, schedule.days, schedule.times) == ("Release payment", ["Tue", "Thu"], ["10:00"])
    # Waits for people that no queue explains (goods on their way, a coding dispute noticed days later).
    for name in ("Post goods receipt", "Reset to draft"):
        assert model.activity(name).delay is not None and "(hidden)" in model.notes[f"activity {name}"]
    assert model.activity("Code to cost centre").delay is None
    # Each department head approves only their own department's invoices (but as a deputy): one role each.
    surgery = model.role("department head · Surgery · Westerhaven Central Hospital")
    heads = next(c for c in model.calendars if c.name == surgery.calendar)
    assert {(s.start, s.end) for s in heads.shifts} == {("08:00", "09:00"), ("16:00", "17:00")}
    assert Model.from_yaml(model.to_yaml()) == model
    # No role rates are configured for the demo: every role costs the KPI configuration's default rate, as the
    # mining KPIs charge it, so that the twin's cost per case is not zero.
    assert {r.hourly_cost for r in model.roles} == {default_config("supplier_invoices").default_rate} != {0.0}
    # Service requests carry a priority: the SLA targets come from the KPI configuration.
    service = discover(path, "service_requests", timezone=manifest["period"]["timezone"])
    assert service.sla is not None and service.sla.attribute == "priority" and service.sla.targets_h["P1"] == 4.0


# ----------------------------------------------------------------------------------------------------------
# Roles whose work is partitioned by a case attribute

APPROVERS = {"Radiology": "Dee", "Surgery": "Eve"}


def _departments_log(folder: Path, surgery_speed: float = 1.0) -> Path:
    """Return a workspace of the generated log with a department per case whose approvals only that department's
    approver does, but for a few stand-ins (3% of Dee's approvals done by Eve); Eve's own approvals take
    1/surgery_speed of their generated time."""
    events, cases = generate_log(seed=5)
    rng = np.random.default_rng(9)
    cases["department"] = np.where(rng.random(len(cases)) < 0.6, "Radiology", "Surgery")
    department = dict(zip(cases.case_id, cases.department, strict=True))
    approve = events.activity == "Approve"
    own = events.case_id.map(department).map(APPROVERS)
    stand_in = (own == "Dee") & (rng.random(len(events)) < 0.03)
    events.loc[approve, "resource"] = np.where(stand_in[approve], "Eve", own[approve])
    if surgery_speed != 1.0:
        # Shorter work only: the next event of the case still starts after this one ends.
        eve = approve & (events.resource == "Eve")
        events.loc[eve, "end_time"] = (events.loc[eve, "start_time"]
                                       + (events.loc[eve, "end_time"] - events.loc[eve, "start_time"]) / surgery_speed)
    path = write_workspace(folder / "ws.duckdb", events, cases)
    con = connect(path)
    try:
        con.register("dept_in", cases[["case_id", "department"]])
        con.execute("UPDATE cases c SET department = d.department FROM dept_in d WHERE c.case_id = d.case_id")
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def by_department(tmp_path_factory: pytest.TempPathFactory) -> Model:
    """The model discovered from _departments_log, both approvers working at the same speed."""
    return discover(_departments_log(tmp_path_factory.mktemp("departments")), "invoices")


def test_a_role_partitioned_by_department_is_split_and_routed_by_it(by_department: Model):
    m = by_department
    names = {r.name for r in m.roles}
    assert "manager" not in names and {"manager · Radiology", "manager · Surgery"} <= names
    for dept, person in APPROVERS.items():
        role = m.role(f"manager · {dept}")
        assert (role.headcount, role.people) == (1, [person])
        assert role.calendar is not None
    # The clerks work on every department's cases at both sites: one role.
    assert m.role("clerk").headcount == 3
    approve = m.activity("Approve")
    assert approve.role_by == ["department"]
    assert approve.roles == {"Radiology": "manager · Radiology", "Surgery": "manager · Surgery"}
    assert approve.role_for({"department": "Surgery"}) == "manager · Surgery"
    assert m.activity("Check").roles is None
    assert "manager by department into 2 roles" in m.notes["roles by case attribute"]
    assert Model.from_yaml(m.to_yaml()) == m
    # Both managers approve at the generator's speed: one processing time for the activity.
    assert approve.duration_by_role is None


def test_a_split_role_working_at_another_speed_gets_its_own_processing_time(tmp_path: Path):
    m = discover(_departments_log(tmp_path, surgery_speed=2.0), "invoices")
    approve = m.activity("Approve")
    radiology, surgery = (approve.duration_for(f"manager · {d}") for d in ("Radiology", "Surgery"))
    # Two roles that differ from each other each get their own; the pooled time stays for other values.
    assert set(approve.duration_by_role or {}) == {"manager · Radiology", "manager · Surgery"}
    x = radiology.sample(np.random.default_rng(1), 4000)
    y = surgery.sample(np.random.default_rng(2), 4000)
    assert np.median(y) / np.median(x) == pytest.approx(0.5, rel=0.15)
    assert "processing differs by role" in m.notes["activity Approve"]
    assert "one of 2 roles of manager" in m.notes["activity Approve"]
    assert Model.from_yaml(m.to_yaml()) == m


def test_simulated_cases_go_to_their_departments_role(by_department: Model):
    from simulation.engine import simulate

    model = by_department.model_copy(update={"horizon_days": 28.0, "warmup_days": 0.0})
    run = simulate(model, seed=2)
    approvals = run.events[run.events.activity == "Approve"].merge(run.cases[["case_id", "department"]],
                                                                      on="case_id")
    assert len(approvals) > 50
    assert (approvals.resource == approvals.department.map(APPROVERS)).all()


def test_routing_by_attribute_is_validated():
    from pydantic import ValidationError

    from simulation.spec import Activity

    with pytest.raises(ValidationError, match="both role_by and roles"):
        Activity(name="A", role="x", roles={"a": "x"})
    assert Activity(name="A", role="x", role_by=["site", "d"], roles={"N · a": "y"}).role_for({"d": "a"}, "N") == "y"
    assert Activity(name="A", role="x", role_by=["d"], roles={"a": "y"}).role_for({"d": "b"}) == "x"


# A front desk open Mon-Fri 06:00-22:00, one clerk early (until 14:00) and one late, each 40 hours a week.
DESK_SHIFTS = {"Ida": (6, 14), "Jan": (14, 22)}


def _desk_log(folder: Path, account: str | None, seed: int = 8, weeks: int = 12, per_week: float = 150.0) -> Path:
    """Return a workspace of the desk's end-time-only log; with `account`, both clerks record under that name."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    open_s = [(d * 86400 + 6 * 3600, d * 86400 + 22 * 3600) for w in range(weeks) for d in range(7 * w, 7 * w + 5)]
    rows, free = [], t0
    for i, (a, b) in enumerate(x for day in open_s for x in [day] * rng.poisson(per_week / 5)):
        ready = t0 + timedelta(seconds=float(rng.uniform(a, b)))
        rows.append({"case_id": f"D{i:05d}", "activity": "Log", "start_time": None, "end_time": ready,
                     "resource": "portal", "role": "system"})
    rows.sort(key=lambda r: r["end_time"])
    handled = []
    for r in rows:
        duration = timedelta(seconds=float(rng.lognormal(np.log(20 * 60), 0.4)))
        start = max(r["end_time"], free)
        while True:
            day = start.replace(hour=0, minute=0, second=0, microsecond=0)
            shift = next((p for p, (h0, h1) in DESK_SHIFTS.items()
                          if start.weekday() < 5 and day + timedelta(hours=h0) <= start
                          and start + duration <= day + timedelta(hours=h1)), None)
            if shift:
                break
            later = [day + timedelta(hours=h0) for h0, _ in DESK_SHIFTS.values() if day + timedelta(hours=h0) > start]
            start = later[0] if later else day + timedelta(days=1, hours=6)
        free = start + duration
        handled.append({"case_id": r["case_id"], "activity": "Handle", "start_time": None, "end_time": free,
                        "resource": account or shift, "role": "clerk"})
        # A reviewer signs off some of the early shift's cases: a role of one person beside the account's.
        if rng.random() < 0.3 and shift == "Ida":
            handled.append({"case_id": r["case_id"], "activity": "Review", "start_time": None,
                            "end_time": free + timedelta(minutes=30), "resource": "Kim", "role": "reviewer"})
    events = pd.DataFrame(rows + handled)
    cases = pd.DataFrame({"case_id": sorted(events.case_id.unique()), "amount": 100.0, "site": "North",
                          "attributes": "{}"})
    return write_workspace(folder / f"desk_{account or 'named'}.duckdb", events, cases, process="desk")


def test_an_account_shared_by_several_people_counts_as_several(tmp_path: Path):
    # Two clerks in two shifts record their work as one account, whose 80 hours a week no one person works.
    model = discover(_desk_log(tmp_path, "Front desk"), "desk")
    shared = model.role("clerk")
    assert shared.headcount == 2 and shared.people == ["Front desk"]
    note = model.notes["role clerk"]
    assert "Front desk is an account shared by several people" in note and "counts as 2 people" in note
    assert model.role("reviewer").headcount == 1 and "shared" not in model.notes["role reviewer"]
    # Under their own names they are two people of 40 hours a week: nobody's account is shared.
    named = discover(_desk_log(tmp_path, None), "desk")
    assert named.role("clerk").headcount == 2 and sorted(named.role("clerk").people) == ["Ida", "Jan"]
    assert "shared by several" not in named.notes["role clerk"]
