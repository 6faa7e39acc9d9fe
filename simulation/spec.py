"""The simulation model: one declarative, versioned specification of a process, validated by pydantic and
round-tripped to YAML so that a person can review it, edit it and diff two versions.

Units: durations in seconds (processing, delays, back-off), rates in cases per week, money in the log's currency,
hourly costs per role. Times of day are local to the named calendar's time zone. Routing is a first-order model:
after each activity (or at the start) a decision picks the next activity — a data rule when one holds, otherwise
by probability — which covers choices and rework loops; the designs a scenario tests (approval matrix,
delegation, escalation, schedules, automation, AI triage, staffing, volume) are first-class changes, not
hand-edited probabilities (see `Change`).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from math import exp, inf
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SPEC_VERSION = 1
START = "START"
END = "END"
# Joins the values of an activity's role_by attributes into a key of its roles (e.g. "Central · Radiology").
ROLE_KEY_SEPARATOR = " · "
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_TIME = r"^([01]\d|2[0-4]):[0-5]\d$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Dumper(yaml.SafeDumper):
    """YAML writer that puts lists of numbers on one (wrapped) line: 168 hourly weights stay readable."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = bool(data) and all(isinstance(x, int | float) and not isinstance(x, bool) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def _to_yaml(spec: BaseModel) -> str:
    return yaml.dump(spec.model_dump(mode="json", exclude_none=True), Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, width=110)


# ----------------------------------------------------------------------------------------------------------
# Distributions


_PARAMETERS = {
    "fixed": ("value",), "exponential": ("mean",), "lognormal": ("median", "sigma"),
    "gamma": ("shape", "scale"), "weibull": ("shape", "scale"), "normal": ("mean", "sd"),
    "uniform": ("low", "high"), "beta": ("a", "b"), "empirical": ("quantiles",),
}


# Sampling one value at a time needs log(median) and the empirical quantile grid at every draw: both cached.
_log = lru_cache(maxsize=4096)(np.log)
_GRID_CACHE = 4096
_GRIDS: dict[int, tuple[list[float], list[float], np.ndarray, np.ndarray, Callable]] = {}


def _interpolator(grid: np.ndarray, quantiles: np.ndarray) -> Callable[[Any], float]:
    """Return a function drawing u uniform on [0, 1) and returning np.interp(u, grid, quantiles), in plain floats.

    np.interp costs microseconds per scalar call; this is its arithmetic written out for one value (the same
    segment, slope and sum, so the same float, NaN fallbacks included), with `grid` strictly increasing from 0.
    """
    xs, ys = grid.tolist(), quantiles.tolist()
    last = len(xs) - 1

    def draw(rng: Any) -> float:  # a numpy Generator or a random.Random
        x = rng.random()  # rng.uniform(0, 1): 0 + 1 * the same double
        j = bisect_right(xs, x) - 1
        if j >= last:
            return ys[last]
        x0, y0 = xs[j], ys[j]
        if x0 == x:
            return y0
        x1, y1 = xs[j + 1], ys[j + 1]
        slope = (y1 - y0) / (x1 - x0)
        y = slope * (x - x0) + y0
        if y != y:  # NaN (infinite quantiles): numpy tries from the right end, then the flat value
            y = slope * (x - x1) + y1
            if y != y and y0 == y1:
                y = y0
        return y

    return draw


