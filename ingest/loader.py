"""The one loader: stage a file, map and validate it, quarantine bad rows, and write in one transaction."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from ingest import __version__
from ingest.columns import ColumnMapping, require_core, resolve_mapping
from ingest.pseudonym import pseudonym_key, pseudonym_sql
from ingest.readers import ImportFailed, Staged, fail, quote
from ingest.readers.csv import stage_csv
from ingest.readers.tabular import stage_excel, stage_parquet
from ingest.readers.xes import stage_xes
from ingest.timestamps import PLAUSIBLE_FROM, PLAUSIBLE_TO, check_timezone, detect_format, parse_expr
from ingest.workspace import connect

Progress = Callable[[float, str], None]

KINDS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xes": "xes", ".parquet": "parquet", ".pq": "parquet",
         ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel"}
# Lifecycle transitions that close an activity instance; "start" opens one; the rest are not boundaries.
END_TRANSITIONS = ("complete", "ate_abort", "pi_abort", "abort", "withdraw", "autoskip", "manualskip")
# Test hook: kill the process inside the write transaction to prove that an import is atomic.
FAULT_ENV = "TWINFLOW_FAULT_INJECT"
# DuckDB's memory cap while importing (it spills to disk beyond it): an import should not need the whole
# machine; 512MB imports 1M CSV rows at the same speed as an unlimited run (bench/import_bench.py).
MEMORY_ENV = "TWINFLOW_IMPORT_MEMORY_LIMIT"
DEFAULT_IMPORT_MEMORY = "512MB"


class ImportOptions(BaseModel):
    """How to read and map one file."""

    model_config = ConfigDict(extra="forbid")

    process: str
    mapping: dict[str, str] = Field(default_factory=dict, description="canonical field -> source column")
    timezone: str = Field("UTC", description="IANA zone of timestamps without an offset")
    time_format: str | None = Field(None, description="strptime format of naive timestamps (detected if unset)")
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    case_attributes: list[str] = Field(default_factory=list, description="extra columns that describe the case")
    empty_case_id: str | None = Field(
        None, description="case id for rows whose case id is empty (R exports write the case NA as an empty "
                          "field); by default such rows are rejected")
    pseudonymise: list[str] = Field(default_factory=list, description="fields or columns to pseudonymise")


class ImportResult(BaseModel):
    """What an import did: counts of rows read, accepted, rejected, events added and already present."""

    import_id: int | None
    process: str
    file: str
    kind: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    events_added: int
    events_duplicate: int
    already_imported: bool = False
    rejects_by_reason: dict[str, int] = Field(default_factory=dict)
    mapping: dict[str, str] = Field(default_factory=dict)

    def summary(self) -> str:
        """Return a one-line human summary."""
        if self.already_imported:
            return f"{self.file}: already imported into {self.process!r} (import {self.import_id}); nothing added"
        return (f"{self.file} -> {self.process!r}: {self.rows_read:,} rows read, {self.rows_accepted:,} accepted, "
                f"{self.rows_rejected:,} rejected; {self.events_added:,} events added, "
                f"{self.events_duplicate:,} already present")


def import_file(
    path: str | os.PathLike,
    options: ImportOptions,
    workspace: str | os.PathLike | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    progress: Progress | None = None,
    source: str = "file",
) -> ImportResult:
    """Import one file into the workspace in one transaction and return what was accepted and rejected.

    `source` marks the events' origin ('simulation' for a simulated run written back); it is not part of the
    options, so it does not change whether a file counts as already imported."""
    path = Path(path)
    if not path.exists():
        raise ImportFailed(f"{path.name}: no such file")
    if not path.is_file():
        raise ImportFailed(f"{path.name}: not a file")
    check_timezone(options.timezone)
    own = con is None
    con = con or connect(workspace)
    report = progress or (lambda fraction, message: None)
    previous_limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    try:
        con.execute("SET memory_limit = ?", [_memory_limit()])
        return _import(con, path, options, report, source)
    finally:
        _drop_staging(con)
        con.execute("SET memory_limit = ?", [previous_limit])
        if own:
            con.close()


def _memory_limit() -> str:
    limit = os.environ.get(MEMORY_ENV, DEFAULT_IMPORT_MEMORY).strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", limit, re.IGNORECASE):
        raise ValueError(f"${MEMORY_ENV} must be a size such as 512MB or 2GB, not {limit!r}")
    return limit


def _import(con: duckdb.DuckDBPyConnection, path: Path, options: ImportOptions, report: Progress,
            source_label: str = "file") -> ImportResult:
    report(0.0, f"hashing {path.name}")
    content_hash = _sha256_file(path)
    options_json = options.model_dump_json()
    options_hash = hashlib.sha256(options_json.encode()).hexdigest()
    previous = con.execute(
        "SELECT import_id FROM imports WHERE process = ? AND content_hash = ? AND options_hash = ?",
        [options.process, content_hash, options_hash],
    ).fetchall()
    with tempfile.TemporaryDirectory(prefix="twinflow-") as tmp:
        source, kind = _unpack(path, Path(tmp))
        if previous:
            return ImportResult(import_id=previous[0][0], process=options.process, file=path.name, kind=kind,
                                rows_read=0, rows_accepted=0, rows_rejected=0, events_added=0,
                                events_duplicate=0, already_imported=True)
        started = datetime.now(UTC)
        con.execute("CREATE OR REPLACE TEMP TABLE _reader_rejects (row_number BIGINT, reason VARCHAR, raw VARCHAR)")
        report(0.05, f"reading {path.name}")
        staged = _stage(con, source, kind, options, path, report)
    if staged.rows_read == 0:
        raise fail(path, "no data rows")
    report(0.45, "mapping columns")
    mapping = resolve_mapping(staged.columns, options.mapping)
    require_core(mapping, staged.columns, path.name)
    if options.pseudonymise:
        _pseudonymise(con, staged, mapping, options.pseudonymise)
    report(0.5, "validating rows")
    _typed(con, staged, mapping, options)
    report(0.65, "pairing start and end events")
    _events(con, options.process, has_lifecycle=mapping.lifecycle is not None)
    report(0.8, "writing to the workspace")
    result = _write(con, staged, mapping, options, path, kind, content_hash, options_hash, options_json, started,
                    source_label)
    report(1.0, result.summary())
    return result


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _unpack(path: Path, tmp: Path) -> tuple[Path, str]:
    """Return the file to read (extracted from a .zip if need be) and its kind."""
    name = path.name.lower()
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist()
                           if not m.is_dir() and not m.filename.startswith("__MACOSX") and _kind(m.filename)]
                if len(members) != 1:
                    found = ", ".join(m.filename for m in members) or "none"
                    raise fail(path, f"a .zip must hold exactly one event log (found: {found})")
                target = tmp / Path(members[0].filename).name
                with archive.open(members[0]) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise fail(path, f"not a readable zip archive ({exc})") from None
        return target, _kind(target.name)
    kind = _kind(name)
    if kind is None:
        raise fail(path, "unknown file type (expected .csv, .tsv, .xes, .parquet, .xlsx, optionally .gz or .zip)")
    return path, kind


def _kind(name: str) -> str | None:
    name = name.lower().removesuffix(".gz")
    return KINDS.get(Path(name).suffix)


def _stage(con: duckdb.DuckDBPyConnection, source: Path, kind: str, options: ImportOptions,
           original: Path, report: Progress) -> Staged:
    try:
        if kind == "csv":
            return stage_csv(con, source, delimiter=options.delimiter, encoding=options.encoding)
        if kind == "xes":
            # The event count is unknown until the end: the bar approaches its reading share asymptotically.
            return stage_xes(con, source, progress=lambda rows: report(
                0.05 + 0.4 * rows / (rows + 200_000), f"reading {original.name}: {rows:,} events"))
        if kind == "parquet":
            return stage_parquet(con, source)
        return stage_excel(con, source, sheet=options.sheet)
    except ImportFailed as exc:
        # Readers name the file they read, which may be a temporary extract: name the user's file.
        raise ImportFailed(f"{original.name}: {str(exc).split(': ', 1)[-1]}") from None


def _pseudonymise(con: duckdb.DuckDBPyConnection, staged: Staged, mapping: ColumnMapping,
                  targets: list[str]) -> None:
    """Replace personal data in the staged rows, before anything else reads them, rejects included."""
    fields = mapping.mapped()
    columns = []
    for target in targets:
        column = fields.get(target, target)
        if column not in staged.columns:
            raise ValueError(f"cannot pseudonymise {target!r}: no such field or column")
        columns.append(column)
    con.execute("SET VARIABLE pseudonym_key = ?", [pseudonym_key()])
    try:
        sets = ", ".join(f"{quote(c)} = {pseudonym_sql(quote(c))}" for c in columns)
        con.execute(f"UPDATE {staged.base or staged.table} SET {sets}")
    finally:
        con.execute("RESET VARIABLE pseudonym_key")


def _text(column: str | None) -> str:
    return f"nullif(trim({quote(column)}), '')" if column else "CAST(NULL AS VARCHAR)"


def _json_object(pairs: list[tuple[str, str]]) -> str:
    """Return SQL building a JSON object of (key, SQL value) pairs without the NULL ones (NULL when no pairs)."""
    if not pairs:
        return "CAST(NULL AS JSON)"
    # A merge patch drops the keys whose value is null (RFC 7396): cheaper than filtering a list per row.
    return "json_merge_patch('{}', json_object(" + ", ".join(f"{_literal(k)}, {v}" for k, v in pairs) + "))"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _case_columns(staged: Staged, mapping: ColumnMapping, options: ImportOptions) -> list[str]:
    mapped = set(mapping.mapped().values())
    wanted = set(staged.case_columns) | set(options.case_attributes)
    wanted |= {c for c in staged.columns if c.startswith("case:")}
    missing = [c for c in options.case_attributes if c not in staged.columns]
    if missing:
        raise ValueError(f"case attribute column(s) not in the file: {', '.join(missing)}")
    return [c for c in staged.columns if c in wanted and c not in mapped]


def _typed(con: duckdb.DuckDBPyConnection, staged: Staged, mapping: ColumnMapping, options: ImportOptions) -> None:
    """Create _typed: one row per staged row with canonical typed fields, JSON attributes and a reject reason."""
    table = staged.table
    m = mapping
    tz = options.timezone

    def when(column: str) -> str:
        return options.time_format or detect_format(con, table, quote(column))

    end_time = parse_expr(quote(m.end_time), when(m.end_time), tz)
    start_time = (parse_expr(quote(m.start_time), when(m.start_time), tz) if m.start_time
                  else "CAST(NULL AS TIMESTAMPTZ)")
    amount = f"TRY_CAST({_text(m.amount)} AS DOUBLE)" if m.amount else "CAST(NULL AS DOUBLE)"
    case_columns = _case_columns(staged, mapping, options)
    mapped = set(mapping.mapped().values())
    event_columns = [c for c in staged.columns if c not in mapped and c not in case_columns]
    attributes = _json_object([(c, _text(c)) for c in event_columns])
    if m.amount:
        # An amount that is not a number is kept as text among the attributes, not silently dropped.
        attributes = (f"CASE WHEN {_text(m.amount)} IS NOT NULL AND {amount} IS NULL "
                      f"THEN json_merge_patch(coalesce({attributes}, '{{}}'), "
                      f"json_object({_literal(m.amount)}, {_text(m.amount)})) ELSE {attributes} END")
    case_id = _text(m.case_id)
    if options.empty_case_id is not None:
        case_id = f"coalesce({case_id}, {_literal(options.empty_case_id)})"
    lifecycle = f"lower({_text(m.lifecycle)})"
    ends = ", ".join(_literal(t) for t in END_TRANSITIONS)
    kind = (f"CASE WHEN {lifecycle} = 'start' THEN 'start' WHEN {lifecycle} IS NULL OR {lifecycle} IN ({ends}) "
            f"THEN 'end' ELSE 'other' END") if m.lifecycle else "'end'"
    plausible = f"BETWEEN TIMESTAMPTZ '{PLAUSIBLE_FROM} 00:00:00+00' AND TIMESTAMPTZ '{PLAUSIBLE_TO} 00:00:00+00'"
    case_select = "".join(f", {_text(c)} AS {quote('case_attr:' + c)}" for c in case_columns)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _typed AS
        WITH parsed AS (
            SELECT _row,
                   {case_id} AS case_id,
                   {_text(m.activity)} AS activity,
                   {_text(m.end_time)} AS end_raw,
                   {end_time} AS end_time,
                   {_text(m.start_time)} AS start_raw,
                   {start_time} AS start_time,
                   {_text(m.resource)} AS resource,
                   {_text(m.role)} AS role,
                   {lifecycle} AS lifecycle,
                   {kind} AS kind,
                   {_text(m.instance)} AS instance,
                   {amount} AS amount,
                   {_text(m.currency)} AS currency,
                   {_text(m.site)} AS site,
                   {_text(m.department)} AS department,
                   {attributes} AS attributes
                   {case_select}
            FROM {table}
        )
        SELECT *,
            CASE
                WHEN case_id IS NULL THEN 'missing case id'
                WHEN activity IS NULL THEN 'missing activity'
                WHEN end_raw IS NULL THEN 'missing timestamp'
                WHEN end_time IS NULL THEN 'unparseable timestamp'
                WHEN NOT end_time {plausible}
                    THEN 'implausible timestamp (before {PLAUSIBLE_FROM[:4]} or after {PLAUSIBLE_TO[:4]})'
                WHEN start_raw IS NOT NULL AND start_time IS NULL THEN 'unparseable start time'
                WHEN start_time IS NOT NULL AND NOT start_time {plausible} THEN 'implausible start time'
                WHEN start_time > end_time THEN 'end before start'
                WHEN kind = 'other' THEN 'lifecycle transition is not the start or end of an activity'
            END AS reason
        FROM parsed
    """)


