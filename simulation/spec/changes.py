"""The designs a scenario can change (approval matrix, delegation, escalation, schedules, automation, AI triage,
staffing, volume) and `Change`, their union, which models and scenarios hold."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator

from simulation.spec.base import Spec
from simulation.spec.calendars_arrivals import TIME_OF_DAY, WEEKDAYS, Weekday
from simulation.spec.distributions import Distribution, fixed


def _minutes(d: Distribution) -> str:
    return f"{d.mean_value() / 60:.3g} min"


class ApprovalBand(Spec):
    """From `min_value` of the matrix's attribute on: these approval activities, in order."""

    min_value: float
    approvals: list[str]


class ApprovalMatrix(Spec):
    """Replace the approvals after `after` with a matrix on an attribute (amount): below `auto_below` a system
    approves at once; otherwise the band with the highest `min_value` not above the value gives the approval
    activities in sequence; then the case continues with `then`."""

    kind: Literal["approval_matrix"] = "approval_matrix"
    after: str
    then: str
    attribute: str = "amount"
    auto_below: float | None = None
    auto_activity: str = "Auto-approve"
    bands: list[ApprovalBand] = Field(min_length=1)

    label: ClassVar[str] = "Approval matrix"

    def describe(self) -> str:
        """Return one line saying what the change does, starting with its label."""
        bands = "; ".join(f"from {b.min_value:,.0f}: {' → '.join(b.approvals) or 'none'}" for b in self.bands)
        auto = f"auto-approve below {self.auto_below:,.0f}; " if self.auto_below is not None else ""
        return f"{self.label} on {self.attribute} after {self.after}: {auto}{bands}; then {self.then}"


class Delegation(Spec):
    """When every person of `role` is absent or off shift for longer than `after_h`, `delegate` takes the work."""

    kind: Literal["delegation"] = "delegation"
    role: str
    delegate: str
    after_h: float = Field(0.0, ge=0)

    label: ClassVar[str] = "Delegation"

    def describe(self) -> str:
        """Return one line saying what the change does, starting with its label."""
        return f"{self.label}: {self.role} absent over {self.after_h:g} h → {self.delegate}"


class Escalation(Spec):
    """Timers on waiting for `activity`: after `remind_after_h` a reminder, after `escalate_after_h` an escalation
    that hands the work to `escalate_to` (reassign) or only notifies."""

    kind: Literal["escalation"] = "escalation"
    activity: str
    remind_after_h: float | None = Field(None, gt=0)
    escalate_after_h: float | None = Field(None, gt=0)
    escalate_to: str | None = Field(None, description="role that takes the work over; none = notify only")
    reminder_activity: str = "Send reminder"
    escalation_activity: str = "Escalate"
    business_hours: bool = Field(False, description="count the timers in the role's working hours")

    label: ClassVar[str] = "Escalation"

    def describe(self) -> str:
        """Return one line saying what the change does, starting with its label."""
        def after(h: float | None) -> str:
            return f"{h:g} h" if h is not None else "never"

        to = f"reassign to {self.escalate_to}" if self.escalate_to else "notify only"
        clock = " (business hours)" if self.business_hours else ""
        return (f"{self.label} on {self.activity}: remind after {after(self.remind_after_h)}, escalate after "
                f"{after(self.escalate_after_h)} ({to}){clock}")


class ScheduledAction(Spec):
    """`activity` runs only in batches at fixed local times (e.g. nightly matching at 02:00)."""

    kind: Literal["schedule"] = "schedule"
    activity: str
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))
    times: list[str] = Field(min_length=1)
    timezone: str = "UTC"

    @field_validator("times")
    @classmethod
    def _times(cls, v: list[str]) -> list[str]:
        import re

        bad = [t for t in v if not re.match(TIME_OF_DAY, t)]
        if bad:
            raise ValueError(f"times must be HH:MM, not {', '.join(bad)}")
        return sorted(v)

    label: ClassVar[str] = "Scheduled"

    def describe(self) -> str:
        """Return one line saying what the change does, starting with its label."""
        return f"{self.label} {self.activity}: {', '.join(self.days)} at {', '.join(self.times)} ({self.timezone})"


