"""The simulation on cases with known answers: queueing theory (Erlang C), a deterministic pipeline, calendars,
common random numbers; and on the demo organisation, whose generator wrote its true parameters to the manifest:
discovery recovers them, the as-is twin reproduces the log's KPIs, and removing the planted bottleneck helps."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest import connect
from mining.filters import Filters
from mining.kpis import default_config, kpi_summary
from simulation.calendars import WorkingTime, absence_days
from simulation.discovery import discover
from simulation.engine import simulate
from simulation.experiments import AS_IS, Experiment, ExperimentResult, run_experiment, t_interval
from simulation.run_kpis import kpis
from simulation.spec import (
    END,
    START,
    Activity,
    ApprovalBand,
    ApprovalMatrix,
    Arrivals,
    Branch,
    Calendar,
    Decision,
    Delegation,
    Distribution,
    Model,
    Role,
    Scenario,
    Shift,
    Staffing,
    fixed,
)
from simulation.staff import people

PROCESS = "supplier_invoices"
TIMEZONE = "Europe/Amsterdam"
HOUR = 3600.0
DAY = 86400.0


def chain(*names: str) -> list[Decision]:
    """Return decisions that route START -> names[0] -> ... -> END."""
    steps = [START, *names, END]
    return [Decision(after=a, branches=[Branch(to=b, probability=1)]) for a, b in zip(steps, steps[1:], strict=False)]


# ----------------------------------------------------------------------------------------------------------
# Queueing theory: M/M/c against Erlang C


def erlang_c_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Return the mean wait in queue of an M/M/c queue (Erlang C), in the unit of 1 / the rates."""
    a = arrival_rate / service_rate
    rho = a / servers
    assert rho < 1
    below = sum(a ** k / math.factorial(k) for k in range(servers))
    top = a ** servers / math.factorial(servers) / (1 - rho)
    waits = top / (below + top)  # probability that an arrival waits
    return waits / (servers * service_rate - arrival_rate)


@pytest.mark.parametrize("servers", [1, 3])
def test_mmc_mean_wait_matches_erlang_c(servers: int):
    mean_service = 1800.0
    rate = 0.7 * servers / mean_service  # utilisation 0.7: queues form, and the run settles within the warm-up
    m = Model(name="mmc", process="p", start="2025-01-06T00:00:00Z", horizon_days=200, warmup_days=20,
              arrivals=Arrivals(cases_per_week=rate * 7 * DAY),
              activities=[Activity(name="Serve", role="server",
                                   duration=Distribution(kind="exponential", mean=mean_service))],
              decisions=chain("Serve"), roles=[Role(name="server", headcount=servers)])
    waits = []
    for r in range(6):
        run = simulate(m, seed=11, replication=r)
        ev = run.events.merge(run.cases[["case_id", "arrival", "warmup"]], on="case_id")
        ev = ev[~ev["warmup"]]
        assert len(ev) > 5000 * servers
        waits.append((ev["start_time"] - ev["arrival"]).dt.total_seconds().mean())
    expected = erlang_c_wait(rate, 1 / mean_service, servers)
    mean, half, n = t_interval(waits)
    # The 95% CI over independent replications must hold the formula's value (seeds are fixed, so this is not
    # a flaky 1-in-20 check); and the CI itself must be narrow enough to mean something.
    assert n == 6 and half < 0.15 * expected
    assert abs(mean - expected) <= half, f"c={servers}: simulated {mean:.0f} s ± {half:.0f}, Erlang C {expected:.0f} s"


# ----------------------------------------------------------------------------------------------------------
# A deterministic pipeline


def test_deterministic_pipeline_cycle_time_is_the_exact_sum_of_durations():
    durations = {"Register": 600.0, "Check": 1234.5, "Approve": 90.25}
    # Enough people that nobody ever waits: each case's cycle time is the sum of its steps, to the microsecond.
    m = Model(name="pipe", process="p", start="2025-01-06T00:00:00Z", horizon_days=10,
              arrivals=Arrivals(cases_per_week=500),
              activities=[Activity(name=a, role=f"{a} team", duration=fixed(d)) for a, d in durations.items()],
              decisions=chain(*durations), roles=[Role(name=f"{a} team", headcount=40) for a in durations])
    run = simulate(m, seed=5)
    total = sum(durations.values())
    assert len(run.cases) > 500 and run.cases["completed"].all()
    ev = run.events.merge(run.cases[["case_id", "arrival"]], on="case_id")
    cycle = (ev.groupby("case_id")["end_time"].max() - ev.groupby("case_id")["arrival"].min()).dt.total_seconds()
    assert (cycle == total).all()
    first = ev[ev["activity"] == "Register"]
    assert (first["start_time"] == first["arrival"]).all()
    k = kpis(run)
    assert k["cycle_time_median_h"] == pytest.approx(total / HOUR, abs=1e-9)
    assert k["cycle_time_mean_h"] == pytest.approx(total / HOUR, abs=1e-9)
    assert k["waiting_h_per_case"] == 0.0


