"""The process in the spec: case attributes, activities, the routing between them, roles and SLA targets."""

from __future__ import annotations

import operator
from typing import Any, Literal

from pydantic import Field, model_validator

from simulation.spec.base import Spec
from simulation.spec.distributions import Distribution, fixed

START = "START"
END = "END"
# Joins the values of an activity's role_by attributes into a key of its roles (e.g. "Central · Radiology").
ROLE_KEY_SEPARATOR = " · "


class CaseAttribute(Spec):
    """An attribute every case draws when it arrives: a category with probabilities, or a number."""

    name: str
    categories: dict[str, float] = Field(default_factory=dict, description="value -> probability")
    number: Distribution | None = None
    per_site: dict[str, dict[str, float]] = Field(default_factory=dict,
                                                  description="site -> categories, where they differ by site")

    @model_validator(mode="after")
    def _one(self) -> CaseAttribute:
        if bool(self.categories or self.per_site) == (self.number is not None):
            raise ValueError(f"attribute {self.name}: give categories or a number distribution, not both or none")
        return self


class Activity(Spec):
    """A step of the process: who does it (a role; none for a system step), how long it takes, and how long it
    waits beforehand for reasons no resource explains (a supplier, a due date, a batch)."""

    name: str
    role: str | None = None
    duration: Distribution = Field(default_factory=lambda: fixed(0.0), description="processing, seconds")
    duration_by_role: dict[str, Distribution] | None = Field(
        None, description="role -> processing time when that role does it (the case's role, see roles), in place "
                          "of `duration`, seconds")
    delay: Distribution | None = Field(None, description="waiting before it not caused by resources, seconds")
    delay_after: dict[str, Distribution] | None = Field(
        None, description="preceding activity (START for a case's first) -> the delay before it after that one, "
                          "in place of `delay` (a customer answers a call days later, but not a form), seconds")
    delay_in_working_time: bool = Field(
        False, description="the delay counts only the working time of the role doing the activity: a wait that is "
                           "noticed and acted on in office hours, so the work becomes ready inside them")
    automated: bool = Field(False, description="done by a system: no manual touch, no resource needed")
    calendar: str | None = Field(
        None, description="for a step no person does (automated, or without a role): the calendar whose hours it "
                          "happens in (a system run in office hours, a payment run on two afternoons a week); its "
                          "delay counts that calendar's working time, so it falls inside them")
    role_by: list[str] | None = Field(None, description="case attributes ('site' too) whose values choose the role")
    roles: dict[str, str] | None = Field(None, description="the role_by values joined by ' · ' -> role; a case "
                                                           "with other values goes to `role`")
    duration_in_working_time: bool = Field(
        False, description="the processing time counts only the working time of the person doing it: work left at "
                           "the end of a shift goes on at the next (durations estimated from end times within "
                           "shifts are working time; a recorded duration is wall-clock time)")
    at_arrival: bool = Field(
        False, description="the step that opens a case is done at the case's arrival: a case that starts with it "
                           "has it done then, by a person of its role, with no queue and no processing time (a log "
                           "of end times only reads the arrival from this step's end); later visits are queued as "
                           "usual")

    @model_validator(mode="after")
    def _role_by(self) -> Activity:
        if bool(self.role_by) != bool(self.roles):
            raise ValueError(f"activity {self.name}: give both role_by and roles, or neither")
        if self.at_arrival and self.automated:
            raise ValueError(f"activity {self.name}: at_arrival is for a step done by people, not a system's")
        return self

    def delay_for(self, after: str) -> Distribution | None:
        """Return the delay distribution (seconds) before this activity when it follows `after`; None for none."""
        if self.delay_after and after in self.delay_after:
            return self.delay_after[after]
        return self.delay

    def duration_for(self, role: str | None) -> Distribution:
        """Return the processing-time distribution (seconds) of this activity when `role` does it."""
        if self.duration_by_role and role in self.duration_by_role:
            return self.duration_by_role[role]
        return self.duration

    def role_for(self, attributes: dict[str, Any], site: str | None = None) -> str | None:
        """Return the role that does this activity for a case with these attributes at `site`."""
        if not self.roles:
            return self.role
        key = ROLE_KEY_SEPARATOR.join(str(site if a == "site" else attributes.get(a)) for a in self.role_by)
        return self.roles.get(key, self.role)


_COMPARE = {"==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt,
            "<=": operator.le}


class Condition(Spec):
    """A data rule on a case attribute, e.g. amount >= 10000."""

    attribute: str
    op: Literal["==", "!=", ">", ">=", "<", "<=", "in"]
    value: Any

    def holds(self, attributes: dict[str, Any]) -> bool:
        """Return whether the case's attributes satisfy the rule (a missing attribute never does)."""
        if self.attribute not in attributes or attributes[self.attribute] is None:
            return False
        x, v = attributes[self.attribute], self.value
        try:
            return x in v if self.op == "in" else _COMPARE[self.op](x, v)
        except TypeError:
            return False

    def describe(self) -> str:
        """Return the rule as it reads, e.g. "amount >= 10000"."""
        return f"{self.attribute} {self.op} {self.value}"


class Branch(Spec):
    """One way out of a decision: to an activity (or END), by probability or when a condition holds."""

    to: str
    probability: float = Field(0.0, ge=0, le=1)
    when: Condition | None = None


class Decision(Spec):
    """What follows `after` (an activity or START): the first branch whose condition holds, else a branch drawn
    by probability among those without a condition."""

    after: str
    visit: int | None = Field(None, ge=1, description="holds from this visit of `after` on (1: its first) until a "
                                                      "later visit has a decision of its own; none: every visit "
                                                      "without one")
    before: str | None = Field(None, description="holds when the activity before `after` was this one (START: "
                                                  "`after` was the case's first); none: any other")
    branches: list[Branch] = Field(min_length=1)

    @model_validator(mode="after")
    def _probabilities(self) -> Decision:
        if self.visit is not None and self.before is not None:
            raise ValueError(f"after {self.after}: a decision holds from a visit or after an activity, not both")
        free = [b.probability for b in self.branches if b.when is None]
        if free and abs(sum(free) - 1.0) > 1e-6:
            raise ValueError(f"after {self.after}: the probabilities of the unconditioned branches sum to "
                             f"{sum(free):.6f}, not 1")
        if not free and all(b.when is not None for b in self.branches):
            raise ValueError(f"after {self.after}: add a branch without a condition for when no rule holds")
        return self

    def choose(self, attributes: dict[str, Any], u: float) -> str:
        """Return the next activity for a case with these attributes, using the uniform draw `u` in [0, 1)."""
        for branch in self.branches:
            if branch.when is not None and branch.when.holds(attributes):
                return branch.to
        acc = 0.0
        free = [b for b in self.branches if b.when is None]
        for branch in free:
            acc += branch.probability
            if u < acc:
                return branch.to
        return free[-1].to


class Role(Spec):
    """People who share a kind of work: how many, when they work, what an hour costs, how often they are
    absent, and who covers for them."""

    name: str
    headcount: int = Field(ge=0)
    calendar: str | None = Field(None, description="a calendar name; none = always available")
    hourly_cost: float = Field(0.0, ge=0)
    absence_share: float = Field(0.0, ge=0, lt=1, description="share of working days a person is absent")
    people: list[str] = Field(default_factory=list, description="names, when known (else generated)")


class SlaTarget(Spec):
    """Cycle-time targets in hours, by the value of a case attribute (e.g. priority), or one for all cases."""

    attribute: str | None = None
    targets_h: dict[str, float] = Field(default_factory=dict)
    default_h: float | None = None
