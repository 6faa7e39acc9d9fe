"""What happens after the log, where a twin is used to look ahead: steps done by a system keep the wait before them
(a payment run days after the approval), and the arrivals after the log come at the forecast level, not at the
level a month had in an earlier year. Generated logs with known parameters, end times only (as in most exports)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from ingest import connect
from simulation import Model
from simulation.discovery import discover
from simulation.engine import simulate
from simulation.spec import Arrivals
from simulation.validation import drain_days, split_by_start, validate
from tests.test_simulation_discover import write_workspace

REQUEST_H = 30.0  # mean hours from the approval to the system's payment request (exponential)
PAID_MEDIAN_H = 70.0  # median hours from the request to the payment (lognormal, sigma 0.4)
APPROVERS = ["approver A", "approver B", "approver C"]


def _cases(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"case_id": ids, "amount": np.nan, "site": "Main", "attributes": "{}"})


def _end_times_only(rows: list[tuple], ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, cases) of rows (case_id, activity, end_time, resource, role), with no start times."""
    events = pd.DataFrame(rows, columns=["case_id", "activity", "end_time", "resource", "role"])
    events.insert(2, "start_time", pd.NaT)
    return events, _cases(ids)


def _arrivals(rng: np.random.Generator, weeks: int, per_week: float) -> list[datetime]:
    """Return Poisson arrival moments at `per_week` over `weeks` weeks from Monday 2024-01-01 UTC."""
    gaps = np.cumsum(rng.exponential(7 * 86400 / per_week, int(per_week * weeks * 1.5)))
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    return [t0 + timedelta(seconds=float(a)) for a in gaps[gaps < weeks * 7 * 86400]]


def _approved(rng: np.random.Generator, weeks: int, per_week: float, prefix: str,
              ids: list[str]) -> Iterator[tuple[str, datetime, datetime]]:
    """Yield (case, submitted, approved) for Poisson arrivals, each approved 20 to 60 minutes after it was submitted,
    and add each case to `ids`; a case's later draws come before the next case's."""
    for i, submitted in enumerate(_arrivals(rng, weeks, per_week)):
        case = f"{prefix}{i:05d}"
        ids.append(case)
        yield case, submitted, submitted + timedelta(minutes=float(rng.uniform(20, 60)))


def _opening(rng: np.random.Generator, case: str, submitted: datetime, approved: datetime) -> list[tuple]:
    """Return the Submit row (one shared account) and the Approve row (one of APPROVERS, drawn now)."""
    return [(case, "Submit", submitted, "employee", "EMPLOYEE"),
            (case, "Approve", approved, str(rng.choice(APPROVERS)), "APPROVER")]


