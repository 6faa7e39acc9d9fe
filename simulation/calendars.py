"""Working-time arithmetic for the simulation: when a calendar's people work, in simulation seconds.

Simulation time is a float number of **seconds** since the model's start (a UTC instant). Shifts are local
wall-clock times in the calendar's zone, so a shift starts at 08:00 local on both sides of a daylight-saving
change (that week has one hour more or less between two shift starts). Each local day's working intervals are
computed once and cached; the local date of a moment is cached per 15 minutes of absolute time, which is exact
because every zone offset in use is a multiple of 15 minutes. As elsewhere here, a zone's offset is taken to
change at most once a day.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from math import inf
from zoneinfo import ZoneInfo

import numpy as np

from simulation.spec import WEEKDAYS, Calendar

Interval = tuple[float, float]  # [start, end) in simulation seconds
_BUCKET = 900.0  # seconds: zone offsets are multiples of 15 minutes
_SEARCH_DAYS = 800  # how far ahead to look for a working moment before giving up (two years and more)
_ONE_DAY = timedelta(days=1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_INDEX_DAYS = 32  # days add_working indexes at a time
_UTC_KEYS = frozenset({"UTC", "Etc/UTC"})  # zones whose offset is always zero (others take the general path)


def _hhmm(text: str) -> tuple[int, int]:
    h, m = text.split(":")
    return int(h), int(m)


def seconds_of_day(text: str) -> int:
    """Return the seconds after midnight of a wall-clock time "HH:MM" (24:00 is 86400)."""
    h, m = _hhmm(text)
    return h * 3600 + m * 60


class LocalClock:
    """Converts simulation seconds to local dates and back, in one time zone."""

    def __init__(self, origin: datetime, timezone: str) -> None:
        # A naive start is UTC (Model.start's unit), not the machine's local time.
        self.origin = origin.replace(tzinfo=UTC) if origin.tzinfo is None else origin.astimezone(UTC)
        self.origin_epoch = self.origin.timestamp()
        self.tz = ZoneInfo(timezone)
        self.utc = self.tz.key in _UTC_KEYS  # local time is UTC: days and midnights by arithmetic alone
        self._dates: dict[int, date] = {}
        self._midnights: dict[date, float] = {}

    def local(self, t: float) -> datetime:
        """Return the local aware datetime of simulation second `t`."""
        return datetime.fromtimestamp(self.origin_epoch + t, self.tz)

    def local_date(self, t: float) -> date:
        """Return the local calendar date of simulation second `t` (cached per 15 minutes)."""
        key = int((self.origin_epoch + t) // _BUCKET)
        day = self._dates.get(key)
        if day is None:
            day = self._dates[key] = datetime.fromtimestamp(key * _BUCKET, self.tz).date()
        return day

    def at(self, day: date, hour: int, minute: int) -> float:
        """Return the simulation second of local wall-clock time hour:minute on `day` (24:00 = next midnight)."""
        if hour == 24:
            day, hour = day + timedelta(days=1), 0
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz).timestamp() - self.origin_epoch

    def midnight(self, day: date) -> float:
        """Return the epoch second (not simulation second) of local midnight at the start of `day` (cached)."""
        found = self._midnights.get(day)
        if found is None:
            if self.utc:
                found = (day.toordinal() - _EPOCH_ORDINAL) * 86400.0
            else:
                found = datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp()
            self._midnights[day] = found
        return found


class WorkingTime:
    """The working intervals of a calendar (or of every hour, without one), per local day, cached."""

    def __init__(self, calendar: Calendar | None, origin: datetime) -> None:
        self.calendar = calendar
        # The clock and the per-day caches are shared by every WorkingTime of equal calendars from the same origin
        # (every role and replication of a model), so each day is worked out once, not in every run.
        key = None if calendar is None else (calendar.timezone, tuple(calendar.holidays),
                                             tuple((tuple(s.days), s.start, s.end) for s in calendar.shifts))
        self.clock, self._days, self._utc_days, self._buckets = _day_caches(key, origin)
        self._holidays = frozenset(calendar.holidays) if calendar else frozenset()
        # The shifts of each weekday (Monday first) as (start, end) seconds after local midnight, sorted, parsed once
        # rather than for every day.
        self._week: list[list[tuple[int, int]]] = [[(0, 86400)] for _ in WEEKDAYS]
        if calendar is not None:
            self._week = [sorted((seconds_of_day(s.start), seconds_of_day(s.end)) for s in calendar.shifts
                                 if weekday in s.days) for weekday in WEEKDAYS]
        # Every shift ends by midnight (24:00 at the latest, as intended): a day's intervals end before the next's.
        # add_working's index: the working intervals from a day on, merged across days, with the working seconds
        # run up before and after each.
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._before: list[float] = []
        self._after: list[float] = []
        self._next_day: date | None = None
        self._indexed_from = inf  # the moment the index starts at

    def intervals(self, day: date) -> list[Interval]:
        """Return the working intervals of local `day`, sorted and merged, in simulation seconds."""
        found = self._days.get(day)
        if found is not None:
            return found
        clock = self.clock
        shifts = self._week[day.weekday()]
        if day in self._holidays:
            raw = []
        else:
            midnight, origin = clock.midnight(day), clock.origin_epoch
            if clock.utc or clock.midnight(day + _ONE_DAY) - midnight == 86400.0:
                # One offset all day: a wall-clock time is midnight plus its seconds (the same float as `at`).
                raw = [(midnight + start - origin, midnight + end - origin) for start, end in shifts]
            else:  # the day the offset changes: each wall-clock time on its own
                raw = sorted((clock.at(day, start // 3600, start % 3600 // 60), clock.at(day, end // 3600,
                                                                                          end % 3600 // 60))
                             for start, end in shifts)
        merged: list[Interval] = []
        for start, end in raw:
            if end <= start:  # a shift inside a skipped daylight-saving hour has no length
                continue
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        self._days[day] = merged
        return merged

    def shift_end(self, t: float, absent: frozenset[date] = frozenset()) -> float | None:
        """Return the end (seconds) of the working interval holding `t`, or None when `t` is not working time."""
        day, intervals = self._day(t)
        if day in absent:
            return None
        for start, end in intervals:
            if start <= t < end:
                return end
        return None

    def _day(self, t: float) -> tuple[date, list[Interval]]:
        """Return the local date of simulation second `t` and its working intervals."""
        epoch = self.clock.origin_epoch + t
        entry = self._utc_days.get(int(epoch // 86400))
        if entry is None:
            entry = self._utc_day(int(epoch // 86400))
        boundary, before, after = entry
        if boundary is None:  # the zone's offset changes that UTC day: per 15 minutes
            key = int(epoch // _BUCKET)
            found = self._buckets.get(key)
            if found is None:
                day = self.clock.local_date(t)
                found = self._buckets[key] = (day, self.intervals(day))
            return found
        return before if epoch < boundary else after

    def _utc_day(self, k: int) -> tuple[float | None, tuple[date, list[Interval]], tuple[date, list[Interval]]]:
        """Return, for UTC day `k` (days since the epoch) with one zone offset all day, the epoch second of the
        local midnight within it and the (local date, intervals) before and after it (None: the offset changes)."""
        start = k * 86400.0
        tz = self.clock.tz
        offset = timedelta(0) if self.clock.utc else datetime.fromtimestamp(start, tz).utcoffset()
        if not self.clock.utc and offset != datetime.fromtimestamp(start + 86399.0, tz).utcoffset():
            entry: tuple = (None, None, None)
        else:
            local = start + offset.total_seconds()
            first = date.fromordinal(_EPOCH_ORDINAL + int(local // 86400))
            second = first + _ONE_DAY
            # A day and its intervals are looked up once here, every moment of the UTC day after.
            entry = (start + (local // 86400 + 1) * 86400 - local, (first, self.intervals(first)),
                     (second, self.intervals(second)))
        self._utc_days[k] = entry
        return entry

    def shift(self, t: float) -> tuple[date, float | None]:
        """Return the local date of simulation second `t` and the end (seconds) of the working interval holding `t`
        (None when `t` is not working time), for everybody of the calendar, absences aside."""
        day, intervals = self._day(t)
        for start, end in intervals:
            if start <= t < end:
                return day, end
        return day, None

    def is_working(self, t: float, absent: frozenset[date] = frozenset()) -> bool:
        """Return whether simulation second `t` is working time (and not an absence day)."""
        return self.shift_end(t, absent) is not None

    def next_working(self, t: float, absent: frozenset[date] = frozenset()) -> float:
        """Return the first working moment at or after `t`, in seconds (inf when none within two years)."""
        day, intervals = self._day(t)
        if day not in absent:
            for start, end in intervals:
                if end > t:
                    return max(start, t)
        day += timedelta(days=1)
        for _ in range(_SEARCH_DAYS - 1):
            if day not in absent:
                for start, end in self.intervals(day):
                    if end > t:
                        return max(start, t)
            day += timedelta(days=1)
        return inf

    def next_shift(self, t: float) -> Interval:
        """Return the first working moment at or after `t` and the end of its working interval, in seconds
        ((inf, inf) when none within two years)."""
        day, intervals = self._day(t)
        for start, end in intervals:
            if end > t:
                return max(start, t), end
        days = self._days
        for _ in range(_SEARCH_DAYS - 1):
            day += _ONE_DAY
            intervals = days.get(day)
            for start, end in intervals if intervals is not None else self.intervals(day):
                if end > t:
                    return max(start, t), end
        return inf, inf

    def add_working(self, t: float, seconds: float) -> float:
        """Return the moment (seconds) when `seconds` of working time have passed after `t` (absences ignored)."""
        if self.calendar is None:  # every second works: no index to build over the days
            return t + seconds
        # Long waits span many days: the working time run up to each interval, indexed once, finds the interval
        # where the sum is reached by bisection rather than by walking the days.
        if t < self._indexed_from:
            self._index_from(min(t, 0.0))
        starts, ends, before = self._starts, self._ends, self._before
        i = bisect_right(ends, t)
        while i == len(ends):
            if not self._extend():
                return inf
            i = bisect_right(ends, t)
        target = before[i] + max(t - starts[i], 0.0) + seconds
        after = self._after
        j = bisect_left(after, target, i)
        while j == len(after):
            if not self._extend():
                return inf
            j = bisect_left(after, target, i)
        return starts[j] + (target - before[j])

    def _index_from(self, t: float) -> None:
        """Start the index of working intervals on the local day before second `t`."""
        self._starts, self._ends, self._before, self._after = [], [], [], []
        self._next_day = self.clock.local_date(t) - _ONE_DAY
        self._indexed_from = self.clock.at(self._next_day, 0, 0)

    def _extend(self) -> bool:
        """Index the working intervals of the next _INDEX_DAYS days; return False when none comes within
        _SEARCH_DAYS of the last one."""
        starts, ends, before, after = self._starts, self._ends, self._before, self._after
        for _ in range(0, _SEARCH_DAYS, _INDEX_DAYS):
            found = False
            for _ in range(_INDEX_DAYS):
                for start, end in self.intervals(self._next_day):
                    found = True
                    if ends and start <= ends[-1]:  # a shift past midnight runs into the next day's first
                        if end > ends[-1]:
                            ends[-1] = end
                            after[-1] = before[-1] + (end - starts[-1])
                        continue
                    before.append(after[-1] if after else 0.0)
                    starts.append(start)
                    ends.append(end)
                    after.append(before[-1] + (end - start))
                self._next_day += _ONE_DAY
            if found:
                return True
        return False

    def _add_shift_by_shift(self, t: float, seconds: float) -> float:
        """Return add_working(t, seconds) by looking up the working interval that follows each one, from its end
        (slower; the reference the tests hold add_working to)."""
        left = seconds
        # The interval next_shift finds holds its moment, so its end is that moment's shift_end.
        now, end = self.next_shift(t)
        while now < inf:
            if now + left <= end:
                return now + left
            left -= end - now
            now, end = self.next_shift(end)
        return inf


@lru_cache(maxsize=32)
def _day_caches(calendar: tuple | None, origin: datetime) -> tuple[LocalClock, dict[date, list[Interval]],
                                                                   dict[int, tuple],
                                                                   dict[int, tuple[date, list[Interval]]]]:
    """Return the clock of a calendar (its timezone, holidays and shifts; None: always working) from `origin`, and
    WorkingTime's caches of it: the intervals per local day, the entries per UTC day and per 15 minutes."""
    # People ask "am I on shift?" all the time: per UTC day, the local midnight within it and the local days on
    # either side with their intervals; on the few days the zone's offset changes, per 15 minutes. Every entry is a
    # function of the calendar and the origin alone, set whole and never changed, so threads may share them.
    return LocalClock(origin, calendar[0] if calendar else "UTC"), {}, {}, {}


