"""The simulation engine: exact queueing on tiny models, calendars, every design change, common random numbers,
warm-up, reproducibility, and simulated events written into a workspace that the mining views read."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from ingest import connect
from mining import dfg
from mining.filters import Filters
from mining.kpis import KpiConfig, kpi_summary
from simulation.calendars import WorkingTime, absence_days
from simulation.designs import apply
from simulation.engine import simulate
from simulation.run_kpis import KPI_DEFINITIONS, kpis
from simulation.run_output import write_run
from simulation.spec import (
    END,
    START,
    Activity,
    AiTriage,
    ApprovalBand,
    ApprovalMatrix,
    Arrivals,
    Automation,
    Branch,
    Calendar,
    CaseAttribute,
    Decision,
    Delegation,
    Distribution,
    Escalation,
    Model,
    Role,
    Scenario,
    ScheduledAction,
    Shift,
    SlaTarget,
    Staffing,
    Volume,
    fixed,
)

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]
OFFICE = Calendar(name="office", timezone="Europe/Amsterdam", shifts=[Shift(days=WEEKDAYS, start="08:00", end="17:00")])
HOUR = 3600.0


def chain(*names: str) -> list[Decision]:
    """Return decisions that route START -> names[0] -> ... -> END."""
    steps = [START, *names, END]
    return [Decision(after=a, branches=[Branch(to=b, probability=1)]) for a, b in zip(steps, steps[1:], strict=False)]


def model(**overrides) -> Model:
    """Return a small invoice-like model (no calendars: people always at work) with the given fields replaced."""
    fields = dict(
        name="t", process="p", start="2025-01-06T00:00:00Z", horizon_days=20,
        arrivals=Arrivals(cases_per_week=70, sites={"North": 0.7, "South": 0.3}),
        attributes=[CaseAttribute(name="amount", number=Distribution(kind="lognormal", median=1000, sigma=1.2)),
                    CaseAttribute(name="priority", categories={"high": 0.2, "low": 0.8})],
        activities=[Activity(name="Register", role="clerk", duration=fixed(600)),
                    Activity(name="Approve", role="boss", duration=fixed(900)),
                    Activity(name="Pay", automated=True, duration=fixed(5))],
        decisions=chain("Register", "Approve", "Pay"),
        roles=[Role(name="clerk", headcount=1, hourly_cost=40), Role(name="boss", headcount=1, hourly_cost=90),
               Role(name="deputy", headcount=1, hourly_cost=70)],
        calendars=[OFFICE],
    )
    return Model(**(fields | overrides))


def per_case(run, activity: str) -> pd.DataFrame:
    return run.events[run.events["activity"] == activity].set_index("case_id")


def hours(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds() / HOUR


# ----------------------------------------------------------------------------------------------------------
# Exact behaviour


def test_single_server_fifo_queue_matches_the_lindley_recursion():
    m = model(activities=[Activity(name="Serve", role="clerk", duration=fixed(1800), delay=fixed(60))],
              decisions=chain("Serve"), arrivals=Arrivals(cases_per_week=300))
    run = simulate(m, seed=3)
    serve = per_case(run, "Serve").loc[run.cases["case_id"]]
    ready = (run.cases["arrival"] + pd.Timedelta(seconds=60)).to_list()
    end = None
    for case_id, at in zip(run.cases["case_id"], ready, strict=True):
        start = at if end is None else max(at, end)  # first come, first served, one server
        end = start + pd.Timedelta(seconds=1800)
        assert serve.loc[case_id, "start_time"] == start
        assert serve.loc[case_id, "end_time"] == end
    assert serve["resource"].eq("clerk 1").all()
    assert (run.events["start_time"].dt.tz is not None) and str(run.events["end_time"].dt.tz) == "UTC"
    assert run.cases["completed"].all()
    waited = hours(serve["start_time"] - serve.index.map(run.cases.set_index("case_id")["arrival"]))
    assert waited.max() > 1, "300 cases a week of 30 minutes each load one server to 90%: queues form"


def test_two_servers_take_the_oldest_task_and_headcount_lowers_waiting():
    m = model(activities=[Activity(name="Serve", role="clerk", duration=fixed(1800))], decisions=chain("Serve"),
              arrivals=Arrivals(cases_per_week=300))
    one = simulate(m, seed=5)
    two = simulate(m, Scenario(name="+1", changes=[Staffing(role="clerk", headcount=2)]), seed=5)
    assert set(two.events["resource"]) == {"clerk 1", "clerk 2"}
    busy: list[pd.Timestamp] = [pd.Timestamp.min.tz_localize("UTC")] * 2
    for row in two.events.merge(two.cases[["case_id", "arrival"]]).sort_values("arrival").itertuples():
        k = int(np.argmin(busy))
        assert row.start_time == max(row.arrival, busy[k])
        busy[k] = row.end_time
    assert kpis(two)["waiting_h_per_case"] < kpis(one)["waiting_h_per_case"] / 3


def test_routing_follows_decisions_and_the_loop_guard_stops_endless_rework():
    m = model(activities=[Activity(name="Check", role="clerk", duration=fixed(60)),
                          Activity(name="Fix", role="clerk", duration=fixed(60))],
              decisions=[Decision(after=START, branches=[Branch(to="Check", probability=1)]),
                         Decision(after="Check", branches=[Branch(to="Fix", probability=1)]),
                         Decision(after="Fix", branches=[Branch(to="Check", probability=1)])],
              max_visits=3)
    run = simulate(m, seed=1)
    assert run.events.groupby("case_id").size().eq(6).all()
    assert (run.cases["stopped"] == "loop guard").all() and not run.cases["completed"].any()
    assert kpis(run)["rework_rate"] == 1.0



def test_the_delay_before_an_activity_can_depend_on_the_activity_before_it():
    # A first call follows the form at once; a call after a call waits two days for the customer.
    m = model(activities=[Activity(name="Form", role="clerk", duration=fixed(60)),
                          Activity(name="Call", role="clerk", duration=fixed(60), delay=fixed(0),
                                   delay_after={"Call": fixed(48 * HOUR)})],
              decisions=[*chain("Form", "Call")[:2],
                         Decision(after="Call", branches=[Branch(to="Call", probability=1)])],
              roles=[Role(name="clerk", headcount=50)], max_visits=2)
    run = simulate(m, seed=3)
    assert run.events.groupby("case_id").size().eq(3).all()
    ev = run.events.sort_values(["case_id", "start_time"])
    gaps = hours(ev.groupby("case_id").start_time.diff() - pd.to_timedelta(60, unit="s")).dropna().round(6)
    assert sorted(set(gaps)) == [0.0, 48.0]
    assert (gaps == 48.0).sum() == run.cases.shape[0]
    with pytest.raises(ValueError, match="delay after unknown activity Fax"):
        model(activities=[Activity(name="Form", role="clerk", delay_after={"Fax": fixed(1)})],
              decisions=chain("Form"))

def test_the_processing_time_can_depend_on_the_role_that_does_the_work():
    # High-priority approvals go to the boss, who takes an hour; the deputy takes the default 15 minutes.
    approve = Activity(name="Approve", role="deputy", duration=fixed(900), role_by=["priority"],
                       roles={"high": "boss"}, duration_by_role={"boss": fixed(3600)})
    m = model(activities=[Activity(name="Register", role="clerk", duration=fixed(600)), approve,
                          Activity(name="Pay", automated=True, duration=fixed(5))])
    run = simulate(m, seed=4)
    ev = run.events[run.events["activity"] == "Approve"]
    took = (ev["end_time"] - ev["start_time"]).dt.total_seconds()
    assert set(ev["role"]) == {"boss", "deputy"}
    assert (took[ev["role"] == "boss"] == 3600).all() and (took[ev["role"] == "deputy"] == 900).all()
    assert approve.duration_for("boss").value == 3600 and approve.duration_for("clerk").value == 900
    with pytest.raises(ValueError, match="duration for unknown role chief"):
        model(activities=[Activity(name="Register", role="clerk", duration_by_role={"chief": fixed(1)})],
              decisions=chain("Register"))


# ----------------------------------------------------------------------------------------------------------
# Calendars


def test_working_time_is_local_and_daylight_saving_correct():
    wt = WorkingTime(OFFICE, datetime.fromisoformat("2025-03-24T00:00:00+00:00"))
    # Amsterdam is UTC+1 until Sunday 30 March 2025, UTC+2 after: 08:00 local is 07:00 UTC, then 06:00 UTC.
    friday, monday = wt.intervals(date(2025, 3, 28)), wt.intervals(date(2025, 3, 31))
    assert friday == [((4 * 24 + 7) * HOUR, (4 * 24 + 16) * HOUR)]
    assert monday == [((7 * 24 + 6) * HOUR, (7 * 24 + 15) * HOUR)]
    assert wt.intervals(date(2025, 3, 29)) == [] and wt.intervals(date(2025, 3, 30)) == []
    assert wt.next_working((4 * 24 + 16) * HOUR) == (7 * 24 + 6) * HOUR
    assert wt.is_working((7 * 24 + 6) * HOUR) and not wt.is_working((7 * 24 + 6) * HOUR - 1)
    assert wt.add_working((4 * 24 + 15) * HOUR, 2 * HOUR) == (7 * 24 + 7) * HOUR
    holiday = WorkingTime(OFFICE.model_copy(update={"holidays": [date(2025, 3, 31)]}), wt.clock.origin)
    assert holiday.next_working((4 * 24 + 16) * HOUR) == (8 * 24 + 6) * HOUR
    always = WorkingTime(None, wt.clock.origin)
    assert always.is_working(12345.0) and always.next_working(12345.0) == 12345.0


@pytest.mark.parametrize("calendar", [
    OFFICE,
    Calendar(name="split", timezone="America/New_York", holidays=[date(2025, 11, 27)],
             shifts=[Shift(days=["Mon", "Tue", "Thu"], start="08:00", end="09:30"),
                     Shift(days=WEEKDAYS, start="16:00", end="17:00")]),
    Calendar(name="nights", timezone="Europe/Amsterdam",
             shifts=[Shift(days=["Mon", "Wed", "Fri", "Sat"], start="22:00", end="24:00"),
                     Shift(days=["Tue", "Thu", "Sat", "Sun"], start="00:00", end="06:00")]),
], ids=lambda c: c.name)
def test_adding_working_time_by_the_index_matches_walking_the_shifts(calendar):
    # Over DST changes (March and October/November), holidays, and night shifts that run into the next day's
    # first: the indexed sum lands where walking shift by shift lands, to a microsecond.
    rng = np.random.default_rng(2)
    wt = WorkingTime(calendar, datetime.fromisoformat("2025-03-01T00:00:00+00:00"))
    for t, hours in zip(rng.uniform(0, 300 * 24 * HOUR, 400), rng.exponential(20, 400), strict=True):
        assert wt.add_working(t, hours * HOUR) == pytest.approx(wt._add_shift_by_shift(t, hours * HOUR), abs=1e-6)
    assert wt.add_working(0.0, 0.0) == wt.next_working(0.0)
    never = WorkingTime(calendar.model_copy(update={"shifts": []}), wt.clock.origin)
    assert never.add_working(0.0, HOUR) == float("inf")


def test_absence_days_follow_the_share_and_depend_only_on_the_person():
    days = absence_days(0.1, date(2025, 1, 1), date(2027, 12, 31), 0, 0, "boss 1")
    assert len(days) / 1095 == pytest.approx(0.1, abs=0.03)
    assert days == absence_days(0.1, date(2025, 1, 1), date(2027, 12, 31), 0, 0, "boss 1")
    assert days != absence_days(0.1, date(2025, 1, 1), date(2027, 12, 31), 0, 0, "boss 2")


def test_people_work_only_on_shift_and_not_when_absent_across_a_dst_week():
    office = [Role(name=r, headcount=2, calendar="office", absence_share=0.2) for r in ("clerk", "boss")]
    m = model(start="2025-03-17T00:00:00Z", horizon_days=21, roles=office)
    run = simulate(m, seed=2)
    manual = run.events[run.events["kind"] == "manual"]
    local = manual["start_time"].dt.tz_convert("Europe/Amsterdam")
    minutes = local.dt.hour * 60 + local.dt.minute
    assert len(manual) > 100
    assert local.dt.weekday.lt(5).all() and minutes.between(8 * 60, 17 * 60 - 1).all()
    assert (local.dt.date >= date(2025, 3, 31)).any(), "work after the change to summer time is on shift too"
    # Nobody works on their absence days (drawn per person name, as the engine does).
    for person, rows in manual.groupby("resource"):
        absent = absence_days(0.2, date(2025, 3, 15), date(2026, 6, 1), 2, 0, person)
        assert not set(rows["start_time"].dt.tz_convert("Europe/Amsterdam").dt.date) & absent


def test_a_step_done_at_the_arrival_neither_queues_nor_takes_time_but_its_later_visits_do():
    # One clerk, an hour a step, 300 cases a week: queued, the opening step alone would overload her.
    register = Activity(name="Register", role="clerk", duration=fixed(HOUR), at_arrival=True)
    again = [Decision(after=START, branches=[Branch(to="Register", probability=1)]),
             Decision(after="Register", branches=[Branch(to="Check", probability=1)]),
             Decision(after="Check", branches=[Branch(to="Register", probability=0.2),
                                               Branch(to=END, probability=0.8)])]
    m = model(activities=[register, Activity(name="Check", role="boss", duration=fixed(60))], decisions=again,
              arrivals=Arrivals(cases_per_week=300))
    run = simulate(m, seed=1)
    ev = run.events.merge(run.cases[["case_id", "arrival"]]).sort_values(["case_id", "start_time"])
    first = ev.groupby("case_id").head(1)
    assert (first["activity"] == "Register").all() and len(first) > 500
    assert (first["start_time"] == first["arrival"]).all() and (first["end_time"] == first["arrival"]).all()
    assert (first["resource"] == "clerk 1").all() and (first["kind"] == "opening").all()
    later = ev[(ev["activity"] == "Register") & ~ev.index.isin(first.index)]
    assert len(later) > 50 and (hours(later["end_time"] - later["start_time"]) == 1).all()
    assert kpis(run)["manual_touches_per_case"] == pytest.approx(len(ev) / len(run.cases))
    # The opening step's work was done before the arrival: it costs its processing time like any other visit.
    visits = ev["activity"].value_counts()
    assert kpis(run)["cost_per_case"] == pytest.approx((40 * visits["Register"] + 90 * visits["Check"] / 60)
                                                       / len(run.cases))
    queued = simulate(m.model_copy(update={"activities": [register.model_copy(update={"at_arrival": False}),
                                                          m.activities[1]]}), seed=1)
    opened = queued.events.merge(queued.cases[["case_id", "arrival"]]).groupby("case_id").head(1)
    assert (hours(opened["end_time"] - opened["arrival"]) >= 1).all()


def test_work_counted_in_working_time_goes_on_at_the_next_shift():
    serve = Activity(name="Serve", role="clerk", duration=fixed(2 * HOUR), duration_in_working_time=True)
    m = model(activities=[serve], decisions=chain("Serve"), arrivals=Arrivals(cases_per_week=60),
              roles=[Role(name="clerk", headcount=3, calendar="office")])
    run = simulate(m, seed=2)
    wt = WorkingTime(OFFICE, m.start)
    seconds = (run.events[["start_time", "end_time"]] - pd.Timestamp(m.start)).apply(lambda c: c.dt.total_seconds())
    assert len(seconds) > 100
    expected = [wt.add_working(a, 2 * HOUR) for a in seconds["start_time"]]
    assert np.allclose(seconds["end_time"], expected, rtol=0, atol=1e-3)  # the frames keep microseconds
    local = run.events["end_time"].dt.tz_convert("Europe/Amsterdam")
    assert (local.dt.hour * 60 + local.dt.minute).le(17 * 60).all()
    overnight = run.events["end_time"].dt.tz_convert("Europe/Amsterdam").dt.date != \
        run.events["start_time"].dt.tz_convert("Europe/Amsterdam").dt.date
    assert overnight.sum() > 5, "work started late in the day finishes the next working day"
    wall = simulate(m.model_copy(update={"activities": [serve.model_copy(update={"duration_in_working_time": False})]}),
                    seed=2).events
    assert (hours(wall["end_time"] - wall["start_time"]) == 2).all()
    assert (wall["end_time"].dt.tz_convert("Europe/Amsterdam").dt.hour >= 17).any()


def test_work_carried_over_waits_for_the_person_to_come_back_from_an_absence():
    serve = Activity(name="Serve", role="clerk", duration=fixed(4 * HOUR), duration_in_working_time=True)
    m = model(activities=[serve], decisions=chain("Serve"), arrivals=Arrivals(cases_per_week=40), horizon_days=60,
              roles=[Role(name="clerk", headcount=3, calendar="office", absence_share=0.3)])
    run = simulate(m, seed=4)
    tz = "Europe/Amsterdam"
    carried_over_absence = 0
    for row in run.events.itertuples():
        absent = absence_days(0.3, date(2024, 12, 1), date(2025, 6, 1), 4, 0, row.resource)
        start, end = row.start_time.tz_convert(tz), row.end_time.tz_convert(tz)
        # The person's working seconds from start to end, counted day by day: office hours, not on absence days.
        worked = 0.0
        day = start.normalize()
        while day <= end:
            if day.weekday() < 5 and day.date() not in absent:
                lo, hi = max(start, day + pd.Timedelta(hours=8)), min(end, day + pd.Timedelta(hours=17))
                worked += max((hi - lo).total_seconds(), 0.0)
            elif start < day < end and day.weekday() < 5:  # a working day the person was absent
                carried_over_absence += 1
            day = (day + pd.Timedelta(days=1)).normalize()
        assert worked == pytest.approx(4 * HOUR, abs=1e-3), row
        assert end.date() not in absent and start.date() not in absent
    assert len(run.events) > 200
    assert carried_over_absence >= 20, "some work left at a shift's end waited over an absence day"


# ----------------------------------------------------------------------------------------------------------
# Design changes


def test_approval_matrix_auto_approves_small_amounts_and_routes_levels_by_band():
    m = model(activities=[*model().activities, Activity(name="Approve CFO", role="deputy", duration=fixed(600))],
              horizon_days=40)
    matrix = ApprovalMatrix(after="Register", then="Pay", auto_below=500,
                            bands=[ApprovalBand(min_value=0, approvals=["Approve"]),
                                   ApprovalBand(min_value=5000, approvals=["Approve", "Approve CFO"])])
    run = simulate(m, Scenario(name="matrix", changes=[matrix]), seed=4)
    paths = run.events.groupby("case_id")["activity"].agg(tuple)
    amount = run.cases.set_index("case_id")["amount"]
    small, big = amount[amount < 500].index, amount[amount >= 5000].index
    mid = amount[(amount >= 500) & (amount < 5000)].index
    assert len(small) and len(mid) and len(big)
    assert (paths[small] == ("Register", "Auto-approve", "Pay")).all()
    assert (paths[mid] == ("Register", "Approve", "Pay")).all()
    assert (paths[big] == ("Register", "Approve", "Approve CFO", "Pay")).all()
    auto = run.events[run.events["activity"] == "Auto-approve"]
    assert auto["role"].eq("system").all() and (auto["start_time"] == auto["end_time"]).all()
    # Without the clerk's registration, the auto-approved cases are touchless.
    no_register = m.model_copy(update={"activities": [a.model_copy(update={"automated": a.name == "Register"})
                                                      for a in m.activities]})
    touchless = simulate(no_register, Scenario(name="matrix", changes=[matrix]), seed=4)
    assert kpis(touchless)["touchless_rate"] == pytest.approx((amount < 500).mean())


def test_a_schedule_starts_the_activity_only_at_the_given_local_times_in_batches():
    nightly = ScheduledAction(activity="Pay", times=["02:00", "14:30"], days=WEEKDAYS, timezone="Europe/Amsterdam")
    run = simulate(model(), Scenario(name="batch", changes=[nightly]), seed=1)
    pay = per_case(run, "Pay")
    local = pay["start_time"].dt.tz_convert("Europe/Amsterdam")
    assert set(zip(local.dt.hour, local.dt.minute, strict=True)) == {(2, 0), (14, 30)}
    assert local.dt.weekday.lt(5).all()
    assert pay.groupby("start_time").size().max() > 1, "cases waiting for a slot go in one batch"
    approve = per_case(run, "Approve")
    gap = hours(pay["start_time"] - approve.loc[pay.index, "end_time"])
    assert gap.ge(0).all() and gap.max() > 10, "the weekend has no slots"


def test_automation_retries_with_backoff_then_exception_queue_or_dead_letter():
    flaky = Automation(activity="Register", duration=fixed(5), failure_rate=0.5, retries=2, backoff_s=60)
    m = model(horizon_days=150)
    dead = simulate(m, Scenario(name="bot", changes=[flaky]), seed=7)
    n = len(dead.cases)
    register = dead.events[dead.events["activity"] == "Register"]
    assert register["role"].eq("system").all()
    attempts = register.groupby("case_id").size()
    assert attempts.max() == 3
    assert attempts.value_counts(normalize=True)[1] == pytest.approx(0.5, abs=4 * np.sqrt(0.25 / n))
    lettered = dead.events.loc[dead.events["activity"] == "Dead letter", "case_id"]
    assert len(lettered) / n == pytest.approx(0.125, abs=4 * np.sqrt(0.125 * 0.875 / n))
    assert (dead.cases.set_index("case_id").loc[lettered, "stopped"] == "dead letter").all()
    assert not set(lettered) & set(dead.events.loc[dead.events["activity"] == "Approve", "case_id"])
    k = kpis(dead)
    assert k["exception_rate"] == pytest.approx(len(lettered) / len(dead.cases))
    assert k["completed_share"] == pytest.approx(1 - k["exception_rate"])
    # Back-off doubles: 60 s after the first failure, 120 s after the second.
    thrice = register[register["case_id"].isin(attempts[attempts == 3].index)].sort_values(["case_id", "start_time"])
    gaps = (thrice["start_time"] - thrice.groupby("case_id")["end_time"].shift()).dt.total_seconds().dropna()
    assert set(gaps.round(6)) == {60.0, 120.0}
    handled = simulate(m, Scenario(name="bot", changes=[flaky.model_copy(update={"exception_role": "deputy"})]),
                       seed=7)
    exceptions = handled.events[handled.events["activity"] == "Handle exception: Register"]
    assert set(exceptions["case_id"]) == set(lettered), "common random numbers: the same attempts fail"
    assert exceptions["role"].eq("deputy").all() and handled.cases["completed"].all()
    assert kpis(handled)["exception_rate"] == pytest.approx(k["exception_rate"])


def test_ai_triage_review_and_misroute_shares_follow_the_confidence_distribution():
    confidence = Distribution(kind="beta", a=6, b=2)
    triage = AiTriage(activity="Register", confidence=confidence, threshold=0.7, review_role="clerk",
                      misroute_role="deputy")
    m = model(horizon_days=200, arrivals=Arrivals(cases_per_week=140))
    run = simulate(m, Scenario(name="ai", changes=[triage]), seed=11)
    n = len(run.cases)
    c = confidence.sample(np.random.default_rng(0), 400_000)
    p_review = float((c < 0.7).mean())
    p_wrong = float((1 - c[c >= 0.7]).mean())
    reviewed = run.events["activity"].eq("Review: Register").sum()
    automatic = n - reviewed
    misrouted = run.events["activity"].eq("Reassign").sum()
    assert reviewed / n == pytest.approx(p_review, abs=3 * np.sqrt(p_review * (1 - p_review) / n))
    assert misrouted / automatic == pytest.approx(p_wrong, abs=3 * np.sqrt(p_wrong * (1 - p_wrong) / automatic))
    assert run.events.loc[run.events["activity"] == "Reassign", "role"].eq("deputy").all()


def test_escalation_reminds_then_reassigns_work_that_waits_too_long():
    m = model(roles=[Role(name="clerk", headcount=1), Role(name="boss", headcount=0), Role(name="deputy",
                                                                                          headcount=1)])
    escalation = Escalation(activity="Approve", remind_after_h=2, escalate_after_h=4, escalate_to="deputy")
    stuck = simulate(m, seed=1, drain_days=5)
    assert "Approve" not in set(stuck.events["activity"]) and not stuck.cases["completed"].any()
    run = simulate(m, Scenario(name="esc", changes=[escalation]), seed=1)
    assert run.cases["completed"].all()
    ready = per_case(run, "Register")["end_time"]
    for activity, after_h in (("Send reminder", 2), ("Escalate", 4)):
        events = per_case(run, activity)
        assert len(events) == len(run.cases)
        assert hours(events["end_time"] - ready.loc[events.index]).round(6).eq(after_h).all()
    approve = per_case(run, "Approve")
    assert approve["role"].eq("deputy").all()
    assert approve["attributes"].str.contains("reassigned_from").all()


def test_escalation_timers_can_count_business_hours_only():
    m = model(roles=[Role(name="clerk", headcount=1), Role(name="boss", headcount=0, calendar="office"),
                     Role(name="deputy", headcount=1)])
    escalation = Escalation(activity="Approve", remind_after_h=2, business_hours=True)
    run = simulate(m, Scenario(name="esc", changes=[escalation]), seed=2, drain_days=5)
    working = WorkingTime(OFFICE, datetime.fromisoformat("2025-01-06T00:00:00+00:00"))
    start = pd.Timestamp("2025-01-06", tz="UTC")
    seconds = lambda s: (s - start).dt.total_seconds()  # noqa: E731
    ready = seconds(per_case(run, "Register")["end_time"])
    reminders = seconds(per_case(run, "Send reminder")["end_time"])
    assert len(reminders) == len(run.cases)
    expected = ready.loc[reminders.index].map(lambda t: working.add_working(t, 2 * HOUR))
    assert np.allclose(reminders, expected, atol=1e-3)
    local = per_case(run, "Send reminder")["end_time"].dt.tz_convert("Europe/Amsterdam")
    assert local.dt.weekday.lt(5).all() and local.dt.hour.between(8, 17).all()
    assert (reminders - ready.loc[reminders.index]).max() > 24 * HOUR, "nights and weekends do not count"


def test_delegation_moves_work_to_the_delegate_while_the_role_is_away():
    saturday = Calendar(name="sat", shifts=[Shift(days=["Sat"], start="08:00", end="17:00")])
    m = model(calendars=[OFFICE, saturday],
              roles=[Role(name="clerk", headcount=1), Role(name="boss", headcount=1, calendar="sat"),
                     Role(name="deputy", headcount=1)])
    asis = simulate(m, seed=3)
    assert per_case(asis, "Approve")["role"].eq("boss").all()
    run = simulate(m, Scenario(name="deleg", changes=[Delegation(role="boss", delegate="deputy", after_h=1)]), seed=3)
    approve = per_case(run, "Approve")
    by_deputy = approve[approve["role"] == "deputy"]
    assert len(by_deputy) > 0.6 * len(approve)
    ready = per_case(run, "Register")["end_time"].loc[by_deputy.index]
    assert hours(by_deputy["start_time"] - ready).ge(1 - 1e-9).all(), "the delegate takes over after after_h"
    assert kpis(run)["cycle_time_mean_h"] < kpis(asis)["cycle_time_mean_h"] / 2


def test_delegation_hands_over_work_left_waiting_when_the_role_goes_home():
    m = model(roles=[Role(name="clerk", headcount=1), Role(name="boss", headcount=1, calendar="office"),
                     Role(name="deputy", headcount=1)],
              activities=[Activity(name="Register", role="clerk", duration=fixed(60)),
                          Activity(name="Approve", role="boss", duration=fixed(3000)),
                          Activity(name="Pay", automated=True)],
              arrivals=Arrivals(cases_per_week=200))
    run = simulate(m, Scenario(name="deleg", changes=[Delegation(role="boss", delegate="deputy", after_h=2)]), seed=8)
    approve = per_case(run, "Approve")
    ready = per_case(run, "Register")["end_time"].loc[approve.index]
    by_deputy = approve["role"] == "deputy"
    local_ready = ready.dt.tz_convert("Europe/Amsterdam")
    in_office = local_ready.dt.weekday.lt(5) & local_ready.dt.hour.between(8, 16)
    left = by_deputy & in_office
    assert left.sum() > 5, "the boss is overloaded: work queued in office hours is still there at 17:00"
    handover = local_ready[left].dt.normalize() + pd.Timedelta(hours=19)
    assert (approve.loc[left, "start_time"] >= handover).all(), "handed over 2 h after the boss leaves at 17:00"
    assert (approve.loc[left, "start_time"] == handover).any()
    assert set(approve.loc[~by_deputy, "resource"]) == {"boss 1"}


def test_volume_growth_adds_cases_and_keeps_every_as_is_case():
    m = model(horizon_days=365, activities=[Activity(name="Pay", automated=True)], decisions=chain("Pay"))
    asis = simulate(m, seed=9)
    grown = simulate(m, Scenario(name="+30%", changes=[Volume(factor=1.3)]), seed=9)
    assert len(grown.cases) / len(asis.cases) == pytest.approx(1.3, abs=0.05)
    assert set(asis.cases["case_id"]) < set(grown.cases["case_id"])
    south = simulate(m, Scenario(name="south x2", changes=[Volume(factor=2, site="South")]), seed=9)
    sites = south.cases["site"].value_counts() / asis.cases["site"].value_counts()
    assert sites["North"] == 1 and sites["South"] == pytest.approx(2, abs=0.15)
    new = simulate(m, Scenario(name="new site", changes=[Volume(new_site="East", new_site_share=0.2)]), seed=9)
    assert (new.cases["site"] == "East").mean() == pytest.approx(0.2, abs=0.03)
    fewer = simulate(m, Scenario(name="-50%", changes=[Volume(factor=0.5)]), seed=9)
    assert set(fewer.cases["case_id"]) < set(asis.cases["case_id"])
    assert len(fewer.cases) / len(asis.cases) == pytest.approx(0.5, abs=0.05)
    applied = apply(m, Scenario(name="+30%", changes=[Volume(factor=1.3, new_site="East", new_site_share=0.2)]))
    assert applied.arrivals.cases_per_week == pytest.approx(70 * 1.3 / 0.8)
    assert applied.arrivals.sites == pytest.approx({"North": 0.56, "South": 0.24, "East": 0.2})


@pytest.mark.parametrize(("change", "message"), [
    (Automation(activity="Nope"), "change 1 \\(automation\\): unknown activity 'Nope'"),
    (Staffing(role="cfo", headcount=2), "unknown role 'cfo'"),
    (Escalation(activity="Approve", escalate_to="ghost"), "unknown role 'ghost'"),
    (Volume(factor=2, site="West"), "unknown site 'West'"),
    (ApprovalMatrix(after="Register", then="Pay", bands=[ApprovalBand(min_value=0, approvals=["Sign"])]),
     "unknown activity 'Sign'"),
])
def test_scenarios_naming_unknown_things_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        apply(model(), Scenario(name="bad", changes=[change]))


def test_apply_puts_staffing_in_the_roles_and_designs_in_the_policies():
    applied = apply(model(), Scenario(name="s", changes=[Staffing(role="boss", headcount=3, hourly_cost=10),
                                                          Delegation(role="boss", delegate="deputy")]))
    assert applied.role("boss").headcount == 3 and applied.role("boss").hourly_cost == 10
    assert [p.kind for p in applied.policies] == ["delegation"]
    assert apply(model(), None) == model()


# ----------------------------------------------------------------------------------------------------------
# Common random numbers, reproducibility, warm-up, KPIs


def test_common_random_numbers_and_reproducibility():
    m = model(roles=[Role(name="clerk", headcount=1, calendar="office", absence_share=0.1),
                     Role(name="boss", headcount=1, calendar="office", absence_share=0.1),
                     Role(name="deputy", headcount=1)],
              activities=[Activity(name="Register", role="clerk", duration=Distribution(kind="exponential",
                                                                                          mean=900)),
                          Activity(name="Approve", role="boss", duration=Distribution(kind="gamma", shape=2,
                                                                                       scale=600))],
              decisions=[Decision(after=START, branches=[Branch(to="Register", probability=1)]),
                         Decision(after="Register", branches=[Branch(to="Approve", probability=0.6),
                                                              Branch(to=END, probability=0.4)]),
                         Decision(after="Approve", branches=[Branch(to=END, probability=1)])])
    asis = simulate(m, seed=42)
    more = simulate(m, Scenario(name="+1", changes=[Staffing(role="boss", headcount=2)]), seed=42)
    key = ["case_id", "arrival", "site", "amount", "priority"]
    pd.testing.assert_frame_equal(asis.cases[key], more.cases[key])
    # Per-case streams: each case takes the same path with the same work content, whatever the waiting.
    # (to the millisecond: start and end are each rounded to microseconds)
    work = [run.events.assign(work=hours(run.events["end_time"] - run.events["start_time"]).mul(HOUR).round(3))
            [["case_id", "activity", "work"]] for run in (asis, more)]
    pd.testing.assert_frame_equal(work[0].reset_index(drop=True), work[1].reset_index(drop=True))
    assert not asis.events["start_time"].equals(more.events["start_time"]), "the design changes the waiting"
    reports: list[tuple[float, str]] = []
    again = simulate(m, seed=42, progress=lambda f, msg: reports.append((f, msg)))
    assert reports and all(0 < f <= 1 for f, _ in reports) and reports == sorted(reports)
    assert asis.events.to_csv().encode() == again.events.to_csv().encode()
    assert asis.cases.to_csv().encode() == again.cases.to_csv().encode()
    other = simulate(m, seed=42, replication=1)
    assert not other.cases["arrival"].equals(asis.cases["arrival"])


def test_warmup_cases_load_the_system_but_are_not_reported():
    m = model(warmup_days=5, sla=SlaTarget(attribute="priority", targets_h={"high": 1.0}, default_h=24))
    run = simulate(m, seed=6)
    start = pd.Timestamp("2025-01-06", tz="UTC")
    assert run.cases["warmup"].equals(run.cases["arrival"] < start + pd.Timedelta(days=5))
    assert 0 < run.cases["warmup"].sum() < len(run.cases)
    assert set(run.events["case_id"]) == set(run.cases["case_id"]), "warm-up cases are simulated"
    k = kpis(run, m)
    assert k["cases"] == (~run.cases["warmup"]).sum()
    assert set(k) == set(KPI_DEFINITIONS)
    reported = run.cases[~run.cases["warmup"]]
    assert k["cost_per_case"] == pytest.approx((600 * 40 + 900 * 90) / HOUR)
    assert k["manual_touches_per_case"] == 2 and k["touchless_rate"] == 0
    assert 0 <= k["sla_adherence"] <= 1 and k["completed_share"] == 1
    assert k["approval_turnaround_median_h"] >= 0.25 and k["cycle_time_p90_h"] >= k["cycle_time_median_h"]
    assert len(reported) == k["cases"]


# ----------------------------------------------------------------------------------------------------------
# Into a workspace


def test_write_run_imports_idempotently_and_mining_reads_the_simulated_process(tmp_path):
    m = model(warmup_days=2)
    run = simulate(m, Scenario(name="+30%", changes=[Volume(factor=1.3)]), seed=1)
    path = tmp_path / "ws.duckdb"
    label = "p · sim · +30% · r0"
    result = write_run(run, path, label)
    reported = run.events[run.events["case_id"].isin(run.cases.loc[~run.cases["warmup"], "case_id"])]
    assert result.events_added == len(reported) and result.rows_rejected == 0
    again = write_run(run, path, label)
    assert again.events_added == 0
    con = connect(path)
    try:
        graph = dfg(con, Filters(process=label))
        edges = {(r.source, r.target): r.frequency for r in graph.edges.itertuples()}
        assert edges[("Register", "Approve")] == reported["activity"].eq("Approve").sum()
        summary = kpi_summary(con, Filters(process=label), KpiConfig()).set_index("kpi")
        assert summary.loc["manual touches per case", "value"] == pytest.approx(2.0)
        assert summary.loc["touchless rate", "value"] == 0
        ours = kpis(run)
        assert summary.loc["cycle time (median)", "value"] == pytest.approx(ours["cycle_time_median_h"])
        cases = con.execute("SELECT count(*), count(DISTINCT json_extract_string(attributes, '$.scenario')), "
                            "min(json_extract_string(attributes, '$.replication')) FROM cases WHERE process = ?",
                            [label]).fetchall()[0]
        assert cases == (ours["cases"], 1, "0")
        stored = con.execute("SELECT min(start_time), max(end_time) FROM events WHERE process = ?",
                             [label]).fetchall()[0]
        assert stored[0] == reported["start_time"].min().to_pydatetime()
        sources = con.execute("SELECT DISTINCT source FROM events WHERE process = ?", [label]).fetchall()
        assert sources == [("simulation",)]
    finally:
        con.close()


def test_ten_thousand_cases_run_in_seconds():
    m = model(horizon_days=7 * 100, arrivals=Arrivals(cases_per_week=100, sites={"North": 1}),
              roles=[Role(name="clerk", headcount=2, calendar="office"), Role(name="boss", headcount=1,
                                                                                calendar="office"),
                     Role(name="deputy", headcount=1)],
              activities=[Activity(name=n, role=r, duration=Distribution(kind="exponential", mean=300))
                          for n, r in (("Register", "clerk"), ("Check", "clerk"), ("Code", "clerk"),
                                       ("Approve", "boss"), ("Book", "clerk"), ("File", "clerk"))]
              + [Activity(name="Match", automated=True), Activity(name="Pay", automated=True)],
              decisions=chain("Register", "Match", "Check", "Code", "Approve", "Book", "Pay", "File"))
    run = simulate(m, seed=0)
    assert len(run.cases) == pytest.approx(10_000, rel=0.05)
    assert len(run.events) == 8 * len(run.cases)
    assert run.wall_time_s < 30
    print(f"\n{len(run.cases)} cases, {len(run.events)} events: {run.wall_time_s:.2f} s")
    assert timedelta(seconds=run.wall_time_s) < timedelta(seconds=30)
