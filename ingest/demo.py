"""The real public logs shipped in data/real, imported one process per file (part of the demo workspace)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ingest.loader import ImportOptions, ImportResult, import_file
from ingest.workspace import connect, workspace_path

SHIPPED_LOGS = Path(__file__).resolve().parents[1] / "data" / "real"

# Per-file options the shipped logs need (see data/real/README.md).
LOG_OPTIONS: dict[str, dict] = {
    "hospital_billing.csv.gz": {"empty_case_id": "NA"},
}


def shipped_logs() -> list[Path]:
    """Return the event-log files shipped in data/real, sorted by name."""
    return sorted(p for p in SHIPPED_LOGS.iterdir() if p.name.endswith((".csv.gz", ".xes.gz")))


def process_name(path: Path) -> str:
    """Return the process name for a shipped log: its file name without extensions."""
    return path.name.split(".")[0]


def import_shipped_logs(
    workspace: str | os.PathLike | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> list[ImportResult]:
    """Import every shipped log into the workspace (idempotent) and return the import results."""
    report = progress or (lambda fraction, message: None)
    logs = shipped_logs()
    results = []
    con = connect(workspace_path(workspace))
    try:
        for i, log in enumerate(logs):
            report(i / len(logs), f"importing {log.name}")
            options = ImportOptions(process=process_name(log), **LOG_OPTIONS.get(log.name, {}))
            results.append(import_file(log, options, con=con))
    finally:
        con.close()
    report(1.0, "shipped logs imported")
    return results
