"""Timers: activities that come a fixed time after the step before, done by a system whoever the log names."""

from __future__ import annotations

from simulation.discovery.sql import frame
from simulation.discovery.state import Discovery
from simulation.fitting import human

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


def find_timers(state: Discovery) -> None:
    """Record the timers in state.timers and mark their events as done by a system."""
    # Its performer's recorded work tiles their time (each estimated start is their previous end), so a timer's
    # wait would read as a queue for one busy person rather than the fixed delay it is.
    found = frame(state.con, f"""
        WITH own AS (SELECT resource, activity,
                            count(*) / sum(count(*)) OVER (PARTITION BY resource) AS share
                     FROM {state.ev} WHERE NOT sys GROUP BY resource, activity),
        w AS (SELECT e.activity, epoch(e.end_time - e.prev_end) AS s, e.start_time IS NOT NULL AS started,
                     median(epoch(e.end_time - e.prev_end)) OVER (PARTITION BY e.activity) AS m,
                     epoch(e.end_time) % 86400 = 0 AS midnight, o.share >= $account AS account
              FROM {state.ev} e JOIN own o USING (resource, activity)
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
    state.con.execute(f"UPDATE {state.ev} SET sys = true WHERE list_contains($acts, activity)",
                      {"acts": found.activity.tolist()}).fetchall()
    state.timers = set(found.activity)
    state.whole_day_timers = set(found.activity[found.whole_days])
    state.notes["timers"] = (
        "done by a system whoever the log names, as they come a fixed time after the step before (at least "
        f"{TIMER_SHARE:.0%} of the waits within {TIMER_TOLERANCE:.0%} of their median, or {TIMER_DAYS_SHARE:.0%} "
        f"whole days to {TIMER_DAY_S // 60} minutes, which chance makes about 0.3%), record no starts and are "
        f"done by accounts that do little else (at least {TIMER_ACCOUNT_SHARE:.0%} of their events): "
        + "; ".join(f"{r.activity} ({r.share:.0%} of {r.n:,} waits "
                    + ("whole days" if r.whole_days else f"within {TIMER_TOLERANCE:.0%} of {human(float(r.m))}")
                    + ")" for r in found.itertuples()) + ".")