class Distribution(_Spec):
    """A distribution of non-negative values, in the unit of what it describes (seconds for durations).

    kinds and their parameters: fixed (value); exponential (mean); lognormal (median, sigma); gamma (shape,
    scale); weibull (shape, scale); normal (mean, sd; truncated at 0); uniform (low, high); beta (a, b; on 0..1,
    for confidences); empirical (quantiles: evenly spaced quantiles from 0 to 1, sampled by interpolation).
    `cap` bounds every sample from above; `step` rounds every sample to the nearest multiple of it (86400 for a
    timer that fires whole days later, at the time of day it was set).
    """

    kind: Literal["fixed", "exponential", "lognormal", "gamma", "weibull", "normal", "uniform", "beta", "empirical"]
    value: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    sigma: float | None = None
    shape: float | None = None
    scale: float | None = None
    low: float | None = None
    high: float | None = None
    a: float | None = None
    b: float | None = None
    quantiles: list[float] | None = None
    cap: float | None = Field(None, gt=0)
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _parameters(self) -> Distribution:
        needed = _PARAMETERS[self.kind]
        missing = [p for p in needed if getattr(self, p) is None]
        if missing:
            raise ValueError(f"a {self.kind} distribution needs {', '.join(missing)}")
        extra = [p for p in ("value", "mean", "sd", "median", "sigma", "shape", "scale", "low", "high", "a", "b",
                             "quantiles") if p not in needed and getattr(self, p) is not None]
        if extra:
            raise ValueError(f"a {self.kind} distribution takes no {', '.join(extra)}")
        for p in needed:
            v = getattr(self, p)
            if p == "quantiles":
                if len(v) < 2 or any(x < 0 for x in v) or any(b < a for a, b in zip(v, v[1:], strict=False)):
                    raise ValueError("quantiles must be at least two non-negative, non-decreasing values")
            elif v < 0 or (p in ("mean", "sigma", "shape", "scale", "a", "b", "median") and v == 0
                           and self.kind != "fixed"):
                raise ValueError(f"{p} of a {self.kind} distribution must be positive")
        if self.kind == "uniform" and self.high < self.low:
            raise ValueError("uniform: high must not be below low")
        return self

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        """Return one draw (or `size` draws) from the distribution, never negative, at most `cap`."""
        if size is None:
            return self._one(rng)
        k = self.kind
        if k == "fixed":
            x = np.full(size, self.value, dtype=float)
        elif k == "exponential":
            x = rng.exponential(self.mean, size)
        elif k == "lognormal":
            x = rng.lognormal(np.log(self.median), self.sigma, size)
        elif k == "gamma":
            x = rng.gamma(self.shape, self.scale, size)
        elif k == "weibull":
            x = self.scale * rng.weibull(self.shape, size)
        elif k == "normal":
            x = np.maximum(rng.normal(self.mean, self.sd, size), 0.0)
        elif k == "uniform":
            x = rng.uniform(self.low, self.high, size)
        elif k == "beta":
            x = rng.beta(self.a, self.b, size)
        else:
            grid, q = self._grid()
            x = np.interp(rng.uniform(0, 1, size), grid, q)
        if self.cap is not None:
            x = np.minimum(x, self.cap)
        if self.step is not None:
            x = np.round(x / self.step) * self.step
        return x

    def _one(self, rng: np.random.Generator) -> float:
        # The engine draws one value at a time, hundreds of thousands of times a run: scalar draws skip the
        # size-1 arrays. numpy's scalar and size-1 draws consume the generator alike, so the draws are the same
        # as `sample(rng, 1)[0]` (tests/test_simulation_spec.py compares the sequences for every kind). The engine
        # draws from its own streams with a _drawer per distribution instead.
        k = self.kind
        if k == "fixed":
            x = float(self.value)
        elif k == "exponential":
            x = rng.exponential(self.mean)
        elif k == "lognormal":
            x = rng.lognormal(_log(self.median), self.sigma)
        elif k == "gamma":
            x = rng.gamma(self.shape, self.scale)
        elif k == "weibull":
            x = self.scale * rng.weibull(self.shape)
        elif k == "normal":
            x = rng.normal(self.mean, self.sd)
            x = x if x > 0.0 else 0.0
        elif k == "uniform":
            x = rng.uniform(self.low, self.high)
        elif k == "beta":
            x = rng.beta(self.a, self.b)
        else:
            x = self._grid_entry()[4](rng)  # np.interp(rng.uniform(0, 1), *self._grid()), see _interpolator
        cap = self.cap
        if cap is not None and x > cap:
            x = cap
        if self.step is not None:
            x = round(x / self.step) * self.step
        return float(x)

    def _drawer(self) -> Callable[[random.Random], float]:
        """Return a function drawing one value (a float, in the distribution's unit) from a Python random.Random,
        with the kind's branch and the parameters chosen once.

        The engine draws one value at a time, millions of times: its streams are random.Random (seeded in a
        fifth of the time of a numpy generator, and drawing scalars faster), so its draws are those of the same
        distribution as `sample`, not the same numbers (tests/test_simulation_spec.py compares the two).
        """
        k = self.kind
        if k == "fixed":
            value = float(self.value if self.cap is None or self.value <= self.cap else self.cap)
            if self.step is not None:
                value = round(value / self.step) * self.step
            return lambda _rng: value
        if k == "empirical":
            draw = self._grid_entry()[4]
        elif k == "exponential":
            rate = 1.0 / self.mean if self.mean else inf
            draw = lambda rng: rng.expovariate(rate) if rate != inf else 0.0  # noqa: E731 (drawers read best as lambdas)
        elif k == "lognormal":
            mu, sigma = float(_log(self.median)), self.sigma
            draw = lambda rng: exp(rng.gauss(mu, sigma))  # noqa: E731
        elif k == "gamma":
            shape, scale = self.shape, self.scale
            draw = lambda rng: rng.gammavariate(shape, scale)  # noqa: E731
        elif k == "weibull":
            shape, scale = self.shape, self.scale
            draw = lambda rng: rng.weibullvariate(scale, shape)  # noqa: E731
        elif k == "normal":
            mean, sd = self.mean, self.sd

            def draw(rng: random.Random) -> float:
                x = rng.gauss(mean, sd)
                return x if x > 0.0 else 0.0
        elif k == "uniform":
            low, high = self.low, self.high
            draw = lambda rng: rng.uniform(low, high)  # noqa: E731
        else:
            a, b = self.a, self.b
            draw = lambda rng: rng.betavariate(a, b)  # noqa: E731
        cap, step = self.cap, self.step
        if cap is not None:
            uncapped = draw

            def draw(rng: random.Random) -> float:
                x = uncapped(rng)
                return x if x <= cap else cap
        if step is None:
            return draw
        unrounded = draw
        return lambda rng: round(unrounded(rng) / step) * step

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the evenly spaced probabilities and the quantiles as arrays, built once per quantile list."""
        return self._grid_entry()[2:4]

    def _grid_entry(self) -> tuple[list[float], list[float], np.ndarray, np.ndarray, Callable]:
        """Return the cached (quantile list, its copy, probabilities, quantiles, interpolating drawer)."""
        quantiles = self.quantiles
        found = _GRIDS.get(id(quantiles))
        # The entry keeps the list, so its id cannot be reused while the entry exists; the copy catches a list
        # changed in place.
        if found is None or found[0] is not quantiles or found[1] != quantiles:
            if len(_GRIDS) >= _GRID_CACHE:
                _GRIDS.clear()
            q = np.asarray(quantiles, dtype=float)
            grid = np.linspace(0, 1, len(q))
            found = _GRIDS[id(quantiles)] = (quantiles, list(quantiles), grid, q, _interpolator(grid, q))
        return found

    def mean_value(self) -> float:
        """Return the mean of the distribution (before the cap), in its unit."""
        k = self.kind
        if k == "fixed":
            return float(self.value)
        if k in ("exponential", "normal"):
            return float(self.mean)
        if k == "lognormal":
            return float(self.median * np.exp(self.sigma ** 2 / 2))
        if k == "gamma":
            return float(self.shape * self.scale)
        if k == "weibull":
            from math import gamma

            return float(self.scale * gamma(1 + 1 / self.shape))
        if k == "uniform":
            return (self.low + self.high) / 2
        if k == "beta":
            return self.a / (self.a + self.b)
        q = np.asarray(self.quantiles, dtype=float)
        return float(np.trapezoid(q, np.linspace(0, 1, len(q))))


def fixed(seconds: float) -> Distribution:
    """Return a fixed duration of `seconds`."""
    return Distribution(kind="fixed", value=seconds)


# ----------------------------------------------------------------------------------------------------------
# Time: calendars and arrivals


class Shift(_Spec):
    """Working hours on some weekdays, local time; end 24:00 means midnight."""

    days: list[Weekday]
    start: str = Field(pattern=_TIME)
    end: str = Field(pattern=_TIME)

    @model_validator(mode="after")
    def _order(self) -> Shift:
        if self.end <= self.start:
            raise ValueError(f"a shift must end after it starts ({self.start}-{self.end})")
        return self


class Calendar(_Spec):
    """When the people of a role work: shifts in a time zone, minus holidays."""

    name: str
    timezone: str = "UTC"
    shifts: list[Shift]
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        ZoneInfo(value)  # raises on an unknown zone
        return value


class Arrivals(_Spec):
    """How cases arrive: a mean rate, shaped by hour of the week and by month (non-homogeneous Poisson)."""

    cases_per_week: float = Field(gt=0)
    timezone: str = "UTC"
    timezone_detected: bool = Field(
        False, description="the zone was detected from the daylight-saving rule the log's working day keeps, not "
                           "given: validation measures the timestamps as given (UTC), not in this zone")
    hour_of_week: list[float] = Field(default_factory=lambda: [1.0] * 168,
                                      description="168 relative weights, Monday 00-01 first, local time")
    month: list[float] = Field(default_factory=lambda: [1.0] * 12, description="12 relative factors, Jan first")
    sites: dict[str, float] = Field(default_factory=dict, description="share of the cases per site")
    forecast_from: datetime | None = Field(
        None, description="the end of the log the rate was read from (UTC); from then on cases arrive at "
                          "forecast_per_week, shaped by hour of week only (a month seen once in the log says how busy "
                          "it was that year, not in the next)")
    forecast_per_week: float | None = Field(None, gt=0, description="cases per week after forecast_from")

    @model_validator(mode="after")
    def _forecast(self) -> Arrivals:
        if (self.forecast_from is None) != (self.forecast_per_week is None):
            raise ValueError("forecast_from and forecast_per_week go together: give both or neither")
        return self

    @field_validator("hour_of_week")
    @classmethod
    def _week(cls, v: list[float]) -> list[float]:
        if len(v) != 168 or any(x < 0 for x in v) or sum(v) == 0:
            raise ValueError("hour_of_week needs 168 non-negative weights, not all zero")
        return v

    @field_validator("month")
    @classmethod
    def _months(cls, v: list[float]) -> list[float]:
        if len(v) != 12 or any(x < 0 for x in v) or sum(v) == 0:
            raise ValueError("month needs 12 non-negative factors, not all zero")
        return v


# ----------------------------------------------------------------------------------------------------------
# Cases, activities, routing, resources


class CaseAttribute(_Spec):
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


class Activity(_Spec):
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


class Condition(_Spec):
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
            return {"==": lambda: x == v, "!=": lambda: x != v, ">": lambda: x > v, ">=": lambda: x >= v,
                    "<": lambda: x < v, "<=": lambda: x <= v, "in": lambda: x in v}[self.op]()
        except TypeError:
            return False


class Branch(_Spec):
    """One way out of a decision: to an activity (or END), by probability or when a condition holds."""

    to: str
    probability: float = Field(0.0, ge=0, le=1)
    when: Condition | None = None


class Decision(_Spec):
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


class Role(_Spec):
    """People who share a kind of work: how many, when they work, what an hour costs, how often they are
    absent, and who covers for them."""

    name: str
    headcount: int = Field(ge=0)
    calendar: str | None = Field(None, description="a calendar name; none = always available")
    hourly_cost: float = Field(0.0, ge=0)
    absence_share: float = Field(0.0, ge=0, lt=1, description="share of working days a person is absent")
    people: list[str] = Field(default_factory=list, description="names, when known (else generated)")


class SlaTarget(_Spec):
    """Cycle-time targets in hours, by the value of a case attribute (e.g. priority), or one for all cases."""

    attribute: str | None = None
    targets_h: dict[str, float] = Field(default_factory=dict)
    default_h: float | None = None


# ----------------------------------------------------------------------------------------------------------
# Designs a scenario can change


class ApprovalBand(_Spec):
    """From `min_value` of the matrix's attribute on: these approval activities, in order."""

    min_value: float
    approvals: list[str]