def generate_payments(seed: int = 5, weeks: int = 16, per_week: float = 60.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, cases): Submit and Approve by people, then Request payment by the resource 'SYSTEM' and
    Payment handled by nobody recorded, each after a wall-clock wait of known mean; end times only."""
    rng = np.random.default_rng(seed)
    rows, ids = [], []
    for case, submitted, approved in _approved(rng, weeks, per_week, "P", ids):
        requested = approved + timedelta(hours=float(rng.exponential(REQUEST_H)))
        paid = requested + timedelta(hours=float(rng.lognormal(np.log(PAID_MEDIAN_H), 0.4)))
        rows += _opening(rng, case, submitted, approved) + [(case, "Request payment", requested, "SYSTEM", "UNDEFINED"),
                                                            (case, "Payment handled", paid, None, None)]
    return _end_times_only(rows, ids)


@pytest.fixture(scope="module")
def payments(tmp_path_factory: pytest.TempPathFactory) -> tuple[Model, pd.DataFrame]:
    events, cases = generate_payments()
    path = write_workspace(tmp_path_factory.mktemp("payments") / "ws.duckdb", events, cases, "payments")
    return discover(path, "payments"), events


def test_steps_done_by_a_system_keep_their_wait(payments: tuple[Model, pd.DataFrame]):
    model, _ = payments
    request, paid = model.activity("Request payment"), model.activity("Payment handled")
    # Both are automated (a resource called 'system', and nobody recorded), and the wait before each is its delay.
    assert request.automated and paid.automated
    assert request.delay is not None and paid.delay is not None, model.notes["delays"]
    # Exponential mean 30 h over ~950 cases: standard error about 3%; the fit's mean within 15%.
    assert request.delay.mean_value() / 3600 == pytest.approx(REQUEST_H, rel=0.15)
    assert paid.delay.mean_value() / 3600 == pytest.approx(PAID_MEDIAN_H * np.exp(0.4 ** 2 / 2), rel=0.15)
    assert "Request payment (system" in model.notes["delays"]


def test_twin_cycle_time_includes_the_system_waits(payments: tuple[Model, pd.DataFrame]):
    model, events = payments
    def cycle_h(ev: pd.DataFrame) -> pd.Series:
        # As the log records them: from the end of a case's first event to the end of its last.
        return ev.groupby("case_id").end_time.agg(lambda s: (s.max() - s.min()).total_seconds() / 3600)

    run = simulate(model, seed=1)
    done = run.cases.case_id[~run.cases.warmup & run.cases.completed]
    twin = cycle_h(run.events[run.events.case_id.isin(done)])
    # About 100 h of the ~101 h are the two system waits; without them the twin's median would be under an hour.
    assert twin.median() == pytest.approx(cycle_h(events).median(), rel=0.1)


def test_the_step_that_opens_a_case_is_done_at_its_arrival(payments: tuple[Model, pd.DataFrame]):
    # One shared account submits every case and only end times are known: the arrival is read from the submission's
    # end. Queued behind that one account, with the gaps between its submissions as durations, the twin's cases
    # would open hours after they arrived.
    model, _ = payments
    submit, approve = model.activity("Submit"), model.activity("Approve")
    assert submit.at_arrival and not approve.at_arrival and approve.duration_in_working_time
    assert "done at the arrival" in model.notes["activity Submit"]
    run = simulate(model, seed=3)
    first = run.events.sort_values("end_time").groupby("case_id").head(1).merge(run.cases[["case_id", "arrival"]])
    assert len(first) > 500 and (first.activity == "Submit").all()
    assert (first.start_time == first.arrival).all() and (first.end_time == first.arrival).all()


def generate_jump(seed: int = 9) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, cases) of 60 weeks from 2024-01-01: 50 cases a week for a year, then 150 a week (January and
    February of 2025 arrive three times as fast as in 2024); one event per case, end times only."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows, ids, t = [], [], 0.0
    while t < 60 * 7 * 86400:
        per_week = 50.0 if t < 52 * 7 * 86400 else 150.0
        t += float(rng.exponential(7 * 86400 / per_week))
        case = f"J{len(ids):05d}"
        ids.append(case)
        rows.append((case, "Register", t0 + timedelta(seconds=t), "clerk", "CLERK"))
    return _end_times_only(rows, ids)


def test_arrivals_after_the_log_come_at_the_forecast_level(tmp_path: Path):
    events, cases = generate_jump()
    model = discover(write_workspace(tmp_path / "ws.duckdb", events, cases, "jump"), "jump")
    a = model.arrivals
    assert a.forecast_from == events.end_time.max()
    assert a.forecast_per_week == pytest.approx(150.0, rel=0.2), model.notes["arrivals"]
    # March and April were seen once, in 2024, at 50 a week: their month factors still say so.
    assert a.cases_per_week * a.month[2] / np.mean(a.month) == pytest.approx(50.0, rel=0.25)
    # The eight weeks after the log (March and April 2025) arrive at the forecast level, not at 2024's.
    ahead = model.model_copy(update={"start": a.forecast_from, "horizon_days": 56.0, "warmup_days": 0.0})
    weekly = [len(simulate(ahead, seed=3, replication=r).cases) / 8 for r in range(3)]
    assert np.mean(weekly) == pytest.approx(a.forecast_per_week, rel=0.1)
    # Without the forecast, the same weeks would come at 2024's level: the twin would look a year back.
    past = ahead.model_copy(update={"arrivals": a.model_copy(update={"forecast_from": None,
                                                                      "forecast_per_week": None})})
    assert len(simulate(past, seed=3).cases) / 8 < 0.6 * np.mean(weekly)


def test_forecast_fields_go_together_and_round_trip(payments: tuple[Model, pd.DataFrame]):
    model, _ = payments
    with pytest.raises(ValidationError, match="give both or neither"):
        Arrivals(cases_per_week=10, forecast_per_week=12)
    again = Model.from_yaml(model.to_yaml())
    assert again.arrivals.forecast_from == model.arrivals.forecast_from
    assert again.arrivals.forecast_per_week == model.arrivals.forecast_per_week


def generate_payment_runs(seed: int = 6, weeks: int = 16, per_week: float = 60.0) -> tuple[pd.DataFrame,
                                                                                             pd.DataFrame]:
    """Return (events, cases): Submit and Approve by people, then Payment handled by 'SYSTEM' in the first payment
    run (Mondays and Thursdays 15:00-15:30 UTC) at least a day after the approval; end times only."""
    rng = np.random.default_rng(seed)
    rows, ids = [], []
    for case, submitted, approved in _approved(rng, weeks, per_week, "R", ids):
        run = (approved + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
        while run < approved + timedelta(days=1) or run.weekday() not in (0, 3):
            run += timedelta(days=1)
        rows += _opening(rng, case, submitted, approved)
        rows.append((case, "Payment handled", run + timedelta(minutes=float(rng.uniform(0, 30))), "SYSTEM", None))
    return _end_times_only(rows, ids)


def test_a_system_that_runs_some_hours_keeps_to_them(tmp_path: Path):
    # Payments run on Monday and Thursday afternoons. Drawn in wall-clock time, the wait after the approval would put
    # payments on every day and hour; in the working time of the run's hours they keep to them, with the same wait.
    events, cases = generate_payment_runs()
    model = discover(write_workspace(tmp_path / "ws.duckdb", events, cases, "runs"), "runs")
    paid = model.activity("Payment handled")
    assert paid.automated and paid.calendar is not None, model.notes.get("system calendars")
    shifts = next(c for c in model.calendars if c.name == paid.calendar).shifts
    assert {d for s in shifts for d in s.days} == {"Mon", "Thu"} and all(s.start == "15:00" for s in shifts)
    assert "Payment handled: Mon,Thu 15:00-16:00" in model.notes["system calendars"]
    assert model.activity("Submit").calendar is None and model.activity("Approve").calendar is None

    def waits(run_events: pd.DataFrame) -> pd.Series:
        ends = run_events.pivot_table(index="case_id", columns="activity", values="end_time", aggfunc="max")
        return (ends["Payment handled"] - ends["Approve"]).dropna().dt.total_seconds() / 3600

    twin = simulate(model, seed=4).events
    when = pd.to_datetime(twin[twin.activity == "Payment handled"].end_time, utc=True)
    assert len(when) > 300 and when.dt.weekday.isin([0, 3]).all() and when.dt.hour.between(15, 16).all()
    assert waits(twin).mean() == pytest.approx(waits(events).mean(), rel=0.15)
    # Without its calendar the same model pays on any day: what the test above rules out.
    anyday = model.model_copy(update={"activities": [a.model_copy(update={"calendar": None}) if a is paid else a
                                                     for a in model.activities]})
    plain = simulate(anyday, seed=4).events
    assert not pd.to_datetime(plain[plain.activity == "Payment handled"].end_time, utc=True).dt.weekday.isin(
        [0, 3]).all()


def generate_tickets(seed: int = 4, weeks: int = 20, per_week: float = 50.0, closer_resolves: bool = False,
                     slower: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, cases): Open and Resolve by agents, then Closed by one account with a person's name 15 or
    30 days to the second after the resolution (a timer), or 15 days plus a random delay; end times only. With
    `closer_resolves`, the account that closes also resolves as many tickets as it closes (a person); the waits
    before closing are `slower` times as long."""
    rng = np.random.default_rng(seed)
    rows, ids = [], []
    for i, opened in enumerate(_arrivals(rng, weeks, per_week)):
        case = f"T{i:05d}"
        ids.append(case)
        resolved = opened + timedelta(hours=float(rng.exponential(8.0)))
        u = rng.random()
        days = slower * (15.0 if u < 0.6 else 30.0 if u < 0.8 else 15.0 + float(rng.exponential(5.0)))
        agents = [f"agent {k}" for k in range(4)]
        resolver = "Value 5" if closer_resolves else str(rng.choice(agents))
        rows += [(case, "Open", opened, str(rng.choice(agents)), None),
                 (case, "Resolve", resolved, resolver, None),
                 (case, "Closed", resolved + timedelta(days=days), "Value 5", None)]
    return _end_times_only(rows, ids)