# ----------------------------------------------------------------------------------------------------------
# Calendars: nobody works outside theirs


def test_nobody_starts_work_outside_their_calendar_absences_or_holidays():
    holidays = [date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 5)]
    split = Calendar(name="split", timezone=TIMEZONE, holidays=holidays,
                     shifts=[Shift(days=["Mon", "Tue", "Thu", "Fri"], start="08:00", end="09:30"),
                             Shift(days=["Mon", "Tue", "Wed", "Thu", "Fri"], start="16:00", end="17:00")])
    office = Calendar(name="office", timezone=TIMEZONE, holidays=holidays,
                      shifts=[Shift(days=["Mon", "Tue", "Wed", "Thu", "Fri"], start="08:00", end="17:00"),
                              Shift(days=["Sat"], start="10:00", end="12:00")])
    durations = {"Register": Distribution(kind="lognormal", median=900, sigma=0.8),
                 "Approve": Distribution(kind="lognormal", median=1200, sigma=0.8)}
    m = Model(name="cal", process="p", start="2025-03-24T00:00:00Z", horizon_days=56,
              arrivals=Arrivals(cases_per_week=150, timezone=TIMEZONE),
              activities=[Activity(name="Register", role="clerk", duration=durations["Register"]),
                          Activity(name="Approve", role="head", duration=durations["Approve"])],
              decisions=chain("Register", "Approve"),
              roles=[Role(name="clerk", headcount=2, calendar="office", absence_share=0.15),
                     Role(name="head", headcount=3, calendar="split", absence_share=0.25)],
              calendars=[split, office])
    run = simulate(m, seed=8)
    manual = run.events[run.events["kind"] == "manual"]
    # The heads are short-staffed (about 25 working hours a week for 69 hours of approvals, the rest overtime at
    # shift ends): over 20 seeds 84% to 100% of the cases complete by the end of the run, 92% on average.
    assert len(manual) > 1000 and run.cases["completed"].mean() > 0.8
    origin = pd.Timestamp(m.start)
    first, last = m.start.date() - timedelta(days=2), m.start.date() + timedelta(days=int(56 + 56) + 2)
    overtime = 0
    for role in m.roles:
        working = WorkingTime({"office": office, "split": split}[role.calendar], m.start)
        for person in people(role):
            absent = absence_days(role.absence_share, first, last, 8, 0, person)
            rows = manual[manual["resource"] == person]
            assert len(rows) > 20, person
            for start, end in zip(rows["start_time"], rows["end_time"], strict=True):
                t = (start - origin).total_seconds()
                shift_end = working.shift_end(t, absent)
                assert shift_end is not None, f"{person} starts at {start.tz_convert(TIMEZONE)} off shift"
                local_day = start.tz_convert(TIMEZONE).date()
                assert local_day not in absent and local_day not in holidays
                # The engine documents overtime: work once started runs to its end past the shift's end, never
                # paused overnight. So only the start is bound by the calendar.
                overtime += (end - origin).total_seconds() > shift_end
    assert overtime > 0, "with lognormal durations some work must run past a shift's end"
    assert (run.events["end_time"] >= run.events["start_time"]).all()


# ----------------------------------------------------------------------------------------------------------
# Common random numbers


