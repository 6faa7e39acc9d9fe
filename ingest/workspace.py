"""A workspace is one DuckDB file holding the canonical event model (see `migrations`)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ingest.migrations import apply_migrations

WORKSPACE_ENV = "TWINFLOW_WORKSPACE"
DEFAULT_WORKSPACE = Path("data") / "workspace.duckdb"


def workspace_path(path: str | os.PathLike | None = None) -> Path:
    """Return the workspace file to use: the argument, else $TWINFLOW_WORKSPACE, else data/workspace.duckdb."""
    if path:
        return Path(path)
    env = os.environ.get(WORKSPACE_ENV)
    return Path(env) if env else DEFAULT_WORKSPACE


def connect(path: str | os.PathLike | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Return a connection to the workspace, created and migrated to the current schema if needed."""
    file = workspace_path(path)
    if read_only and not file.exists():
        raise FileNotFoundError(f"no workspace at {file}")
    if not read_only:
        file.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(file), read_only=read_only)
    # Every time in the model is UTC; the session zone only affects rendering and naive casts.
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        apply_migrations(con)
    return con