def test_a_step_a_fixed_time_after_the_one_before_is_a_timer(tmp_path: Path):
    events, cases = generate_tickets()
    model = discover(write_workspace(tmp_path / "ws.duckdb", events, cases, "tickets"), "tickets")
    closed = model.activity("Closed")
    # The account that closes tickets is not a person who is always busy: a system, with the wait as its delay.
    assert "Closed (80% of" in model.notes["timers"], model.notes.get("timers")
    assert closed.automated and closed.role is None and closed.delay is not None
    true_mean_h = 24 * (0.6 * 15 + 0.2 * 30 + 0.2 * 20) + 0.0
    assert closed.delay.mean_value() / 3600 == pytest.approx(true_mean_h, rel=0.05)
    assert not any("Closed" in r.name for r in model.roles)
    run = simulate(model, seed=2)
    done = run.cases.case_id[~run.cases.warmup & run.cases.completed]
    twin = run.events[run.events.case_id.isin(done)].groupby("case_id").end_time.agg(lambda s: s.max() - s.min())
    real = events.groupby("case_id").end_time.agg(lambda s: s.max() - s.min())
    assert twin.median() / real.median() == pytest.approx(1.0, abs=0.1)


def test_a_timer_of_whole_days_fires_at_the_time_of_day_it_was_set(tmp_path: Path):
    # Tickets resolved at office hours close whole days later at office hours, not at night: the delay is drawn
    # in whole days. Drawn from interpolated quantiles, only the few draws that hit a quantile exactly would be.
    events, cases = generate_tickets()
    model = discover(write_workspace(tmp_path / "ws.duckdb", events, cases, "tickets"), "tickets")
    assert model.activity("Closed").delay.step == 86400
    assert "drawn in whole days" in model.notes["activity Closed"]
    run = simulate(model, seed=3)
    ends = run.events.pivot_table(index="case_id", columns="activity", values="end_time", aggfunc="max")
    waits = (ends.Closed - ends.Resolve).dropna().dt.total_seconds()
    assert len(waits) > 500
    assert ((waits % 86400).abs() < 1).mean() == 1.0
    assert set(np.round(waits / 86400).astype(int)) >= {15, 30}