def test_common_random_numbers_make_paired_differences_tighter_than_independent_runs():
    office = Calendar(name="office", timezone=TIMEZONE,
                      shifts=[Shift(days=["Mon", "Tue", "Wed", "Thu", "Fri"], start="08:00", end="17:00")])
    m = Model(name="crn", process="p", start="2025-01-06T00:00:00Z", horizon_days=42, warmup_days=7,
              arrivals=Arrivals(cases_per_week=160, timezone=TIMEZONE),
              activities=[Activity(name="Register", role="clerk",
                                   duration=Distribution(kind="lognormal", median=600, sigma=0.7)),
                          Activity(name="Approve", role="boss",
                                   duration=Distribution(kind="exponential", mean=500))],
              decisions=chain("Register", "Approve"),
              roles=[Role(name="clerk", headcount=2, calendar="office", absence_share=0.1),
                     Role(name="boss", headcount=1, calendar="office", absence_share=0.1)],
              calendars=[office])
    plus_one = Scenario(name="+1 clerk", changes=[Staffing(role="clerk", headcount=3)])

    def cycle(scenario: Scenario | None, seed: int, r: int) -> float:
        # Waiting counts from the arrival; the cycle time (as mined) starts at the first event's start and so
        # hides the queue for the first step, which is the one a third clerk shortens.
        return kpis(simulate(m, scenario, seed=seed, replication=r))["waiting_h_per_case"]

    reps = 12
    base = np.array([cycle(None, 1, r) for r in range(reps)])
    paired = np.array([cycle(plus_one, 1, r) for r in range(reps)]) - base
    independent = np.array([cycle(plus_one, 1000 + r, r) for r in range(reps)]) - base
    assert paired.mean() < 0, "a third clerk shortens the waiting"
    ratio = paired.var(ddof=1) / independent.var(ddof=1)
    print(f"paired {paired.mean():.3f} (var {paired.var(ddof=1):.4f}), independent {independent.mean():.3f} "
          f"(var {independent.var(ddof=1):.4f}), ratio {ratio:.3f}")
    assert ratio < 0.5, f"var(paired) / var(independent) = {ratio:.3f}"


# ----------------------------------------------------------------------------------------------------------
# The demo organisation: discovery against the manifest


@pytest.fixture(scope="module")
def discovered(demo_org: tuple[Path, dict]) -> Model:
    path, _ = demo_org
    return discover(path, PROCESS, timezone=TIMEZONE)


def _rule(model: Model, after: str) -> tuple[str, float]:
    decision = next(d for d in model.decisions if d.after == after)
    [when] = [b.when for b in decision.branches if b.when is not None]
    assert when.attribute == "amount"
    return when.op, float(when.value)


def test_discovery_recovers_the_generators_parameters(demo_org: tuple[Path, dict], discovered: Model):
    _, manifest = demo_org
    truth = manifest["parameters"][PROCESS]
    m = discovered
    # Arrivals: the generator's rate is per year over the default sites (volume 1); Poisson noise on 15,000
    # cases is under 1%, the month factors make the realised year deviate a little more: 5%.
    per_week = truth["arrivals"]["per_year"] * manifest["parameters"]["volume"] / (365.25 / 7)
    assert m.arrivals.cases_per_week == pytest.approx(per_week, rel=0.05)
    # Sites: the generator's weights per site; binomial noise on 15,000 cases is below 0.005, so 0.02.
    weights = {s["name"]: s["weight"][PROCESS] for s in manifest["organisation"]["sites"]}
    assert set(m.arrivals.sites) == set(weights)
    for site, share in weights.items():
        assert m.arrivals.sites[site] == pytest.approx(share / sum(weights.values()), abs=0.02)
    # The approval matrix: finance controller above 10,000, CFO above 50,000 — exactly, after rounding.
    assert _rule(m, "Approve invoice (department head)") == ("<=", truth["finance_controller_above"])
    assert _rule(m, "Approve invoice (finance controller)") == (">", truth["cfo_above"])
    # Headcounts as in the generator's organisation.
    staff = pd.Series([p["role"] for p in manifest["organisation"]["people"]]).value_counts()
    for role in ("AP clerk", "finance controller"):
        assert m.role(role).headcount == staff[role], role
    # Each department head approves their own department's invoices: one role per department and site.
    heads = [r for r in m.roles if r.name.startswith("department head · ")]
    assert len(heads) == sum(r.headcount for r in heads) == staff["department head"]
    # Processing-time medians (the generator: lognormal minutes). Discovery measures start-to-end of ~15,000
    # events each, so sampling noise is tiny; 10% allows for the caps and for start times the log estimates.
    # The department heads' approval: the planted approver has a duration of their own (see the next test), and
    # the others' is the parameter.
    for activity in ("Create bill", "Code to cost centre", "Post invoice", "Capture invoice manually",
                     "Approve invoice (department head)"):
        true_median = truth["durations"][activity]["median"] * 60
        assert m.activity(activity).duration.median == pytest.approx(true_median, rel=0.10), activity


def _planted_role(manifest: dict) -> str:
    truth = manifest["planted_truths"]["approval_bottleneck"]
    return f"department head · {truth['department']} · {truth['site']}"


