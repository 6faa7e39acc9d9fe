"""Shared fixtures: fresh workspaces and small event-log files written on the fly."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingest import connect

REPO = Path(__file__).resolve().parents[1]
REAL_LOGS = REPO / "data" / "real"


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Put pytest's own __main__ module back after each test."""
    # AppTest runs a page script as __main__ and leaves it there; a process pool started later (forkserver or
    # spawn) re-runs the parent's __main__ file in every worker, and a page outside a Streamlit run fails there.
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Return the path of a fresh (not yet created) workspace file."""
    return tmp_path / "ws.duckdb"


def write_csv(path: Path, rows: list[dict], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    """Write rows (dicts with the same keys) as CSV and return the path."""
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def snapshot(path: Path) -> dict[str, int]:
    """Return row counts of the workspace tables (all zero for a missing workspace)."""
    if not path.exists():
        return {"events": 0, "cases": 0, "imports": 0, "rejects": 0}
    con = connect(path)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("events", "cases", "imports", "rejects")}
    finally:
        con.close()


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Return all rows of a query on the workspace."""
    con = connect(path)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def csv_workspace(folder: Path, csv_text: str, **options) -> Path:
    """Import `csv_text` as process "p" (with ImportOptions `options`) into a new workspace in `folder`."""
    from ingest import ImportOptions, import_file

    log = folder / "log.csv"
    log.write_text(csv_text, encoding="utf-8")
    path = folder / "ws.duckdb"
    import_file(log, ImportOptions(process="p", **options), workspace=path)
    return path


def import_shipped(con, names: list[str]) -> None:
    """Import the named logs of data/real into `con`, one process per file, with their demo options."""
    from ingest import ImportOptions, import_file
    from ingest.demo import LOG_OPTIONS, process_name

    for name in names:
        log = REAL_LOGS / name
        import_file(log, ImportOptions(process=process_name(log), **LOG_OPTIONS.get(name, {})), con=con)


def shipped_workspace(path: Path, names: list[str]) -> Path:
    """Return `path`, a new workspace holding the named logs of data/real (see import_shipped)."""
    from ingest import connect

    con = connect(path)
    try:
        import_shipped(con, names)
    finally:
        con.close()
    return path


@contextmanager
def workspace_locked(path: Path) -> Iterator[None]:
    """Hold the workspace's DuckDB lock from another process for the duration of the block."""
    # The holder blocks on its stdin, so closing it ends the holder: no timed sleep to outlive the test.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
         "sys.stdin.read()", str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.fixture(scope="session")
def demo_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Return (workspace path, manifest) of the demo organisation (seed 7, 12 months), generated once per run."""
    from synthetic import generate
    from synthetic.export import load_into_workspace

    org = generate(seed=7)
    path = tmp_path_factory.mktemp("demo_org") / "demo.duckdb"
    load_into_workspace(org, path)
    return path, org.manifest