class Automation(Spec):
    """`activity` is done by a system: it takes `duration`; with `failure_rate` an attempt fails and is retried
    up to `retries` times after an exponential back-off; when retries are exhausted the case goes to an exception
    queue worked by `exception_role`, or to a dead letter when `exception_role` is none."""

    kind: Literal["automation"] = "automation"
    activity: str
    duration: Distribution = Field(default_factory=lambda: fixed(5.0))
    failure_rate: float = Field(0.0, ge=0, le=1)
    retries: int = Field(0, ge=0)
    backoff_s: float = Field(60.0, ge=0, description="first back-off; doubles on each retry")
    exception_role: str | None = None
    exception_activity: str | None = Field(None, description="default: 'Handle exception: <activity>'")
    exception_duration: Distribution = Field(default_factory=lambda: fixed(600.0))
    dead_letter_activity: str = "Dead letter"

    label: ClassVar[str] = "Automate"

    def describe(self) -> str:
        """Return one line saying what the change does, starting with its label."""
        then = (f"exceptions to {self.exception_role} ({_minutes(self.exception_duration)})"
                if self.exception_role else f"failures to {self.dead_letter_activity}")
        return (f"{self.label} {self.activity}: {self.duration.mean_value():g} s, failure rate "
                f"{self.failure_rate:.0%}, {self.retries} retries from {self.backoff_s:g} s back-off, {then}")


class AiTriage(Spec):
    """An AI model does `activity` (a classification such as triage): its confidence per case follows
    `confidence` (a beta distribution); it is calibrated, so a case decided at confidence c is right with
    probability c. Below `threshold` the case goes to manual review by `review_role`; a wrong automatic decision
    costs the rework `misroute_activity` by `misroute_role`."""

    kind: Literal["ai_triage"] = "ai_triage"
    activity: str
    confidence: Distribution = Field(default_factory=lambda: Distribution(kind="beta", a=8.0, b=1.5))
    threshold: float = Field(0.8, ge=0, le=1)
    duration: Distribution = Field(default_factory=lambda: fixed(2.0))
    review_role: str
    review_duration: Distribution = Field(default_factory=lambda: fixed(180.0))
    misroute_activity: str = "Reassign"
    misroute_role: str | None = None
    misroute_duration: Distribution = Field(default_factory=lambda: fixed(300.0))

    label: ClassVar[str] = "AI triage"

    def describe(self) -> str:
        """Return one line saying what the change does, starting with its label."""
        return (f"{self.label} of {self.activity}: mean confidence {self.confidence.mean_value():.0%}, below "
                f"{self.threshold:.0%} reviewed by {self.review_role} ({_minutes(self.review_duration)}); "
                f"misroutes reworked as {self.misroute_activity}")


class Staffing(Spec):
    """Change a role's headcount, calendar or cost."""

    kind: Literal["staffing"] = "staffing"
    role: str
    headcount: int | None = Field(None, ge=0)
    calendar: str | None = None
    hourly_cost: float | None = Field(None, ge=0)

    label: ClassVar[str] = "Staffing"

    def describe(self) -> str:
        """Return one line saying what the change does, starting with its label."""
        parts = [f"headcount {self.headcount}" if self.headcount is not None else "",
                 f"calendar {self.calendar}" if self.calendar else "",
                 f"hourly cost {self.hourly_cost:,.2f}" if self.hourly_cost is not None else ""]
        return f"{self.label} of {self.role}: " + ", ".join(p for p in parts if p)


class Volume(Spec):
    """Scale the arrivals (e.g. 1.3 for +30%), overall or of one site; a new site starts with its own share."""

    kind: Literal["volume"] = "volume"
    factor: float = Field(1.0, gt=0)
    site: str | None = None
    new_site: str | None = None
    new_site_share: float = Field(0.0, ge=0, lt=1)

    label: ClassVar[str] = "Volume"

    def describe(self) -> str:
        """Return one line saying what the change does, starting with its label."""
        where = f"site {self.site}" if self.site else "all sites"
        text = f"{self.label} × {self.factor:g} ({(self.factor - 1) * 100:+.0f}%) on {where}"
        if self.new_site:
            text += f"; new site {self.new_site} with {self.new_site_share:.0%} of the cases"
        return text


Change = Annotated[ApprovalMatrix | Delegation | Escalation | ScheduledAction | Automation | AiTriage | Staffing
                   | Volume, Field(discriminator="kind")]