def test_discovery_finds_the_planted_approvers_own_role_and_weekday_off(demo_org: tuple[Path, dict],
                                                                         discovered: Model):
    truth = demo_org[1]["planted_truths"]["approval_bottleneck"]
    role = discovered.role(_planted_role(demo_org[1]))
    assert role.people == [truth["person"]] and role.headcount == 1
    calendar = next(c for c in discovered.calendars if c.name == role.calendar)
    days = {d for s in calendar.shifts for d in s.days}
    assert truth["absent_weekday"] not in days and len(days) == 4, days
    # Invoices of the planted department go to that role; those of another department to its own head.
    approve = discovered.activity("Approve invoice (department head)")
    assert approve.role_by == ["department", "site"]
    assert approve.role_for({"department": truth["department"]}, truth["site"]) == role.name
    assert approve.role_for({"department": "Surgery"}, truth["site"]) != role.name
    # They work at 1/speed_factor of the others' speed: their approval alone has its own processing time, the
    # generator's median times the factor (about 2,000 approvals: 10% covers the noise and the cap).
    true_median = demo_org[1]["parameters"][PROCESS]["durations"][approve.name]["median"] * 60
    assert set(approve.duration_by_role or {}) == {role.name}
    assert approve.duration_for(role.name).median == pytest.approx(truth["speed_factor"] * true_median, rel=0.10)


# ----------------------------------------------------------------------------------------------------------
# The demo organisation: the as-is twin against the log's KPIs

REPLICATIONS = 5
APPROVALS = ("Approve invoice (department head)", "Approve invoice (finance controller)", "Approve invoice (CFO)")


def _real_kpis(path: Path) -> dict[str, float]:
    con = connect(path)
    try:
        summary = kpi_summary(con, Filters(process=PROCESS), default_config(PROCESS)).set_index("kpi")["value"]
        counts = dict(con.execute("SELECT activity, count(*) FROM events WHERE process = ? GROUP BY activity",
                                  [PROCESS]).fetchall())
    finally:
        con.close()
    n = int(counts["Receive invoice"])  # every case starts with it, once
    found = {"cycle_time_median_h": summary["cycle time (median)"], "cycle_time_mean_h": summary["cycle time (mean)"],
             "rework_rate": summary["rework rate"], "manual_touches_per_case": summary["manual touches per case"]}
    return found | {f"{a} per case": counts.get(a, 0) / n for a in APPROVALS}


# KPI -> (relative tolerance added to the 95% CI's half-width, why).
TOLERANCES = {
    # Cycle time is dominated by the payment terms (Pay invoice's empirical delay) and the approval timers,
    # both taken from the log; 5% for the first-order routing, which loses e.g. that the generator caps the
    # rework loops and pays by due date rather than a fixed delay after release.
    # Measured (seed 7 organisation, 5 replications, a role per department head): median 519 h vs 526 h real,
    # mean 531 h vs 545 h real.
    "cycle_time_median_h": 0.04,
    "cycle_time_mean_h": 0.05,
    # Rework: the model's "Post invoice -> Reset to draft" is a memoryless loop (8.9% per visit), while the
    # generator draws the loops per case (mostly invoices without a PO, at most 3): the loop shares differ.
    "rework_rate": 0.10,
    "manual_touches_per_case": 0.02,
    # Approval steps per case follow the amount rules exactly, but each rework loop approves again; loops are
    # ~8% of the department heads' approvals, so 3% covers their difference. The finance controller's and the
    # CFO's steps are rare (~700 and ~30 a year), so their counts carry Poisson noise of 4% and 18%.
    "Approve invoice (department head) per case": 0.03,
    "Approve invoice (finance controller) per case": 0.15,
    "Approve invoice (CFO) per case": 0.40,
}
NO_STALL = "no stalled approvals"


def _no_stall(manifest: dict) -> Scenario:
    """Return the scenario without the planted bottleneck (see test_removing_the_planted_bottleneck_...)."""
    truth = manifest["parameters"][PROCESS]
    fc, cfo = truth["finance_controller_above"], truth["cfo_above"]
    return Scenario(name=NO_STALL, changes=[ApprovalMatrix(
        after="Code to cost centre", then="Post invoice",
        bands=[ApprovalBand(min_value=0, approvals=[APPROVALS[0]]),
               ApprovalBand(min_value=fc + 0.01, approvals=list(APPROVALS[:2])),
               ApprovalBand(min_value=cfo + 0.01, approvals=list(APPROVALS))])])


