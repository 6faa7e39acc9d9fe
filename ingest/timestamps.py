"""Timestamp parsing in DuckDB: per-column format detection, offsets to UTC, naive times in a declared zone."""

from __future__ import annotations

import zoneinfo

import duckdb

# Text that ends in a UTC offset (or Z/UTC) after a clock time: parse as an instant.
OFFSET_PATTERN = r"\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?\s*(Z|UTC|GMT|[+-]\d{2}(:?\d{2})?)$"

# Candidate formats for naive text, tried on a sample; "iso" is DuckDB's own ISO-8601 cast.
# Day-first comes before month-first: it wins only when the sample cannot tell them apart.
NAIVE_FORMATS: list[str] = [
    "iso",
    "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S", "%d/%m/%Y %H:%M:%S.%f",
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%d-%b-%Y %H:%M:%S", "%d %b %Y %H:%M:%S",
    "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y",
    "epoch_s", "epoch_ms",
]

# Outside this window a parsed time is taken for a data error (a 1970 epoch default, a typo'd year).
PLAUSIBLE_FROM = "1900-01-01"
PLAUSIBLE_TO = "2100-01-01"


def check_timezone(name: str) -> str:
    """Return `name` if it is an IANA time zone, else raise ValueError."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Amsterdam)") from exc
    return name


def _naive_expr(text: str, fmt: str) -> str:
    """Return SQL parsing `text` with `fmt` into a naive TIMESTAMP (NULL when it does not parse)."""
    if fmt == "iso":
        return f"TRY_CAST({text} AS TIMESTAMP)"
    if fmt == "epoch_s":
        return (f"CASE WHEN regexp_full_match({text}, '\\d{{9,10}}([.]\\d+)?') "
                f"THEN make_timestamp(CAST(TRY_CAST({text} AS DOUBLE) * 1000000 AS BIGINT)) END")
    if fmt == "epoch_ms":
        return (f"CASE WHEN regexp_full_match({text}, '\\d{{12,13}}') "
                f"THEN make_timestamp(TRY_CAST({text} AS BIGINT) * 1000) END")
    return f"TRY_STRPTIME({text}, {_sql_string(fmt)})"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parse_expr(column: str, fmt: str, tz: str) -> str:
    """Return SQL turning text column `column` (quoted identifier) into TIMESTAMPTZ in UTC.

    Text with an offset is an instant; naive text is wall-clock time in zone `tz`.
    """
    text = f"nullif(trim({column}), '')"
    naive = _naive_expr(text, fmt)
    offset_parse = f"TRY_CAST({text} AS TIMESTAMPTZ)"
    return (
        f"CASE WHEN {text} IS NULL THEN NULL "
        f"WHEN regexp_matches({text}, '{OFFSET_PATTERN}') THEN {offset_parse} "
        f"ELSE timezone({_sql_string(check_timezone(tz))}, {naive}) END"
    )


def detect_format(con: duckdb.DuckDBPyConnection, table: str, column: str, sample: int = 5000) -> str:
    """Return the naive format that parses most values of `column` (ISO when nothing is naive).

    Formats are scored on the first `sample` rows; when several tie there (01/02 could be either day
    or month first), the tied ones are scored again on every distinct value of the column.
    """
    text = f"nullif(trim({column}), '')"
    naive_only = f"{text} IS NOT NULL AND NOT regexp_matches({text}, '{OFFSET_PATTERN}')"
    head = f"(SELECT {text} AS v FROM {table} WHERE {naive_only} ORDER BY _row LIMIT {int(sample)})"
    candidates = _score(con, head, NAIVE_FORMATS)
    if len(candidates) > 1:
        everything = f"(SELECT DISTINCT {text} AS v FROM {table} WHERE {naive_only})"
        candidates = _score(con, everything, candidates)
    return candidates[0] if candidates else "iso"


def _score(con: duckdb.DuckDBPyConnection, values: str, formats: list[str]) -> list[str]:
    """Return the formats (in list order) that parse the most of `values`, or [] when none parses any."""
    counts = ", ".join(f"count({_naive_expr('v', f)})" for f in formats)
    hits = con.execute(f"SELECT {counts} FROM {values}").fetchall()[0]
    best = max(hits)
    return [f for f, h in zip(formats, hits, strict=True) if h == best] if best > 0 else []
