"""Discovery of a simulation `Model` from the event log of a workspace: arrivals, case attributes, processing
times, routing (with amount thresholds where they explain a choice), roles with their working calendars,
absences and headcounts, waiting that no resource explains, and SLA targets. Every finding is explained in
`Model.notes` so that a reviewer can check and edit it.

All work over the events is DuckDB SQL on a temporary table of the selected events; Python only sees small
results (counts per hour, subsampled durations, per-decision amounts) and fits distributions with scipy.
"""

from __future__ import annotations

import math
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from mining.bottlenecks import default_config as bottleneck_config
from mining.bottlenecks import wait_kinds
from mining.cases import EVENT_ORDER
from mining.filters import Filters, case_selection, is_unfiltered
from mining.kpis import default_config as kpi_config
from simulation.fitting import MAX_SAMPLE, Fit, fit_distribution, human
from simulation.spec import (
    END,
    ROLE_KEY_SEPARATOR,
    START,
    WEEKDAYS,
    Activity,
    Arrivals,
    Branch,
    Calendar,
    CaseAttribute,
    Condition,
    Decision,
    Model,
    Role,
    ScheduledAction,
    Shift,
    SlaTarget,
    fixed,
)
from simulation.worktime import WorkingClock
from simulation.zones import ZoneDetection, detect_timezone

StartEstimation = Literal["auto", "none", "always"]
Progress = Callable[[float, str], None]

# Calendars: an hour of a weekday is a working hour of a role when the role's people worked in it on at least
# this share of the days they worked in its busiest hour of the week: the first share whose hours hold
# CALENDAR_COVERAGE of the role's person-hours.
CALENDAR_SHARES = (0.2, 0.1, 0.05)
CALENDAR_COVERAGE = 0.8
# A step done by people without recorded starts that opens more than this share of its cases is done at the arrival.
AT_ARRIVAL_SHARE = 0.5
# A step done by a system gets the calendar of the hours it ran in from this many events on.
SYSTEM_CALENDAR_MIN_EVENTS = 50
# The end of work that stayed open longer than this (hours: more than a working day, so over a night or a weekend)
# does not show when its performer worked: such work is often closed by a system's clean-up at a fixed early hour
# (in bpic2012, work items left open are ended at 05:15 on weekdays), which would read as a shift there; its start
# still counts.
OPEN_WORK_H = 12
# Categorical case attributes: at most this many values; per site only when the sites clearly differ.
MAX_CATEGORIES = 20
PER_SITE_MIN_CASES = 30
PER_SITE_MIN_DISTANCE = 0.1
# Roles split by a case attribute: this share of a role's events is done by the people of the case's own value
# (the rest are stand-ins, e.g. deputies during absences), and each person does this share of their work on one
# value.
PARTITION_OWN_SHARE = 0.9
PARTITION_PERSON_SHARE = 0.8
# Data rules: a threshold on amount is kept when it predicts the branch this well, and halves the errors of
# predicting the majority branch.
RULE_MIN_ACCURACY = 0.95
RULE_MIN_CASES = 20
# Headcount: the people active in the last part of the log (at least this many days) staff the role.
STAFF_WINDOW_DAYS = 90
# An account that records work in more hours of its busy weeks than one person works is several people's.
SHARED_WEEK_HOURS = 60
SHARED_MIN_WEEKS = 8
PERSON_WEEK_HOURS = 40
WARMUP_CAP_DAYS = 30.0
WAIT_KINDS_WITH_DELAY = ("system", "external", "scheduled")
# An event done by a system (role 'system', a configured system resource, a resource called 'system') or by no
# known resource.
SYSTEM_EVENT = """(coalesce(role, '') = 'system' OR list_contains($systems, resource)
                  OR lower(coalesce(resource, '')) = 'system' OR resource IS NULL)"""
# Work for people waits for something no queue explains (see _delays) when at least this share of its waiting is not
# a queue and that part lasts this long on average (working hours of its role); shorter waits are left to the queues
# and calendars. A preceding activity seen this often has a delay of its own.
# When an activity starts (seconds): its estimated start, its recorded start, or its end (instantaneous); parameters
# from _Discovery._start_rules.
STARTED = """coalesce(CASE WHEN list_contains($est, activity) THEN est_start END,
                      CASE WHEN list_contains($rec, activity) THEN start_time END, end_time)"""
# Routing by visit: a repeated activity's next step depends on how often the case has done it (a customer called
# once is called again more often than one called five times) when the visits differ this clearly; visits with
# fewer events from them on pool with the one before.
VISIT_MIN_EVENTS = 100
VISIT_P_VALUE = 0.001
VISIT_MIN_DIFFERENCE = 0.05
MAX_VISIT_STAGES = 4
# Processing time by role: a role split by a case attribute gets its own distribution for an activity when its
# durations differ from the rest's (two-sample KS test at this p-value, both sides with this many pieces of work)
# and the medians differ by at least this factor (a large log makes any difference significant).
ROLE_DURATION_MIN_EVENTS = 30
ROLE_DURATION_P_VALUE = 0.001
ROLE_DURATION_MIN_RATIO = 1.25
HIDDEN_DELAY_SHARE = 0.5
HIDDEN_DELAY_MIN_H = 1.0
# A timer: an activity that comes a fixed time after the step before (tickets closed 15 or 30 days to the minute
# after they were resolved) is done by a system, whoever the log names. It records no starts, TIMER_ACCOUNT_SHARE of
# its events are done by accounts that do little else (TIMER_ACCOUNT_SHARE of their own events), and over
# TIMER_MIN_EVENTS or more waits, at least TIMER_SHARE of them lie within TIMER_TOLERANCE of their median (of
# TIMER_MIN_H or more), or TIMER_DAYS_SHARE are whole days to within TIMER_DAY_S seconds (by chance about 0.3% are;
# among people's work in the real logs of data/real at most 3%) — unless its events are recorded at midnight
# (dates without a time: all waits whole days). A person who postpones a start date every week also comes a fixed
# time after the step before, but does other work as well.
TIMER_SHARE = 0.25
TIMER_DAYS_SHARE = 0.1
TIMER_TOLERANCE = 0.01
TIMER_DAY_S = 120
TIMER_MIN_H = 1.0
TIMER_MIN_EVENTS = 30
TIMER_ACCOUNT_SHARE = 0.8
PAIR_MIN_EVENTS = 30
# Arrivals: a month the log covers on fewer days has no month factor of its own; months without one take the level
# forecast for after the log, within these bounds of the covered months' mean.
MONTH_MIN_DAYS = 14
TREND_BOUNDS = (0.25, 4.0)
# The level forecast is the one of LEVEL_FORECASTS that would have forecast the log's own end best: each predicts the
# cases per day of the last FORECAST_HOLDOUT of the span (whole weeks, so that every weekday weighs the same) from
# the days before it, at origins moved back by these shares of the span (one origin is a noisy judge); the score is
# the mean absolute log ratio of forecast to actual. An origin needs FORECAST_MIN_DAYS of history before it.
FORECAST_HOLDOUT = 0.2
FORECAST_ORIGINS = (0.0, 0.1, 0.2)
FORECAST_MIN_DAYS = 28
# Holt's damped trend on weekly means: the usual smoothing weights and damping.
DAMPED_ALPHA, DAMPED_BETA, DAMPED_PHI = 0.3, 0.1, 0.9


def discover(source: str | os.PathLike | duckdb.DuckDBPyConnection, process: str, *, timezone: str | None = None,
             filters: Filters | None = None, start_estimation: StartEstimation = "auto",
             progress: Progress | None = None) -> Model:
    """Return the simulation model discovered from the events of `process` in a workspace (path, opened read-only,
    or an open DuckDB connection); same log, same model. Durations in seconds, rates in cases per week."""
    if start_estimation not in ("auto", "none", "always"):
        raise ValueError(f"start_estimation must be auto, none or always, not {start_estimation!r}")
    if filters is not None and filters.process != process:
        raise ValueError(f"the filters are for process {filters.process!r}, not {process!r}")
    own = not isinstance(source, duckdb.DuckDBPyConnection)
    if own:
        from ingest import connect

        con = connect(Path(source), read_only=True)
    else:
        con = source
    try:
        return _Discovery(con, process, timezone, filters or Filters(process=process), start_estimation,
                          progress or (lambda fraction, message: None)).run()
    finally:
        if own:
            con.close()


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    # DuckDB rejects unused named parameters: bind only those the statement names.
    used = set(re.findall(r"\$(\w+)", sql))
    return con.execute(sql, {k: v for k, v in (params or {}).items() if k in used}).df()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[tuple]:
    used = set(re.findall(r"\$(\w+)", sql))
    return con.execute(sql, {k: v for k, v in (params or {}).items() if k in used}).fetchall()


def round_probabilities(counts: dict[str, float], digits: int = 4) -> dict[str, float]:
    """Return shares of `counts` rounded to `digits` decimals that sum to exactly 1 (largest remainder); keys whose
    share rounds to 0 are left out."""
    total = float(sum(counts.values()))
    if total <= 0:
        raise ValueError("no counts")
    unit = 10 ** digits
    raw = {k: v / total * unit for k, v in counts.items()}
    floor = {k: int(math.floor(v)) for k, v in raw.items()}
    rest = unit - sum(floor.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - floor[k]), k))[:rest]:
        floor[k] += 1
    return {k: v / unit for k, v in floor.items() if v > 0}


def round_threshold(lo: float, hi: float) -> float:
    """Return the roundest number t with lo <= t < hi (e.g. 10000 between 9987.30 and 10012.50)."""
    if hi <= lo:
        return lo
    for k in range(12, -4, -1):
        for m in (5, 2, 1):
            step = m * 10.0 ** k
            t = math.ceil(lo / step) * step
            if lo <= t < hi:
                return float(round(t, 4))
    return lo


def shifts_from_hours(hours: dict[int, list[int]]) -> list[Shift]:
    """Return shifts for working hours per weekday (0 = Monday: hours of day 0..23), days with equal hours merged."""
    by_span: dict[tuple[int, int], list[int]] = {}
    for dow in range(7):
        hs = sorted(set(hours.get(dow, [])))
        run: list[int] = []
        for h in hs + [99]:
            if run and h != run[-1] + 1:
                by_span.setdefault((run[0], run[-1] + 1), []).append(dow)
                run = []
            if h != 99:
                run.append(h)
    return [Shift(days=[WEEKDAYS[d] for d in days], start=f"{a:02d}:00", end=f"{b:02d}:00")
            for (a, b), days in sorted(by_span.items(), key=lambda kv: (kv[1][0], kv[0]))]


def learn_threshold(amount: np.ndarray, target: np.ndarray) -> dict | None:
    """Return the best single threshold rule on `amount` predicting the boolean `target` (keys op, value,
    accuracy, baseline, cases_true), or None when no rule reaches the accuracy and clearly beats the majority."""
    ok = np.isfinite(amount)
    a, y = amount[ok], target[ok].astype(bool)
    n = len(a)
    if n < 2 * RULE_MIN_CASES or y.sum() < RULE_MIN_CASES or (~y).sum() < RULE_MIN_CASES:
        return None
    order = np.argsort(a, kind="stable")
    a, y = a[order], y[order]
    # Split after position i (0..n-2) between distinct amounts: cum_true[i] targets at or below the split.
    cum_true = np.cumsum(y)[:-1]
    below = np.arange(1, n)
    total_true = y.sum()
    valid = a[1:] > a[:-1]
    if not valid.any():
        return None
    # "amount > t": true above the split; "amount <= t": true at or below it.
    acc_high = ((below - cum_true) + (total_true - cum_true)) / n
    acc_low = (cum_true + ((n - below) - (total_true - cum_true))) / n
    best = None
    for op, acc in ((">", acc_high), ("<=", acc_low)):
        acc = np.where(valid, acc, -1)
        i = int(np.argmax(acc))
        if best is None or acc[i] > best[1] + 1e-12:
            best = (op, float(acc[i]), i)
    op, accuracy, i = best
    baseline = max(y.mean(), 1 - y.mean())
    if accuracy < RULE_MIN_ACCURACY or (1 - accuracy) > 0.5 * (1 - baseline):
        return None
    return {"op": op, "value": round_threshold(float(a[i]), float(a[i + 1])), "accuracy": accuracy,
            "baseline": float(baseline), "cases_true": int(y.sum()), "n": n}