DELEGATED = "planted approver delegates"


def _delegation(manifest: dict, model: Model) -> Scenario:
    """Return the scenario in which another department head of the planted approver's site takes the approvals
    that would wait more than 4 hours for the planted approver (off shift, on their weekday off or absent)."""
    planted = _planted_role(manifest)
    site = manifest["planted_truths"]["approval_bottleneck"]["site"]
    deputy = min(r.name for r in model.roles
                 if r.name.startswith("department head · ") and r.name.endswith(f" · {site}") and r.name != planted)
    return Scenario(name=DELEGATED, changes=[Delegation(role=planted, delegate=deputy, after_h=4)])


@pytest.fixture(scope="module")
def experiment(demo_org: tuple[Path, dict], discovered: Model) -> ExperimentResult:
    """The as-is twin, the scenario without the approval timers and the one with the planted approver's work
    delegated, REPLICATIONS each, on two processes."""
    scenarios = [_no_stall(demo_org[1]), _delegation(demo_org[1], discovered)]
    return run_experiment(Experiment(model=discovered, scenarios=scenarios, replications=REPLICATIONS, seed=3),
                          workers=2)


def test_as_is_twin_reproduces_the_real_kpis(demo_org: tuple[Path, dict], experiment: ExperimentResult):
    real = _real_kpis(demo_org[0])
    wide = experiment.wide().set_index("scenario").loc[AS_IS].set_index("replication")
    steps = experiment.waiting[experiment.waiting["scenario"] == AS_IS].pivot(
        index="replication", columns="activity", values="events")
    for a in APPROVALS:
        wide[f"{a} per case"] = steps[a].reindex(wide.index, fill_value=0) / wide["cases"]
    failures = []
    for key, tolerance in TOLERANCES.items():
        mean, half, _ = t_interval(wide[key])
        allowed = half + tolerance * abs(real[key])
        print(f"{key}: real {real[key]:.4f}, simulated {mean:.4f} ± {half:.4f} (allowed ± {allowed:.4f})")
        if abs(mean - real[key]) > allowed:
            failures.append(f"{key}: real {real[key]:.4f}, simulated {mean:.4f} ± {half:.4f}")
    assert not failures, failures


# ----------------------------------------------------------------------------------------------------------
# The demo organisation: removing the planted bottleneck


def test_removing_the_planted_bottleneck_shortens_the_cycle_time(discovered: Model,
                                                                experiment: ExperimentResult):
    # The twin's planted approver works at the pooled heads' speed (processing times are per activity), so their
    # own queue rarely keeps an approval waiting two days; in the log the stalls show as the approval timers — after
    # coding, a share of the cases goes to "Send approval reminder" (48 h) and on to "Escalate approval" (48 h
    # more), and in the log those are nearly all the planted approver's cases. Removing the bottleneck therefore
    # means approvals that no longer stall into the timers: the same approvals by amount (department head;
    # finance controller above 10,000; CFO above 50,000) as an approval matrix without the reminder path.
    assert {"Send approval reminder", "Escalate approval"} <= {a.name for a in discovered.activities}
    diffs = experiment.differences().set_index(["scenario", "kpi"])
    for kpi in ("cycle_time_mean_h", "cycle_time_median_h"):
        d = diffs.loc[(NO_STALL, kpi)]
        print(f"{kpi}: {d['as_is_mean']:.1f} h -> {d['scenario_mean']:.1f} h, paired difference "
              f"{d['difference']:.2f} ({d['ci_low']:.2f}, {d['ci_high']:.2f})")
        assert d["ci_high"] < 0, kpi
    assert experiment.summary().set_index(["scenario", "kpi"]).loc[(AS_IS, "cases"), "mean"] > 10000


def test_delegating_the_planted_approvers_work_shortens_the_cycle_time(experiment: ExperimentResult):
    # Discovery gives the planted approver a role of their own (their department's invoices, their calendar
    # without their weekday off), so a Delegation can target exactly them.
    diffs = experiment.differences().set_index(["scenario", "kpi"])
    for kpi in ("cycle_time_median_h", "cycle_time_mean_h"):
        d = diffs.loc[(DELEGATED, kpi)]
        print(f"{kpi}: {d['as_is_mean']:.2f} h -> {d['scenario_mean']:.2f} h, paired difference "
              f"{d['difference']:.3f} ({d['ci_low']:.3f}, {d['ci_high']:.3f})")
        assert d["ci_high"] < 0, kpi
