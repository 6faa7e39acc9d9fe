"""Streaming XES reader (IEEE 1849): plain or gzip, constant memory per trace, events staged in batches.

Trace attributes become columns prefixed `case:` (as pm4py names them), so `case:concept:name` is the
case id. Nested attribute values (lists, containers) keep only their own value.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
from lxml import etree

from ingest.readers import Staged, fail, quote

BATCH_EVENTS = 100_000


def stage_xes(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str = "_stage",
    progress: Callable[[int], None] | None = None,
) -> Staged:
    """Stage an XES (or .xes.gz) log as text columns, one row per event, in file order."""
    con.execute(f"DROP TABLE IF EXISTS {table}")
    columns: list[str] = []
    rows = 0
    case_columns: set[str] = set()
    try:
        for batch in _batches(path):
            new = [k for k in batch.column_names if k not in columns]
            if not columns:
                con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM batch LIMIT 0")
            else:
                for key in new:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {quote(key)} VARCHAR")
            columns.extend(new)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM batch")
            case_columns.update(k for k in new if k.startswith("case:"))
            rows += batch.num_rows
            if progress:
                progress(rows)
    except etree.XMLSyntaxError as exc:
        raise fail(path, f"malformed XML ({exc})") from None
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        raise fail(path, f"truncated or corrupt gzip stream ({exc})" if _gz(path) else str(exc)) from None
    if not columns:
        raise fail(path, "no events found (not an XES log, or an empty one)")
    return Staged(
        table=table,
        columns=[c for c in columns if c != "_row"],
        rows_read=rows,
        case_columns=sorted(case_columns),
    )


def _gz(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _batches(path: Path) -> Iterator[pa.Table]:
    """Yield Arrow tables of up to BATCH_EVENTS events, all values as strings."""
    opener = gzip.open if _gz(path) else open
    buffer: list[dict[str, str]] = []
    keys: dict[str, None] = {}
    row = 0
    with opener(path, "rb") as handle:
        root_seen = False
        context = etree.iterparse(handle, events=("start", "end"), tag=("{*}log", "{*}trace", "{*}event"),
                                  huge_tree=True, remove_comments=True)
        trace_events: list[dict[str, str]] = []
        for action, elem in context:
            name = etree.QName(elem).localname
            if action == "start":
                if name == "log":
                    root_seen = True
                elif name == "trace":
                    trace_events = []
                continue
            if name == "event":
                event = _attributes(elem)
                keys.update(dict.fromkeys(event))
                trace_events.append(event)
                elem.clear(keep_tail=False)
            elif name == "trace":
                trace = {"case:" + k: v for k, v in _attributes(elem).items()}
                keys.update(dict.fromkeys(trace))
                for event in trace_events:
                    event.update(trace)
                buffer.extend(trace_events)
                trace_events = []
                elem.clear(keep_tail=False)
                # Drop finished traces from the tree so memory stays flat on large logs.
                parent = elem.getparent()
                while parent is not None and elem.getprevious() is not None:
                    del parent[0]
                if len(buffer) >= BATCH_EVENTS:
                    yield _table(buffer, keys, row)
                    row += len(buffer)
                    buffer = []
        if not root_seen:
            raise etree.XMLSyntaxError("no <log> element", None, 0, 0)
    if buffer:
        yield _table(buffer, keys, row)


def _table(events: list[dict[str, str]], keys: dict[str, None], first_row: int) -> pa.Table:
    """Return events as an Arrow table: `_row` (position in the file) and one string column per key."""
    schema = pa.schema([("_row", pa.int64())] + [(k, pa.string()) for k in keys if k != "_row"])
    table = pa.Table.from_pylist(events, schema=schema.remove(0))
    return table.add_column(0, "_row", pa.array(range(first_row + 1, first_row + len(events) + 1), pa.int64()))


def _attributes(elem: etree._Element) -> dict[str, str]:
    """Return the key -> value of an element's direct attribute children (events inside a trace have no key)."""
    values = {child.get("key"): child.get("value") for child in elem}
    values.pop(None, None)
    return values
