"""Calendars read from when people work keep the hours of day right: on a generated log whose working hours are
known, work that a system's nightly clean-up closes at 05:15 does not make 05:00 a working hour (which would start
queued work there in a burst), and the end of a long piece of work done the same day still counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from simulation import Model
from simulation.discovery import OPEN_WORK_H, discover
from simulation.engine import simulate
from tests.test_simulation_discover import write_workspace

WEEKS = 12
CLERKS = ["Ann", "Bob", "Cem"]
CLERK_HOURS = (9, 17)  # Mon-Fri, UTC
ANALYSTS = ["Dia", "Eli"]
ANALYST_HOURS = (8, 18)
CLEANUP = (5, 15)  # the system ends every work item left open at 05:15 on the next working day
LONG_SITTING_H = 9.5  # an analyst's long piece of work, done the same day


def _next_working_day(day: datetime) -> datetime:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def generate_log(seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, cases): clerks handle requests Mon-Fri 09:00-17:00 and leave one follow-up a day open, which
    the nightly clean-up ends at 05:15; analysts review Mon-Fri 08:00-18:00, with one long review a day."""
    rng = np.random.default_rng(seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    rows: list[dict] = []
    k = 0

    def case() -> str:
        nonlocal k
        k += 1
        return f"C{k:05d}"

    for d in range(WEEKS * 7):
        day = t0 + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        for clerk in CLERKS:
            t = day + timedelta(hours=CLERK_HOURS[0], minutes=float(rng.uniform(0, 10)))
            closes = day + timedelta(hours=CLERK_HOURS[1])
            while True:
                end = t + timedelta(minutes=float(rng.uniform(15, 45)))
                if end > closes - timedelta(minutes=20):
                    break
                rows.append({"case_id": case(), "activity": "Handle", "start_time": t, "end_time": end,
                             "resource": clerk, "role": "clerk"})
                t = end + timedelta(minutes=float(rng.uniform(0, 5)))
            # One request a day gets a follow-up that is started in the afternoon and left open: the clean-up ends it.
            c = case()
            opened = day + timedelta(hours=float(rng.uniform(13.5, CLERK_HOURS[1] - 0.5)))
            rows.append({"case_id": c, "activity": "Handle", "start_time": opened - timedelta(minutes=10),
                         "end_time": opened, "resource": clerk, "role": "clerk"})
            cleanup = _next_working_day(day) + timedelta(hours=CLEANUP[0], minutes=CLEANUP[1])
            rows.append({"case_id": c, "activity": "Follow up", "start_time": opened, "end_time": cleanup,
                         "resource": clerk, "role": "clerk"})
        for analyst in ANALYSTS:
            start = day + timedelta(hours=ANALYST_HOURS[0], minutes=float(rng.uniform(0, 10)))
            rows.append({"case_id": case(), "activity": "Review", "start_time": start,
                         "end_time": start + timedelta(hours=LONG_SITTING_H), "resource": analyst, "role": "analyst"})
            t = start
            while t < day + timedelta(hours=15):
                end = t + timedelta(minutes=float(rng.uniform(20, 40)))
                rows.append({"case_id": case(), "activity": "Review", "start_time": t, "end_time": end,
                             "resource": analyst, "role": "analyst"})
                t = end + timedelta(minutes=float(rng.uniform(0, 10)))
    events = pd.DataFrame(rows)
    ids = sorted(events.case_id.unique())
    cases = pd.DataFrame({"case_id": ids, "amount": 100.0, "site": None, "attributes": "{}"})
    return events, cases


@pytest.fixture(scope="module")
def log() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_log()


@pytest.fixture(scope="module")
def model(log, tmp_path_factory: pytest.TempPathFactory) -> Model:
    events, cases = log
    path = write_workspace(tmp_path_factory.mktemp("circadian") / "w.duckdb", events, cases, process="office")
    return discover(path, "office")


def _hours(model: Model, role: str) -> dict[str, set[int]]:
    calendar = next(c for c in model.calendars if c.name == model.role(role).calendar)
    out: dict[str, set[int]] = {}
    for s in calendar.shifts:
        for d in s.days:
            out.setdefault(d, set()).update(range(int(s.start[:2]), int(s.end[:2])))
    return out


def _open_hours(events: pd.DataFrame, activity: str) -> pd.Series:
    work = events[events.activity == activity]
    return (pd.to_datetime(work.end_time) - pd.to_datetime(work.start_time)).dt.total_seconds() / 3600


def test_a_nightly_cleanup_is_not_a_shift(log, model: Model):
    # The follow-ups stay open over a night (or a weekend): longer than OPEN_WORK_H; without the rule, their ends
    # at 05:15 would make 05:00 a working hour of every weekday.
    assert _open_hours(log[0], "Follow up").min() > OPEN_WORK_H
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert _hours(model, "clerk") == {d: set(range(*CLERK_HOURS)) for d in weekdays}
    assert "clean-up" in model.notes["calendars"]


def test_the_end_of_a_long_sitting_the_same_day_counts(log, model: Model):
    assert _open_hours(log[0], "Review").max() < OPEN_WORK_H
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    # The analysts' short reviews end by 15:00; only the long reviews' ends show them at work until 18:00.
    assert _hours(model, "analyst") == {d: set(range(*ANALYST_HOURS)) for d in weekdays}


def test_simulated_clerks_start_work_in_their_hours(model: Model):
    run = simulate(model, seed=1)
    work = run.events[(run.events.role == "clerk") & (run.events.kind != "delay")] \
        if "kind" in run.events else run.events[run.events.role == "clerk"]
    starts = pd.to_datetime(work.start_time, utc=True)
    assert len(starts) > 1000
    # Queued work waits for the morning: none starts in the night before it, as the real log's clerks never do.
    early = (starts.dt.hour < CLERK_HOURS[0]) & (starts.dt.weekday < 5)
    assert early.mean() < 0.005