@dataclass
class _SharedAccount:
    """An account several people record their work under (hours in which it recorded work, in its busy weeks)."""

    week: float
    roles: dict[str, float] = field(default_factory=dict)  # the same, per role


class _Discovery:
    def __init__(self, con: duckdb.DuckDBPyConnection, process: str, timezone: str | None, filters: Filters,
                 start_estimation: StartEstimation, progress: Progress) -> None:
        self.con, self.process, self.filters = con, process, filters
        self.mode = start_estimation
        self.progress = progress
        self.tz_arg = timezone
        self.notes: dict[str, str] = {}
        tag = uuid.uuid4().hex[:12]
        self.ev, self.cs, self.wt = f"_disc_ev_{tag}", f"_disc_cs_{tag}", f"_disc_wait_{tag}"
        self.ph = f"_disc_hours_{tag}"
        kcfg = kpi_config(process)
        self.kpi_config = kcfg
        self.systems = sorted(kcfg.system_resources)
        # Delays found per preceding activity, and the activities whose delay counts working time only.
        self.delay_after: dict[str, dict[str, Fit | None]] = {}
        self.working_time_delay: set[str] = set()
        # Timers, and those that fire whole days after the step before (their delays are drawn in whole days).
        self.timers: set[str] = set()
        self.whole_day_timers: set[str] = set()
        # Steps done by a system that works some hours of the week only: their calendars.
        self.system_calendars: dict[str, Calendar] = {}

    # -- orchestration ---------------------------------------------------------------------------------------

    def run(self) -> Model:
        try:
            return self._run()
        finally:
            for t in (self.ev, self.cs, self.wt, self.ph):
                self.con.execute(f"DROP TABLE IF EXISTS {t}").fetchall()

    def _run(self) -> Model:
        self.progress(0.0, "reading the events")
        self._create_tables()
        n_cases, n_events = _rows(self.con, f"SELECT count(DISTINCT case_id), count(*) FROM {self.ev}")[0]
        if n_cases == 0:
            raise ValueError(f"no events of process {self.process!r} (after the filters)")
        self.tz = self._timezone()
        self.notes["source"] = (f"{n_cases:,} cases and {n_events:,} events of process {self.process}"
                                f"{'' if is_unfiltered(self.filters) else ' (filtered)'}; times read in {self.tz} "
                                f"({self.tz_source}).")
        self.progress(0.1, "arrivals")
        start, horizon_days, arrivals = self._arrivals(n_cases)
        self.progress(0.2, "case attributes")
        attributes = self._attributes()
        self.progress(0.3, "performers, roles and calendars")
        self._timers()
        self._classify()
        self._partition(attributes, arrivals.sites)
        roles, calendars = self._roles_and_calendars()
        by_name = {c.name: c for c in calendars}
        self.role_calendars = {r.name: by_name.get(r.calendar) for r in roles if r.calendar}
        self.role_names = {r.name for r in roles}
        self.progress(0.45, "processing times")
        self._estimate_starts(calendars)
        calendars += self._system_calendars()
        policies = self._batches()
        durations = self._durations()
        self.progress(0.65, "waiting no resource explains")
        delays = self._delays()
        self.progress(0.8, "routing")
        decisions = self._routing()
        activities = self._activities(durations, delays)
        sla = self._sla()
        warmup, max_visits = self._warmup(horizon_days)
        model = Model(name=f"{self.process} (discovered)", process=self.process, start=start,
                      horizon_days=horizon_days, warmup_days=warmup, arrivals=arrivals, attributes=attributes,
                      activities=activities, decisions=decisions, roles=roles, calendars=calendars, sla=sla,
                      max_visits=max_visits, policies=policies, notes=self.notes)
        self.progress(1.0, "model discovered")
        return model

    # -- data ------------------------------------------------------------------------------------------------

    def _create_tables(self) -> None:
        selection, params = case_selection(self.filters)
        where = "true" if is_unfiltered(self.filters) else "case_id IN (SELECT case_id FROM selected)"
        cte = "" if is_unfiltered(self.filters) else f"WITH selected AS ({selection})"
        order = EVENT_ORDER
        params = {**params, "f_process": self.process, "systems": self.systems}
        # One row per selected event, in case order, with what came before it in its case and for its resource.
        _rows(self.con, f"""
            CREATE TEMP TABLE {self.ev} AS
            {cte}
            SELECT case_id, activity, start_time, end_time, resource, role, role AS grp, event_id,
                   {SYSTEM_EVENT} AS sys,
                   row_number() OVER w AS pos,
                   lag(end_time) OVER w AS prev_end,
                   lag(activity) OVER w AS prev_activity,
                   lead(activity) OVER w AS next_activity,
                   CASE WHEN resource IS NOT NULL
                        THEN lag(end_time) OVER (PARTITION BY resource ORDER BY end_time, event_id) END
                       AS res_prev_end,
                   CAST(NULL AS TIMESTAMPTZ) AS est_start
            FROM events
            WHERE process = $f_process AND {where}
            WINDOW w AS (PARTITION BY case_id ORDER BY {order})
        """, params)
        self.con.execute(f"""
            CREATE TEMP TABLE {self.cs} AS
            SELECT s.case_id, s.arrival, s.case_end, c.amount, c.currency, c.site, c.department, c.attributes
            FROM (SELECT case_id, min(coalesce(start_time, end_time)) AS arrival, max(end_time) AS case_end
                  FROM {self.ev} GROUP BY case_id) s
            LEFT JOIN cases c ON c.process = $p AND c.case_id = s.case_id
        """, {"p": self.process}).fetchall()

    def _timezone(self) -> str:
        self.tz_detected = False
        if self.tz_arg:
            ZoneInfo(self.tz_arg)
            self.tz_source = "as asked"
            return self.tz_arg
        rows = _rows(self.con, f"""
            SELECT json_extract_string(attributes, '$.timezone') AS tz, count(*) AS n FROM {self.cs}
            WHERE json_extract_string(attributes, '$.timezone') IS NOT NULL
            GROUP BY tz ORDER BY n DESC, tz
        """)
        for tz, _ in rows:
            try:
                ZoneInfo(tz)
                self.tz_source = "the case attribute timezone, its most frequent value"
                return tz
            except (KeyError, ValueError):
                continue
        # No zone given: people keep local office hours, so the zone whose clock changes the working day follows
        # reads their calendars without the hour's blur at every change (validation still measures in UTC).
        detection = self._detect_timezone()
        self.tz_detected = detection.detected
        back = " (read on the selected cases back to the log's start)" if self.filters.time_from else ""
        self.tz_source = ("detected" if detection.detected else "the default") + ", no zone given and no case " \
            f"attribute timezone{back}: {detection.note}"
        return detection.zone

    def _detect_timezone(self) -> ZoneDetection:
        if self.filters.time_from is None:
            return detect_timezone(self.con, self.ev)
        # A daylight-saving rule shows across the seasons only, which a window of recent cases may not span: read
        # the selected cases back to the log's start, never past the window's end (a validation's training model
        # sees nothing of its test period).
        selection, params = case_selection(self.filters.model_copy(update={"time_from": None}))
        table = f"{self.ev}_tz"
        _rows(self.con, f"""
            CREATE TEMP TABLE {table} AS
            WITH selected AS ({selection})
            SELECT start_time, end_time, resource, activity, {SYSTEM_EVENT} AS sys FROM events
            WHERE process = $f_process AND case_id IN (SELECT case_id FROM selected)
        """, {**params, "systems": self.systems})
        try:
            return detect_timezone(self.con, table)
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS {table}").fetchall()

    # -- arrivals --------------------------------------------------------------------------------------------

    def _arrivals(self, n_cases: int) -> tuple[datetime, float, Arrivals]:
        first, last = _rows(self.con, f"SELECT min(arrival), max(arrival) FROM {self.cs}")[0]
        span_days = max((last - first).total_seconds() / 86400, 1.0)
        per_week = n_cases / span_days * 7
        how = _run(self.con, f"""
            SELECT (isodow(timezone($tz, arrival)) - 1) * 24 + hour(timezone($tz, arrival)) AS h, count(*) AS n
            FROM {self.cs} GROUP BY h ORDER BY h
        """, {"tz": self.tz})
        counts = np.zeros(168)
        counts[how.h.astype(int).to_numpy()] = how.n.to_numpy()
        hour_of_week = [round(float(v), 4) for v in counts / counts.mean()]
        # Month factors: the arrival rate per day of each calendar month, over the days of it the log covers.
        daily = _run(self.con, f"""
            SELECT month(d) AS m, count(*) AS days, sum(n) AS n FROM (
                SELECT d::DATE AS d, count(a.case_id) AS n
                FROM generate_series(date_trunc('day', timezone($tz, $first::TIMESTAMPTZ)),
                                     date_trunc('day', timezone($tz, $last::TIMESTAMPTZ)), INTERVAL 1 DAY) g(d)
                LEFT JOIN {self.cs} a ON date_trunc('day', timezone($tz, a.arrival)) = g.d
                GROUP BY d)
            GROUP BY m ORDER BY m
        """, {"tz": self.tz, "first": first, "last": last})
        month = [1.0] * 12
        rates = {int(r.m): r.n / r.days for r in daily.itertuples() if r.days >= MONTH_MIN_DAYS}
        level, forecast, scores = self._arrival_level(first, span_days)
        covered = bool(rates) and sum(rates.values()) > 0
        mean = float(np.mean(list(rates.values()))) if covered else per_week / 7  # cases per day
        recent_factor = round(min(max(level / mean, TREND_BOUNDS[0]), TREND_BOUNDS[1]), 4)
        forecast_per_week = recent_factor * mean * 7
        if covered:
            for m, r in rates.items():
                month[m - 1] = round(r / mean, 4)
            # A month the log does not cover (or barely) is not an average month: it comes after the log, so a
            # forecast of the level after the log is the better guess. The engine scales by the mean month factor, which
            # the weekly rate carries so that every covered month keeps its own rate.
            month = [month[m] if m + 1 in rates else recent_factor for m in range(12)]
            per_week = mean * 7 * float(np.mean(month))
        sites = _run(self.con, f"SELECT site, count(*) AS n FROM {self.cs} WHERE site IS NOT NULL GROUP BY site "
                               "ORDER BY site")
        site_shares = round_probabilities(dict(zip(sites.site, sites.n, strict=True))) if len(sites) else {}
        busiest = int(np.argmax(counts))
        weekday_share = counts.reshape(7, 24).sum(axis=1) / counts.sum()
        self.notes["arrivals"] = (
            f"{n_cases:,} cases (first event of each case) over {span_days / 7:.1f} weeks, {per_week:,.1f} per week; "
            f"hour-of-week weights from the arrival times in {self.tz} (mean 1; busiest "
            f"{WEEKDAYS[busiest // 24]} {busiest % 24:02d}:00, weight {hour_of_week[busiest]:.2f}; weekend share "
            f"{weekday_share[5:].sum():.0%}); month factors = arrivals per day of the month over the mean of the "
            f"{len(rates)} months covered on at least {MONTH_MIN_DAYS} days; the other months at the level forecast "
            f"for after the log ({_forecast_text(forecast, scores)}: {level * 7:,.1f} per week, {recent_factor:.2f} "
            f"of the covered months' mean (the whole log's without any), kept within {TREND_BOUNDS[0]:g} and "
            f"{TREND_BOUNDS[1]:g}), and the weekly rate, {per_week:,.1f}, carries the mean month factor): "
            + ", ".join(f"{m:.2f}" for m in month)
            + f"; after the log ({last.astimezone(UTC):%Y-%m-%d %H:%M} UTC) every month arrives at the forecast level, "
              f"{forecast_per_week:,.1f} per week: a month the log covers once shows how busy it was that year, "
              "not in the next (the month factors shape the log's own span)"
            + (f"; sites by share of cases: {', '.join(f'{k} {v:.1%}' for k, v in site_shares.items())}"
               if site_shares else "; no site recorded"))
        self.notes["horizon"] = (f"start = first arrival {first.astimezone(UTC):%Y-%m-%d %H:%M} UTC; horizon = the "
                                 f"observed span of arrivals, {span_days:.1f} days.")
        return first.astimezone(UTC), round(span_days, 3), Arrivals(
            cases_per_week=round(per_week, 3), timezone=self.tz, timezone_detected=self.tz_detected,
            hour_of_week=hour_of_week, month=month,
            sites=site_shares, forecast_from=last.astimezone(UTC), forecast_per_week=round(forecast_per_week, 3))

    def _arrival_level(self, first: datetime, span_days: float) -> tuple[float, str, dict[str, float]]:
        """Return the cases per day forecast for after the log, the forecast's name and the backtest's scores."""
        per_day = _run(self.con, f"""
            SELECT floor(epoch(arrival - $first::TIMESTAMPTZ) / 86400)::BIGINT AS d, count(*) AS n
            FROM {self.cs} GROUP BY d ORDER BY d
        """, {"first": first})
        # Whole days only: the log's last, partial day would read as a drop in the rate.
        days = max(int(math.floor(span_days)), 1)
        counts = np.zeros(days)
        idx = per_day.d.to_numpy(dtype=int)
        ok = idx < days
        counts[idx[ok]] = per_day.n.to_numpy(dtype=float)[ok]
        return forecast_level(counts)

    # -- case attributes -------------------------------------------------------------------------------------

    def _attributes(self) -> list[CaseAttribute]:
        out: list[CaseAttribute] = []
        n_cases = _rows(self.con, f"SELECT count(*) FROM {self.cs}")[0][0]
        amounts = _run(self.con, f"SELECT amount, currency FROM {self.cs} WHERE amount IS NOT NULL")
        if len(amounts) >= max(10, 0.5 * n_cases):
            currency = amounts.currency.mode().iloc[0] if amounts.currency.notna().any() else ""
            fit = fit_distribution(amounts.amount.to_numpy(), unit=str(currency or "money"))
            if fit is not None:
                out.append(CaseAttribute(name="amount", number=fit.distribution))
                self.notes["attribute amount"] = (f"amount of {len(amounts):,} of {n_cases:,} cases, in "
                                                  f"{currency or 'the log currency'}: {fit.note}")
        keys = _run(self.con, f"""
            WITH kv AS (
                SELECT 'department' AS k, department AS v FROM {self.cs} WHERE department IS NOT NULL
                UNION ALL
                SELECT k, json_extract_string(attributes, '$."' || replace(k, '"', '\\"') || '"') AS v
                FROM {self.cs}, unnest(json_keys(attributes)) AS t(k)
                WHERE attributes IS NOT NULL
            )
            SELECT k, count(DISTINCT v) AS values, count(v) AS cases FROM kv WHERE v IS NOT NULL
            GROUP BY k ORDER BY k
        """)
        skipped: list[str] = []
        for k, n_values, n_with in keys.itertuples(index=False):
            if k in ("timezone", "amount", "site", "currency"):
                continue
            if n_values > MAX_CATEGORIES or n_values <= 1 or n_with < 0.5 * n_cases:
                why = ("an identifier" if n_values >= 0.9 * n_with else f"{n_values} values") \
                    if n_values > MAX_CATEGORIES else ("one value" if n_values <= 1 else f"only in {n_with} cases")
                skipped.append(f"{k} ({why})")
                continue
            out.append(self._categorical(k, n_cases))
        if skipped:
            self.notes["attributes skipped"] = ("case attributes left out (more than "
                                                f"{MAX_CATEGORIES} values, one value, or in fewer than half of the "
                                                f"cases): {', '.join(skipped)}")
        return out

    def _categorical(self, key: str, n_cases: int) -> CaseAttribute:
        value = "department" if key == "department" else \
            """json_extract_string(attributes, '$."' || replace($k, '"', '\\"') || '"')"""
        df = _run(self.con, f"""
            SELECT coalesce(site, '') AS site, {value} AS v, count(*) AS n FROM {self.cs}
            WHERE {value} IS NOT NULL GROUP BY ALL ORDER BY site, v
        """, {"k": key})
        overall = df.groupby("v").n.sum()
        categories = round_probabilities(overall.to_dict())
        note = (f"{key}: {len(overall)} values over {int(overall.sum()):,} of {n_cases:,} cases: "
                + ", ".join(f"{k} {v:.1%}" for k, v in sorted(categories.items(), key=lambda kv: -kv[1])[:8])
                + (" ..." if len(categories) > 8 else ""))
        per_site: dict[str, dict[str, float]] = {}
        table = df[df.site != ""].pivot_table(index="site", columns="v", values="n", aggfunc="sum", fill_value=0)
        table = table[table.sum(axis=1) >= PER_SITE_MIN_CASES]
        if len(table) >= 2 and table.shape[1] >= 2:
            shares = table.div(table.sum(axis=1), axis=0)
            mean = overall.reindex(table.columns).fillna(0) / overall.sum()
            distance = float((shares - mean).abs().sum(axis=1).max() / 2)
            with np.errstate(all="ignore"):
                p = float(stats.chi2_contingency(table.to_numpy()[:, table.sum(axis=0).to_numpy() > 0])[1])
            if p < 1e-6 and distance >= PER_SITE_MIN_DISTANCE:
                per_site = {str(site): round_probabilities({str(k): float(v) for k, v in row.items() if v > 0})
                            for site, row in table.iterrows()}
                note += (f"; differs by site (chi-square p {p:.1g}, total variation up to {distance:.2f}): drawn "
                         f"per site for the {len(per_site)} sites with at least {PER_SITE_MIN_CASES} cases")
        self.notes[f"attribute {key}"] = note
        return CaseAttribute(name=key, categories={str(k): v for k, v in categories.items()}, per_site=per_site)

    # -- performers ------------------------------------------------------------------------------------------

    def _timers(self) -> None:
        # Its performer's recorded work tiles their time (each estimated start is their previous end), so a timer's
        # wait would read as a queue for one busy person rather than the fixed delay it is.
        found = _run(self.con, f"""
            WITH own AS (SELECT resource, activity,
                                count(*) / sum(count(*)) OVER (PARTITION BY resource) AS share
                         FROM {self.ev} WHERE NOT sys GROUP BY resource, activity),
            w AS (SELECT e.activity, epoch(e.end_time - e.prev_end) AS s, e.start_time IS NOT NULL AS started,
                         median(epoch(e.end_time - e.prev_end)) OVER (PARTITION BY e.activity) AS m,
                         epoch(e.end_time) % 86400 = 0 AS midnight, o.share >= $account AS account
                  FROM {self.ev} e JOIN own o USING (resource, activity)
                  WHERE e.prev_end IS NOT NULL AND NOT e.sys),
            a AS (SELECT activity, count(*) AS n, any_value(m) AS m, avg(midnight::INT) AS midnight,
                         bool_or(started) AS started, avg(account::INT) AS accounts,
                         avg((m >= $min_s AND abs(s - m) <= $tol * m)::INT) AS fixed,
                         avg((s >= 86400 - $day_s AND least(s % 86400, 86400 - s % 86400) <= $day_s)::INT) AS days
                  FROM w GROUP BY activity)
            SELECT activity, n, m, greatest(fixed, days) AS share, days >= fixed AS whole_days
            FROM a WHERE n >= $min_n AND midnight < 0.5 AND NOT started AND accounts >= $account
                         AND (fixed >= $share OR days >= $days_share)
            ORDER BY activity
        """, {"tol": TIMER_TOLERANCE, "day_s": TIMER_DAY_S, "min_n": TIMER_MIN_EVENTS, "min_s": TIMER_MIN_H * 3600,
              "share": TIMER_SHARE, "days_share": TIMER_DAYS_SHARE, "account": TIMER_ACCOUNT_SHARE})
        if found.empty:
            return
        self.con.execute(f"UPDATE {self.ev} SET sys = true WHERE list_contains($acts, activity)",
                         {"acts": found.activity.tolist()}).fetchall()
        self.timers = set(found.activity)
        self.whole_day_timers = set(found.activity[found.whole_days])
        self.notes["timers"] = (
            "done by a system whoever the log names, as they come a fixed time after the step before (at least "
            f"{TIMER_SHARE:.0%} of the waits within {TIMER_TOLERANCE:.0%} of their median, or {TIMER_DAYS_SHARE:.0%} "
            f"whole days to {TIMER_DAY_S // 60} minutes, which chance makes about 0.3%), record no starts and are "
            f"done by accounts that do little else (at least {TIMER_ACCOUNT_SHARE:.0%} of their events): "
            + "; ".join(f"{r.activity} ({r.share:.0%} of {r.n:,} waits "
                        + ("whole days" if r.whole_days else f"within {TIMER_TOLERANCE:.0%} of {human(float(r.m))}")
                        + ")" for r in found.itertuples()) + ".")

    def _classify(self) -> None:
        stats_ = _run(self.con, f"""
            SELECT count(*) FILTER (WHERE NOT sys) AS manual, count(grp) FILTER (WHERE NOT sys) AS with_role
            FROM {self.ev}
        """)
        manual, with_role = int(stats_.manual[0]), int(stats_.with_role[0])
        self.pooled = manual > 0 and with_role < 0.5 * manual
        if not self.pooled:
            self.notes["roles from"] = "the role recorded on the events (an activity's role: its most frequent one)."
            return
        # No roles in the log: resources doing the same activities form a pool. An activity counts for a resource
        # when it makes at least 5% of the resource's work, so that a rare stand-in does not split a pool.
        per = _run(self.con, f"""
            SELECT resource, activity, count(*) AS n FROM {self.ev}
            WHERE NOT sys GROUP BY ALL ORDER BY resource, activity
        """)
        per["share"] = per.n / per.groupby("resource").n.transform("sum")
        sets = per[per.share >= 0.05].groupby("resource").activity.apply(lambda s: tuple(sorted(s)))
        volume = per.groupby("activity").n.sum()
        work = per.groupby("resource").n.sum()
        load: dict[tuple, int] = {}
        for r, acts in sets.items():
            load[acts] = load.get(acts, 0) + int(work[r])
        # A pool with under 1% of the manual work joins the larger pool whose activities overlap its own most
        # (Jaccard), so that a handful of occasional performers does not make a pool of its own.
        ranked = sorted(load, key=lambda a: (-load[a], a))
        big = [a for a in ranked if load[a] >= 0.01 * manual] or ranked[:1]
        home: dict[tuple, tuple] = {}
        for acts in ranked:
            if acts in big:
                home[acts] = acts
                continue
            best = max(big, key=lambda b: (len(set(acts) & set(b)) / len(set(acts) | set(b)), load[b]))
            home[acts] = best if set(acts) & set(best) else acts
        names: dict[tuple, str] = {}
        for acts in ranked:
            if home[acts] == acts:
                main = max(acts, key=lambda a: (volume[a], a))
                names[acts] = f"pool {len(names) + 1}: {main}" + (f" +{len(acts) - 1}" if len(acts) > 1 else "")
        mapping = pd.DataFrame({"resource": sets.index, "pool": [names[home[a]] for a in sets]})
        self.con.register("_disc_pools", mapping)
        try:
            self.con.execute(f"UPDATE {self.ev} e SET grp = p.pool FROM _disc_pools p "
                             "WHERE e.resource = p.resource AND NOT e.sys").fetchall()
        finally:
            self.con.unregister("_disc_pools")
        self.notes["roles from"] = (
            f"the log records no roles for most manual events ({with_role:,} of {manual:,}): resources are pooled "
            f"by the activities they perform (those making at least 5% of a resource's events); resources with the "
            f"same set of activities form one pool; a pool with under 1% of the manual work joins the pool whose "
            f"activities overlap its own most ({len(names)} pools from {len(sets)} resources).")

    def _partition(self, attributes: list[CaseAttribute], sites: dict[str, float]) -> None:
        """Split each role whose people each work on the cases of one department and/or site into one role per
        value, so that a role's queue, calendar and absences are those of the people who really do its work."""
        # split role -> (role it was split from, attributes, value key); original role -> (attributes, key -> role)
        self.split_from: dict[str, str] = {}
        self.role_by: dict[str, tuple[list[str], dict[str, str]]] = {}
        drawn = {a.name: a for a in attributes if a.number is None}
        candidates: list[list[str]] = []
        if "department" in drawn:
            candidates.append(["department"])
        if len(sites) >= 2:
            candidates.append(["site"])
            # The simulated cases pair a department with a site only when the departments are drawn per site.
            if "department" in drawn and drawn["department"].per_site:
                candidates.append(["department", "site"])
        if not candidates:
            self.notes["roles by case attribute"] = "none: the model draws neither departments nor sites."
            return
        df = _run(self.con, f"""
            SELECT e.grp, e.resource, coalesce(c.department, '') AS department, coalesce(c.site, '') AS site,
                   count(*) AS n
            FROM {self.ev} e JOIN {self.cs} c USING (case_id)
            WHERE NOT e.sys AND e.grp IS NOT NULL AND e.resource IS NOT NULL
            GROUP BY ALL ORDER BY ALL
        """)
        found: list[str] = []
        mapping: list[tuple[str, str]] = []
        for grp, g in df.groupby("grp", sort=True):
            if g.resource.nunique() < 2:
                continue
            best: tuple[tuple[int, float], list[str], dict[str, list[str]], float, float] | None = None
            for attrs in candidates:
                key = g[attrs].astype(str).agg(ROLE_KEY_SEPARATOR.join, axis=1)
                complete = (g[attrs] != "").all(axis=1)
                by = g[complete].assign(key=key[complete]).groupby(["resource", "key"]).n.sum()
                if by.empty:
                    continue
                per_person = by.groupby(level=0)
                main = {r: k for r, k in per_person.idxmax()}
                person_share = float((per_person.max() / per_person.sum()).min())
                owners: dict[str, list[str]] = {}
                for r, k in sorted(main.items()):
                    owners.setdefault(k, []).append(r)
                own = float(sum(n for (r, k), n in by.items() if main[r] == k) / g.n.sum())
                if len(owners) < 2 or own < PARTITION_OWN_SHARE or person_share < PARTITION_PERSON_SHARE:
                    continue
                # The finest partition that still explains the work: departments per site rather than sites.
                score = (len(owners), own)
                if best is None or score > best[0]:
                    best = (score, attrs, owners, own, person_share)
            if best is None:
                continue
            _, attrs, owners, own, person_share = best
            routes = {k: f"{grp}{ROLE_KEY_SEPARATOR}{k}" for k in sorted(owners)}
            self.role_by[str(grp)] = (list(attrs), routes)
            for k, people_ in owners.items():
                self.split_from[routes[k]] = str(grp)
                mapping += [(r, routes[k]) for r in people_]
            found.append(f"{grp} by {' and '.join(attrs)} into {len(owners)} roles ({own:.1%} of its events done "
                         f"by the people of the case's own {' · '.join(attrs)}; each person at least "
                         f"{person_share:.0%} on one; the rest are stand-ins)")
        if mapping:
            self.con.register("_disc_split", pd.DataFrame(mapping, columns=["resource", "role"]))
            try:
                # A person's stand-in work stays in their own role: their hours and absences are one calendar.
                self.con.execute(f"UPDATE {self.ev} e SET grp = s.role FROM _disc_split s "
                                 "WHERE e.resource = s.resource AND NOT e.sys AND e.grp IS NOT NULL").fetchall()
            finally:
                self.con.unregister("_disc_split")
        self.notes["roles by case attribute"] = (
            "a role whose people each work on the cases of one department, one site or one department at one site "
            f"(at least {PARTITION_OWN_SHARE:.0%} of its events done by the people whose main value is the case's, "
            f"each person with at least {PARTITION_PERSON_SHARE:.0%} of their events on their main value) is split "
            "into one role per value, with its own people, calendar and absences; its activities choose the role "
            "by the case's value (role_by), values nobody owns going to the largest of the roles; the finest "
            "such partition wins. Stand-ins (work on other values) stay with their performer's role and are "
            "not simulated as such. "
            + ("Split: " + "; ".join(found) + "." if found else "No role is split."))

    def _roles_and_calendars(self) -> tuple[list[Role], list[Calendar]]:
        last = _rows(self.con, f"SELECT max(end_time), min(end_time) FROM {self.ev}")[0]
        window_start = max(last[1], last[0] - pd.Timedelta(days=STAFF_WINDOW_DAYS).to_pytimedelta())
        people = _run(self.con, f"""
            SELECT grp, resource, count(*) AS n, max(end_time) >= $since AS recent
            FROM {self.ev} WHERE NOT sys AND grp IS NOT NULL AND resource IS NOT NULL
            GROUP BY ALL ORDER BY grp, resource
        """, {"since": window_start})
        self._person_hours()
        hours = _run(self.con, f"""
            SELECT grp, isodow(day) - 1 AS dow, h, count(*) AS n FROM {self.ph}
            GROUP BY ALL ORDER BY grp, dow, h
        """)
        shared = self._shared_accounts()
        self.work_hours: dict[str, dict[int, list[int]]] = {}
        roles: list[Role] = []
        calendars: list[Calendar] = []
        for grp in sorted(people.grp.unique()):
            mine = people[people.grp == grp]
            recent = mine[mine.recent]
            staff = recent if len(recent) else mine
            h = hours[hours.grp == grp]
            cal_name = None
            note = f"{len(staff)} {'person' if len(staff) == 1 else 'people'}"
            if len(staff) < len(mine):
                note += f" active in the last {STAFF_WINDOW_DAYS} days of the log ({len(mine)} seen over the log)"
            if h.n.sum() >= 50:
                wh, share, covered = working_hours(h)
                self.work_hours[grp] = wh
                shifts = shifts_from_hours(wh)
                if covered < CALENDAR_COVERAGE:
                    note += (f"; work too spread out over the week to read a calendar (the best hours hold "
                             f"{covered:.0%} of its person-hours): always available")
                elif shifts and sum(len(v) for v in wh.values()) < 168:
                    cal_name = f"{grp} hours"
                    calendars.append(Calendar(name=cal_name, timezone=self.tz, shifts=shifts))
                    note += (f"; calendar {cal_name}: "
                             + "; ".join(f"{','.join(s.days)} {s.start}-{s.end}" for s in shifts)
                             + f" (hours worked on at least {share:.0%} as many days as the busiest hour; they hold "
                               f"{covered:.0%} of the role's person-hours)")
                else:
                    note += "; works around the clock (no calendar)"
            else:
                note += "; under 50 person-hours of work recorded: too few for a calendar (always available)"
            absence = self._absence(grp)
            if absence is not None:
                note += f"; absent on about {absence:.0%} of their working days"
            headcount = len(staff)
            for account in sorted(set(staff.resource) & set(shared)):
                week, in_role = shared[account].week, shared[account].roles.get(grp, 0.0)
                behind = max(1, math.ceil(in_role / PERSON_WEEK_HOURS))
                headcount += behind - 1
                who = "person" if behind == 1 else "people"
                note += (f"; {account} is an account shared by several people (work recorded in {week:.0f} hours "
                         f"of its busy weeks, more than one person works): it counts as {behind} {who}, the "
                         f"fewest who work its {in_role:.0f} hours a week in this role at {PERSON_WEEK_HOURS} each")
            # The rate the mining KPIs charge for the role's work, so that the twin's cost per case and the log's
            # are of one cost model: the role's configured rate, else the configuration's default.
            rates = self.kpi_config.rate_per_role_hour
            cost = float(rates.get(grp, rates.get(self.split_from.get(grp, grp), self.kpi_config.default_rate)))
            roles.append(Role(name=str(grp), headcount=headcount, calendar=cal_name, hourly_cost=cost,
                              absence_share=absence or 0.0, people=[str(r) for r in staff.resource]))
            self.notes[f"role {grp}"] = note
        self.notes["calendars"] = (
            f"from when people actually work, in {self.tz}: a person works in an hour of a day when they started or "
            f"ended work in it (not the end of work left open over {OPEN_WORK_H} hours, often closed by a system's "
            "clean-up), or it lies between two such moments at most 3 hours apart (idle but present; a split "
            "shift's long break stays a break); a role's working hours per weekday are the hours worked on at least "
            f"a share of as many days as its busiest hour of the week (and on 3 days or more) — the largest share of "
            f"{', '.join(f'{x:.0%}' for x in CALENDAR_SHARES)} whose hours hold {CALENDAR_COVERAGE:.0%} of the role's "
            "person-hours; no calendar when none does or with under 50 person-hours —, gaps of up to 2 hours in a "
            "day filled, consecutive hours merged into shifts and weekdays with equal shifts grouped. No holidays "
            "are detected.")
        self.notes["roles"] = (
            f"headcount = the distinct people of a role who worked in the last {STAFF_WINDOW_DAYS} days of the log "
            "(all seen when none did); absence share = per person, the share of the weekdays of the role's "
            "calendar on which the role worked but the person recorded nothing, between their first and last "
            "event, median over people averaging at least 5 events per day worked (rough: a light workload reads "
            "as absence, so roles with less work per day get 0); an account that records work in more than "
            f"{SHARED_WEEK_HOURS} hours a week in its busy weeks (the 90th percentile, over {SHARED_MIN_WEEKS} weeks "
            "or more) stands for several people, as many in a role as work its busy weeks' hours there at "
            f"{PERSON_WEEK_HOURS} hours each; hourly cost = the KPI configuration's rate for the role, else its "
            f"default rate ({self.kpi_config.default_rate:g} per hour), as the mining KPIs charge it: edit it "
            "for real costs.")
        return roles, calendars

    def _person_hours(self) -> None:
        """Create the table self.ph: one row per role, person, local day and hour in which they worked."""
        # Person-hours, not events: a person counts as working in an hour of a local day when they started or
        # ended work in it (not the end of work open over OPEN_WORK_H), or in an hour between two such moments at
        # most 3 hours apart (idle between two pieces of work, but present; a split shift's long break stays a
        # break). A batch recorded once per case is one hour of one person.
        self.con.execute(f"""
            CREATE TEMP TABLE {self.ph} AS
            WITH t AS (
                SELECT grp, resource, timezone($tz, end_time) AS t FROM {self.ev}
                WHERE NOT sys AND grp IS NOT NULL
                      AND (start_time IS NULL OR epoch(end_time - start_time) <= $open_s)
                UNION ALL
                SELECT grp, resource, timezone($tz, start_time) FROM {self.ev}
                WHERE NOT sys AND grp IS NOT NULL AND start_time IS NOT NULL),
            p AS (SELECT grp, resource, t::DATE AS day, hour(t) AS h,
                         lag(hour(t)) OVER (PARTITION BY grp, resource, t::DATE ORDER BY t) AS prev_h
                  FROM t)
            SELECT DISTINCT grp, resource, day,
                   unnest(CASE WHEN h - prev_h <= 3 THEN range(prev_h, h + 1) ELSE [h] END) AS h FROM p
        """, {"tz": self.tz, "open_s": OPEN_WORK_H * 3600}).fetchall()

    def _shared_accounts(self) -> dict[str, _SharedAccount]:
        """Return the accounts that stand for several people, by name."""
        # One person does not record work in more than SHARED_WEEK_HOURS hours of a week, week after week: an
        # account that does (bpic2020's "STAFF MEMBER" does every step of six roles) is several people's. Its
        # busy weeks (the 90th percentile) tell the fewest people it takes; the quiet ones say nothing.
        df = _run(self.con, f"""
            WITH per_role AS (SELECT grp, resource, date_trunc('week', day) AS week, count(*) AS n FROM {self.ph}
                              GROUP BY ALL),
            whole AS (SELECT resource, date_trunc('week', day) AS week, count(DISTINCT (day, h)) AS n
                      FROM {self.ph} WHERE resource IS NOT NULL GROUP BY ALL),
            busy AS (SELECT resource, quantile_cont(n, 0.9) AS week FROM whole GROUP BY resource
                     HAVING count(*) >= $weeks AND quantile_cont(n, 0.9) > $limit)
            SELECT b.resource, b.week, r.grp, quantile_cont(r.n, 0.9) AS in_role
            FROM busy b JOIN per_role r USING (resource) GROUP BY ALL ORDER BY ALL
        """, {"weeks": SHARED_MIN_WEEKS, "limit": SHARED_WEEK_HOURS})
        out: dict[str, _SharedAccount] = {}
        for row in df.itertuples():
            out.setdefault(str(row.resource), _SharedAccount(float(row.week))).roles[str(row.grp)] = float(row.in_role)
        return out

    def _system_calendars(self) -> list[Calendar]:
        # A system often works some hours only (a job started in office hours, a payment run on two afternoons a
        # week): drawn at any hour, its steps would land at night and at weekends. Days, not events, decide the
        # hours: a run's many events at one moment are one run. Timers keep the time of day they were set.
        acts = sorted(a for a, auto in self.automated.items() if auto and a not in self.timers)
        if not acts:
            return []
        hours = _run(self.con, f"""
            SELECT activity, isodow(timezone($tz, end_time)) - 1 AS dow, hour(timezone($tz, end_time)) AS h,
                   count(DISTINCT timezone($tz, end_time)::DATE) AS days, count(*) AS n,
                   count(*) FILTER (WHERE prev_end IS NULL) AS firsts
            FROM {self.ev} WHERE list_contains($acts, activity)
            GROUP BY ALL ORDER BY ALL
        """, {"tz": self.tz, "acts": acts})
        found = []
        for a, h in hours.groupby("activity", sort=True):
            # A step that starts cases comes when the arrivals bring it, whose rate by hour of the week has its hours.
            if h.n.sum() < SYSTEM_CALENDAR_MIN_EVENTS or h.firsts.sum() > 0.5 * h.n.sum():
                continue
            wh, share, covered = working_hours(h, weight="days")
            n_hours = sum(len(v) for v in wh.values())
            shifts = shifts_from_hours(wh)
            if covered < CALENDAR_COVERAGE or not shifts or n_hours >= 168:
                continue
            self.system_calendars[str(a)] = Calendar(name=f"{a} (system) hours", timezone=self.tz, shifts=shifts)
            found.append(f"{a}: " + "; ".join(f"{','.join(x.days)} {x.start}-{x.end}" for x in shifts)
                         + f" ({n_hours} hours of the week, run on at least {share:.0%} as many days as its busiest "
                           f"hour, hold {covered:.0%} of its {int(h.n.sum()):,} events)")
        self.notes["system calendars"] = (
            f"steps done by a system ({SYSTEM_CALENDAR_MIN_EVENTS} events or more; not timers, nor steps that mostly "
            "start cases, which come with the arrivals) keep to the hours "
            "of the week it ran in, read as a role's calendar is (by days run rather than person-hours); their delay "
            "counts those hours: " + ("; ".join(found) if found else "none keeps to some hours") + ".")
        return list(self.system_calendars.values())

    def _absence(self, grp: str) -> float | None:
        wh = self.work_hours.get(grp)
        if not wh:
            return None
        df = _run(self.con, f"""
            WITH d AS (
                SELECT DISTINCT resource, timezone($tz, end_time)::DATE AS day FROM {self.ev}
                WHERE grp = $g AND NOT sys AND resource IS NOT NULL),
            role_days AS (SELECT DISTINCT day FROM d WHERE list_contains($dows, isodow(day) - 1)),
            span AS (SELECT resource, min(day) AS a, max(day) AS b, count(*) AS worked FROM d GROUP BY resource),
            per AS (
                SELECT s.resource, s.worked,
                       (SELECT count(*) FROM role_days r WHERE r.day BETWEEN s.a AND s.b) AS possible,
                       count(DISTINCT d.day) FILTER (WHERE list_contains($dows, isodow(d.day) - 1)) AS present
                FROM span s JOIN d USING (resource) GROUP BY s.resource, s.worked, s.a, s.b),
            events AS (SELECT resource, count(*) AS n FROM {self.ev} WHERE grp = $g AND NOT sys GROUP BY resource)
            SELECT per.*, events.n FROM per JOIN events USING (resource) ORDER BY resource
        """, {"tz": self.tz, "g": grp, "dows": sorted(wh)})
        df = df[(df.possible >= 20) & (df.n >= 5 * df.worked)]
        if df.empty:
            return None
        share = float(np.median(1 - df.present / df.possible))
        return round(min(max(share, 0.0), 0.5), 3)

    # -- processing times ------------------------------------------------------------------------------------

    def _estimate_starts(self, calendars: list[Calendar]) -> None:
        acts = _run(self.con, f"""
            SELECT activity, count(*) AS n, count(start_time) AS starts, avg(sys::INT) AS sys_share
            FROM {self.ev} GROUP BY activity ORDER BY activity
        """)
        self.automated = {a: bool(s > 0.5) for a, s in zip(acts.activity, acts.sys_share, strict=True)}
        has_starts = {a: s >= 0.5 * n for a, n, s in zip(acts.activity, acts.n, acts.starts, strict=True)}
        self.start_rule: dict[str, str] = {}
        for a in acts.activity:
            if self.mode == "always" and not self.automated[a]:
                self.start_rule[a] = "estimated"
            elif has_starts[a]:
                self.start_rule[a] = "recorded"
            elif self.mode == "auto" and not self.automated[a]:
                self.start_rule[a] = "estimated"
            else:
                self.start_rule[a] = "instant"
        estimated = sorted(a for a, r in self.start_rule.items() if r == "estimated")
        if estimated:
            # The earliest a person can have started: the end of the case's previous event (enablement) and of
            # their own previous event (availability), and not before the start of the shift in which the work
            # ended, or of the last shift before it that day (else a night off would count as work); work ending
            # before the day's first shift started no earlier than the hour it ended in; on a day without
            # shifts, no earlier than local midnight.
            rows = [(g, d, h, _bound_hour(h, hs_all)) for g, wh in self.work_hours.items()
                    for d, hs_all in wh.items() for h in range(24)]
            shift_starts = pd.DataFrame(rows, columns=["grp", "dow", "h", "first_h"]) if rows else \
                pd.DataFrame({"grp": pd.Series(dtype=str), "dow": pd.Series(dtype=int),
                              "h": pd.Series(dtype=int), "first_h": pd.Series(dtype=int)})
            self.con.register("_disc_shift_starts", shift_starts)
            try:
                self.con.execute(f"""
                    UPDATE {self.ev} e SET est_start = least(e.end_time, x.est)
                    FROM (
                        SELECT e.event_id, greatest(e.prev_end, e.res_prev_end,
                               timezone($tz, date_trunc('day', timezone($tz, e.end_time))
                                        + to_hours(coalesce(s.first_h, 0)::BIGINT))) AS est
                        FROM {self.ev} e
                        LEFT JOIN _disc_shift_starts s ON s.grp = e.grp
                             AND s.dow = isodow(timezone($tz, e.end_time)) - 1
                             AND s.h = hour(timezone($tz, e.end_time))
                        WHERE list_contains($acts, e.activity)) x
                    WHERE e.event_id = x.event_id AND list_contains($acts, e.activity)
                """, {"tz": self.tz, "acts": estimated}).fetchall()
            finally:
                self.con.unregister("_disc_shift_starts")
        recorded = sorted(a for a, r in self.start_rule.items() if r == "recorded")
        instant = sorted(a for a, r in self.start_rule.items() if r == "instant")
        self.notes["start times"] = (
            f"start_estimation={self.mode}. Recorded starts used for {len(recorded)} activities"
            + (f"; starts estimated for {len(estimated)} ({', '.join(estimated)}) as the latest of the end of the "
               "case's previous event (when the work became ready), the end of the performer's previous event "
               "(when they became free) and the start of the role's shift in which (or after which) the work ended "
               "(the hour it ended in when that was before the day's first shift; local midnight without shifts) "
               "— the usual enablement / resource-availability rule (a case's first event, which has no "
               "enablement, only when its activity has fewer than 20 others); it overstates "
               "processing when people do not pick work up at once, and is exact when they do"
               if estimated else "")
            + (f"; instantaneous (no start recorded{', done by a system' if self.mode != 'none' else ''}): "
               f"{', '.join(instant)}" if instant else "") + ".")

    def _durations(self) -> dict[str, Fit | None]:
        # Every MAX_SAMPLE-th order statistic per activity is enough to fit it; an activity of a role split by a
        # case attribute comes whole, to compare each role's durations with the rest (the case's value chooses
        # who does it in the model, so only such roles can differ within one activity).
        df = _run(self.con, f"""
            WITH {self._durations_sql()},
            r AS (SELECT activity, grp, s, row_number() OVER (PARTITION BY activity ORDER BY s) AS i,
                         count(*) OVER (PARTITION BY activity) AS n
                  FROM e),
            whole AS (SELECT DISTINCT activity FROM e WHERE list_contains($split, grp))
            SELECT activity, grp, s, n, activity IN (SELECT activity FROM whole) AS whole FROM r
            WHERE (i - 1) % greatest(1, n // $m) = 0 OR activity IN (SELECT activity FROM whole)
            ORDER BY activity, s
        """, {"est": [a for a, r in self.start_rule.items() if r == "estimated"],
              "rec": [a for a, r in self.start_rule.items() if r == "recorded"], "m": MAX_SAMPLE,
              "batched": sorted(self.batched), "split": sorted(self.split_from)})
        out: dict[str, Fit | None] = {}
        self.duration_by_role: dict[str, dict[str, Fit]] = {}
        for a in sorted(self.start_rule):
            if self.start_rule[a] == "instant":
                out[a] = None
                continue
            g = df[df.activity == a]
            if g.empty:
                out[a] = None
                continue
            n = int(g.n.iloc[0])
            # The same order statistics as the query keeps for the other activities.
            fit = fit_distribution(g.s.to_numpy()[::max(1, n // MAX_SAMPLE)] if g.whole.iloc[0] else g.s.to_numpy())
            if fit is not None:
                fit.n = n
            out[a] = fit
            if g.whole.iloc[0]:
                own, rest = self._own_durations(g)
                if own:
                    self.duration_by_role[a] = own
                    # When every role has its own, the pooled fit stays for values routed to none of them.
                    out[a] = rest if rest is not None else fit
        return out

    def _durations_sql(self) -> str:
        """Return the CTEs d and e: one row per piece of work of the activities with a processing time (activity,
        grp, s = seconds); parameters est, rec and batched."""
        return f"""
            d AS (
                -- A batch (one person, one start, one end, many cases) is one piece of work: counted once, its
                -- duration shared by its cases, so that the role's workload stays what the log shows.
                -- An estimate for a case's first event has no enablement, only the performer's availability:
                -- used only when the activity has fewer than 20 events with a predecessor.
                SELECT activity, grp, resource, end_time,
                       epoch(end_time - CASE WHEN list_contains($est, activity) THEN est_start
                                             ELSE start_time END)
                           / CASE WHEN list_contains($batched, activity) THEN count(*) ELSE 1 END AS s,
                       list_contains($est, activity) AND prev_end IS NULL AS unenabled
                FROM {self.ev}
                WHERE list_contains($est, activity) OR list_contains($rec, activity)
                GROUP BY activity, grp, resource, end_time, start_time, est_start, unenabled),
            e AS (SELECT activity, grp, s FROM (
                      SELECT *, count(*) FILTER (WHERE NOT unenabled) OVER (PARTITION BY activity) AS enabled
                      FROM d WHERE s IS NOT NULL AND s >= 0)
                  WHERE NOT unenabled OR enabled < 20)"""

    def _own_durations(self, g: pd.DataFrame) -> tuple[dict[str, Fit], Fit | None]:
        """Return the split roles of one activity whose processing times differ from the rest's (each with its
        fit), and the fit of the rest; ({}, None) when none differs."""
        values = g.s.to_numpy(dtype=float)
        roles = g.grp.astype("string").fillna("").to_numpy()
        own: dict[str, Fit] = {}
        tested: list[str] = []
        for role in sorted(set(roles) & set(self.split_from)):
            mine = roles == role
            if mine.sum() < ROLE_DURATION_MIN_EVENTS or (~mine).sum() < ROLE_DURATION_MIN_EVENTS:
                continue
            x, y = values[mine], values[~mine]
            ratio = float(np.median(x)) / max(float(np.median(y)), 1e-9)
            p = float(stats.ks_2samp(x, y).pvalue)
            tested.append(role)
            if p < ROLE_DURATION_P_VALUE and abs(np.log(max(ratio, 1e-9))) >= np.log(ROLE_DURATION_MIN_RATIO):
                fit = fit_distribution(x)
                if fit is not None:
                    fit.note = f"{fit.note}; median {ratio:.2f}x the rest's (KS p={p:.1g})"
                    own[role] = fit
        if not own:
            return {}, None
        return own, fit_distribution(values[~np.isin(roles, list(own))])

    def _batches(self) -> list[ScheduledAction]:
        """Return a schedule for each activity people do in batches (most of its events share performer, start
        and end with other events) at recurring local times."""
        rows = _run(self.con, f"""
            SELECT activity, count(*) AS n, count(DISTINCT (resource, start_time, end_time)) AS runs
            FROM (SELECT activity, resource, end_time,
                         CASE WHEN list_contains($est, activity) THEN est_start ELSE start_time END AS start_time
                  FROM {self.ev} WHERE NOT sys)
            WHERE start_time IS NOT NULL
            GROUP BY activity HAVING count(*) >= 20 AND runs <= 0.5 * count(*) ORDER BY activity
        """, {"est": [a for a, r in self.start_rule.items() if r == "estimated"]})
        self.batched: dict[str, str] = {}
        self.scheduled: set[str] = set()
        out: list[ScheduledAction] = []
        for a, n, runs in rows.itertuples(index=False):
            starts = _run(self.con, f"""
                SELECT isodow(t) - 1 AS dow, (round((hour(t) * 60 + minute(t)) / 5) * 5)::INT AS minute,
                       count(*) AS runs
                FROM (SELECT DISTINCT resource, end_time,
                             timezone($tz, CASE WHEN list_contains($est, activity) THEN est_start
                                                ELSE start_time END) AS t
                      FROM {self.ev} WHERE activity = $a AND NOT sys)
                WHERE t IS NOT NULL GROUP BY ALL ORDER BY dow, minute
            """, {"a": a, "tz": self.tz, "est": [x for x, r in self.start_rule.items() if r == "estimated"]})
            total = starts.runs.sum()
            days = starts.groupby("dow").runs.sum()
            days = sorted(int(d) for d, v in days.items() if v >= 0.05 * total)
            times = starts.groupby("minute").runs.sum()
            times = sorted(int(m) for m, v in times.items() if v >= 0.1 * total)[:6]
            text = (f"done in batches: {n:,} events in {runs:,} runs ({n / runs:.0f} cases a run); the processing "
                    "time below is a case's share of its run (the run's duration / its cases), so that the role's "
                    "workload matches the log")
            if days and times and times[-1] < 24 * 60:
                hhmm = [f"{m // 60:02d}:{m % 60:02d}" for m in times]
                share = starts[starts.minute.isin(times) & starts.dow.isin(days)].runs.sum() / total
                self.scheduled.add(str(a))
                out.append(ScheduledAction(activity=str(a), days=[WEEKDAYS[d] for d in days], times=hhmm,
                                           timezone=self.tz))
                text += (f"; runs start on {', '.join(WEEKDAYS[d] for d in days)} at {', '.join(hhmm)} {self.tz} "
                         f"({share:.0%} of the runs): a schedule policy")
            else:
                text += "; at no recurring time"
            self.batched[a] = text
        return out

    # -- delays ----------------------------------------------------------------------------------------------

    def _delays(self) -> dict[str, Fit]:
        self.con.execute(f"""
            CREATE TEMP TABLE {self.wt} AS
            SELECT case_id, event_id, activity, prev_activity, resource, role, grp, end_time, prev_end AS ready, sys,
                   s AS started, greatest(epoch(s - prev_end), 0) / 3600.0 AS wait_h
            FROM (SELECT *, {STARTED} AS s FROM {self.ev} WHERE prev_end IS NOT NULL)
        """, self._start_rules()).fetchall()
        config = bottleneck_config(self.process, self.tz).model_copy(update={"system_resources": self.systems})
        kinds = wait_kinds(self.con, self.wt, self.process, config)
        # An activity this model automates (also one done by a resource called 'system' or by nobody known, which
        # mining's wait kinds count as people) waits for no person: its wait is a delay, or it would be lost.
        machine = kinds.activity.map(lambda a: bool(self.automated.get(a))) & (kinds.wait_kind == "people")
        kinds.loc[machine, ["wait_kind", "why"]] = ["system", "automated here (a system or nobody known does it)"]
        self.wait_kind = dict(zip(kinds.activity, kinds.wait_kind, strict=True))
        delayed = kinds[kinds.wait_kind.isin(WAIT_KINDS_WITH_DELAY)]
        why_of = dict(zip(delayed.activity, kinds.loc[delayed.index, "why"], strict=True))
        # Work for people that waits for something no queue explains (a customer's answer, a supplier's, a dispute
        # noticed days later) shows as working time in which its performer was free or did newer work: that part
        # of each wait is a delay, measured in the working time of the performer's role so that the nights and
        # weekends the calendar adds anyway are not counted twice. Such a wait often depends on the step before (a
        # call waits days for the customer after a call, but not after a form), so each preceding activity seen
        # often enough has its own delay.
        people = sorted(a for a, k in self.wait_kind.items() if k == "people" and not self.automated.get(a))
        hidden = self._hidden_waits(people)
        firsts = dict(_rows(self.con, f"SELECT activity, count(*) FROM {self.ev} WHERE prev_end IS NULL GROUP BY ALL"))
        hidden_fits: dict[str, np.ndarray] = {}
        per_pair: dict[str, dict[str, np.ndarray | None]] = {}
        for a, g in hidden.groupby("activity", sort=True):
            found = _delays_by_predecessor(g, int(firsts.get(a, 0)))
            if found is None:
                continue
            default, after = found
            self.wait_kind[a] = "hidden"
            self.working_time_delay.add(a)
            means = [f"after {p}: mean {human(float(v.mean()))}" for p, v in (after or {}).items() if v is not None]
            why_of[a] = ("done by people, but not a queue: its performer was free or did newer work for most of the "
                         f"wait (in working time; {'; '.join(means) or 'over all its predecessors'})")
            if default is not None:
                hidden_fits[a] = default
            if after is not None:
                per_pair[a] = after
        # An activity run in batches waits for its run as well, which the run schedule reproduces: the case became
        # due somewhere between the run before its own and its own run, so the delay runs to the middle of that
        # interval and the schedule adds the rest (on average the same total wait, without counting it twice).
        scheduled = sorted(a for a in why_of if a in self.scheduled)
        if scheduled:
            runs = _run(self.con, f"""
                WITH r AS (SELECT activity, started, lag(started) OVER (PARTITION BY activity ORDER BY started)
                                  AS previous
                           FROM (SELECT DISTINCT activity, started FROM {self.wt}
                                 WHERE list_contains($acts, activity)))
                SELECT t.activity, greatest((epoch(r.previous) + epoch(r.started)) / 2 - epoch(t.ready), 0) AS s
                FROM {self.wt} t JOIN r USING (activity, started)
                WHERE r.previous IS NOT NULL
                ORDER BY t.activity, s
            """, {"acts": scheduled})
            for a, g in runs.groupby("activity", sort=True):
                hidden_fits[a] = g.s.to_numpy()
                why_of[a] += ("; up to halfway between the run before its own and its run, the run schedule adds "
                              "the rest")
        # A system working some hours: its delay is the working time of its calendar from ready to done, which the
        # engine adds in the same hours (in calendar time, a wait over a weekend would be drawn on a Tuesday).
        for a in sorted(set(why_of) & set(self.system_calendars) - set(hidden_fits) - set(per_pair)):
            w = _run(self.con, f"SELECT epoch(ready) AS r, epoch(started) AS s FROM {self.wt} WHERE activity = $a",
                     {"a": a})
            origin = datetime.fromtimestamp(float(w.r.min()), UTC)
            clock = WorkingClock(self.system_calendars[a], origin, origin,
                                 datetime.fromtimestamp(float(w.s.max()), UTC))
            hidden_fits[a] = np.sort(clock.between(w.r.to_numpy() - origin.timestamp(),
                                                   w.s.to_numpy() - origin.timestamp()))
            why_of[a] += "; in the working time of the hours it runs in"
        out: dict[str, Fit] = {}
        lines = []
        if why_of:
            df = _run(self.con, f"""
                WITH r AS (SELECT activity, wait_h * 3600 AS s, row_number() OVER (PARTITION BY activity
                                  ORDER BY wait_h) AS i, count(*) OVER (PARTITION BY activity) AS n
                           FROM {self.wt} WHERE list_contains($acts, activity))
                SELECT activity, s, n FROM r WHERE (i - 1) % greatest(1, n // $m) = 0 ORDER BY activity, s
            """, {"acts": sorted(a for a in why_of if a not in hidden_fits and a not in per_pair), "m": MAX_SAMPLE})
            for a, why in sorted(why_of.items()):
                if a in per_pair:
                    self.delay_after[a] = {p: _fit_delay(v) for p, v in per_pair[a].items()}
                measured = a in hidden_fits or a in per_pair
                fit = _fit_delay(hidden_fits.get(a) if measured else df[df.activity == a].s.to_numpy())
                if fit is not None:
                    if not measured:
                        fit.n = int(df[df.activity == a].n.max())
                    if a in self.whole_day_timers:
                        # It fires at the time of day it was set (helpdesk's tickets close at office hours, 15 or
                        # 30 days after they were resolved); interpolated quantiles would spread it over the night.
                        fit.distribution = fit.distribution.model_copy(update={"step": 86400.0})
                        fit.note += "; drawn in whole days, so it fires at the time of day it was set"
                        why_of[a] += "; a timer of whole days"
                    out[a] = fit
                if fit is not None or a in per_pair:
                    lines.append(f"{a} ({self.wait_kind[a]}: {why})")
        self.notes["delays"] = (
            "waiting before an activity that is not a queue for people (wait kinds of mining.bottlenecks: "
            "system, external or scheduled) is fitted as its delay, from the end of the case's previous event to "
            "the start of the activity. For an activity done by people, the part of each wait that is not a queue "
            "is its working time (of the performer's role) less the time the performer spent meanwhile on work "
            "that was ready before it; it "
            f"becomes a delay in that working time when it is at least {HIDDEN_DELAY_SHARE:.0%} of the waiting and "
            f"{HIDDEN_DELAY_MIN_H:g} working hour(s) or more on average, with a delay of its own after each "
            f"preceding activity seen {PAIR_MIN_EVENTS} times or more (a case's first event waits for nothing): "
            + ("; ".join(lines) if lines else "none found")
            + ". Other waiting before activities done by people is left to the simulated queues and calendars.")
        return out

    def _start_rules(self) -> dict[str, list[str]]:
        """Return the parameters of STARTED: the activities whose starts are estimated, and recorded."""
        return {"est": [a for a, r in self.start_rule.items() if r == "estimated"],
                "rec": [a for a, r in self.start_rule.items() if r == "recorded"]}

    def _hidden_waits(self, activities: list[str]) -> pd.DataFrame:
        """Return, per event of `activities` done by a known person, its preceding activity, its wait and the part
        of it that is no queue (both in working seconds of the event's role)."""
        # The queue part of a wait is the time its performer spent meanwhile on work that was ready before it
        # (older work, first come first served); the rest of the working time in between they were free, or took
        # newer work first, or the case waited for someone outside the process.
        raw = _run(self.con, f"""
            WITH work AS (SELECT event_id, resource, {STARTED} AS started, end_time,
                                 coalesce(prev_end, {STARTED}) AS ready
                          FROM {self.ev} WHERE resource IS NOT NULL AND NOT sys),
            cand AS (SELECT event_id, prev_activity, activity, grp, resource, ready, started
                     FROM {self.wt} WHERE resource IS NOT NULL AND NOT sys AND list_contains($acts, activity)),
            busy AS (SELECT c.event_id, sum(epoch(least(o.end_time, c.started)) - epoch(greatest(o.started, c.ready)))
                                        AS busy_s
                     FROM cand c JOIN work o ON o.resource = c.resource AND o.started < c.started
                                             AND o.end_time > c.ready AND o.ready <= c.ready
                                             AND o.event_id <> c.event_id
                     GROUP BY c.event_id)
            SELECT c.event_id, c.prev_activity, c.activity, c.grp, epoch(c.ready) AS ready,
                   epoch(c.started) AS started, coalesce(busy.busy_s, 0) AS busy_s
            FROM cand c LEFT JOIN busy USING (event_id)
            ORDER BY c.activity, c.prev_activity, c.event_id
        """, {"acts": activities, **self._start_rules()})
        if raw.empty:
            return raw.assign(wait_s=[], hidden_s=[])
        origin = datetime.fromtimestamp(float(raw.ready.min()), UTC)
        last = datetime.fromtimestamp(float(raw.started.max()), UTC)
        rel = raw[["ready", "started"]].to_numpy(dtype=float) - origin.timestamp()
        wait = np.zeros(len(raw))
        for grp, idx in raw.groupby("grp", dropna=False).indices.items():
            clock = WorkingClock(self.role_calendars.get(grp) if isinstance(grp, str) else None, origin, origin, last)
            wait[idx] = clock.between(rel[idx, 0], rel[idx, 1])
        hidden = np.clip(wait - raw.busy_s.to_numpy(dtype=float), 0.0, None)
        return raw[["prev_activity", "activity"]].assign(wait_s=wait, hidden_s=hidden)

    # -- routing ---------------------------------------------------------------------------------------------

    def _routing(self) -> list[Decision]:
        pairs = _run(self.con, f"""
            SELECT coalesce(prev_activity, $start) AS a, activity AS b, count(*) AS n FROM {self.ev} GROUP BY ALL
            UNION ALL
            SELECT activity, $end, count(*) FROM {self.ev} WHERE next_activity IS NULL GROUP BY ALL
            ORDER BY a, b
        """, {"start": START, "end": END})
        counts: dict[str, dict[str, int]] = {}
        for a, b, n in pairs.itertuples(index=False):
            counts.setdefault(a, {})[b] = int(n)
        multi = sorted(a for a, c in counts.items() if len(c) > 1)
        amounts = pd.DataFrame()
        if multi:
            amounts = _run(self.con, f"""
                SELECT coalesce(e.prev_activity, $start) AS a, e.activity AS b, c.amount FROM {self.ev} e
                JOIN {self.cs} c USING (case_id)
                WHERE list_contains($multi, coalesce(e.prev_activity, $start))
                UNION ALL
                SELECT e.activity, $end, c.amount FROM {self.ev} e JOIN {self.cs} c USING (case_id)
                WHERE e.next_activity IS NULL AND list_contains($multi, e.activity)
            """, {"start": START, "end": END, "multi": multi})
        decisions: list[Decision] = []
        rules: list[str] = []
        by_visit = self._routing_by_visit(multi)
        by_before = self._routing_by_before(multi)
        # Where both explain the next step, the one that explains more (penalised for its extra parameters) holds.
        for a in sorted(set(by_visit) & set(by_before)):
            visit_gain = _gain([c for _, c in by_visit[a]])
            before_gain = _gain([*by_before[a][0].values(), by_before[a][1]])
            del (by_before if visit_gain >= before_gain else by_visit)[a]
        order = [START] + sorted(a for a in counts if a != START)
        for a in order:
            c = counts[a]
            branches: list[Branch] = []
            free_counts = dict(c)
            if a in multi and amounts.amount.notna().any():
                g = amounts[amounts.a == a]
                amt = g.amount.to_numpy(dtype=float)
                nxt = g.b.to_numpy()
                holds = np.zeros(len(g), dtype=bool)
                for _ in range(2):
                    rest = ~holds
                    best = None
                    for b in sorted(set(nxt[rest])):
                        r = learn_threshold(amt[rest], nxt[rest] == b)
                        if r is not None and (best is None or r["accuracy"] > best[1]["accuracy"]):
                            best = (b, r)
                    if best is None:
                        break
                    b, r = best
                    cond = Condition(attribute="amount", op=r["op"], value=r["value"])
                    branches.append(Branch(to=b, when=cond))
                    now = np.array([cond.holds({"amount": x}) if np.isfinite(x) else False for x in amt])
                    holds |= now
                    rules.append(f"after {a}: {b} when amount {r['op']} {r['value']:,.2f} (accuracy "
                                 f"{r['accuracy']:.1%} on {r['n']:,} cases against {r['baseline']:.1%} by "
                                 f"the majority branch)")
                if holds.any():
                    left = pd.Series(nxt[~holds]).value_counts()
                    free_counts = {str(k): int(v) for k, v in left.items()} or {branches[0].to: 1}
            staged = by_visit.get(a) if not branches else None
            if staged:
                decisions += [Decision(after=a, visit=k, branches=_branches(c)) for k, c in staged]
                continue
            context = by_before.get(a) if not branches else None
            if context:
                own, rest = context
                decisions += [Decision(after=a, before=p, branches=_branches(c)) for p, c in sorted(own.items())]
                free_counts = rest or free_counts
            branches += _branches(free_counts)
            decisions.append(Decision(after=a, branches=branches))
        self.notes["routing"] = (
            "first-order routing from the directly-follows relation: after START (each case's first activity) "
            "and after each activity, the next one (END after a case's last) with probabilities from the counts, "
            "rounded to 4 decimals summing to 1 (branches rounding to 0 dropped). Data rules: the best single "
            f"threshold on amount that predicts one branch with at least {RULE_MIN_ACCURACY:.0%} accuracy and at "
            "least halves the errors of always predicting the majority branch becomes a conditioned branch (at most "
            "two per decision); the probabilities are then those of the cases the rules do not cover. "
            + (f"Rules found: {'; '.join(rules)}." if rules else "No amount rule found.")
            + " Repeated activities whose next step depends on how often the case has done them route by visit: "
            f"consecutive visits (up to the last with {VISIT_MIN_EVENTS} events from it on, which covers the later "
            "ones too) form one stage until a visit routes clearly otherwise (chi-square p < "
            f"{VISIT_P_VALUE:g} and {VISIT_MIN_DIFFERENCE:.0%} or more of its branches elsewhere), at most "
            f"{MAX_VISIT_STAGES} stages, unless an amount rule decides: "
            + (", ".join(f"{a} (from visits {', '.join(str(k) for k, _ in v)})" for a, v in sorted(by_visit.items()))
               or "none") + ". Other steps whose next step depends on the step before them (a penalised likelihood "
            f"gain over the pooled branches; preceding activities seen {PAIR_MIN_EVENTS} times or more, the others "
            "pooled) route by it: "
            + (", ".join(f"{a} (after {', '.join(sorted(v[0]))})" for a, v in sorted(by_before.items())) or "none")
            + ". Where both hold, the one that explains more.")
        return decisions

    def _routing_by_before(self, multi: list[str]) -> dict[str, tuple[dict[str, dict[str, int]], dict[str, int]]]:
        """Return, per activity with more than one way out whose next step depends on the step before it, the
        next-step counts per preceding activity seen often enough, and those of the others pooled."""
        rows = _run(self.con, f"""
            SELECT activity, coalesce(prev_activity, $start) AS p, coalesce(next_activity, $end) AS b, count(*) AS n
            FROM {self.ev} WHERE list_contains($multi, activity) GROUP BY ALL ORDER BY activity, p, b
        """, {"start": START, "end": END, "multi": multi})
        out: dict[str, tuple[dict[str, dict[str, int]], dict[str, int]]] = {}
        for a, g in rows.groupby("activity", sort=True):
            table = g.pivot_table(index="p", columns="b", values="n", aggfunc="sum", fill_value=0)
            often = table.sum(axis=1) >= PAIR_MIN_EVENTS
            own = {str(p): {str(b): int(n) for b, n in row.items() if n > 0} for p, row in table[often].iterrows()}
            rest = {str(b): int(n) for b, n in table[~often].sum().items() if n > 0}
            if len(own) + bool(rest) < 2 or _gain([*own.values(), rest]) <= 0:
                continue
            out[str(a)] = (own, rest)
        return out

    def _routing_by_visit(self, multi: list[str]) -> dict[str, list[tuple[int, dict[str, int]]]]:
        """Return, per activity with more than one way out whose next step depends on its visit number, the
        next-step counts from each visit on: [(visit, {next: count})] (the last visit pools the later ones)."""
        rows = _run(self.con, f"""
            WITH v AS (SELECT activity, row_number() OVER (PARTITION BY case_id, activity ORDER BY pos) AS k,
                              coalesce(next_activity, $end) AS b
                       FROM {self.ev} WHERE list_contains($multi, activity))
            SELECT activity, k, b, count(*) AS n FROM v
            WHERE activity IN (SELECT activity FROM v WHERE k > 1) GROUP BY ALL ORDER BY activity, k, b
        """, {"end": END, "multi": multi})
        out: dict[str, list[tuple[int, dict[str, int]]]] = {}
        for a, g in rows.groupby("activity", sort=True):
            table = g.pivot_table(index="k", columns="b", values="n", aggfunc="sum", fill_value=0).sort_index()
            from_k = table.sum(axis=1)[::-1].cumsum()[::-1]  # events at this visit or later
            last = int(max([k for k, n in from_k.items() if n >= VISIT_MIN_EVENTS], default=1))
            if last < 2:
                continue
            stages = pd.concat([table.loc[table.index < last], table.loc[table.index >= last].sum().to_frame(last).T])
            stages = stages.loc[:, stages.sum() > 0]
            if stages.shape[1] < 2 or stages.min(axis=1).eq(stages.sum(axis=1)).all():
                continue
            # Consecutive visits that route alike are one stage: a visit starts a new stage only when it differs
            # clearly from the stage so far.
            groups: list[tuple[int, pd.Series]] = [(int(stages.index[0]), stages.iloc[0])]
            for k, row in list(stages.iterrows())[1:]:
                first, so_far = groups[-1]
                if len(groups) < MAX_VISIT_STAGES and _routes_differ(so_far, row):
                    groups.append((int(k), row))
                else:
                    groups[-1] = (first, so_far + row)
            if len(groups) > 1:
                out[str(a)] = [(k, {str(b): int(n) for b, n in row.items() if n > 0}) for k, row in groups]
        return out

    # -- assembling ------------------------------------------------------------------------------------------

    def _activities(self, durations: dict[str, Fit | None], delays: dict[str, Fit]) -> list[Activity]:
        info = _run(self.con, f"""
            SELECT activity, count(*) AS n, avg(pos) AS pos, mode(grp) FILTER (WHERE NOT sys) AS grp,
                   avg((prev_end IS NULL)::DOUBLE) AS opens
            FROM {self.ev} GROUP BY activity ORDER BY avg(pos), activity
        """)
        out: list[Activity] = []
        for a, n, _, grp, opens in info.itertuples(index=False):
            automated = self.automated[a]
            role = None if automated or grp is None or pd.isna(grp) else str(grp)
            # Without a start, a case's first step has no enablement, and the arrival is read from its end: the
            # twin has it done at the arrival rather than queue it and add a duration after the arrival.
            estimated = role is not None and self.start_rule[a] == "estimated"
            at_arrival = estimated and opens > AT_ARRIVAL_SHARE
            fit = durations.get(a)
            delay = delays.get(a)
            text = f"{n:,} events; " + ("automated (done by a system or nobody known)" if automated
                                       else f"role {role}" if role else "no performer known")
            if a in self.batched:
                text += f"; {self.batched[a]}"
            if fit is not None:
                text += (f"; processing ({self.start_rule[a]} starts"
                         + (", counted in working time: work left at a shift's end goes on at the next"
                            if estimated else "") + f", n={fit.n:,}): {fit.note}")
            else:
                text += "; processing: instantaneous (no start)"
            if delay is not None:
                text += f"; delay before it ({self.wait_kind.get(a)}): {delay.note}"
            after = self.delay_after.get(a)
            for p, f in (after or {}).items():
                text += f"; delay after {p}: " + (f.note if f is not None else "none")
            if a in self.working_time_delay:
                text += " (delays in the working time of its role)"
            if at_arrival:
                text += (f"; it opens {opens:.0%} of its cases, with no start recorded: a case that starts with it "
                         "has it done at the arrival, which was read from its end")
            kwargs: dict = {"duration": fit.distribution} if fit is not None else {}
            calendar = self.system_calendars.get(a) if role is None else None
            if calendar is not None:
                kwargs["calendar"] = calendar.name
                text += f"; runs in the hours of calendar {calendar.name}"
            if role is not None and role in self.split_from:
                attrs, routes = self.role_by[self.split_from[role]]
                kwargs |= {"role_by": attrs, "roles": routes}
                text += (f" (one of {len(routes)} roles of {self.split_from[role]}, by {' · '.join(attrs)}; the "
                         "others' values route to theirs)")
                routed = set(routes.values()) & self.role_names
                own = {r: f for r, f in self.duration_by_role.get(a, {}).items() if r in routed}
                if own:
                    kwargs["duration_by_role"] = {r: f.distribution for r, f in own.items()}
                    text += ("; processing differs by role (the one above is the other roles'): "
                             + "; ".join(f"{r}: {f.note}" for r, f in own.items()))
            self.notes[f"activity {a}"] = text
            if after:
                kwargs["delay_after"] = {p: f.distribution if f is not None else fixed(0.0)
                                         for p, f in after.items()}
            out.append(Activity(name=str(a), role=role, automated=automated,
                                delay=delay.distribution if delay is not None else None,
                                delay_in_working_time=a in self.working_time_delay, at_arrival=at_arrival,
                                duration_in_working_time=estimated, **kwargs))
        return out

    def _sla(self) -> SlaTarget | None:
        cfg = self.kpi_config
        has = _rows(self.con, f"""
            SELECT count(*) FROM {self.cs}
            WHERE json_extract_string(attributes, '$."' || replace($k, '"', '\\"') || '"') IS NOT NULL
        """, {"k": cfg.sla_attribute})[0][0]
        if has and cfg.sla_targets_hours:
            self.notes["sla"] = (f"targets by {cfg.sla_attribute} from the KPI configuration of {self.process}: "
                                 + ", ".join(f"{k} {v:g} h" for k, v in cfg.sla_targets_hours.items()))
            return SlaTarget(attribute=cfg.sla_attribute, targets_h={str(k): float(v) for k, v in
                                                                   cfg.sla_targets_hours.items()})
        self.notes["sla"] = ("none: " + (f"the cases carry {cfg.sla_attribute} but no targets are configured"
                                         if has else f"the cases carry no {cfg.sla_attribute}"))
        return None

    def _warmup(self, horizon_days: float) -> tuple[float, int]:
        median_days, visits = _rows(self.con, f"""
            SELECT (SELECT median(epoch(case_end - arrival)) / 86400 FROM {self.cs}),
                   (SELECT max(n) FROM (SELECT count(*) AS n FROM {self.ev} GROUP BY case_id, activity))
        """)[0]
        warmup = round(min(2 * float(median_days or 0), WARMUP_CAP_DAYS, horizon_days / 4), 2)
        self.notes["warmup"] = (f"twice the median cycle time ({human(float(median_days or 0) * 86400)}), at most "
                                f"{WARMUP_CAP_DAYS:g} days and a quarter of the horizon: {warmup:g} days.")
        self.notes["max_visits"] = f"the most times one activity occurs in a case: {int(visits)}."
        return warmup, max(int(visits), 1)


def _forecast_text(forecast: str, scores: dict[str, float]) -> str:
    """Return how the level forecast was chosen, for the notes."""
    if not scores:
        return f"the {forecast} of the cases per day; the log is too short to backtest forecasts"
    ranked = sorted(scores.items(), key=lambda kv: kv[1])
    others = ", ".join(f"{name} {error:.2f}" for name, error in ranked if name != forecast)
    return (f"the {forecast} of the cases per day, the best of {len(scores)} forecasts backtested on the last "
            f"{FORECAST_HOLDOUT:.0%} of the log from up to {len(FORECAST_ORIGINS)} origins, mean absolute log error "
            f"{scores[forecast]:.2f}; the others {others}")


def _trend_level(counts: np.ndarray, horizon: int) -> float:
    """Return the cases per day at the last day by the least-squares line through the cases per day."""
    slope, intercept = np.polyfit(np.arange(len(counts), dtype=float), counts, 1)
    return float(max(intercept + slope * (len(counts) - 1), 0.0))


def _damped_trend(counts: np.ndarray, horizon: int) -> float:
    """Return Holt's damped-trend forecast of the cases per day, averaged over the `horizon` days after `counts`."""
    weeks = len(counts) // 7
    if weeks < 3:
        return float(counts.mean())
    # Whole weeks ending at the last day: weekly means carry no weekday pattern.
    y = counts[len(counts) - 7 * weeks:].reshape(weeks, 7).mean(axis=1)
    level, trend = y[0], y[1] - y[0]
    for value in y[1:]:
        previous = level
        level = DAMPED_ALPHA * value + (1 - DAMPED_ALPHA) * (level + DAMPED_PHI * trend)
        trend = DAMPED_BETA * (level - previous) + (1 - DAMPED_BETA) * DAMPED_PHI * trend
    steps = np.cumsum(DAMPED_PHI ** np.arange(1, max(round(horizon / 7), 1) + 1))
    return float(max(np.mean(level + steps * trend), 0.0))


# Forecasts of the level of cases per day after a series of cases per day, given the days forecast; the weekly
# pattern is the hour-of-week weights' job. The trend comes first: it wins ties, as the forecast used before.
LEVEL_FORECASTS: dict[str, Callable[[np.ndarray, int], float]] = {
    "trend": _trend_level,
    "mean": lambda counts, horizon: float(counts.mean()),
    "last 4 weeks": lambda counts, horizon: float(counts[-28:].mean()),
    "last 8 weeks": lambda counts, horizon: float(counts[-56:].mean()),
    "damped trend": _damped_trend,
}


def _holdout_days(days: int) -> int:
    return max(7 * round(days * FORECAST_HOLDOUT / 7), 7)


def backtest_level_forecasts(counts: np.ndarray) -> dict[str, float]:
    """Return per level forecast its mean absolute log ratio of forecast to actual cases per day over held-out ends
    of the series `counts` (cases per day); empty when no origin has enough history."""
    days = len(counts)
    holdout = _holdout_days(days)
    errors: dict[str, list[float]] = {name: [] for name in LEVEL_FORECASTS}
    for back in FORECAST_ORIGINS:
        end = days - round(days * back)
        origin = end - holdout
        if origin < FORECAST_MIN_DAYS:
            continue
        # Half a case over the held-out days keeps a period without cases finite.
        actual = counts[origin:end].mean() + 0.5 / holdout
        for name, forecast in LEVEL_FORECASTS.items():
            errors[name].append(abs(math.log((forecast(counts[:origin], holdout) + 0.5 / holdout) / actual)))
    return {name: float(np.mean(e)) for name, e in errors.items() if e}


def forecast_level(counts: np.ndarray) -> tuple[float, str, dict[str, float]]:
    """Return the cases per day forecast for after the series `counts` (cases per day), the name of the forecast and
    every forecast's backtest error; the forecast is the one of least error, refit on the whole series."""
    if len(counts) < 14:
        return float(counts.mean()), "mean", {}
    scores = backtest_level_forecasts(counts)
    # Too short a series for any origin: the trend, the forecast used before there was a backtest.
    name = min(scores, key=scores.get) if scores else "trend"
    return LEVEL_FORECASTS[name](counts, _holdout_days(len(counts))), name, scores


def _branches(counts: dict[str, int]) -> list[Branch]:
    """Return branches by probability from next-step counts, the likeliest first."""
    return [Branch(to=to, probability=p)
            for to, p in sorted(round_probabilities(counts).items(), key=lambda kv: (-kv[1], kv[0]))]


def _gain(groups: list[dict[str, int]]) -> float:
    """Return how much knowing the group explains the next step: the G statistic of the groups x next-step table
    less its degrees of freedom times log(n) (BIC); positive when the split is worth its parameters."""
    groups = [g for g in groups if g]
    steps = sorted({b for g in groups for b in g})
    table = np.array([[g.get(b, 0) for b in steps] for g in groups], dtype=float)
    n = table.sum()
    if len(groups) < 2 or len(steps) < 2 or n == 0:
        return 0.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    seen = table > 0
    g_statistic = 2.0 * float((table[seen] * np.log(table[seen] / expected[seen])).sum())
    return g_statistic - (len(groups) - 1) * (len(steps) - 1) * math.log(n)


def _routes_differ(a: pd.Series, b: pd.Series) -> bool:
    """Return whether two next-step count vectors differ clearly: significantly (chi-square) and by a share that
    matters (total variation)."""
    table = np.vstack([a.to_numpy(), b.to_numpy()]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return False
    difference = float(np.abs(table[0] / table[0].sum() - table[1] / table[1].sum()).sum() / 2)
    return difference >= VISIT_MIN_DIFFERENCE and float(stats.chi2_contingency(table).pvalue) < VISIT_P_VALUE


def _delays_by_predecessor(waits: pd.DataFrame, firsts: int
                           ) -> tuple[np.ndarray | None, dict[str, np.ndarray | None] | None] | None:
    """Return the no-queue parts (seconds) of one activity's waits that are delays: (the delay after any other
    activity, or None; the delay per preceding activity seen PAIR_MIN_EVENTS times, None where it has none, or None
    when one delay serves all), or None when no part is a delay. `firsts`: how often the activity starts a case."""
    often = waits.prev_activity.map(waits.prev_activity.value_counts()).to_numpy() >= PAIR_MIN_EVENTS
    after = {str(p): _hidden_delay(x) for p, x in waits[often].groupby("prev_activity", sort=True)}
    rest = waits[~often]
    default = _hidden_delay(rest) if len(rest) else None
    if default is None and all(v is None for v in after.values()):
        return None
    if len(after) + bool(len(rest)) == 1:
        # One preceding activity, or too few of each: one delay, with the case's first events as no delay.
        values = default if default is not None else next(iter(after.values()))
        return np.concatenate([values, np.zeros(firsts)]), None
    # A case's first event waits for nothing: its start is the case's arrival.
    return default, after | ({START: None} if default is not None and firsts else {})


def _hidden_delay(waits: pd.DataFrame) -> np.ndarray | None:
    """Return the no-queue parts (seconds) of these waits when they are a delay (most of the waiting, and long
    enough on average), else None."""
    total, hidden = float(waits.wait_s.sum()), float(waits.hidden_s.sum())
    if total <= 0 or hidden < HIDDEN_DELAY_SHARE * total or hidden / len(waits) < HIDDEN_DELAY_MIN_H * 3600:
        return None
    return waits.hidden_s.to_numpy()


def _fit_delay(values: np.ndarray | None) -> Fit | None:
    """Return the fitted delay (seconds) of these waits, or None when there are none or nearly all are under a
    second."""
    if values is None or not len(values) or float(np.quantile(values, 0.9)) < 1.0:
        return None
    return fit_distribution(values)


def working_hours(h: pd.DataFrame, weight: str = "n") -> tuple[dict[int, list[int]], float, float]:
    """Return the working hours per weekday (Monday 0) read from `h` (dow, h, n: work per hour of the week, and
    `weight`: what an hour must hold enough of), the share of the busiest hour used and the share of n they hold."""
    peak = h[weight].max()
    # The first share of the busiest hour whose hours hold CALENDAR_COVERAGE of the work: a lightly loaded role's
    # work is spread thin, and a strict cut would leave most of it outside its hours.
    for share in CALENDAR_SHARES:
        on = h[h[weight] >= max(share * peak, 3)]
        wh = {int(d): _fill_gaps(sorted(int(x) for x in g.h)) for d, g in on.groupby("dow")}
        inside = [int(x) in wh.get(int(d), []) for d, x in zip(h.dow, h.h, strict=True)]
        covered = float(h[inside].n.sum() / h.n.sum())
        if covered >= CALENDAR_COVERAGE:
            break
    return wh, share, covered


def _fill_gaps(hours: list[int], gap: int = 2) -> list[int]:
    """Return the hours with gaps of up to `gap` hours between two working hours filled (a lunch break, a
    quiet hour in sparse data)."""
    out: list[int] = []
    for h in hours:
        if out and 1 < h - out[-1] <= gap + 1:
            out.extend(range(out[-1] + 1, h))
        out.append(h)
    return out


def _bound_hour(h: int, hours: list[int]) -> int:
    """Return the hour from which work ending in hour `h` can have started: the start of the shift (run of
    working hours) holding h or, after it, of the last shift that started before h; h itself before any shift."""
    starts = [r[0] for r in _runs(hours) if r[0] <= h]
    return starts[-1] if starts else h


def _runs(hours: list[int]) -> list[list[int]]:
    """Return the runs of consecutive hours."""
    out: list[list[int]] = []
    for h in sorted(hours):
        if out and h == out[-1][-1] + 1:
            out[-1].append(h)
        else:
            out.append([h])
    return out