class ApprovalMatrix(_Spec):
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


class Delegation(_Spec):
    """When every person of `role` is absent or off shift for longer than `after_h`, `delegate` takes the work."""

    kind: Literal["delegation"] = "delegation"
    role: str
    delegate: str
    after_h: float = Field(0.0, ge=0)


class Escalation(_Spec):
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


class ScheduledAction(_Spec):
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

        bad = [t for t in v if not re.match(_TIME, t)]
        if bad:
            raise ValueError(f"times must be HH:MM, not {', '.join(bad)}")
        return sorted(v)


class Automation(_Spec):
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


class AiTriage(_Spec):
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


class Staffing(_Spec):
    """Change a role's headcount, calendar or cost."""

    kind: Literal["staffing"] = "staffing"
    role: str
    headcount: int | None = Field(None, ge=0)
    calendar: str | None = None
    hourly_cost: float | None = Field(None, ge=0)


class Volume(_Spec):
    """Scale the arrivals (e.g. 1.3 for +30%), overall or of one site; a new site starts with its own share."""

    kind: Literal["volume"] = "volume"
    factor: float = Field(1.0, gt=0)
    site: str | None = None
    new_site: str | None = None
    new_site_share: float = Field(0.0, ge=0, lt=1)


Change = Annotated[ApprovalMatrix | Delegation | Escalation | ScheduledAction | Automation | AiTriage | Staffing
                   | Volume, Field(discriminator="kind")]