def _events(con: duckdb.DuckDBPyConnection, process: str, has_lifecycle: bool) -> None:
    """Create _events: accepted activity instances with stable ids; unmatched starts go to _unmatched."""
    con.execute("CREATE OR REPLACE TEMP TABLE _unmatched (_row BIGINT)")
    starts = has_lifecycle and con.execute(
        "SELECT count(*) FROM _typed WHERE reason IS NULL AND kind = 'start'").fetchall()[0][0] > 0
    if starts:
        _pair_lifecycle(con)
        instances = """
            SELECT t.* REPLACE (p.start_time AS start_time, coalesce(t.resource, p.resource) AS resource,
                                coalesce(t.role, p.role) AS role)
            FROM _typed t LEFT JOIN _pairs p ON p.end_row = t._row
            WHERE t.reason IS NULL AND t.kind = 'end'
        """
    else:
        instances = "SELECT * FROM _typed WHERE reason IS NULL"
    # The id is the source key: same event, same id, so a re-import or an overlapping export adds nothing.
    # Identical events within one file are told apart by their ordinal, in file order.
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW _events AS
        SELECT md5(concat_ws(chr(31), 'file', {_literal(process)}, case_id, activity,
                   coalesce(CAST(epoch_us(start_time) AS VARCHAR), ''), CAST(epoch_us(end_time) AS VARCHAR),
                   coalesce(resource, ''),
                   CAST(row_number() OVER (PARTITION BY case_id, activity, start_time, end_time, resource
                                           ORDER BY _row) AS VARCHAR))) AS event_id,
               *
        FROM ({instances})
    """)


def _pair_lifecycle(con: duckdb.DuckDBPyConnection) -> None:
    """Pair start and end rows of one activity in a case into instances (_pairs).

    First-in-first-out when the starts and ends of an activity in a case nest like brackets (this handles
    overlapping instances); otherwise each end takes the start right before it, and the rest stay unpaired.
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _ordered AS
        SELECT _row, kind, end_time AS ts, case_id, activity, coalesce(instance, '') AS inst, resource, role,
               sum(CASE WHEN kind = 'start' THEN 1 ELSE -1 END) OVER (w ROWS UNBOUNDED PRECEDING) AS balance,
               row_number() OVER (PARTITION BY case_id, activity, coalesce(instance, ''), kind
                                  ORDER BY end_time, kind DESC, _row) AS k,
               lag(_row) OVER w AS prev_row
        FROM _typed
        WHERE reason IS NULL
        WINDOW w AS (PARTITION BY case_id, activity, coalesce(instance, '') ORDER BY end_time, kind DESC, _row)
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _pairs AS
        WITH fifo AS (
            SELECT case_id, activity, inst,
                   min(balance) >= 0 AND sum(CASE WHEN kind = 'start' THEN 1 ELSE -1 END) = 0 AS ok
            FROM _ordered GROUP BY case_id, activity, inst
        )
        SELECT e._row AS end_row, s._row AS start_row, s.ts AS start_time, s.resource, s.role
        FROM _ordered e
        JOIN fifo f USING (case_id, activity, inst)
        JOIN _ordered s ON s.case_id = e.case_id AND s.activity = e.activity AND s.inst = e.inst
                       AND s.kind = 'start'
                       AND ((f.ok AND s.k = e.k) OR (NOT f.ok AND s._row = e.prev_row))
        WHERE e.kind = 'end'
    """)
    con.execute("""
        INSERT INTO _unmatched
        SELECT _row FROM _ordered WHERE kind = 'start' AND _row NOT IN (SELECT start_row FROM _pairs)
    """)


def _write(con: duckdb.DuckDBPyConnection, staged: Staged, mapping: ColumnMapping, options: ImportOptions,
           path: Path, kind: str, content_hash: str, options_hash: str, options_json: str,
           started: datetime, source_label: str = "file") -> ImportResult:
    process = options.process
    raw = "json_object(" + ", ".join(f"{_literal(c)}, s.{quote(c)}" for c in staged.columns) + ")"
    case_columns = [c.removeprefix("case_attr:") for c in _columns(con, "_typed") if c.startswith("case_attr:")]
    case_json = _json_object([(c.removeprefix("case:"), f"max({quote('case_attr:' + c)})") for c in case_columns])
    con.execute("BEGIN TRANSACTION")
    try:
        import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()[0][0]
        params = {"import_id": import_id, "process": process, "source": source_label}
        _run(con, "INSERT INTO rejects SELECT $import_id, $process, row_number, reason, raw FROM _reader_rejects",
                    params)
        _run(con, f"""
            INSERT INTO rejects
            SELECT $import_id, $process, s._row, r.reason, {raw}
            FROM (SELECT _row, reason FROM _typed WHERE reason IS NOT NULL
                  UNION ALL SELECT _row, 'start without a matching end' FROM _unmatched) r
            JOIN {staged.table} s USING (_row)
            ORDER BY s._row
        """, params)
        total_events = con.execute(
            "SELECT count(*) FROM _typed WHERE reason IS NULL AND kind = 'end'").fetchall()[0][0]
        _run(con, """
            INSERT INTO events
            SELECT event_id, $import_id, $source, $process, case_id, activity, start_time, end_time,
                   resource, role, amount, currency, site, department, attributes
            FROM _events e
            WHERE NOT EXISTS (SELECT 1 FROM events x WHERE x.process = $process AND x.event_id = e.event_id)
            ORDER BY case_id, end_time, _row
        """, params)
        added = _run(con, "SELECT count(*) FROM events WHERE import_id = $import_id", params).fetchall()[0][0]
        _fault_point("after-events")
        _run(con, f"""
            INSERT INTO cases
            SELECT $process, case_id, $import_id, max(amount), max(currency), max(site), max(department),
                   {case_json}
            FROM _typed WHERE reason IS NULL GROUP BY case_id
            ON CONFLICT (process, case_id) DO UPDATE SET
                amount = coalesce(EXCLUDED.amount, amount),
                currency = coalesce(EXCLUDED.currency, currency),
                site = coalesce(EXCLUDED.site, site),
                department = coalesce(EXCLUDED.department, department),
                attributes = CASE WHEN EXCLUDED.attributes IS NULL THEN attributes
                                  WHEN attributes IS NULL THEN EXCLUDED.attributes
                                  ELSE json_merge_patch(attributes, EXCLUDED.attributes) END
        """, params)
        reasons = dict(_run(con,
            "SELECT reason, count(*) FROM rejects WHERE import_id = $import_id GROUP BY reason ORDER BY 2 DESC",
            params).fetchall())
        rejected = sum(reasons.values())
        reader_rejects = con.execute("SELECT count(*) FROM _reader_rejects").fetchall()[0][0]
        rows_read = staged.rows_read + reader_rejects
        _run(con, """
            INSERT INTO imports VALUES ($import_id, $kind, $location, $process, $content_hash, $options_hash,
                $options, $started, now(), $rows_read, $accepted, $rejected, $added, $duplicate, NULL, $version)
        """, {**params, "kind": kind, "location": path.name, "content_hash": content_hash,
              "options_hash": options_hash, "options": options_json, "started": started,
              "rows_read": rows_read, "accepted": rows_read - rejected, "rejected": rejected,
              "added": added, "duplicate": total_events - added, "version": __version__})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return ImportResult(import_id=import_id, process=process, file=path.name, kind=kind, rows_read=rows_read,
                        rows_accepted=rows_read - rejected, rows_rejected=rejected, events_added=added,
                        events_duplicate=total_events - added, rejects_by_reason=reasons,
                        mapping=mapping.mapped())


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Execute `sql` with those of `params` it names (DuckDB rejects unused named parameters)."""
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def _fault_point(name: str) -> None:
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    for view in ("_events", "_stage"):
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP VIEW IF EXISTS {view}")
    for table in ("_stage", "_stage_raw", "_typed", "_ordered", "_pairs", "_unmatched", "_reader_rejects",
                  "_csv_errors", "_csv_scans"):
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def summary_json(result: ImportResult) -> str:
    """Return the import result as indented JSON."""
    return json.dumps(result.model_dump(), indent=2)
