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


def assign_roles(con: duckdb.DuckDBPyConnection, events: str, roles: pd.DataFrame, only: str = "TRUE") -> None:
    """Set the role (grp) of the manual events of `events` (a table) whose resource `roles` (resource, role)
    names, where the SQL condition `only` on them (alias e) holds."""
    con.register("_disc_roles", roles)
    try:
        con.execute(f"UPDATE {events} e SET grp = r.role FROM _disc_roles r "
                    f"WHERE e.resource = r.resource AND NOT e.sys AND ({only})").fetchall()
    finally:
        con.unregister("_disc_roles")
