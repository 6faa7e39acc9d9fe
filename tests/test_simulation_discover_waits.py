"""Discovery of waits that depend on what came before: a delay per preceding activity, measured in the working
time of the role (a customer called back two working days later, but a first call made at once), and routing by
visit (a customer called once is called again more often than one called twice). A generated call-centre log with
known parameters; the twin discovered from it reproduces its calls per case and cycle times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from simulation import Model
from simulation.discovery import discover
from simulation.engine import simulate
from simulation.spec import Calendar, Shift
from simulation.worktime import WorkingClock
from tests.test_simulation_discover import _working_start, write_workspace

SHIFT_H = 8  # Mon-Fri 08:00-16:00 UTC, as _working_start
CALL_AGAIN_H = 16.0  # median working hours before calling again (two working days)
DOCUMENTS_H = 8.0  # median working hours before the documents arrive after the last call
P_CALL_AGAIN = {1: 0.8, 2: 0.4}  # after the first call, and after the second and later ones
AGENTS = [f"agent {i}" for i in range(12)]
CLERKS = ["clerk A", "clerk B", "clerk C"]


def _add_working(t: datetime, hours: float) -> datetime:
    """Return the moment `hours` of Mon-Fri 08:00-16:00 working time after `t`."""
    left = timedelta(hours=hours)
    while True:
        now = _working_start(t, timedelta(0))
        closes = now.replace(hour=8 + SHIFT_H, minute=0, second=0, microsecond=0)
        if now + left <= closes:
            return now + left
        left -= closes - now
        t = closes + timedelta(hours=16)


def generate_calls(seed: int = 11, n: int = 700) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, cases): Form (clerk) -> Call (agent) repeated -> Validate (clerk), few queues."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2024, 3, 4, tzinfo=UTC)
    free = {p: t0 for p in AGENTS + CLERKS}
    rows = []

    def work(case: str, activity: str, ready: datetime, people: list[str], role: str) -> datetime:
        duration = timedelta(seconds=float(rng.uniform(120, 480)))
        person = min(rng.permutation(people), key=lambda p: _working_start(max(ready, free[p]), duration))
        start = _working_start(max(ready, free[person]), duration)
        free[person] = start + duration
        rows.append({"case_id": case, "activity": activity, "start_time": start, "end_time": start + duration,
                     "resource": person, "role": role})
        return start + duration

    arrivals = t0 + pd.to_timedelta(np.cumsum(rng.exponential(7 * 86400 / 60, n)), unit="s")
    jobs = []
    for i, arrival in enumerate(arrivals):
        jobs.append((arrival.floor("s").to_pydatetime(), i, "Form", 0))
    # Simple event-driven order: always the earliest ready job next, so people's `free` times stay consistent.
    while jobs:
        jobs.sort(key=lambda j: j[0])
        ready, i, activity, calls = jobs.pop(0)
        case = f"K{i:04d}"
        role, people = ("agent", AGENTS) if activity == "Call" else ("clerk", CLERKS)
        end = work(case, activity, ready, people, role)
        if activity == "Form":
            jobs.append((end, i, "Call", 1))
        elif activity == "Call":
            if rng.random() < P_CALL_AGAIN[min(calls, 2)]:
                jobs.append((_add_working(end, float(rng.lognormal(np.log(CALL_AGAIN_H), 0.3))), i, "Call",
                             calls + 1))
            else:
                jobs.append((_add_working(end, float(rng.lognormal(np.log(DOCUMENTS_H), 0.3))), i, "Validate",
                             calls))
    cases = pd.DataFrame({"case_id": [f"K{i:04d}" for i in range(n)], "amount": np.nan, "site": "Main",
                          "attributes": "{}"})
    return pd.DataFrame(rows), cases


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Model]:
    events, cases = generate_calls()
    path = write_workspace(tmp_path_factory.mktemp("calls") / "calls.duckdb", events, cases, process="calls")
    return events, discover(path, "calls")


def test_working_clock_counts_only_shift_hours():
    office = Calendar(name="office", timezone="Europe/Amsterdam",
                      shifts=[Shift(days=["Mon", "Tue", "Wed", "Thu", "Fri"], start="08:00", end="16:00")])
    origin = datetime(2024, 3, 1, tzinfo=UTC)  # a Friday
    clock = WorkingClock(office, origin, origin, origin + timedelta(days=14))

    def at(day: date, hour: int) -> float:  # local Amsterdam time (UTC+1 in early March) as seconds after origin
        return (datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=1) - origin).total_seconds()

    friday, monday = date(2024, 3, 1), date(2024, 3, 4)
    hours = clock.between(np.array([at(friday, 15), at(friday, 9)]), np.array([at(monday, 9), at(friday, 20)])) / 3600
    assert list(hours) == [2.0, 7.0]
    assert list(WorkingClock(None, origin, origin, origin).between(np.array([0.0]), np.array([7200.0]))) == [7200.0]


def test_delays_are_found_per_preceding_activity_in_working_time(calls):
    _, model = calls
    call = model.activity("Call")
    assert call.delay_in_working_time
    again = call.delay_for("Call")
    assert again is not None
    # The median of the fitted distribution: within 15% of the two working days the log was made with.
    median_h = float(np.median(again.sample(np.random.default_rng(0), 4000))) / 3600
    assert CALL_AGAIN_H * 0.85 < median_h < CALL_AGAIN_H * 1.15, median_h
    first = call.delay_for("Form")
    assert first is None or float(np.mean(first.sample(np.random.default_rng(0), 1000))) < 1800
    validate = model.activity("Validate")
    waits = validate.delay_for("Call")
    assert waits is not None and validate.delay_in_working_time
    median_h = float(np.median(waits.sample(np.random.default_rng(0), 4000))) / 3600
    assert DOCUMENTS_H * 0.85 < median_h < DOCUMENTS_H * 1.15, median_h
    assert "after Call" in model.notes["delays"]


def test_routing_by_visit_is_found(calls):
    _, model = calls
    staged = sorted((d for d in model.decisions if d.after == "Call"), key=lambda d: d.visit or 0)
    assert [d.visit for d in staged] == [1, 2]
    again = [next(b.probability for b in d.branches if b.to == "Call") for d in staged]
    assert abs(again[0] - P_CALL_AGAIN[1]) < 0.05 and abs(again[1] - P_CALL_AGAIN[2]) < 0.05, again
    assert "Call (from visits 1, 2)" in model.notes["routing"]
    assert Model.from_yaml(model.to_yaml()) == model


def test_the_twin_reproduces_calls_per_case_and_cycle_times(calls):
    events, model = calls
    run = simulate(model, seed=4)
    twin = run.events[run.events.case_id.isin(run.cases.case_id[run.cases.completed])]

    def profile(ev: pd.DataFrame) -> tuple[pd.Series, float]:
        per_case = ev[ev.activity == "Call"].groupby("case_id").size().value_counts(normalize=True).sort_index()
        g = ev.groupby("case_id")
        return per_case, float(((g.end_time.max() - g.start_time.min()).dt.total_seconds() / 3600).median())

    (real_calls, real_median), (twin_calls, twin_median) = profile(events), profile(twin)
    assert twin.case_id.nunique() > 300
    # One call only: 20% of the cases (0.2 by construction); a pooled loop probability would give about 1/3.
    assert abs(twin_calls.get(1, 0) - real_calls[1]) < 0.06, (twin_calls.head(), real_calls.head())
    assert abs(twin_median / real_median - 1) < 0.2, (twin_median, real_median)


def test_routing_by_the_step_before_is_found_and_simulated(tmp_path):
    # Register -> Scan or Type -> Check; after Check a scanned form is paid (90%), a typed one fixed first (90%).
    rng = np.random.default_rng(5)
    rows, t = [], datetime(2024, 3, 4, 9, tzinfo=UTC)
    for i in range(600):
        t += timedelta(minutes=float(rng.exponential(60)))
        entry = "Scan" if rng.random() < 0.5 else "Type"
        fix = rng.random() < (0.1 if entry == "Scan" else 0.9)
        steps = ["Register", entry, "Check", *(["Fix"] if fix else []), "Pay"]
        for k, activity in enumerate(steps):
            start = t + timedelta(minutes=10 * k)
            rows.append({"case_id": f"R{i:04d}", "activity": activity, "start_time": start,
                         "end_time": start + timedelta(minutes=5), "resource": f"clerk {i % 7}", "role": "clerk"})
    events = pd.DataFrame(rows)
    cases = pd.DataFrame({"case_id": events.case_id.unique(), "amount": np.nan, "site": "Main", "attributes": "{}"})
    model = discover(write_workspace(tmp_path / "forms.duckdb", events, cases, process="forms"), "forms")
    after_check = {d.before: d for d in model.decisions if d.after == "Check"}
    assert {"Scan", "Type"} <= set(after_check)
    fixed = {b: next(x.probability for x in after_check[b].branches if x.to == "Fix") for b in ("Scan", "Type")}
    assert fixed["Scan"] < 0.2 and fixed["Type"] > 0.8, fixed
    assert "Check (after Scan, Type)" in model.notes["routing"]
    run = simulate(model, seed=1)
    paths = run.events.sort_values(["case_id", "start_time"]).groupby("case_id").activity.agg(tuple)
    typed = paths[paths.map(lambda p: "Type" in p)]
    assert len(typed) > 100
    assert typed.map(lambda p: "Fix" in p).mean() > 0.8  # pooled routing would fix about half of them
