"""Business calendars: Dutch public holidays, weekly shift patterns, absences, and when a person works.

Simulation time is a float number of **minutes** since the clock's origin: local midnight (Europe/Amsterdam)
of the first day. Shift patterns are local wall-clock times, so a shift starts at 08:00 local on both sides of
a daylight-saving change. A person's calendar is the sorted list of their working intervals in simulation
minutes; work is never split across intervals, so every activity a person performs lies inside one of them.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from synthetic.params import WEEKDAYS, Absences, ShiftPattern


class CalendarExhausted(RuntimeError):
    """Work was asked for beyond the last working interval a calendar holds (raise calendar_margin_days)."""


def easter_sunday(year: int) -> date:
    """Return the date of Easter Sunday in the Gregorian calendar (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def dutch_public_holidays(year: int) -> dict[date, str]:
    """Return the Dutch public holidays of `year` that are days off, date -> English name.

    Good Friday is not a day off in most Dutch organisations and is left out. Liberation Day (5 May) is a
    day off in lustrum years (2025, 2030, ...) only, as in most collective agreements. King's Day moves to
    26 April when 27 April is a Sunday.
    """
    easter = easter_sunday(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:
        kings_day = date(year, 4, 26)
    days_off = {
        date(year, 1, 1): "New Year's Day",
        easter: "Easter Sunday",
        easter + timedelta(days=1): "Easter Monday",
        kings_day: "King's Day",
        easter + timedelta(days=39): "Ascension Day",
        easter + timedelta(days=49): "Whit Sunday",
        easter + timedelta(days=50): "Whit Monday",
        date(year, 12, 25): "Christmas Day",
        date(year, 12, 26): "Boxing Day",
    }
    if year % 5 == 0:
        days_off[date(year, 5, 5)] = "Liberation Day"
    return dict(sorted(days_off.items()))


class Clock:
    """Converts between simulation minutes and instants: minute 0 is local midnight of `start` in `timezone`."""

    def __init__(self, start: date, timezone: str) -> None:
        self.start = start
        self.tz = ZoneInfo(timezone)
        self.origin = datetime.combine(start, time(0), self.tz).astimezone(UTC)
        self.origin_epoch = int(self.origin.timestamp())
        self._wall: dict[tuple[date, str], float] = {}

    def at(self, day: date, hhmm: str) -> float:
        """Return the simulation minute of local wall-clock time `hhmm` on `day`."""
        key = (day, hhmm)
        minute = self._wall.get(key)
        if minute is None:
            h, m = (int(x) for x in hhmm.split(":"))
            instant = datetime(day.year, day.month, day.day, h, m, tzinfo=self.tz).timestamp()
            minute = self._wall[key] = (instant - self.origin_epoch) / 60.0
        return minute

    def local(self, minute: float) -> datetime:
        """Return the local (aware) datetime of a simulation minute."""
        return (self.origin + timedelta(minutes=minute)).astimezone(self.tz)

    def local_date(self, minute: float) -> date:
        """Return the local calendar date of a simulation minute."""
        return self.local(minute).date()

    def local_dates(self, minutes: np.ndarray) -> list[date]:
        """Return the local calendar date of each simulation minute (fast for many minutes)."""
        hours = np.floor(np.asarray(minutes, dtype=float) / 60.0).astype(np.int64)
        unique, inverse = np.unique(hours, return_inverse=True)
        days = [self.local_date(h * 60.0) for h in unique.tolist()]
        return [days[k] for k in inverse.tolist()]

    def utc(self, minute: float) -> datetime:
        """Return the UTC datetime of a simulation minute."""
        return self.origin + timedelta(minutes=minute)

    def day(self, index: int) -> date:
        """Return the local date `index` days after the first day."""
        return self.start + timedelta(days=index)


def day_range(first: date, last: date) -> list[date]:
    """Return every date from `first` to `last`, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class Absence:
    """Days off of one person, `first` to `last` local dates included (weekends inside a block included)."""

    first: date
    last: date
    kind: str  # "annual leave" or "sick"

    def as_json(self) -> dict:
        """Return the absence as a JSON-ready dict."""
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "kind": self.kind}


def draw_absences(rng: np.random.Generator, spec: Absences, workdays: list[date]) -> list[Absence]:
    """Return leave blocks, single leave days and sick episodes for a person who would work on `workdays`.

    Per calendar year: a summer block (starting late June to mid August), a spring or autumn block, days off
    between Christmas and New Year for a share of people, single days, and Poisson sick episodes whose length
    in working days is geometric.
    """
    absences: list[Absence] = []
    for year in sorted({d.year for d in workdays}):
        days = [d for d in workdays if d.year == year]
        if not days:
            continue
        # Sickness scales with the days actually worked in the range (about 250 in a full-time year).
        share_of_year = len(days) / 250.0

        for window, length in (((date(year, 6, 23), date(year, 8, 15)), spec.summer_block_days),
                               (_spring_or_autumn(rng, year), spec.spring_block_days)):
            leave = _block(rng, days, window, length)
            if leave:
                absences.append(leave)
        if rng.random() < spec.christmas_share:
            between = [d for d in days if date(year, 12, 27) <= d <= date(year, 12, 31)]
            if between:
                absences.append(Absence(between[0], between[-1], "annual leave"))
        for i in rng.choice(len(days), size=min(spec.single_leave_days, len(days)), replace=False):
            absences.append(Absence(days[int(i)], days[int(i)], "annual leave"))
        for _ in range(int(rng.poisson(spec.sick_episodes_per_year * min(1.0, share_of_year)))):
            i = int(rng.integers(len(days)))
            j = min(i + int(rng.geometric(1.0 / spec.sick_episode_mean_days)) - 1, len(days) - 1)
            absences.append(Absence(days[i], days[j], "sick"))
    return sorted(absences, key=lambda a: (a.first, a.last, a.kind))


def _spring_or_autumn(rng: np.random.Generator, year: int) -> tuple[date, date]:
    """Return the window of the second leave block: spring or autumn, half of the people each."""
    if rng.random() < 0.5:
        return date(year, 2, 15), date(year, 5, 31)
    return date(year, 10, 1), date(year, 11, 20)


def _block(rng: np.random.Generator, days: list[date], window: tuple[date, date], length: int) -> Absence | None:
    """Return a leave block of `length` working days starting on a random working day in `window`."""
    candidates = [i for i, d in enumerate(days) if window[0] <= d <= window[1]]
    if not candidates or length <= 0:
        return None
    i = candidates[int(rng.integers(len(candidates)))]
    return Absence(days[i], days[min(i + length - 1, len(days) - 1)], "annual leave")


class WorkCalendar:
    """The working intervals of one person, in simulation minutes: sorted, disjoint, closed [start, end]."""

    __slots__ = ("starts", "ends", "longest")

    def __init__(self, starts: array, ends: array) -> None:
        self.starts = starts
        self.ends = ends
        self.longest = max((e - s for s, e in zip(starts, ends, strict=True)), default=0.0)

    def __len__(self) -> int:
        return len(self.starts)

    def is_working(self, t: float) -> bool:
        """Return whether minute `t` lies inside a working interval (its end excluded)."""
        i = bisect_right(self.starts, t) - 1
        return i >= 0 and t < self.ends[i]

    def interval(self, t: float) -> tuple[float, float] | None:
        """Return the working interval (start, end) that holds minute `t` (None when not working then)."""
        i = bisect_right(self.starts, t) - 1
        if i >= 0 and t < self.ends[i]:
            return self.starts[i], self.ends[i]
        return None

    def current_end(self, t: float) -> float | None:
        """Return the end of the working interval that holds minute `t` (None when not working then)."""
        i = bisect_right(self.starts, t) - 1
        if i >= 0 and t < self.ends[i]:
            return self.ends[i]
        return None

    def contains(self, start: float, end: float) -> bool:
        """Return whether [start, end] lies inside one working interval (both ends included)."""
        i = bisect_right(self.starts, start) - 1
        return i >= 0 and end <= self.ends[i]

    def next_slot(self, t: float, minutes: float) -> float:
        """Return the earliest minute >= `t` at which `minutes` of work fit inside one working interval."""
        starts, ends = self.starts, self.ends
        i = bisect_right(ends, t)
        n = len(starts)
        while i < n:
            s = starts[i] if starts[i] > t else t
            if s + minutes <= ends[i]:
                return s
            i += 1
        if minutes > self.longest:
            raise CalendarExhausted(f"a task of {minutes:.1f} min never fits a working interval "
                                    f"(longest {self.longest:.0f} min)")
        raise CalendarExhausted(f"no working time after minute {t:.0f}")

    def next_working_instant(self, t: float) -> float:
        """Return `t` when working then, else the start of the next working interval."""
        return self.next_slot(t, 0.0)

    def next_shift_start(self, t: float) -> float | None:
        """Return the start of the first working interval that begins after `t` (None past the last one)."""
        i = bisect_right(self.starts, t)
        return self.starts[i] if i < len(self.starts) else None


class CalendarFactory:
    """Builds working calendars over a date range, sharing the per-day shift intervals of each pattern."""

    def __init__(self, clock: Clock, patterns: dict[str, ShiftPattern], first: date, last: date) -> None:
        self.clock = clock
        self.patterns = patterns
        self.days = day_range(first, last)
        self.holidays: dict[date, str] = {}
        for year in range(first.year, last.year + 1):
            self.holidays.update(dutch_public_holidays(year))
        self._day_cache: dict[str, list[list[tuple[float, float]]]] = {}
        self._usual: dict[tuple[str, int | None], WorkCalendar] = {}

    def _pattern_days(self, name: str) -> list[list[tuple[float, float]]]:
        """Return, per day of the range, the pattern's working intervals in simulation minutes."""
        cached = self._day_cache.get(name)
        if cached is None:
            pattern = self.patterns[name]
            cached = []
            for day in self.days:
                weekday = WEEKDAYS[day.weekday()]
                if day in self.holidays:
                    weekday = "Sat" if pattern.on_holidays == "weekend" else None
                hours = pattern.weekly.get(weekday, []) if weekday else []
                cached.append([(self.clock.at(day, a), self.clock.at(day, b)) for a, b in hours])
            self._day_cache[name] = cached
        return cached

    def workdays(self, pattern: str, off_weekday: int | None = None) -> list[date]:
        """Return the days on which `pattern` has working hours (minus `off_weekday`, 0 = Monday)."""
        per_day = self._pattern_days(pattern)
        return [d for d, iv in zip(self.days, per_day, strict=True) if iv and d.weekday() != off_weekday]

    def calendar(self, pattern: str, absences: list[Absence] = (), off_weekday: int | None = None) -> WorkCalendar:
        """Return the working calendar of a person with this pattern, absences and weekly day off."""
        off: set[date] = set()
        for a in absences:
            off.update(day_range(a.first, a.last))
        starts, ends = array("d"), array("d")
        for day, intervals in zip(self.days, self._pattern_days(pattern), strict=True):
            if day in off or day.weekday() == off_weekday:
                continue
            for s, e in intervals:
                starts.append(s)
                ends.append(e)
        return WorkCalendar(starts, ends)

    def usual(self, pattern: str, off_weekday: int | None = None) -> WorkCalendar:
        """Return the calendar of a pattern without absences (shared by everyone with that pattern)."""
        key = (pattern, off_weekday)
        cached = self._usual.get(key)
        if cached is None:
            cached = self._usual[key] = self.calendar(pattern, (), off_weekday)
        return cached

    def business_days(self) -> list[date]:
        """Return the weekdays of the range that are not public holidays."""
        return [d for d in self.days if d.weekday() < 5 and d not in self.holidays]