# ----------------------------------------------------------------------------------------------------------
# The model and scenarios


class Model(_Spec):
    """A simulation model of one process: what a discovery found in the log, plus the designs in force."""

    spec_version: int = SPEC_VERSION
    name: str
    process: str
    start: datetime = Field(description="simulated time 0 (UTC)")
    horizon_days: float = Field(gt=0, description="cases arrive during this many days")
    warmup_days: float = Field(0.0, ge=0, description="cases arriving before this are simulated, not reported")
    arrivals: Arrivals
    attributes: list[CaseAttribute] = Field(default_factory=list)
    activities: list[Activity]
    decisions: list[Decision]
    roles: list[Role] = Field(default_factory=list)
    calendars: list[Calendar] = Field(default_factory=list)
    sla: SlaTarget | None = None
    max_visits: int = Field(20, ge=1, description="an activity repeats at most this often in a case (loop guard)")
    policies: list[Change] = Field(default_factory=list)
    notes: dict[str, str] = Field(default_factory=dict, description="how each part was found (discovery)")

    @field_validator("spec_version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v > SPEC_VERSION:
            raise ValueError(f"this model was written by a newer twinflow (spec version {v}); this one reads up "
                             f"to {SPEC_VERSION}")
        return v

    @model_validator(mode="after")
    def _references(self) -> Model:
        names = [a.name for a in self.activities]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"activities named twice: {', '.join(dupes)}")
        known = set(names) | {END}
        roles = {r.name for r in self.roles}
        calendars = {c.name for c in self.calendars}
        drawn = {c.name for c in self.attributes if c.number is None} | {"site"}
        for a in self.activities:
            if a.role is not None and a.role not in roles:
                raise ValueError(f"activity {a.name}: unknown role {a.role}")
            for r in sorted(set((a.roles or {}).values()) - roles):
                raise ValueError(f"activity {a.name}: unknown role {r}")
            # Only attributes every simulated case draws can choose a role; an amount would need thresholds.
            for attr in a.role_by or []:
                if attr not in drawn:
                    raise ValueError(f"activity {a.name}: role_by {attr} is not a categorical case attribute")
            for r in sorted(set(a.duration_by_role or {}) - roles):
                raise ValueError(f"activity {a.name}: duration for unknown role {r}")
            for after in sorted(set(a.delay_after or {}) - (set(names) | {START})):
                raise ValueError(f"activity {a.name}: delay after unknown activity {after}")
            if a.calendar is not None and a.calendar not in calendars:
                raise ValueError(f"activity {a.name}: unknown calendar {a.calendar}")
            if a.calendar is not None and a.role is not None and not a.automated:
                raise ValueError(f"activity {a.name}: a calendar is for a step no person does; people keep their "
                                 "role's calendar")
        for r in self.roles:
            if r.calendar is not None and r.calendar not in calendars:
                raise ValueError(f"role {r.name}: unknown calendar {r.calendar}")
        afters = [d.after for d in self.decisions]
        keys = [(d.after, d.visit, d.before) for d in self.decisions]
        for after, visit, before in sorted({k for k in keys if keys.count(k) > 1}, key=str):
            raise ValueError(f"two decisions after {after}" + (f" from visit {visit}" if visit else "")
                             + (f" when {before} came before" if before else ""))
        if START not in afters:
            raise ValueError("the routing needs a decision after START")
        for d in self.decisions:
            if d.after != START and d.after not in known:
                raise ValueError(f"decision after unknown activity {d.after}")
            if d.before is not None and d.before != START and d.before not in known:
                raise ValueError(f"decision after {d.after}: unknown activity {d.before} before it")
            for b in d.branches:
                if b.to not in known:
                    raise ValueError(f"decision after {d.after}: unknown activity {b.to}")
        return self

    def activity(self, name: str) -> Activity:
        """Return the activity called `name`."""
        for a in self.activities:
            if a.name == name:
                return a
        raise KeyError(name)

    def role(self, name: str) -> Role:
        """Return the role called `name`."""
        for r in self.roles:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_yaml(self) -> str:
        """Return the model as YAML text (stable key order, readable, diffable)."""
        return _to_yaml(self)

    @classmethod
    def from_yaml(cls, text: str) -> Model:
        """Return the model read from YAML text (validated)."""
        return cls.model_validate(yaml.safe_load(text))

    def save(self, path: str | Path) -> Path:
        """Write the model as YAML to `path` and return the path."""
        path = Path(path)
        path.write_text(self.to_yaml(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """Return the model read from a YAML file."""
        return cls.from_yaml(Path(path).read_text(encoding="utf-8"))


class Scenario(_Spec):
    """A named set of design changes applied on top of a model (the as-is has none)."""

    name: str
    description: str = ""
    changes: list[Change] = Field(default_factory=list)

    def to_yaml(self) -> str:
        """Return the scenario as YAML text."""
        return _to_yaml(self)

    @classmethod
    def from_yaml(cls, text: str) -> Scenario:
        """Return the scenario read from YAML text (validated)."""
        return cls.model_validate(yaml.safe_load(text))
