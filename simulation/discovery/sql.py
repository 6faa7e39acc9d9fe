"""Running DuckDB SQL for discovery: a statement gets only the named parameters it uses."""

from __future__ import annotations

import re

import duckdb
import pandas as pd


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    """Return the result of `sql` as a DataFrame."""
    # DuckDB rejects unused named parameters: bind only those the statement names.
    used = set(re.findall(r"\$(\w+)", sql))
    return con.execute(sql, {k: v for k, v in (params or {}).items() if k in used}).df()


def fetchall(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[tuple]:
    """Return the result of `sql` as a list of rows."""
    used = set(re.findall(r"\$(\w+)", sql))
    return con.execute(sql, {k: v for k, v in (params or {}).items() if k in used}).fetchall()
