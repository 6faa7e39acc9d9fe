"""Absence days of the simulated people: deterministic per (seed, replication, person), each day absent with the
role's share, independently of the person's other days and of other people; and the working-time arithmetic the
engine's setup shares between roles and runs."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from simulation.calendars import LocalClock, WorkingTime, absence_days, absences
from simulation.spec import WEEKDAYS, Calendar, Shift

FIRST, LAST = date(2024, 1, 1), date(2024, 12, 30)  # 365 days
DAYS = 365
Z = 5.0  # standard errors a statistic may stray before a test fails (about one in 3.5 million by chance)


def _matrix(share: float, people: int, seed: int = 0, replication: int = 0) -> np.ndarray:
    """Return people x days booleans: absent."""
    found = absences([(f"clerk {i}", share) for i in range(people)], FIRST, LAST, seed, replication)
    day = [FIRST + timedelta(days=i) for i in range(DAYS)]
    return np.array([[d in absent for d in day] for absent in found])


def test_absences_are_deterministic_and_one_person_alone_draws_the_same():
    team = [(f"clerk {i}", 0.3) for i in range(20)]
    first = absences(team, FIRST, LAST, 7, 2)
    assert first == absences(team, FIRST, LAST, 7, 2)
    assert all(first[i] == absence_days(0.3, FIRST, LAST, 7, 2, name) for i, (name, _) in enumerate(team))
    assert all(isinstance(d, date) and FIRST <= d <= LAST for days in first for d in days)
    # Another seed or replication draws afresh.
    assert first != absences(team, FIRST, LAST, 8, 2) and first != absences(team, FIRST, LAST, 7, 3)


def test_adding_a_colleague_or_changing_their_share_leaves_everybody_elses_absences_unchanged():
    team = [(f"clerk {i}", 0.2) for i in range(10)]
    before = absences(team, FIRST, LAST, 3, 0)
    grown = absences([("newcomer", 0.2), *team[:5], ("temp", 0.9), *team[5:]], FIRST, LAST, 3, 0)
    assert grown[1:6] + grown[7:] == before
    other = absences([(name, 0.2 if i else 0.7) for i, (name, _) in enumerate(team)], FIRST, LAST, 3, 0)
    assert other[1:] == before[1:]
    # A longer run keeps the absences of the days both cover (a date's draw does not depend on the window).
    longer = absences(team, FIRST - timedelta(days=40), LAST + timedelta(days=40), 3, 0)
    assert [{d for d in days if FIRST <= d <= LAST} for days in longer] == before


@pytest.mark.parametrize("share", [0.1, 0.5])
def test_the_share_of_absent_days_is_the_share_for_everybody_and_every_day(share):
    absent = _matrix(share, 200)
    n = absent.size
    assert abs(absent.mean() - share) < Z * np.sqrt(share * (1 - share) / n)
    # Per person: counts spread as a binomial's (not all alike, not some people always away).
    counts = absent.sum(axis=1)
    assert abs(counts.mean() - DAYS * share) < Z * np.sqrt(DAYS * share * (1 - share) / len(counts))
    variance = DAYS * share * (1 - share)
    assert 0.6 * variance < counts.var() < 1.5 * variance
    # Per date: nor is any weekday or date special.
    per_day = absent.mean(axis=0)
    assert abs(per_day - share).max() < Z * np.sqrt(share * (1 - share) / absent.shape[0])


@pytest.mark.parametrize("share", [0.1, 0.5])
def test_days_and_people_are_independent(share):
    absent = _matrix(share, 200)
    # Consecutive days of a person, and the same day of two people (each with the next), are both absent about
    # share squared of the time, as independent draws are.
    for both in (absent[:, 1:] & absent[:, :-1], absent[1:] & absent[:-1]):
        assert abs(both.mean() - share ** 2) < Z * np.sqrt(share ** 2 * (1 - share ** 2) / both.size)
    # Across replications the same person's days are independent too.
    again = _matrix(share, 200, replication=1)
    both = absent & again
    assert abs(both.mean() - share ** 2) < Z * np.sqrt(share ** 2 * (1 - share ** 2) / both.size)
    # Correlation between two people stays near zero for every pair of ten.
    first = absent[:10].astype(float)
    correlation = np.corrcoef(first)[np.triu_indices(10, 1)]
    assert np.abs(correlation).max() < Z / np.sqrt(DAYS)


def test_no_share_no_absence_and_a_full_share_every_day():
    assert absence_days(0.0, FIRST, LAST, 0, 0, "clerk") == frozenset()
    assert absences([("a", 0.0), ("b", 0.0)], FIRST, LAST, 0, 0) == [frozenset(), frozenset()]
    assert len(absence_days(1.0, FIRST, LAST, 0, 0, "clerk")) == DAYS
    assert absence_days(0.5, LAST, FIRST, 0, 0, "clerk") == frozenset()  # an empty window
    assert absences([], FIRST, LAST, 0, 0) == []


# ----------------------------------------------------------------------------------------------------------
# Working time shared by roles and runs


def _reference(calendar: Calendar, clock: LocalClock, day: date) -> list[tuple[float, float]]:
    """Return the merged intervals of `day` by converting each shift's wall-clock times on their own."""
    if day in calendar.holidays:
        return []
    weekday = WEEKDAYS[day.weekday()]
    raw = sorted((clock.at(day, *map(int, s.start.split(":"))), clock.at(day, *map(int, s.end.split(":"))))
                 for s in calendar.shifts if weekday in s.days)
    merged: list[tuple[float, float]] = []
    for start, end in raw:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@pytest.mark.parametrize("timezone", ["UTC", "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe"])