class PersonTime:
    """One person's working time: their calendar minus their absence days."""

    __slots__ = ("working", "absent")

    def __init__(self, working: WorkingTime, absent: frozenset[date]) -> None:
        self.working = working
        self.absent = absent

    def shift_end(self, t: float) -> float | None:
        """Return the end (seconds) of the person's current working interval, or None when off or absent."""
        # WorkingTime.shift_end written out: people ask this at every wake-up and every hand-over.
        working = self.working
        day, intervals = working._day(t)
        if day in self.absent:
            return None
        for start, end in intervals:
            if start <= t < end:
                return end
        return None

    def next_working(self, t: float) -> float:
        """Return the person's first working moment at or after `t`, in seconds (inf when none)."""
        return self.next_shift(t)[0]

    def next_shift(self, t: float) -> Interval:
        """Return the person's first working moment at or after `t` and the end of its working interval, in seconds
        ((inf, inf) when none)."""
        # WorkingTime.next_working written out: asked whenever a person goes to sleep (mostly an absent one).
        working, absent = self.working, self.absent
        day, intervals = working._day(t)
        if day not in absent:
            for start, end in intervals:
                if end > t:
                    return max(start, t), end
        days = working._days
        for _ in range(_SEARCH_DAYS - 1):
            day += _ONE_DAY
            if day not in absent:
                intervals = days.get(day)
                for start, end in intervals if intervals is not None else working.intervals(day):
                    if end > t:
                        return max(start, t), end
        return inf, inf

    def add_working(self, t: float, seconds: float) -> float:
        """Return the moment (seconds) when `seconds` of the person's working time have passed after `t`: their
        calendar's working time without their absence days (inf when none is ahead)."""
        end = self.working.add_working(t, seconds)
        if not self.absent or end == inf:
            return end
        day, last = self.working._day(t)[0], self.working._day(end)[0]
        # Work carried over to the next shift waits for the person's return: an absence day in between is not
        # working time. Most work ends the day it starts, and then the calendar's sum is already the answer.
        if not any(day + timedelta(days=k) in self.absent for k in range((last - day).days + 1)):
            return end
        left = seconds
        while True:
            start, stop = self.next_shift(t)
            if start == inf:
                return inf
            if stop - start >= left:
                return start + left
            left -= stop - start
            t = stop


