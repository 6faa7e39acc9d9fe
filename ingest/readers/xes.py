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
import pyarrow.compute as pc
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


def _local(tag: str) -> str:
    return tag[tag.rfind("}") + 1:]


class _Columns:
    """Values of one attribute key per row, padded with None where a row lacks the key."""

    def __init__(self) -> None:
        self.values: dict[str, list[str | None]] = {}
        self.rows = 0

    def add_row(self, elem: etree._Element) -> None:
        """Append the attribute children of `elem` (children without a key, such as events, are skipped)."""
        n = self.rows
        for child in elem:
            key = child.get("key")
            if key is None:
                continue
            column = self.values.get(key)
            if column is None:
                column = self.values[key] = [None] * n
            elif len(column) < n:
                column.extend([None] * (n - len(column)))
            if len(column) > n:
                column[n] = child.get("value")  # a key repeated in one element: the last value wins
            else:
                column.append(child.get("value"))
        self.rows += 1

    def arrays(self, prefix: str = "") -> dict[str, pa.Array]:
        """Return one string array per key and start afresh with the same keys."""
        out = {}
        for key, column in self.values.items():
            column.extend([None] * (self.rows - len(column)))
            out[prefix + key] = pa.array(column, pa.string())
        self.values = {key: [] for key in self.values}
        self.rows = 0
        return out


def _batches(path: Path) -> Iterator[pa.Table]:
    """Yield Arrow tables of about BATCH_EVENTS events: `_row` (position in the file) and string columns."""
    opener = gzip.open if _gz(path) else open
    events, traces = _Columns(), _Columns()
    trace_of: list[int] = []
    first_row = 0

    def flush() -> pa.Table:
        nonlocal trace_of, first_row
        n = events.rows
        arrays = {"_row": pa.array(range(first_row + 1, first_row + n + 1), pa.int64())}
        arrays.update(events.arrays())
        # Trace attributes are stored once per trace and repeated onto its events here, in Arrow.
        index = pa.array(trace_of, pa.int32())
        arrays.update({k: pc.take(v, index) for k, v in traces.arrays("case:").items()})
        first_row += n
        trace_of = []
        return pa.table(arrays)

    with opener(path, "rb") as handle:
        parser = etree.iterparse(handle, events=("end",), tag=("{*}trace", "{*}event"), huge_tree=True,
                                 remove_comments=True)
        for _, elem in parser:
            if _local(elem.tag) == "event":
                events.add_row(elem)
                trace_of.append(traces.rows)
                elem.clear(keep_tail=False)
                continue
            traces.add_row(elem)
            elem.clear(keep_tail=False)
            # Drop finished traces from the tree so memory stays flat on large logs.
            parent = elem.getparent()
            while parent is not None and elem.getprevious() is not None:
                del parent[0]
            if events.rows >= BATCH_EVENTS:
                yield flush()
    if events.rows:
        yield flush()