def test_intervals_by_midnight_match_converting_each_shift_over_daylight_saving_changes(timezone):
    # Lord Howe changes by half an hour; Amsterdam at 02:00 (a 02:30 shift start falls in the gap once a year).
    calendar = Calendar(name="c", timezone=timezone, holidays=[date(2025, 12, 25)],
                        shifts=[Shift(days=["Mon", "Tue", "Sun"], start="00:00", end="02:30"),
                                Shift(days=["Mon", "Wed", "Sun"], start="02:30", end="09:00"),
                                Shift(days=WEEKDAYS, start="13:15", end="24:00")])
    origin = datetime.fromisoformat("2025-01-01T10:17:03.25+00:00")
    working = WorkingTime(calendar, origin)
    day = date(2025, 1, 1)
    for _ in range(400):
        assert working.intervals(day) == _reference(calendar, working.clock, day), day
        day += timedelta(days=1)


def test_equal_calendars_share_their_days_and_no_calendar_is_always_working():
    office = Calendar(name="office", timezone="Europe/Amsterdam",
                      shifts=[Shift(days=["Mon", "Tue", "Wed", "Thu", "Fri"], start="08:00", end="17:00")])
    origin = datetime.fromisoformat("2025-03-24T00:00:00+00:00")
    one, two = WorkingTime(office, origin), WorkingTime(office.model_copy(update={"name": "desk"}), origin)
    assert one.intervals(date(2025, 3, 31)) is two.intervals(date(2025, 3, 31))
    # Another origin or other shifts are other days.
    later = WorkingTime(office, origin + timedelta(hours=1))
    assert later.intervals(date(2025, 3, 31))[0][0] == one.intervals(date(2025, 3, 31))[0][0] - 3600
    longer = WorkingTime(office.model_copy(update={"shifts": [Shift(days=["Mon"], start="08:00", end="18:00")]}),
                         origin)
    assert longer.intervals(date(2025, 3, 31)) != one.intervals(date(2025, 3, 31))
    always = WorkingTime(None, origin)
    assert always.add_working(12345.5, 7 * 86400.0) == 12345.5 + 7 * 86400.0
    assert always.shift(12345.5) == (date(2025, 3, 24), 86400.0)