# splitmix64's increment and finaliser constants: each (person, date) counter is hashed into 64 random bits.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def absences(people: Sequence[tuple[str, float]], first: date, last: date, seed: int,
             replication: int) -> list[frozenset[date]]:
    """Return, for each (person, share), the local dates from `first` to `last` on which the person is absent."""
    # Each person's day is absent with probability `share`, independently of their other days and of other people:
    # a hash of (seed, replication, person name, date) decides it, so a person's absences depend on nothing else
    # (adding a colleague or lengthening the run changes nobody's absence on a date), and everybody is drawn in
    # one numpy pass instead of seeding a generator per person.
    found: list[frozenset[date]] = [frozenset()] * len(people)
    drawn = [i for i, (_, share) in enumerate(people) if share > 0]
    n = (last - first).days + 1
    if not drawn or n <= 0:
        return found
    keys = np.array([_person_key(seed, replication, people[i][0]) for i in drawn], dtype=np.uint64)
    shares = np.array([people[i][1] for i in drawn], dtype=np.float64)
    counters = np.arange(first.toordinal(), first.toordinal() + n, dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps modulo 2**64 on purpose
        bits = keys[:, None] + counters * _GAMMA
        bits ^= bits >> np.uint64(30)
        bits *= _MIX1
        bits ^= bits >> np.uint64(27)
        bits *= _MIX2
        bits ^= bits >> np.uint64(31)
    # The top 53 bits as a uniform in [0, 1), below the share on a share of days.
    absent = (bits >> np.uint64(11)).astype(np.float64) * 2.0 ** -53 < shares[:, None]
    # Everybody's absent dates in one list, person after person; building the sets costs most of the time.
    dates = _dates(first, n)[np.flatnonzero(absent) % n].tolist()
    begin = 0
    for i, end in zip(drawn, np.cumsum(np.count_nonzero(absent, axis=1)).tolist(), strict=True):
        found[i] = frozenset(dates[begin:end])
        begin = end
    return found


def absence_days(share: float, first: date, last: date, seed: int, replication: int, person: str) -> frozenset[date]:
    """Return the local dates from `first` to `last` on which `person` is absent (see `absences`)."""
    return absences([(person, share)], first, last, seed, replication)[0]


def _person_key(seed: int, replication: int, person: str) -> int:
    """Return the 64-bit key of a person's absences in a replication: a hash of (seed, replication, name)."""
    # blake2b, personalised, keeps these keys apart from every other use of the seed; the integers hold no comma.
    text = f"{int(seed)},{int(replication)},{person}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8, person=b"absences").digest(), "little")


@lru_cache(maxsize=8)
def _dates(first: date, n: int) -> np.ndarray:
    """Return the `n` dates from `first` on, as a numpy array of objects (shared by the absences of every run)."""
    dates = np.array([date.fromordinal(first.toordinal() + i) for i in range(n)], dtype=object)
    dates.flags.writeable = False  # shared through the cache
    return dates


def weekly_slots(days: list[str], times: list[str], clock: LocalClock) -> Callable[[float], float]:
    """Return a function giving the first slot (seconds) at or after a moment: the listed local `times` on the
    listed weekdays (inf when none within two years)."""
    wanted = {WEEKDAYS.index(d) for d in days}
    parsed = [_hhmm(x) for x in times]
    cache: dict[date, list[float]] = {}

    def on(day: date) -> list[float]:
        found = cache.get(day)
        if found is None:
            found = cache[day] = ([clock.at(day, h, m) for h, m in parsed] if day.weekday() in wanted else [])
        return found

    def next_slot(t: float) -> float:
        day = clock.local_date(t) - timedelta(days=1)  # a slot at 24:00 of yesterday is today's midnight
        for _ in range(_SEARCH_DAYS):
            for slot in on(day):
                if slot >= t:
                    return slot
            day += timedelta(days=1)
        return inf

    return next_slot
