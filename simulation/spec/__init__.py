"""The simulation model: one declarative, versioned specification of a process, validated by pydantic and
round-tripped to YAML so that a person can review it, edit it and diff two versions.

Units: durations in seconds (processing, delays, back-off), rates in cases per week, money in the log's currency,
hourly costs per role. Times of day are local to the named calendar's time zone. Routing is a first-order model:
after each activity (or at the start) a decision picks the next activity — a data rule when one holds, otherwise
by probability — which covers choices and rework loops; the designs a scenario tests (approval matrix,
delegation, escalation, schedules, automation, AI triage, staffing, volume) are first-class changes, not
hand-edited probabilities (see `Change`).
"""

from simulation.spec.base import dump_yaml
from simulation.spec.calendars_arrivals import WEEKDAYS, Arrivals, Calendar, Shift, Weekday
from simulation.spec.changes import (
    AiTriage,
    ApprovalBand,
    ApprovalMatrix,
    Automation,
    Change,
    Delegation,
    Escalation,
    ScheduledAction,
    Staffing,
    Volume,
)
from simulation.spec.distributions import Distribution, fixed
from simulation.spec.model import SPEC_VERSION, Model, Scenario
from simulation.spec.process import (
    END,
    ROLE_KEY_SEPARATOR,
    START,
    Activity,
    Branch,
    CaseAttribute,
    Condition,
    Decision,
    Role,
    SlaTarget,
)

__all__ = [
    "SPEC_VERSION", "Model", "Scenario", "dump_yaml",
    "Distribution", "fixed",
    "WEEKDAYS", "Weekday", "Shift", "Calendar", "Arrivals",
    "START", "END", "ROLE_KEY_SEPARATOR", "CaseAttribute", "Activity", "Condition", "Branch", "Decision", "Role",
    "SlaTarget",
    "ApprovalBand", "ApprovalMatrix", "Delegation", "Escalation", "ScheduledAction", "Automation", "AiTriage",
    "Staffing", "Volume", "Change",
]
