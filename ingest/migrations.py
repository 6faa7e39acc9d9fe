"""Versioned schema of a workspace: each migration moves the schema up by one version.

Migrations are append-only. A workspace written by an older twinflow opens in a newer one because
`apply_migrations` runs every migration above the version the file records, in one transaction.
"""

from __future__ import annotations

import duckdb

# Each entry: (version, short description, SQL statements). Never edit a released entry; add a new one.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "canonical event model: events, cases, imports, rejects",
        [
            """
            CREATE TABLE imports (
                import_id      INTEGER PRIMARY KEY,
                kind           VARCHAR NOT NULL,      -- csv, xes, parquet, excel, odoo, email, ...
                location       VARCHAR NOT NULL,      -- file name or endpoint (never credentials)
                process        VARCHAR NOT NULL,
                content_hash   VARCHAR NOT NULL,      -- sha256 of the bytes read
                options_hash   VARCHAR NOT NULL,      -- sha256 of mapping and options
                options        JSON,
                started_at     TIMESTAMPTZ NOT NULL,
                finished_at    TIMESTAMPTZ NOT NULL,
                rows_read      BIGINT NOT NULL,
                rows_accepted  BIGINT NOT NULL,
                rows_rejected  BIGINT NOT NULL,
                events_added   BIGINT NOT NULL,
                events_duplicate BIGINT NOT NULL,     -- events already in the workspace: not added again
                watermark      VARCHAR,               -- for incremental sources (Odoo write_date, IMAP UID)
                twinflow_version VARCHAR NOT NULL
            )
            """,
            """
            CREATE TABLE events (
                event_id    VARCHAR NOT NULL,         -- md5 of source key: stable across re-imports
                import_id   INTEGER NOT NULL,
                source      VARCHAR NOT NULL,
                process     VARCHAR NOT NULL,
                case_id     VARCHAR NOT NULL,
                activity    VARCHAR NOT NULL,
                start_time  TIMESTAMPTZ,
                end_time    TIMESTAMPTZ NOT NULL,
                resource    VARCHAR,
                role        VARCHAR,
                amount      DOUBLE,
                currency    VARCHAR,
                site        VARCHAR,
                department  VARCHAR,
                attributes  JSON
            )
            """,
            """
            CREATE TABLE cases (
                process     VARCHAR NOT NULL,
                case_id     VARCHAR NOT NULL,
                import_id   INTEGER NOT NULL,
                amount      DOUBLE,
                currency    VARCHAR,
                site        VARCHAR,
                department  VARCHAR,
                attributes  JSON,
                PRIMARY KEY (process, case_id)
            )
            """,
            """
            CREATE TABLE rejects (
                import_id   INTEGER NOT NULL,
                process     VARCHAR NOT NULL,
                row_number  BIGINT,                   -- 1-based data row (line for unparseable CSV lines)
                reason      VARCHAR NOT NULL,
                raw         VARCHAR NOT NULL          -- the row as read: JSON of its fields, or the line
            )
            """,
        ],
    ),
    (
        2,
        "simulation: saved scenarios and experiment results",
        [
            """
            CREATE TABLE IF NOT EXISTS scenarios (
                name        VARCHAR NOT NULL,
                process     VARCHAR NOT NULL,
                yaml        VARCHAR NOT NULL,         -- the Scenario as YAML (simulation/spec/model.py)
                saved_at    TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (process, name)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS experiment_runs (
                id              VARCHAR PRIMARY KEY,
                process         VARCHAR NOT NULL,
                created_at      TIMESTAMPTZ NOT NULL,
                experiment_yaml VARCHAR NOT NULL,     -- model, scenarios, replications and seed
                results_json    VARCHAR NOT NULL      -- KPIs per scenario and replication, cycle times, waiting
            )
            """,
        ],
    ),
    (
        3,
        "simulation: saved models (the as-is as discovered, or as a person edited it)",
        [
            """
            CREATE TABLE IF NOT EXISTS models (
                name        VARCHAR NOT NULL,
                process     VARCHAR NOT NULL,
                yaml        VARCHAR NOT NULL,         -- the Model as YAML (simulation/spec/model.py)
                saved_at    TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (process, name)
            )
            """,
        ],
    ),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the schema version recorded in the workspace (0 for an empty file)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0]


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Bring the workspace schema up to date; return the versions applied."""
    have = current_version(con)
    if have > SCHEMA_VERSION:
        raise RuntimeError(
            f"workspace schema version {have} is newer than this twinflow ({SCHEMA_VERSION}): upgrade twinflow"
        )
    pending = [m for m in MIGRATIONS if m[0] > have]
    if not pending:
        return []
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
        )
        for version, description, statements in pending:
            for sql in statements:
                con.execute(sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now())", [version, description]
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return [m[0] for m in pending]
