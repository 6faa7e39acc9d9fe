"""Workspace schema, migrations, pseudonymisation and the CLI surface."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from ingest import ImportOptions, connect, import_file, workspace_path
from ingest import migrations as m
from tests.conftest import REPO, query, workspace_locked, write_csv

ROWS = [{"case_id": "c1", "activity": "Approve", "timestamp": "2024-01-01T10:00:00", "resource": "Dr. Alice Smith",
         "requester": "bob@clinic.example"},
        {"case_id": "c1", "activity": "Pay", "timestamp": "2024-01-02T10:00:00", "resource": "Carol Jones",
         "requester": "bob@clinic.example"},
        {"case_id": "", "activity": "Pay", "timestamp": "2024-01-02T10:00:00", "resource": "Dr. Alice Smith",
         "requester": "dan@clinic.example"}]


def test_new_workspace_has_the_canonical_tables(workspace):
    con = connect(workspace)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    columns = {r[0]: r[1] for r in con.execute("DESCRIBE events").fetchall()}
    con.close()
    assert {"events", "cases", "imports", "rejects", "schema_migrations"} <= tables
    assert columns["end_time"] == "TIMESTAMP WITH TIME ZONE" and columns["attributes"] == "JSON"
    assert {"amount", "currency", "site", "department", "resource", "role", "start_time"} <= set(columns)


def test_workspace_path_from_argument_environment_or_default(monkeypatch, tmp_path):
    monkeypatch.delenv("TWINFLOW_WORKSPACE", raising=False)
    assert str(workspace_path()) == "data/workspace.duckdb"
    monkeypatch.setenv("TWINFLOW_WORKSPACE", str(tmp_path / "env.duckdb"))
    assert workspace_path() == tmp_path / "env.duckdb"
    assert workspace_path(tmp_path / "arg.duckdb") == tmp_path / "arg.duckdb"


def test_older_workspace_opens_and_is_migrated(tmp_path, workspace, monkeypatch):
    import_file(write_csv(tmp_path / "log.csv", ROWS[:2]), ImportOptions(process="ap"), workspace=workspace)
    later = m.SCHEMA_VERSION + 1
    newer = m.MIGRATIONS + [(later, "test: a later column", ["ALTER TABLE events ADD COLUMN extra_col VARCHAR"])]
    monkeypatch.setattr(m, "MIGRATIONS", newer)
    monkeypatch.setattr(m, "SCHEMA_VERSION", later)
    con = connect(workspace)
    try:
        assert m.current_version(con) == later
        assert con.execute("SELECT count(*), count(extra_col) FROM events").fetchall() == [(2, 0)]
    finally:
        con.close()


def test_newer_workspace_is_refused_by_an_older_twinflow(workspace, monkeypatch):
    connect(workspace).close()
    con = duckdb.connect(str(workspace))
    con.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', now())")
    con.close()
    with pytest.raises(RuntimeError, match="newer than this twinflow"):
        connect(workspace)


def test_pseudonymised_import_keeps_no_names(tmp_path, workspace, monkeypatch):
    monkeypatch.setenv("TWINFLOW_PSEUDONYM_KEY", "test-key-0123456789abcdef")
    import_file(write_csv(tmp_path / "log.csv", ROWS), ImportOptions(process="ap",
                pseudonymise=["resource", "requester"]), workspace=workspace)
    dump = " ".join(str(r) for t in ("events", "rejects", "cases", "imports")
                    for r in query(workspace, f"SELECT * FROM {t}"))
    for secret in ("Alice", "Carol", "bob@", "dan@", "test-key"):
        assert secret not in dump
    resources = [r[0] for r in query(workspace, "SELECT resource FROM events ORDER BY end_time")]
    assert all(r.startswith("P-") and len(r) == 14 for r in resources)
    assert resources[0] != resources[1]
    # The same key gives the same pseudonym in another import, so people can be followed across sources.
    other = tmp_path / "other.duckdb"
    import_file(write_csv(tmp_path / "log2.csv", ROWS[:1]), ImportOptions(process="x", pseudonymise=["resource"]),
                workspace=other)
    assert query(other, "SELECT resource FROM events") == [(resources[0],)]


def test_pseudonymising_without_a_key_is_refused(tmp_path, workspace, monkeypatch):
    monkeypatch.delenv("TWINFLOW_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("TWINFLOW_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ValueError, match="pseudonymisation needs a secret"):
        import_file(write_csv(tmp_path / "log.csv", ROWS), ImportOptions(process="ap", pseudonymise=["resource"]),
                    workspace=workspace)


def test_pseudonym_key_from_config_file(tmp_path, workspace, monkeypatch):
    monkeypatch.delenv("TWINFLOW_PSEUDONYM_KEY", raising=False)
    config = tmp_path / "config.toml"
    config.write_text('pseudonym_key = "from-the-config-file-0123"\n')
    monkeypatch.setenv("TWINFLOW_CONFIG", str(config))
    import_file(write_csv(tmp_path / "log.csv", ROWS[:1]), ImportOptions(process="ap", pseudonymise=["resource"]),
                workspace=workspace)
    assert query(workspace, "SELECT resource LIKE 'P-%' FROM events") == [(True,)]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("command", [[], ["import"], ["info"], ["demo"], ["app"]])
def test_cli_help(command):
    proc = _cli(*command, "--help")
    assert proc.returncode == 0 and "Usage" in proc.stdout


def test_cli_import_and_info(tmp_path, workspace):
    path = write_csv(tmp_path / "invoices.csv", ROWS)
    proc = _cli("import", str(path), "-w", str(workspace), "--timezone", "Europe/Amsterdam")
    assert proc.returncode == 0, proc.stderr
    assert "invoices.csv -> 'invoices': 3 rows read, 2 accepted, 1 rejected" in proc.stdout
    assert "rejected 1: missing case id" in proc.stdout
    assert "Welcome" not in proc.stdout + proc.stderr  # no pm4py banner
    info = _cli("info", "-w", str(workspace), "--json")
    assert info.returncode == 0
    assert '"process": "invoices"' in info.stdout and '"events": 2' in info.stdout


def test_cli_reports_a_locked_workspace_in_one_line(tmp_path, workspace):
    connect(workspace).close()
    with workspace_locked(workspace):
        proc = _cli("import", str(write_csv(tmp_path / "x.csv", ROWS)), "-w", str(workspace))
        assert proc.returncode == 1
        assert proc.stderr.startswith("error: cannot open workspace") and proc.stderr.strip().count("\n") == 0
