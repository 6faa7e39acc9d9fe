"""Shared accounts: an account that records work in more hours of a week than one person works stands for several
people."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulation.discovery.sql import frame
from simulation.discovery.state import Discovery

# An account that records work in more hours of its busy weeks than one person works is several people's.
SHARED_WEEK_HOURS = 60
SHARED_MIN_WEEKS = 8
PERSON_WEEK_HOURS = 40


@dataclass
class SharedAccount:
    """An account several people record their work under (hours in which it recorded work, in its busy weeks)."""

    week: float
    roles: dict[str, float] = field(default_factory=dict)  # the same, per role


def find_shared_accounts(state: Discovery) -> dict[str, SharedAccount]:
    """Return the accounts that stand for several people, by name."""
    # One person does not record work in more than SHARED_WEEK_HOURS hours of a week, week after week: an
    # account that does (bpic2020's "STAFF MEMBER" does every step of six roles) is several people's. Its
    # busy weeks (the 90th percentile) tell the fewest people it takes; the quiet ones say nothing.
    df = frame(state.con, f"""
        WITH per_role AS (SELECT grp, resource, date_trunc('week', day) AS week, count(*) AS n FROM {state.ph}
                          GROUP BY ALL),
        whole AS (SELECT resource, date_trunc('week', day) AS week, count(DISTINCT (day, h)) AS n
                  FROM {state.ph} WHERE resource IS NOT NULL GROUP BY ALL),
        busy AS (SELECT resource, quantile_cont(n, 0.9) AS week FROM whole GROUP BY resource
                 HAVING count(*) >= $weeks AND quantile_cont(n, 0.9) > $limit)
        SELECT b.resource, b.week, r.grp, quantile_cont(r.n, 0.9) AS in_role
        FROM busy b JOIN per_role r USING (resource) GROUP BY ALL ORDER BY ALL
    """, {"weeks": SHARED_MIN_WEEKS, "limit": SHARED_WEEK_HOURS})
    out: dict[str, SharedAccount] = {}
    for row in df.itertuples():
        out.setdefault(str(row.resource), SharedAccount(float(row.week))).roles[str(row.grp)] = float(row.in_role)
    return out
