"""Files from a generated network: one event log per process (Parquet, CSV), the case table, the manifest; and
loading those logs into a workspace through the ordinary loader.

An event-log file has the column names the loader maps by itself (case_id, activity, start_time, end_time,
resource, role, amount, currency, site, department), then object, document, state_from, state_to, one column
per event attribute key (the loader keeps them as the event's attributes), and `case:<name>` columns with the
case attributes (the loader keeps them as case attributes, without the prefix). Times are UTC: timestamps in
Parquet, ISO text with +00:00 in CSV.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from synthetic.generate import GeneratedOrg
from synthetic.manifest import write_manifest
from synthetic.tables import COMMON_CASE_COLUMNS

FORMATS = ("parquet", "csv")
EVENT_FILE_COLUMNS = ["case_id", "activity", "start_time", "end_time", "resource", "role", "amount", "currency",
                      "site", "department", "object", "document", "state_from", "state_to"]


def event_log_table(org: GeneratedOrg, process: str, case_attributes: bool = True) -> pa.Table:
    """Return the event log of one process as a flat table (the columns of the module docstring)."""
    events = org.event_tables[process]
    columns = {name: events.column(name) for name in EVENT_FILE_COLUMNS}
    parsed = [None if a is None else json.loads(a) for a in events.column("attributes").to_pylist()]
    keys = sorted({k for p in parsed if p for k in p})
    for key in keys:
        if key in columns:
            raise ValueError(f"event attribute {key!r} collides with a column name")
        columns[key] = pa.array([None if p is None else _scalar(p.get(key)) for p in parsed])
    if case_attributes:
        cases = org.case_tables[process]
        index = pc.index_in(events.column("case_id"), value_set=cases.column("case_id"))
        for name in cases.column_names:
            if name in ("process", "case_id") or (name in COMMON_CASE_COLUMNS and name != "cost_centre"):
                continue
            columns[f"case:{name}"] = cases.column(name).take(index)
    return pa.table(columns)


def _scalar(value: object) -> object:
    """Return a value fit for one table cell: lists and dicts become JSON text."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value


def _write(table: pa.Table, path: Path, fmt: str) -> Path:
    """Write a table as Parquet (zstd) or CSV (UTC times as ISO text with +00:00) and return the path."""
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
        return path
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type):
            text = pc.strftime(column, format="%Y-%m-%d %H:%M:%S")
            column = pc.binary_join_element_wise(text, pa.scalar("+00:00"), "")
        elif pa.types.is_dictionary(column.type):
            column = column.cast(pa.string())
        columns[name] = column
    pacsv.write_csv(pa.table(columns), path)
    return path


def write_event_log(org: GeneratedOrg, directory: str | os.PathLike, formats: tuple[str, ...] = ("parquet",),
                    case_attributes: bool = True) -> dict[str, list[Path]]:
    """Write `<process>.<format>` for every process into `directory`; return process -> paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    for process in org.processes:
        table = event_log_table(org, process, case_attributes)
        written[process] = [_write(table, directory / f"{process}.{fmt}", fmt) for fmt in formats]
    return written


def write_cases(org: GeneratedOrg, directory: str | os.PathLike, formats: tuple[str, ...] = ("parquet",),
                ) -> list[Path]:
    """Write the case table of all processes as `cases.<format>`; return the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [_write(org.cases, directory / f"cases.{fmt}", fmt) for fmt in formats]


def write_all(org: GeneratedOrg, directory: str | os.PathLike, formats: tuple[str, ...] = ("parquet",),
              ) -> list[Path]:
    """Write events/<process>.<format>, cases.<format> and manifest.json into `directory`; return the paths."""
    directory = Path(directory)
    paths = [p for ps in write_event_log(org, directory / "events", formats).values() for p in ps]
    paths += write_cases(org, directory, formats)
    paths.append(write_manifest(org.manifest, directory / "manifest.json"))
    return paths


def load_into_workspace(org: GeneratedOrg, workspace: str | os.PathLike | None = None, con=None,
                        fmt: str = "parquet") -> dict:
    """Import every process's event log into the workspace (one import per process); return process -> result."""
    from ingest import ImportOptions, connect, import_file  # here, so that generating needs no workspace

    own = con is None
    con = con or connect(workspace)
    try:
        with tempfile.TemporaryDirectory(prefix="twinflow-synthetic-") as tmp:
            paths = write_event_log(org, tmp, (fmt,))
            return {process: import_file(files[0], ImportOptions(process=process, timezone="UTC"), con=con)
                    for process, files in paths.items()}
    finally:
        if own:
            con.close()
