"""The daylight-saving rule a log's working day keeps: the zone to read calendars in when none is given.

Logs are stored in UTC. People keep local office hours, so in UTC their working day moves an hour at every clock
change of their zone; read in the wrong zone, calendars and hour-of-week weights blur over that hour. Per week,
the mean time of day (UTC) of the events by people is regressed on each candidate zone's UTC offset that week:
the slope is the share of the clock change the working day follows, 1 when people keep that zone's local time,
0 when they keep UTC (or when the log's timestamps are local wall-clock time already). Each event's time of day
is taken relative to the usual one of its resource and activity on that weekday, so that who worked which week
on what does not move the mean. Only the rule can be seen this way (a fixed offset moves nothing), so each
candidate stands for every zone that keeps its rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb

# One zone per daylight-saving rule likely for healthcare administration (Europe, North America, Australia).
# Zones that keep the same rule change their clocks in the same week (the EU's all at 01:00 UTC; the US's at 02:00
# local, hours apart on one night), so a log cannot tell them apart and one stands for all.
CANDIDATES = {"Europe/Amsterdam": "EU", "America/New_York": "US", "Australia/Sydney": "south-east Australia"}
# Weeks run from Saturday 12:00 UTC: every candidate changes its clocks in a week's first night (Sydney at 16:00
# UTC on Saturday, the EU at 01:00 and the US at 06:00-10:00 UTC on Sunday), so a week has one offset per zone.
WEEK_ORIGIN = "2000-01-01 12:00:00+00"  # a Saturday
MIN_WEEK_EVENTS = 10  # events by people for a week to count: fewer say little about when the day starts
MIN_WEEKS = 4  # counted weeks in each of a zone's two offsets, else the log cannot choose that zone
# Chosen when the working day follows more than half the clock change (exactly when the weekly means vary less in
# the zone's local time than in UTC) with this many standard errors to spare: noise, slow drift of the working
# day over the seasons included, passes that about one time in forty.
MARGIN_SE = 2.0


@dataclass(frozen=True)
class RuleFit:
    """How the working day of the log moves with one candidate zone's clock changes."""

    zone: str
    rule: str
    weeks: int  # counted weeks
    weeks_summer: int  # of them, with the zone's daylight-saving offset
    follows: float | None  # the share of the clock change the working day follows (None: no change in the log)
    se: float | None  # its standard error, widened for the weekly residuals' week-to-week correlation
    spread_local: float | None  # standard deviation of the weekly mean time of day, hours, in local time
    spread_utc: float | None  # the same in UTC
    chosen_possible: bool  # enough weeks on each side and more than half the change with the margin to spare


@dataclass(frozen=True)
class ZoneDetection:
    """The detected zone ("UTC" when no rule is clear), why, and the fit of every candidate."""

    zone: str
    note: str
    fits: list[RuleFit] = field(default_factory=list)

    @property
    def detected(self) -> bool:
        """Return whether a daylight-saving rule was detected (the zone is not UTC)."""
        return self.zone != "UTC"


_SQL = """
WITH e AS (
    SELECT epoch(coalesce(start_time, end_time)) AS s, resource, activity FROM {events}
    WHERE NOT sys AND coalesce(start_time, end_time) IS NOT NULL
),
hours AS (
    SELECT r.h, count(e.s) AS n FROM range(24) r(h) LEFT JOIN e ON floor(e.s % 86400 / 3600) = r.h GROUP BY r.h
),
-- The day is cut in the middle of the quietest six hours (UTC), so that no working day wraps around midnight
-- (a quiet hour alone could be lunch).
quiet AS (
    SELECT (a.h + 3) % 24 AS h FROM hours a JOIN hours b ON (b.h - a.h + 24) % 24 < 6
    GROUP BY a.h ORDER BY sum(b.n), a.h LIMIT 1
),
tod AS (
    SELECT floor((s - $origin) / 604800) AS w, resource, activity, floor((s - quiet.h * 3600) / 86400) % 7 AS dow,
           ((s - quiet.h * 3600) % 86400 + 86400) % 86400 / 3600 AS t
    FROM e, quiet
),
-- Each event's time of day relative to the usual one of its resource and activity on that weekday, so that who
-- worked which week, on what and on which days, does not move the week's mean.
weeks AS (
    SELECT w, avg(t - usual) AS y FROM (
        SELECT w, t, avg(t) OVER (PARTITION BY resource, activity, dow) AS usual FROM tod)
    GROUP BY w HAVING count(*) >= $min_events
),
offs AS (
    SELECT zone, w, y, (epoch(timezone(zone, to_timestamp($origin + w * 604800 + 302400)))
                        - ($origin + w * 604800 + 302400)) / 3600 AS off
    FROM weeks, (SELECT unnest($zones) AS zone)
),
xy AS (
    SELECT zone, w, y, off, avg(off) OVER (PARTITION BY zone) - off AS x, max(off) OVER (PARTITION BY zone) AS top
    FROM offs
),
fit AS (
    SELECT zone, count(*) AS n, count(*) FILTER (WHERE off = top) AS summer, regr_slope(y, x) AS f,
           regr_intercept(y, x) AS c, regr_sxx(y, x) AS sxx, regr_syy(y, x) AS syy, regr_sxy(y, x) AS sxy
    FROM xy GROUP BY zone
),
ac AS (
    SELECT zone, corr(r, r_prev) AS rho FROM (
        SELECT zone, r, lag(r) OVER (PARTITION BY zone ORDER BY w) AS r_prev
        FROM (SELECT xy.zone, w, y - (c + f * x) AS r FROM xy JOIN fit USING (zone) WHERE f IS NOT NULL))
    GROUP BY zone
)
SELECT zone, n, summer, f, sxx, syy, sxy, rho FROM fit LEFT JOIN ac USING (zone)
"""


