"""CSV reader: any delimiter and encoding, plain or gzip, parsed by DuckDB's multi-threaded CSV reader."""

from __future__ import annotations

import codecs
import gzip
import tempfile
from pathlib import Path

import duckdb

from ingest.readers import Staged, fail

SNIFF_BYTES = 64 * 1024
# Encodings DuckDB decodes itself; anything else is transcoded to UTF-8 first.
NATIVE_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1",
                    "latin1": "latin-1", "iso-8859-1": "latin-1"}
FALLBACK_ENCODING = "cp1252"


def stage_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str = "_stage",
    delimiter: str | None = None,
    encoding: str | None = None,
) -> Staged:
    """Stage a CSV (or .csv.gz) file as text columns; unreadable lines go to `_reader_rejects`."""
    head = _head(path)
    encoding = encoding or _bom_encoding(head)
    if encoding is None and b"\x00" in head:
        raise fail(path, "not a text file (binary data where CSV was expected)")
    if encoding is None and not head.strip():
        raise fail(path, "the file is empty")
    try:
        staged = _read(con, path, table, delimiter, encoding or "utf-8")
        bad_encoding = con.execute(
            "SELECT count(*) FROM _csv_errors WHERE error_type = 'INVALID ENCODING'"
        ).fetchall()[0][0]
        if bad_encoding and encoding is None:
            # Not UTF-8 after all: the usual culprit is a Windows export, so read it as cp1252.
            with tempfile.TemporaryDirectory() as tmp:
                utf8 = _transcode(path, Path(tmp) / "utf8.csv", FALLBACK_ENCODING)
                staged = _read(con, utf8, table, delimiter, "utf-8")
    except duckdb.Error as exc:
        raise fail(path, _duckdb_problem(exc)) from None
    except (OSError, EOFError, UnicodeError, LookupError) as exc:
        raise fail(path, str(exc)) from None
    con.execute(
        "INSERT INTO _reader_rejects SELECT line, "
        "'unreadable CSV line: ' || lower(error_type) || ' (' || error_message || ')', csv_line "
        "FROM _csv_errors"
    )
    return staged


def _read(con: duckdb.DuckDBPyConnection, path: Path, table: str, delimiter: str | None,
          encoding: str) -> Staged:
    native = NATIVE_ENCODINGS.get(encoding.lower().replace("_", "-"))
    if native is None:
        with tempfile.TemporaryDirectory() as tmp:
            return _read(con, _transcode(path, Path(tmp) / "utf8.csv", encoding), table, delimiter, "utf-8")
    options = {
        "all_varchar": True,
        "header": True,
        "store_rejects": True,
        "rejects_table": "_csv_errors",
        "rejects_scan": "_csv_scans",
        "encoding": native,
        "compression": "gzip" if path.name.lower().endswith(".gz") else "none",
    }
    if delimiter:
        options["delim"] = delimiter
    for name in ("_csv_errors", "_csv_scans"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    args = ", ".join(f"{k} = ${k}" for k in options)
    base = table + "_raw"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {base} AS SELECT * FROM read_csv($path, {args})",
        {"path": str(path), **options},
    )
    # rowid follows insertion order, which DuckDB preserves for a CSV scan; a view saves copying the table.
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT rowid + 1 AS _row, * FROM {base}")
    columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != "_row"]
    rows = con.execute(f"SELECT count(*) FROM {base}").fetchall()[0][0]
    return Staged(table=table, columns=columns, rows_read=rows, base=base)


def _head(path: Path) -> bytes:
    """Return the first bytes of the (decompressed) file."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read(SNIFF_BYTES)
        with open(path, "rb") as f:
            return f.read(SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise fail(path, f"not a readable gzip file ({exc})") from None


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _transcode(path: Path, target: Path, encoding: str) -> Path:
    """Write `path` decoded from `encoding` as UTF-8 to `target` and return it."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
        reader = codecs.getreader(encoding)(src, errors="strict")
        while chunk := reader.read(1 << 20):
            dst.write(chunk)
    return target


def _duckdb_problem(exc: duckdb.Error) -> str:
    """Return the first meaningful line of a DuckDB error, without SQL context."""
    message = str(exc).splitlines()[0]
    for prefix in ("IO Error: ", "Invalid Input Error: ", "Conversion Error: "):
        message = message.removeprefix(prefix)
    if "GZIP" in message.upper() or "gzip" in message:
        return f"truncated or corrupt gzip stream ({message})"
    if "sniffing" in message:
        return "not a CSV file (no consistent delimiter or columns could be detected)"
    return message