def test_people_waits_are_no_timers(payments: tuple[Model, pd.DataFrame]):
    model, _ = payments
    # Waits of people and of systems that vary (exponential, lognormal) are no timers.
    assert "timers" not in model.notes


def test_a_person_who_also_does_other_work_is_no_timer(tmp_path: Path):
    # The same fixed waits, but the account that closes also resolves: a person keeping a schedule (a start date
    # postponed every week), whose work and time the model keeps.
    events, cases = generate_tickets(closer_resolves=True)
    model = discover(write_workspace(tmp_path / "ws.duckdb", events, cases, "tickets"), "tickets")
    assert "timers" not in model.notes
    assert not model.activity("Closed").automated


def test_validation_lets_the_twins_cases_run_to_their_end(tmp_path: Path):
    events, cases = generate_tickets(weeks=40, per_week=25.0, slower=4.0)
    path = write_workspace(tmp_path / "ws.duckdb", events, cases, "tickets")
    result = validate(path, "tickets", replications=1, window=None)
    twin = result.charts["cycle_times"].query("log == 'twin'").cycle_time_h
    real = result.charts["cycle_times"].query("log == 'real'").cycle_time_h
    # Every ticket closes 60 days or more after it opened. Stopped at simulate's default (the horizon: a 30-day
    # warm-up and the 8-week test period, after the last arrival), the tickets of the test period's last weeks
    # would still be open and their cycle times cut short.
    con = connect(path, read_only=True)
    try:
        drain = drain_days(con, "tickets", split_by_start(con, "tickets").cut)
    finally:
        con.close()
    assert drain > result.model.horizon_days
    assert (twin >= 24 * 60).mean() > 0.95
    assert twin.median() == pytest.approx(real.median(), rel=0.1)
    assert "cases run on until done" in " ".join(result.notes)
