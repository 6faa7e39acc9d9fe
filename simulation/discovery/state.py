"""What the steps of one discovery share: the connection and the temporary tables of the selected events, the notes
that explain the model, and what an early step found that a later one reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

import duckdb

from mining.filters import Filters
from mining.kpis import KpiConfig
from mining.kpis import default_config as kpi_config
from simulation.fitting import Fit
from simulation.progress import Progress
from simulation.spec import Calendar

StartEstimation = Literal["auto", "none", "always"]


@dataclass
class Discovery:
    """The state of one discovery, passed to each of its steps."""

    con: duckdb.DuckDBPyConnection
    process: str
    tz_arg: str | None
    filters: Filters
    mode: StartEstimation
    progress: Progress
    calibrate: bool = False  # check the hidden delays by simulation (wait_calibration)
    notes: dict[str, str] = field(default_factory=dict)
    # Temporary tables: the selected events, their cases, the waits before events, the hours people worked.
    ev: str = field(init=False)
    cs: str = field(init=False)
    wt: str = field(init=False)
    ph: str = field(init=False)
    kpi_config: KpiConfig = field(init=False)
    systems: list[str] = field(init=False)
    # The time zone the times are read in, where it came from, and whether it was detected (events).
    tz: str = ""
    tz_source: str = ""
    tz_detected: bool = False
    # Timers, and those that fire whole days after the step before (their delays are drawn in whole days).
    timers: set[str] = field(default_factory=set)
    whole_day_timers: set[str] = field(default_factory=set)
    # Whether the roles are pools of resources, the log recording none (pools).
    pooled: bool = False
    # Roles split by a case attribute: split role -> the role it was split from; original role -> (attributes,
    # value key -> split role) (partition).
    split_from: dict[str, str] = field(default_factory=dict)
    role_by: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)
    # Working hours per weekday of each role with a calendar (roles); each role's calendar, and the roles' names.
    work_hours: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    role_calendars: dict[str, Calendar | None] = field(default_factory=dict)
    role_names: set[str] = field(default_factory=set)
    # Per activity: whether a system does it, and whether its starts are recorded, estimated or instant (starts).
    automated: dict[str, bool] = field(default_factory=dict)
    start_rule: dict[str, str] = field(default_factory=dict)
    # Steps done by a system that works some hours of the week only: their calendars.
    system_calendars: dict[str, Calendar] = field(default_factory=dict)
    # Activities done in batches (with their note), and those whose runs keep a schedule (batches).
    batched: dict[str, str] = field(default_factory=dict)
    scheduled: set[str] = field(default_factory=set)
    # Processing times per split role where they differ from the rest's, per activity (durations).
    duration_by_role: dict[str, dict[str, Fit]] = field(default_factory=dict)
    # The wait kind of each activity; delays found per preceding activity, and the activities whose delay counts
    # working time only (delays).
    wait_kind: dict[str, str] = field(default_factory=dict)
    delay_after: dict[str, dict[str, Fit | None]] = field(default_factory=dict)
    working_time_delay: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:12]
        self.ev, self.cs, self.wt = f"_disc_ev_{tag}", f"_disc_cs_{tag}", f"_disc_wait_{tag}"
        self.ph = f"_disc_hours_{tag}"
        kcfg = kpi_config(self.process)
        self.kpi_config = kcfg
        self.systems = sorted(kcfg.system_resources)
