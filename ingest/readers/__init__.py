"""Readers turn a source file into a staging table of text columns that the loader validates and maps.

Every reader writes into the connection it is given:
- a temporary table (`Staged.table`) with `_row` (1-based position in the source) and one VARCHAR column
  per source field;
- rows it cannot read at all into the temporary table `_reader_rejects(row_number, reason, raw)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class ImportFailed(Exception):
    """A file that cannot be imported at all: the message is one line naming the file and the problem."""


@dataclass
class Staged:
    """What a reader staged: table (or view) name, source columns in order, rows read, case-level columns.

    `base` names the table behind a view, for updates; None when `table` is the table itself.
    """

    table: str
    columns: list[str]
    rows_read: int
    case_columns: list[str] = field(default_factory=list)
    base: str | None = None


def quote(identifier: str) -> str:
    """Return `identifier` quoted for DuckDB SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def fail(path: Path, problem: str) -> ImportFailed:
    """Return an ImportFailed whose one-line message names the file and the problem."""
    first_line = " ".join(str(problem).split())
    return ImportFailed(f"{path.name}: {first_line}")
