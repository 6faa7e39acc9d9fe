"""A run's output: its simulated events (canonical columns plus `kind`) and cases as DataFrames (`frames`), and a run
written into a workspace through the one loader as a process of simulated events (`write_run`)."""

from __future__ import annotations

import json
import re
import tempfile
from datetime import UTC, datetime
from operator import itemgetter
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from simulation.case_draws import Case
from simulation.progress import DAY_S
from simulation.spec import Model

if TYPE_CHECKING:
    from ingest.loader import ImportResult
    from simulation.engine import SimulationRun

SOURCE = "simulation"  # events.source of simulated events written into a workspace
EVENT_COLUMNS = ["case_id", "activity", "start_time", "end_time", "resource", "role", "site", "amount",
                 "attributes", "kind"]


def _utc(moment: datetime) -> datetime:
    """Return the moment as an aware UTC datetime (a naive one is read as UTC, like Model.start's description)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stamps(origin: pd.Timestamp, seconds: list[float] | np.ndarray) -> pd.Series:
    """Return UTC timestamps (microseconds) of simulation seconds."""
    # Float microseconds stay exact below 2**53 (285 years); NaN (a case still open) becomes NaT. Whole
    # microseconds times 1000 are the nanoseconds pd.to_timedelta(micros, unit="us") gives, without its slow
    # float path (a tenth of a run's frames).
    micros = np.round(np.asarray(seconds, dtype=float) * 1e6)
    missing = np.isnan(micros)
    nanos = np.where(missing, 0.0, micros).astype(np.int64) * 1000
    nanos[missing] = np.iinfo(np.int64).min  # NaT
    return pd.Series(origin + pd.TimedeltaIndex(nanos.view("m8[ns]")))


def _objects(values: list | tuple) -> pd.Series:
    """Return the values as a Series of dtype object (np.fromiter does not look into them for nested sequences
    as pandas does with a list: several times faster)."""
    return pd.Series(np.fromiter(values, dtype=object, count=len(values)), dtype=object)


def frames(model: Model, records: list[tuple], cases: list[Case]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the events and cases DataFrames of a finished simulation, from its records and cases."""
    origin = pd.Timestamp(_utc(model.start))
    warmup = model.warmup_days * DAY_S
    # A record is (case index, order recorded, activity, start, end, resource, role, attributes, kind), as the
    # engine keeps them. By case, start, end, then the order recorded (itemgetter: the same key as a lambda, built
    # in C).
    records = sorted(records, key=itemgetter(0, 3, 4, 1))
    columns = list(zip(*records, strict=True)) if records else [() for _ in range(9)]
    index = np.asarray(columns[0], dtype="int64")
    amounts = np.array([c.attributes.get("amount") for c in cases], dtype=object)
    events = pd.DataFrame({
        "case_id": _objects([cases[i].case_id for i in columns[0]]),
        "activity": _objects(columns[2]),
        "start_time": _stamps(origin, columns[3]),
        "end_time": _stamps(origin, columns[4]),
        "resource": _objects(columns[5]),
        "role": _objects(columns[6]),
        "site": _objects([cases[i].site for i in columns[0]]),
        "amount": pd.to_numeric(pd.Series(amounts[index] if len(index) else [], dtype=object),
                                errors="coerce").astype(float),
        "attributes": _objects([json.dumps(a, sort_keys=True) if a else None for a in columns[7]]),
        "kind": _objects(columns[8]),
    }, columns=EVENT_COLUMNS)
    names = [a.name for a in model.attributes]
    frame = pd.DataFrame({
        "case_id": [c.case_id for c in cases],
        "arrival": _stamps(origin, [c.arrival for c in cases]),
        "site": pd.Series([c.site for c in cases], dtype=object),
        **{n: pd.Series([c.attributes.get(n) for c in cases], dtype=object) for n in names if n not in ("site",)},
        "warmup": np.array([c.arrival < warmup for c in cases], dtype=bool),
        "completed": np.array([c.completed for c in cases], dtype=bool),
        "stopped": pd.Series([c.stopped for c in cases], dtype=object),
        "end_time": _stamps(origin, [c.end if c.end is not None else np.nan for c in cases]),
    })
    return events, frame


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "run"


def write_run(run: SimulationRun, workspace: str | PathLike | duckdb.DuckDBPyConnection | None,
              process_label: str, include_warmup: bool = False) -> ImportResult:
    """Import the run's events into a workspace as process `process_label` through the one loader and return its
    ImportResult; scenario, replication and seed become case attributes; re-writing the same run adds nothing.

    Warm-up cases are left out unless `include_warmup` (they carry the case attribute warmup then).
    """
    # Imported here so that reading and running models does not load the ingest package.
    from ingest.loader import ImportOptions, import_file
    from ingest.workspace import connect
    cases = run.cases if include_warmup else run.cases[~run.cases["warmup"]]
    ev = run.events[run.events["case_id"].isin(cases["case_id"])].reset_index(drop=True)

    def iso(stamps: pd.Series) -> pd.Series:
        return stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

    frame = pd.DataFrame({
        "case_id": ev["case_id"], "activity": ev["activity"], "start_time": iso(ev["start_time"]),
        "end_time": iso(ev["end_time"]), "resource": ev["resource"], "role": ev["role"], "site": ev["site"],
        "amount": ev["amount"].map(lambda x: None if pd.isna(x) else repr(float(x))), "kind": ev["kind"],
    })
    parsed = [json.loads(a) if isinstance(a, str) else (a or {}) for a in ev["attributes"]]
    for key in sorted({k for a in parsed for k in a}):
        frame[key] = [None if key not in a else str(a[key]) for a in parsed]
    by_case = cases.set_index("case_id")
    case_columns = {"scenario": run.scenario, "replication": str(run.replication), "seed": str(run.seed)}
    for name, value in case_columns.items():
        frame[f"case:{name}"] = value
    if include_warmup:
        frame["case:warmup"] = ev["case_id"].map(by_case["warmup"]).map(str)
    for name in [a.name for a in run.model.attributes if a.name not in ("amount", "site")]:
        frame[f"case:{name}"] = ev["case_id"].map(by_case[name]).map(lambda v: None if v is None else str(v))
    frame = frame.astype("string")
    mapping = {f: f for f in ("case_id", "activity", "start_time", "end_time", "resource", "role", "site", "amount")}
    options = ImportOptions(process=process_label, mapping=mapping, timezone="UTC")
    with tempfile.TemporaryDirectory(prefix="twinflow-sim-") as tmp:
        path = Path(tmp) / f"simulation-{_slug(run.scenario)}-s{run.seed}-r{run.replication}.parquet"
        frame.to_parquet(path, index=False)
        own = not isinstance(workspace, duckdb.DuckDBPyConnection)
        con = connect(workspace) if own else workspace
        try:
            # Marked as simulated inside the import's one transaction: an interrupted write leaves nothing.
            return import_file(path, options, con=con, source=SOURCE)
        finally:
            if own:
                con.close()
