"""Parquet and Excel readers: typed sources cast to text so that one validation path serves every format."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ingest.readers import Staged, fail, quote


def stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str = "_stage") -> Staged:
    """Stage a Parquet file as text columns."""
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _parquet AS SELECT * FROM read_parquet($p)", {"p": str(path)})
    except duckdb.Error as exc:
        raise fail(path, "not a readable Parquet file (" + str(exc).splitlines()[0] + ")") from None
    return _as_text(con, "_parquet", table)


def stage_excel(con: duckdb.DuckDBPyConnection, path: Path, table: str = "_stage",
                sheet: str | int | None = None) -> Staged:
    """Stage one sheet of an .xlsx/.xls workbook (the first unless `sheet` names one) as text columns."""
    try:
        frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=object)
    except ValueError as exc:
        raise fail(path, str(exc)) from None
    except Exception as exc:  # openpyxl raises zipfile and XML errors of many kinds on damaged files
        raise fail(path, f"not a readable Excel workbook ({type(exc).__name__}: {exc})") from None
    frame.columns = [str(c) for c in frame.columns]
    # Excel datetimes arrive as Timestamps: render them ISO so the shared parser reads them as naive times.
    for column in frame.columns:
        frame[column] = frame[column].map(_text)
    con.register("_excel_frame", frame)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _excel AS SELECT * FROM _excel_frame")
    finally:
        con.unregister("_excel_frame")
    return _as_text(con, "_excel", table)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NaT:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_text(con: duckdb.DuckDBPyConnection, source: str, table: str) -> Staged:
    columns = [r[0] for r in con.execute(f"DESCRIBE {source}").fetchall()]
    casts = ", ".join(f"CAST({quote(c)} AS VARCHAR) AS {quote(c)}" for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT rowid + 1 AS _row, {casts} FROM {source}")
    con.execute(f"DROP TABLE {source}")
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return Staged(table=table, columns=columns, rows_read=rows)