def _fit(zone: str, n: int, summer: int, f: float | None, sxx: float | None, syy: float | None,
         sxy: float | None, rho: float | None) -> RuleFit:
    rule = CANDIDATES[zone]
    if f is None or not sxx or n < 3:
        return RuleFit(zone, rule, n, summer, None, None, None, None, False)
    rss = max(syy - sxy * sxy / sxx, 0.0)
    # Weekly means correlated week to week (slow drift) carry less information than as many independent ones.
    widen = math.sqrt((1 + rho) / (1 - rho)) if rho is not None and 0 < rho < 1 else 1.0
    se = math.sqrt(rss / (n - 2) / sxx) * widen
    spread_local = math.sqrt(max(syy - 2 * sxy + sxx, 0.0) / n)
    enough = min(summer, n - summer) >= MIN_WEEKS
    return RuleFit(zone, rule, n, summer, f, se, spread_local, math.sqrt(syy / n),
                   enough and f - MARGIN_SE * se > 0.5)


def detect_timezone(con: duckdb.DuckDBPyConnection, events: str) -> ZoneDetection:
    """Return the candidate zone whose daylight-saving rule the working day in table `events` (columns
    start_time, end_time, resource, activity, sys) keeps, or UTC when none clearly does."""
    rows = con.execute(_SQL.format(events=events), {
        "origin": con.execute(f"SELECT epoch(TIMESTAMPTZ '{WEEK_ORIGIN}')").fetchone()[0],
        "min_events": MIN_WEEK_EVENTS, "zones": list(CANDIDATES)}).fetchall()
    fits = sorted((_fit(*row) for row in rows), key=lambda f: list(CANDIDATES).index(f.zone))
    evidence = (f"the share of each rule's clock change the working day follows ± its standard error (weeks with "
                f"at least {MIN_WEEK_EVENTS} events by people; how the weekly mean time of day spreads in local time "
                f"and in UTC): " + (", ".join(_describe(f) for f in fits) or "no such week")
                + f"; a rule is taken above 0.5 with {MARGIN_SE:g} standard errors to spare")
    possible = [f for f in fits if f.chosen_possible]
    if not possible:
        return ZoneDetection("UTC", f"the working day keeps no daylight-saving rule clearly; {evidence}", fits)
    best = min(possible, key=lambda f: f.spread_local)
    return ZoneDetection(best.zone, (
        f"the working day keeps the {best.rule} daylight-saving rule; {best.zone} stands for every zone that keeps "
        f"it (a log shows the rule only: give the real zone if it is another); {evidence}"), fits)


def _describe(f: RuleFit) -> str:
    if f.follows is None or min(f.weeks_summer, f.weeks - f.weeks_summer) < MIN_WEEKS:
        return (f"{f.rule} none ({f.weeks_summer} weeks in its summer time and {f.weeks - f.weeks_summer} in its "
                f"winter time, {MIN_WEEKS} each needed)")
    return f"{f.rule} {f.follows:.2f} ± {f.se:.2f} ({f.weeks} weeks; {f.spread_local:.2f} h, {f.spread_utc:.2f} h)"
