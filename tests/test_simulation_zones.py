"""With no zone given, discovery reads calendars in the zone whose daylight-saving rule the working day keeps:
people who work 08:00-16:00 local time in Amsterdam start at 07:00 UTC in winter and 06:00 UTC in summer, and
their calendar is 08-16 only in a zone that changes its clocks when they do. Validation keeps measuring in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pytest

from mining.filters import Filters
from simulation import Model
from simulation.discovery import discover
from simulation.validation import measurement_zone
from simulation.zones import MIN_WEEK_EVENTS, MIN_WEEKS, detect_timezone
from tests.test_simulation_discover import write_workspace

PEOPLE = ["Ann", "Bob", "Cem"]
HOURS = (8, 16)  # Mon-Fri, local time of the office
FIRST = date(2024, 1, 1)  # a Monday; 26 weeks cover the US (10 March), EU (31 March) and Sydney (7 April) changes
WEEKS = 26


def office_log(zone: str, weeks: int = WEEKS, first: date = FIRST, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, cases): each person handles and checks requests Mon-Fri in HOURS, local time of `zone`,
    times in UTC."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(zone)
    rows: list[dict] = []
    for d in range(weeks * 7):
        day = first + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        opens = datetime.combine(day, time(HOURS[0]), tz).astimezone(UTC)
        closes = datetime.combine(day, time(HOURS[1]), tz).astimezone(UTC)
        for person in PEOPLE:
            t = opens + timedelta(minutes=float(rng.uniform(0, 10)))
            while True:
                handled = t + timedelta(minutes=float(rng.uniform(15, 35)))
                checked = handled + timedelta(minutes=float(rng.uniform(5, 15)))
                if checked > closes - timedelta(minutes=5):
                    break
                case = f"C{len(rows) // 2:06d}"
                rows.append({"case_id": case, "activity": "Handle", "start_time": t, "end_time": handled,
                             "resource": person, "role": "clerk"})
                rows.append({"case_id": case, "activity": "Check", "start_time": handled, "end_time": checked,
                             "resource": person, "role": "clerk"})
                t = checked + timedelta(minutes=float(rng.uniform(0, 5)))
    events = pd.DataFrame(rows)
    cases = pd.DataFrame({"case_id": sorted(events.case_id.unique()), "amount": 100.0, "site": None,
                          "attributes": "{}"})
    return events, cases


def detect(events: pd.DataFrame, ends_only: bool = False):
    con = duckdb.connect()
    frame = events.assign(sys=False, start_time=None if ends_only else events.start_time)
    con.register("frame", frame)
    con.execute("CREATE TABLE ev AS SELECT start_time::TIMESTAMPTZ AS start_time, end_time::TIMESTAMPTZ AS end_time, "
                "resource, activity, sys FROM frame")
    return detect_timezone(con, "ev")


@pytest.mark.parametrize(("zone", "rule"), [("Europe/Amsterdam", "EU"), ("America/New_York", "US"),
                                            ("Australia/Sydney", "south-east Australia")])
def test_detects_the_rule_the_working_day_keeps(zone: str, rule: str):
    for ends_only in (False, True):
        found = detect(office_log(zone)[0], ends_only)
        assert found.zone == zone and found.detected
        best = next(f for f in found.fits if f.zone == zone)
        assert best.follows == pytest.approx(1.0, abs=0.1)
        assert f"the working day keeps the {rule} daylight-saving rule" in found.note
        assert "give the real zone" in found.note


def test_a_working_day_in_utc_keeps_utc():
    # The same people in UTC all year (or a log whose times are local wall-clock time already): nothing moves.
    found = detect(office_log("UTC")[0])
    assert found.zone == "UTC" and not found.detected
    assert all(abs(f.follows) < 0.1 for f in found.fits if f.follows is not None)
    assert "keeps no daylight-saving rule clearly" in found.note


def test_too_little_log_keeps_utc():
    # Three weeks around the EU change: fewer than MIN_WEEKS weeks on each side.
    short = office_log("Europe/Amsterdam", weeks=3, first=date(2024, 3, 18))[0]
    assert MIN_WEEKS > 2
    assert detect(short).zone == "UTC"
    # Half a year, but fewer than MIN_WEEK_EVENTS events a week: no week says enough about the working day.
    events = office_log("Europe/Amsterdam")[0]
    sparse = events.groupby(pd.to_datetime(events.end_time, utc=True).dt.isocalendar().week).head(MIN_WEEK_EVENTS - 1)
    assert detect(sparse).zone == "UTC"
    # A log within one season covers no change of any rule.
    summer = office_log("Europe/Amsterdam", weeks=10, first=date(2024, 5, 6))[0]
    found = detect(summer)
    assert found.zone == "UTC" and all(f.follows is None for f in found.fits)


def test_system_events_do_not_count():
    events = office_log("Europe/Amsterdam")[0]
    con = duckdb.connect()
    con.register("frame", events)
    con.execute("CREATE TABLE ev AS SELECT start_time::TIMESTAMPTZ AS start_time, end_time::TIMESTAMPTZ AS end_time, "
                "resource, activity, true AS sys FROM frame")
    assert detect_timezone(con, "ev").zone == "UTC"


@pytest.fixture(scope="module")
def amsterdam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events, cases = office_log("Europe/Amsterdam")
    return write_workspace(tmp_path_factory.mktemp("zones") / "w.duckdb", events, cases, process="office")


def _hours(model: Model) -> dict[str, set[int]]:
    calendar = next(c for c in model.calendars if c.name == model.role("clerk").calendar)
    out: dict[str, set[int]] = {}
    for s in calendar.shifts:
        for d in s.days:
            out.setdefault(d, set()).update(range(int(s.start[:2]), int(s.end[:2])))
    return out


def test_discovery_reads_calendars_in_the_detected_zone(amsterdam: Path):
    model = discover(amsterdam, "office")
    assert model.arrivals.timezone == "Europe/Amsterdam" and model.arrivals.timezone_detected
    calendar = next(c for c in model.calendars if c.name == model.role("clerk").calendar)
    assert calendar.timezone == "Europe/Amsterdam"
    assert _hours(model) == {d: set(range(*HOURS)) for d in ["Mon", "Tue", "Wed", "Thu", "Fri"]}
    assert "detected, no zone given" in model.notes["source"]
    # Validation measures the timestamps as given, not in a zone guessed from them.
    assert measurement_zone(model) == "UTC"


def test_a_window_of_recent_cases_is_read_back_to_the_start_not_past_its_end(amsterdam: Path):
    # Six summer weeks show no clock change; the cases before them do. Nothing after the window's end is read:
    # a log cut before the first change cannot show the rule.
    def window(first: date, end: date) -> Filters:
        return Filters(process="office", time_from=datetime.combine(first, time(), UTC),
                       time_to=datetime.combine(end, time(), UTC), time_mode="started")

    recent = discover(amsterdam, "office", filters=window(date(2024, 5, 20), date(2024, 7, 1)))
    assert recent.arrivals.timezone == "Europe/Amsterdam" and recent.arrivals.timezone_detected
    assert "back to the log's start" in recent.notes["source"]
    early = discover(amsterdam, "office", filters=window(date(2024, 1, 15), date(2024, 3, 1)))
    assert early.arrivals.timezone == "UTC" and not early.arrivals.timezone_detected


def test_a_given_zone_wins_over_detection(amsterdam: Path, tmp_path: Path):
    given = discover(amsterdam, "office", timezone="Europe/Paris")
    assert given.arrivals.timezone == "Europe/Paris" and not given.arrivals.timezone_detected
    assert measurement_zone(given) == "Europe/Paris"
    events, cases = office_log("Europe/Amsterdam")
    cases = cases.assign(attributes='{"timezone": "Europe/Berlin"}')
    attribute = discover(write_workspace(tmp_path / "w.duckdb", events, cases, process="office"), "office")
    assert attribute.arrivals.timezone == "Europe/Berlin" and not attribute.arrivals.timezone_detected
    assert measurement_zone(attribute) == "Europe/Berlin"


def test_a_model_without_the_field_still_loads(amsterdam: Path):
    text = discover(amsterdam, "office").to_yaml()
    assert "timezone_detected: true" in text
    old = Model.from_yaml(text.replace("  timezone_detected: true\n", ""))
    assert not old.arrivals.timezone_detected and measurement_zone(old) == "Europe/Amsterdam"
