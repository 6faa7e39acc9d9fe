"""Time in the spec: shifts and calendars of working hours, and how cases arrive over the week and the year."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from simulation.spec.base import Spec

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# HH:MM, up to 24:00 so that a shift can end at midnight.
TIME_OF_DAY = r"^([01]\d|2[0-4]):[0-5]\d$"


class Shift(Spec):
    """Working hours on some weekdays, local time; end 24:00 means midnight."""

    days: list[Weekday]
    start: str = Field(pattern=TIME_OF_DAY)
    end: str = Field(pattern=TIME_OF_DAY)

    @model_validator(mode="after")
    def _order(self) -> Shift:
        if self.end <= self.start:
            raise ValueError(f"a shift must end after it starts ({self.start}-{self.end})")
        return self


class Calendar(Spec):
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


class Arrivals(Spec):
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
