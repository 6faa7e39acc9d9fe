"""Does every page of the app render on a large workspace, and how long does each take?

Builds (once) a workspace from the generated purchase-to-pay log of bench/generate.py (10M events by default),
then opens every page of the app in Streamlit's AppTest on it, first with an empty cache and then again (the
cached second visit is what a user sees when coming back to a page), and prints the seconds per page.

    .venv/bin/python bench/pages_bench.py --events 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from generate import ensure_files  # noqa: E402

PROCESS = "p2p"


def build_workspace(events: int, out: Path) -> Path:
    """Return the workspace holding the generated log of `events` events, importing it if needed."""
    from ingest import ImportOptions, import_file

    path = out / f"pages-{events}.duckdb"
    if path.exists():
        return path
    csv = ensure_files(events, out, kinds=("csv",))["csv"]
    started = time.perf_counter()
    tmp = path.with_suffix(".part.duckdb")
    tmp.unlink(missing_ok=True)
    import_file(csv, ImportOptions(process=PROCESS), workspace=tmp)
    tmp.replace(path)
    print(f"imported {events:,} events in {time.perf_counter() - started:.1f} s -> {path.name}")
    return path


def time_pages(workspace: Path, timeout_s: float) -> list[dict]:
    """Return, per page, the seconds of a first (uncached) and a second (cached) visit and any exception."""
    from streamlit.testing.v1 import AppTest

    from app.views import PAGES

    os.environ["TWINFLOW_WORKSPACE"] = str(workspace)
    at = AppTest.from_file(str(REPO / "app" / "main.py"), default_timeout=timeout_s)
    at.run()
    rows = []
    for page in PAGES:
        row: dict = {"page": page.title}
        for visit in ("first_s", "again_s"):
            started = time.perf_counter()
            at.switch_page(str(page.path.relative_to(REPO / "app")))
            at.run()
            row[visit] = round(time.perf_counter() - started, 2)
        row["exception"] = "; ".join(str(e.value)[:120] for e in at.exception) or ""
        row["errors"] = "; ".join(str(e.value)[:120] for e in at.error) or ""
        rows.append(row)
        print(f"{page.title:<24} first {row['first_s']:>7.2f} s   again {row['again_s']:>6.2f} s"
              f"{'   EXCEPTION ' + row['exception'] if row['exception'] else ''}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a page may take")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    workspace = build_workspace(args.events, args.out)
    rows = time_pages(workspace, args.timeout)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ok = all(not r["exception"] for r in rows)
    print(f"{len(rows)} pages on {args.events:,} events: {'all rendered' if ok else 'SOME FAILED'}; "
          f"slowest first visit {max(r['first_s'] for r in rows):.1f} s; peak RSS {peak:,.0f} MB")
    (args.out / f"pages-{args.events}.json").write_text(json.dumps(
        {"events": args.events, "pages": rows, "peak_rss_mb": peak}, indent=1))


if __name__ == "__main__":
    main()
