"""The whole spec: a `Model` of one process, checked for consistent references and a spec version this twinflow
reads, and a `Scenario` of design changes, each read from and written to YAML."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from pydantic import Field, field_validator, model_validator

from simulation.spec.base import Spec, dump_yaml
from simulation.spec.calendars_arrivals import Arrivals, Calendar
from simulation.spec.changes import Change
from simulation.spec.process import END, START, Activity, CaseAttribute, Decision, Role, SlaTarget

SPEC_VERSION = 1


class Model(Spec):
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
        return dump_yaml(self)

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


class Scenario(Spec):
    """A named set of design changes applied on top of a model (the as-is has none)."""

    name: str
    description: str = ""
    changes: list[Change] = Field(default_factory=list)

    def to_yaml(self) -> str:
        """Return the scenario as YAML text."""
        return dump_yaml(self)

    @classmethod
    def from_yaml(cls, text: str) -> Scenario:
        """Return the scenario read from YAML text (validated)."""
        return cls.model_validate(yaml.safe_load(text))
