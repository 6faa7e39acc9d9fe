"""The demo workspace that `make app` opens: the synthetic clinic network plus the shipped real logs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from ingest.demo import import_shipped_logs
from ingest.loader import ImportResult
from ingest.workspace import connect, workspace_path
from synthetic.export import load_into_workspace
from synthetic.generate import generate

DEMO_SEED = 7


def manifest_path(workspace: str | os.PathLike | None = None) -> Path:
    """Return where the demo's manifest (its known truths) is written: beside the workspace file."""
    file = workspace_path(workspace)
    return file.with_name(file.stem + ".manifest.json")


def build_demo(
    workspace: str | os.PathLike | None = None,
    progress: Callable[[float, str], None] | None = None,
    seed: int = DEMO_SEED,
) -> list[ImportResult]:
    """Generate the clinic network, import it and the shipped real logs (idempotent); return the import results."""
    report = progress or (lambda fraction, message: None)
    report(0.0, "generating the clinic network")
    org = generate(seed=seed)
    manifest_path(workspace).parent.mkdir(parents=True, exist_ok=True)
    manifest_path(workspace).write_text(json.dumps(org.manifest, indent=2, sort_keys=True, default=str))
    report(0.3, "importing the clinic network")
    con = connect(workspace_path(workspace))
    try:
        results = list(load_into_workspace(org, con=con).values())
    finally:
        con.close()
    results += import_shipped_logs(workspace, progress=lambda f, m: report(0.6 + 0.4 * f, m))
    report(1.0, "demo workspace ready")
    return results
